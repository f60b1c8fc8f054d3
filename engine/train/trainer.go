package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"mnist-tui/dataset"
	"mnist-tui/engine"
	"mnist-tui/engine/checkpoint"
	"mnist-tui/engine/config"
	"mnist-tui/engine/runs"
)

// Options are the parts of a run that do not belong in config.yaml.
type Options struct {
	Resume  string // checkpoint to continue from; "" starts afresh
	Version string // program version, recorded in checkpoints
	Samples int    // test images shown with their predictions; 0 means 8
	// Data, when set, is used instead of loading the data set (tests, restarts).
	Data *Data
	// Log receives notes from the data loader ("using cached ...").
	Log func(string)
}

// Data is a loaded data set: the two splits and what they are.
type Data struct {
	Info        dataset.Info
	Train, Test *dataset.Set
}

// Trainer runs one training run. Create it with New, start Run in a goroutine,
// watch it with Snapshot and Changed, steer it with Send.
type Trainer struct {
	cfg  config.Config
	opts Options

	cmds    chan Command
	changed chan struct{}

	mu   sync.Mutex
	snap Snapshot

	// afterStep, when set (by tests), is called after every optimizer step.
	afterStep func(step int64)

	// finished is closed when Run returns; from then on final (the trained
	// net, if one was built) is read under mu by CopyWeights.
	finished chan struct{}
	final    *engine.Net
}

// New prepares a run; nothing happens until Run.
func New(cfg config.Config, opts Options) *Trainer {
	if opts.Samples <= 0 {
		opts.Samples = 8
	}
	t := &Trainer{
		cfg:      cfg,
		opts:     opts,
		cmds:     make(chan Command, 64),
		changed:  make(chan struct{}, 1),
		finished: make(chan struct{}),
	}
	t.snap = Snapshot{
		Config:   cfg,
		Model:    cfg.Model,
		Dataset:  cfg.Dataset,
		State:    Loading,
		Epochs:   cfg.Epochs,
		LR:       cfg.LearningRate,
		Momentum: cfg.Momentum,
		Message:  "loading " + cfg.Dataset,
	}
	return t
}

// Snapshot returns the current state of the run. It is cheap: the history
// slices are shared, and the trainer only ever appends to them.
func (t *Trainer) Snapshot() Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.snap
}

// Changed is signalled whenever the snapshot changes. Signals coalesce: a
// reader that was busy sees one signal, then reads the newest snapshot.
func (t *Trainer) Changed() <-chan struct{} { return t.changed }

// Send queues a command for the next batch boundary. It never blocks; if the
// queue is full (a reader sending far faster than batches finish) the command
// is dropped and the status line says so.
func (t *Trainer) Send(c Command) {
	select {
	case t.cmds <- c:
	default:
		t.update(func(s *Snapshot) { s.Message = "busy: command ignored, try again" })
	}
}

// update changes the snapshot under the lock and signals readers.
func (t *Trainer) update(change func(s *Snapshot)) {
	t.mu.Lock()
	change(&t.snap)
	t.snap.Seq++
	t.mu.Unlock()
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

// fail records an error that ends the run.
func (t *Trainer) fail(err error) error {
	t.update(func(s *Snapshot) {
		s.State = Failed
		s.Err = err
		s.Message = err.Error()
		s.Download = nil
	})
	return err
}

// evalBatch is the batch size of evaluation: large batches make inference
// faster, and nothing is kept for a backward pass.
const evalBatch = 1000

// errStopped tells Run's caller that training ended early on request.
var errStopped = errors.New("stopped")

// Run trains until the planned epochs are done, Stop is received, ctx is
// cancelled or an error happens. It returns nil when the run finished or was
// stopped by a command or ctx (a checkpoint is written in both cases), and the
// error otherwise; the snapshot always tells the same story.
func (t *Trainer) Run(ctx context.Context) error {
	defer close(t.finished)
	r, err := t.prepare(ctx)
	if err != nil {
		return t.fail(err)
	}
	defer r.close()
	defer func() {
		t.mu.Lock()
		t.final = r.net
		t.mu.Unlock()
	}()
	r.writeMetric(map[string]any{"type": "start", "run_id": r.id, "model": r.cfg.Model, "dataset": r.cfg.Dataset,
		"params": r.net.NumParams(), "epochs": r.cfg.Epochs, "batch_size": r.cfg.BatchSize, "threads": r.net.Threads(),
		"epoch": r.epoch, "batch": r.batch, "step": r.step})
	err = r.loop(ctx)
	if (errors.Is(err, errStopped) || errors.Is(err, context.Canceled)) && r.diverged {
		// The weights are not numbers any more: keep the last good
		// checkpoint as it is.
		r.writeMetric(map[string]any{"type": "end", "state": "stopped", "step": r.step, "error": "diverged"})
		lower := strconv.FormatFloat(r.opt.LR/10, 'g', 3, 64)
		msg := "stopped after the loss diverged; start again with a lower learning rate, e.g. --lr " + lower
		if last := filepath.Join(r.dir, "last.safetensors"); fileExists(last) {
			msg = "stopped after the loss diverged; the last good checkpoint is untouched: resume it with a lower learning rate: mnist-tui train --resume " + last + " --lr " + lower
		}
		t.update(func(s *Snapshot) { s.State = Done; s.Message = msg })
		return nil
	}
	if errors.Is(err, errStopped) || errors.Is(err, context.Canceled) {
		r.saveLast()
		r.writeMetric(map[string]any{"type": "end", "state": "stopped", "step": r.step})
		t.update(func(s *Snapshot) {
			s.State = Done
			s.Message = "stopped; resume with: mnist-tui train --resume " + filepath.Join(r.dir, "last.safetensors")
		})
		return nil
	}
	if err != nil {
		r.writeMetric(map[string]any{"type": "end", "state": "failed", "step": r.step, "error": err.Error()})
		return t.fail(err)
	}
	r.writeMetric(map[string]any{"type": "end", "state": "done", "step": r.step})
	r.writePlots()
	t.update(func(s *Snapshot) {
		s.State = Done
		s.Message = fmt.Sprintf("done: best test accuracy %.2f %% — checkpoints in %s", r.bestAcc, r.dir)
	})
	return nil
}

// run is the state of a run in progress. Only the training goroutine touches it.
type run struct {
	t      *Trainer
	cfg    config.Config
	data   *Data
	net    *engine.Net
	opt    *engine.SGD
	loader *dataset.Loader
	dir    string
	id     string

	metrics *os.File

	x           []float32 // one batch of normalised images
	y           []int32
	evalScratch EvalScratch

	epoch, batch int   // position: batches of epoch already trained
	step         int64 // optimizer steps so far
	bestAcc      float64
	paused       bool
	diverged     bool
	good         struct{ params, momentum [][]float32 } // state at the last epoch boundary, to recover from divergence

	sampleIndices []int // test images the dashboard shows

	acc    accumulators
	hist   history
	start  time.Time
	window throughput
}

// accumulators are the running sums behind the log lines and the epoch summary.
type accumulators struct {
	LogLoss    float64 `json:"log_loss"`
	LogCorrect int     `json:"log_correct"`
	LogSeen    int     `json:"log_seen"`
	LogBatches int     `json:"log_batches"`

	EpochLoss    float64 `json:"epoch_loss"`
	EpochCorrect int     `json:"epoch_correct"`
	EpochSeen    int     `json:"epoch_seen"`
	EpochSeconds float64 `json:"epoch_seconds"`
}

// history is what a checkpoint carries so that a resumed run's metrics are
// the same as an uninterrupted one's.
type history struct {
	Logs    []LogPoint    `json:"logs"`
	Epochs  []EpochResult `json:"epochs"`
	Changes []HyperChange `json:"changes"`
	Acc     accumulators  `json:"running"`
	BestAcc float64       `json:"best_acc"`
}

func (t *Trainer) prepare(ctx context.Context) (*run, error) {
	cfg := t.cfg
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	data := t.opts.Data
	if data == nil {
		var err error
		data, err = t.loadData(ctx)
		if err != nil {
			return nil, err
		}
	}
	t.update(func(s *Snapshot) { s.Download = nil; s.Message = "building " + cfg.Model })

	net, err := newNet(cfg)
	if err != nil {
		return nil, err
	}
	r := &run{
		t:      t,
		cfg:    cfg,
		data:   data,
		net:    net,
		opt:    engine.NewSGD(net.Params(), cfg.LearningRate, cfg.Momentum, cfg.WeightDecay),
		loader: dataset.NewLoader(data.Train, data.Info, cfg.BatchSize, true, cfg.Seed),
		x:      make([]float32, cfg.BatchSize*784),
		y:      make([]int32, cfg.BatchSize),
		epoch:  1,
	}
	if t.opts.Resume != "" {
		if err := r.resume(t.opts.Resume); err != nil {
			return nil, err
		}
	} else if err := r.makeRunDir(); err != nil {
		return nil, err
	}
	r.rememberGoodParams()
	r.metrics, err = os.OpenFile(filepath.Join(r.dir, "metrics.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	samples := r.refreshSamples()
	t.update(func(s *Snapshot) {
		s.Samples = samples
		s.RunID, s.RunDir = r.id, r.dir
		s.Data = data
		s.Params = net.NumParams()
		s.Classes = data.Info.Classes
		s.Batches = r.loader.Batches()
		s.Epoch, s.Batch, s.Step = r.epoch, r.batch, r.step
		s.Logs, s.History, s.Changes = r.hist.Logs, r.hist.Epochs, r.hist.Changes
		s.State = Running
		s.Message = fmt.Sprintf("training %s on %s, %d threads, run %s", cfg.Model, cfg.Dataset, net.Threads(), r.id)
	})
	return r, nil
}

func (t *Trainer) loadData(ctx context.Context) (*Data, error) {
	info, err := dataset.Lookup(t.cfg.Dataset)
	if err != nil {
		return nil, err
	}
	opts := dataset.FetchOptions{
		DataDir: t.cfg.DataDir,
		Log:     t.opts.Log,
		Progress: func(p dataset.Progress) {
			t.update(func(s *Snapshot) {
				s.Download = &Download{File: p.File, Done: p.Done, Total: p.Total}
				s.Message = "fetching " + p.File
			})
		},
	}
	trainSet, testSet, err := dataset.Load(ctx, t.cfg.Dataset, opts)
	if err != nil {
		return nil, err
	}
	return &Data{Info: info, Train: trainSet, Test: testSet}, nil
}

// makeRunDir creates runs/<time>-<model>, never reusing a folder another
// process made (Mkdir fails on an existing name, so two runs started in the
// same second get different suffixes).
func (r *run) makeRunDir() error {
	if err := os.MkdirAll(r.cfg.RunsDir, 0o755); err != nil {
		return fmt.Errorf("runs folder: %w", err)
	}
	base := time.Now().Format("20060102-150405") + "-" + r.cfg.Model
	for i := 0; i < 1000; i++ {
		id := base
		if i > 0 {
			id = fmt.Sprintf("%s-%d", base, i+1)
		}
		dir := filepath.Join(r.cfg.RunsDir, id)
		err := os.Mkdir(dir, 0o755)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("run folder: %w", err)
		}
		r.id, r.dir = id, dir
		if err := config.WriteFileAtomic(filepath.Join(dir, "config.yaml"), r.cfg.Marshal()); err != nil {
			return fmt.Errorf("run folder: %w", err)
		}
		return nil
	}
	return fmt.Errorf("run folder: could not find a free name for %s in %s", base, r.cfg.RunsDir)
}

func (r *run) resume(path string) error {
	ck, err := checkpoint.Load(path)
	if err != nil {
		return err
	}
	if !ck.HasMeta {
		return fmt.Errorf("resume %s: the file holds weights only (no training state); use it with eval or predict", path)
	}
	if ck.Meta.Model != r.cfg.Model {
		return fmt.Errorf("resume %s: checkpoint is a %s model but the config says %s (use --model %s)", path, ck.Meta.Model, r.cfg.Model, ck.Meta.Model)
	}
	if err := ck.LoadInto(r.net.Params(), r.opt); err != nil {
		return err
	}
	if err := ck.LoadBuffers(r.net.Buffers()); err != nil {
		return err
	}
	r.net.SetTrainingSteps(uint64(ck.Meta.Step))
	if err := json.Unmarshal(ck.Meta.History, &r.hist); err != nil {
		return fmt.Errorf("resume %s: metric history: %w", path, err)
	}
	r.epoch, r.batch, r.step = ck.Meta.Epoch, ck.Meta.Batch, ck.Meta.Step
	r.acc = r.hist.Acc
	r.bestAcc = r.hist.BestAcc
	r.dir = filepath.Dir(path)
	r.id = ck.Meta.RunID
	if r.id == "" {
		r.id = filepath.Base(r.dir)
	}
	return nil
}

// writePlots draws the finished run's accuracy and loss curves next to its
// files, for reports and slides. A failure is reported, not fatal: the run
// itself is complete.
func (r *run) writePlots() {
	err := r.metrics.Sync()
	var folder runs.Run
	if err == nil {
		folder, err = runs.Load(r.dir)
	}
	if err == nil {
		err = runs.WritePlots(r.dir, []runs.Run{folder})
	}
	if err != nil {
		err = fmt.Errorf("plots for %s: %w", r.dir, err)
		r.t.update(func(s *Snapshot) { s.Err = err; s.Message = err.Error() })
	}
}

func (r *run) close() {
	if r.metrics != nil {
		r.metrics.Close()
	}
}

// copyWeights asks the training goroutine for a copy of its weights at the
// next batch boundary (the only moment they are not being written).
type copyWeights struct {
	dst  []*engine.Param
	done chan error
}

func (copyWeights) isCommand() {}

// CopyWeights copies the model's current weights into dst, the Params of a
// net of the same model (the draw view keeps one for itself, so it can run
// the model as often as it likes without touching the trainer's). It waits
// for the next batch boundary, or for ctx.
func (t *Trainer) CopyWeights(ctx context.Context, dst []*engine.Param) error {
	done := make(chan error, 1)
	select {
	case t.cmds <- copyWeights{dst: dst, done: done}:
	case <-t.finished:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-t.finished:
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.final == nil {
			return errors.New("the model was never built: the run failed before training")
		}
		return copyParams(dst, t.final.Params())
	case <-ctx.Done():
		return ctx.Err()
	}
}

func copyParams(dst, src []*engine.Param) error {
	if len(dst) != len(src) {
		return fmt.Errorf("copy weights: %d parameters into %d: not the same model", len(src), len(dst))
	}
	for i := range src {
		d, s := dst[i].Value.Data().([]float32), src[i].Value.Data().([]float32)
		if dst[i].Name != src[i].Name || len(d) != len(s) {
			return fmt.Errorf("copy weights: %s (%d values) into %s (%d values): not the same model", src[i].Name, len(s), dst[i].Name, len(d))
		}
		copy(d, s)
	}
	return engine.CopyBuffers(dst, src)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
