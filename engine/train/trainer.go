package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"mnist-tui/dataset"
	"mnist-tui/engine"
	"mnist-tui/engine/atomicfile"
	"mnist-tui/engine/checkpoint"
	"mnist-tui/engine/config"
	"mnist-tui/engine/doctor"
	"mnist-tui/engine/health"
	"mnist-tui/engine/runs"
	"mnist-tui/engine/schedule"
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
	// now is the clock of epoch times and pauses; tests replace it.
	now func() time.Time

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
		now:      time.Now,
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
		// From now on the net is only evaluated (CopyWeights): let it hold the weights
		// evaluation uses.
		if r.ema != nil && r.ema.Started() {
			r.ema.Swap()
		}
		t.mu.Lock()
		t.final = r.net
		t.mu.Unlock()
	}()
	r.writeMetric(runs.Start{RunID: r.id, Model: r.cfg.Model, Dataset: r.cfg.Dataset,
		Params: r.net.NumParams(), Epochs: r.cfg.Epochs, BatchSize: r.cfg.BatchSize, Threads: r.net.Threads(),
		TrainImages: r.data.Train.N, Epoch: r.epoch, Batch: r.batch, Step: r.step, Parent: r.parent})
	if r.parent != nil {
		r.writeInheritedHistory()
	}
	err = r.loop(ctx)
	if (errors.Is(err, errStopped) || errors.Is(err, context.Canceled)) && r.diverged {
		// The weights are not numbers any more: keep the last good
		// checkpoint as it is.
		if err := r.unsavedError("stopped after the loss diverged"); err != nil {
			r.writeMetric(runs.End{State: runs.Failed, Step: r.step, Error: err.Error()})
			return t.fail(err)
		}
		r.writeMetric(runs.End{State: runs.Stopped, Step: r.step, Error: "diverged"})
		lower := strconv.FormatFloat(r.cfg.LearningRate/10, 'g', 3, 64)
		msg := "stopped after the loss diverged; start again with a lower learning rate, e.g. --lr " + lower
		if r.newestGood != "" {
			msg = "stopped after the loss diverged; the last good checkpoint is untouched: resume it with a lower learning rate: mnist-tui train --resume " + r.newestGood + " --lr " + lower
		}
		t.update(func(s *Snapshot) { s.State = Done; s.Message = msg })
		return nil
	}
	if errors.Is(err, errStopped) || errors.Is(err, context.Canceled) {
		r.saveLast()
		if err := r.unsavedError("stopped"); err != nil {
			r.writeMetric(runs.End{State: runs.Failed, Step: r.step, Error: err.Error()})
			return t.fail(err)
		}
		r.writeMetric(runs.End{State: runs.Stopped, Step: r.step})
		t.update(func(s *Snapshot) {
			s.State = Done
			s.Message = "stopped; resume with: mnist-tui train --resume " + r.newestGood
		})
		return nil
	}
	if err != nil {
		r.writeMetric(runs.End{State: runs.Failed, Step: r.step, Error: err.Error()})
		return t.fail(err)
	}
	if err := r.unsavedError("finished"); err != nil {
		r.writeMetric(runs.End{State: runs.Failed, Step: r.step, Error: err.Error()})
		return t.fail(err)
	}
	r.writeMetric(runs.End{State: runs.Done, Step: r.step})
	if err := r.writePlots(); err != nil {
		return t.fail(fmt.Errorf("the run finished and its checkpoints are saved, but its plots could not be written: %w; free some space (or fix the folder's permissions): the run needs nothing else", err))
	}
	t.update(func(s *Snapshot) {
		s.State = Done
		s.Message = fmt.Sprintf("done: best test accuracy %.2f %% — checkpoints in %s", r.bestAcc, r.dir)
	})
	return nil
}

// run is the state of a run in progress. Only the training goroutine touches it.
type run struct {
	t    *Trainer
	cfg  config.Config
	data *Data
	net  *engine.Net
	opt  engine.Optimizer
	// clip scales the gradients before every step (clip_grad_norm; nil: off); ema averages
	// the weights after every step, for evaluation (ema_decay; nil: off).
	clip   *engine.GradClipper
	ema    *engine.EMA
	loader *dataset.Loader
	// sched gives every step's learning rate, scaled by the ratio of
	// learning_rate now to what it was when the run started.
	sched  schedule.Schedule
	dir    string
	id     string
	lock   *runs.Lock
	parent *runs.Parent // set when the run branched off an older checkpoint

	metrics *os.File

	// unsaved are the run's files whose last write failed and that no
	// later write has made good, by path; metricsErr is the first failed
	// line of metrics.jsonl. Either makes the run end failed.
	unsaved    map[string]error
	metricsErr error
	// newestGood is the newest checkpoint on disk that resumes the run.
	newestGood string

	x           []float32 // one batch of normalised images
	y           []int32
	evalScratch EvalScratch

	epoch, batch int   // position: batches of epoch already trained
	step         int64 // optimizer steps so far
	bestAcc      float64
	paused       bool
	diverged     bool
	good         struct { // state at the last epoch boundary, to recover from divergence
		params     [][]float32
		opt        *engine.OptimizerState
		ema        [][]float32
		emaStarted bool
	}

	sampleIndices []int // test images the dashboard shows

	acc    accumulators
	hist   history
	rates  RateTrace
	meter  *health.Meter
	acts   []engine.LayerActivations // reused by every log point
	health []runs.Health
	doctor *doctor.Doctor
	// earlier are the records a resumed run's doctor is to hear before
	// training goes on (see readEarlier); nil once it has.
	earlier []runs.Record
	notes   []runs.Note
	start   time.Time
	window  throughput

	// The epoch's clock runs only while training: pauses are left out.
	clockStart time.Time
	clockOn    bool
	pausedAt   time.Time
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
	t.update(func(s *Snapshot) { s.Download = nil; s.Message = "building " + cfg.Label() })

	net, err := newNet(cfg)
	if err != nil {
		return nil, err
	}
	net.SetLabelSmoothing(cfg.LabelSmoothing)
	r := &run{
		t:       t,
		cfg:     cfg,
		data:    data,
		net:     net,
		opt:     newOptimizer(cfg, net.Params()),
		loader:  dataset.NewLoader(data.Train, data.Info, cfg.BatchSize, true, cfg.Seed),
		x:       make([]float32, cfg.BatchSize*dataset.ImageSize),
		y:       make([]int32, cfg.BatchSize),
		epoch:   1,
		unsaved: map[string]error{},
		meter:   health.NewMeter(net.Params()),
		doctor:  doctor.New(),
	}
	r.loader.Augment(augmentSettings(cfg))
	if cfg.ClipGradNorm > 0 {
		r.clip = engine.NewGradClipper(net.Params(), cfg.ClipGradNorm)
	}
	if cfg.EMADecay > 0 {
		r.ema = engine.NewEMA(net.Params(), net.Buffers(), cfg.EMADecay)
	}
	if t.opts.Resume != "" {
		if err := r.resume(t.opts.Resume); err != nil {
			r.close()
			return nil, err
		}
		// The doctor hears what the run saw before (what it would have
		// said then is not news, and is in r.notes): it judges
		// overfitting over epochs, and explosions against earlier
		// gradients. A checkpoint without its run's metrics gives it
		// the epochs at least.
		if len(r.earlier) == 0 {
			for _, e := range r.hist.Epochs {
				r.earlier = append(r.earlier, e.Record(0))
			}
		}
		for _, rec := range r.earlier {
			switch rec := rec.(type) {
			case runs.Health:
				r.doctor.Health(rec)
			case runs.Log:
				r.doctor.Log(rec)
			case runs.Epoch:
				r.doctor.Epoch(rec)
			case runs.Change:
				r.doctor.Changed(rec)
			}
		}
		r.earlier = nil
	} else if err := r.makeRunDir(); err != nil {
		r.close()
		return nil, err
	}
	r.startSchedule()
	r.tracePastRates()
	r.rememberGoodParams()
	r.metrics, err = os.OpenFile(filepath.Join(r.dir, runs.MetricsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		r.close()
		return nil, fmt.Errorf("%s: %w", filepath.Join(r.dir, runs.MetricsFile), err)
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
		s.Rates = r.rates
		s.Health, s.Notes = r.health, r.notes
		s.State = Running
		s.Checkpoint = r.newestGood
		s.Message = trainingMessage(cfg, net.Threads(), r.id)
		if r.parent != nil {
			s.Message += fmt.Sprintf(" (a branch of run %s at step %d, which stays as it is)", r.parent.Run, r.parent.Step)
		}
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

// makeRunDir creates runs/<time>-<label>, never reusing a folder another
// process made (Mkdir fails on an existing name, so two runs started in the
// same second get different suffixes).
func (r *run) makeRunDir() error {
	if err := os.MkdirAll(r.cfg.RunsDir, 0o755); err != nil {
		return fmt.Errorf("runs folder: %w", err)
	}
	base := time.Now().Format("20060102-150405") + "-" + folderLabel(r.cfg.Label())
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
		if err := r.takeFolder(); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, runs.ConfigFile), r.cfg.Marshal()); err != nil {
			return fmt.Errorf("run folder: %w", err)
		}
		return nil
	}
	return fmt.Errorf("run folder: could not find a free name for %s in %s", base, r.cfg.RunsDir)
}

// folderLabel is label (a model's name, or a custom network's name: any text of up to 40
// characters) as a part of a folder name that every file system and shell takes: letters,
// digits, '.' and '_', each run of other characters (and of '-') one '-', no leading '.' (a
// hidden folder) or '-' (an option to the commands a user types it into).
func folderLabel(label string) string {
	var b strings.Builder
	dash := false
	for _, c := range label {
		switch {
		case c < 128 && (unicode.IsLetter(c) || unicode.IsDigit(c) || c == '.' || c == '_'):
			b.WriteRune(c)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	if s := strings.Trim(b.String(), ".-"); s != "" {
		return s
	}
	return config.Custom
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
	if err := r.checkPosition(path, ck.Meta); err != nil {
		return err
	}
	if err := ck.LoadInto(r.net.Params(), r.opt); err != nil {
		return err
	}
	if err := ck.LoadBuffers(r.net.Buffers()); err != nil {
		return err
	}
	if r.ema != nil {
		// A checkpoint without an average (ema_decay was 0, or it was saved before the
		// first step) starts one from the weights at the next step.
		if _, err := ck.LoadEMA(r.ema); err != nil {
			return fmt.Errorf("resume %s: %w", path, err)
		}
	}
	r.net.SetTrainingSteps(uint64(ck.Meta.Step))
	if err := json.Unmarshal(ck.Meta.History, &r.hist); err != nil {
		return fmt.Errorf("resume %s: metric history: %w", path, err)
	}
	r.epoch, r.batch, r.step = ck.Meta.Epoch, ck.Meta.Batch, ck.Meta.Step
	// The health page and the doctor go on from the run's history, read
	// from the folder the checkpoint is in (a branch's parent).
	before, err := readEarlier(filepath.Dir(path), r.step, r.epoch)
	if err != nil && r.t.opts.Log != nil {
		r.t.opts.Log(err.Error() + ": the health page starts empty")
	}
	r.health, r.notes, r.earlier = before.health, before.notes, before.seen
	r.acc = r.hist.Acc
	r.bestAcc = r.hist.BestAcc
	// The resumed file is a good checkpoint to come back to whatever
	// happens next: in place nothing overwrites it with something older,
	// and a branch never writes to its parent.
	r.newestGood = path

	dir := filepath.Dir(path)
	parentID := ck.Meta.RunID
	if parentID == "" {
		parentID = filepath.Base(dir)
	}
	if continuesInPlace(path, ck.Meta) {
		r.dir, r.id = dir, parentID
		return r.takeFolder()
	}
	// An older position of a run (or a copy of a checkpoint): continuing
	// in its folder would overwrite its later checkpoints and mix two
	// histories in its metrics, so the run branches into a folder of its own.
	r.parent = &runs.Parent{Run: parentID, Step: ck.Meta.Step, Checkpoint: path}
	if err := r.makeRunDir(); err != nil {
		return err
	}
	// Said at once, where headless output shows it too: the results will
	// be in another folder than the one the user resumed from.
	if r.t.opts.Log != nil {
		r.t.opts.Log(fmt.Sprintf("%s is behind its run's newest checkpoint: training goes on in a new run, %s, a branch of run %s at step %d, whose files stay as they are",
			path, r.dir, parentID, ck.Meta.Step))
	}
	return nil
}

// continuesInPlace tells whether resuming the checkpoint at path continues
// its run in the run's own folder: the file is in the folder of the run
// that wrote it, and no checkpoint there is further on (the run's last, or
// the newest of its step files). Anything else goes back in time.
func continuesInPlace(path string, meta checkpoint.Meta) bool {
	dir := filepath.Dir(path)
	if meta.RunID != "" && filepath.Base(dir) != meta.RunID {
		return false // a copy, outside its run's folder
	}
	if !fileExists(filepath.Join(dir, runs.MetricsFile)) {
		return false // not a run folder
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if step, ok := runs.ParseStepCheckpoint(e.Name()); ok && step > meta.Step {
			return false
		}
	}
	last := filepath.Join(dir, runs.LastCheckpoint)
	if same, _ := sameFile(last, path); same || !fileExists(last) {
		return true
	}
	ck, err := checkpoint.Load(last)
	if err != nil || !ck.HasMeta {
		return true // a damaged last.safetensors is no position to keep
	}
	return ck.Meta.Step <= meta.Step
}

func sameFile(a, b string) (bool, error) {
	ia, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	ib, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(ia, ib), nil
}

// checkPosition refuses a checkpoint whose position (epoch, batch, step)
// is not one this run can be at: a damaged or forged file would otherwise
// make the run do nothing, or train from a position that does not exist.
func (r *run) checkPosition(path string, meta checkpoint.Meta) error {
	saved, err := config.Parse(path+" (config)", []byte(meta.Config))
	if err != nil {
		return fmt.Errorf("resume %s: %w", path, err)
	}
	if meta.Dataset != r.cfg.Dataset {
		if _, err := dataset.Lookup(meta.Dataset); err != nil {
			// Quoted: the name comes from the file, and "use --dataset X"
			// would send the user after a data set that does not exist.
			return fmt.Errorf("resume %s: the checkpoint names the data set %q, which this program does not know (%s); the file is damaged or not from this program: resume another checkpoint of the run",
				path, meta.Dataset, strings.Join(dataset.Names(), ", "))
		}
		return fmt.Errorf("resume %s: the checkpoint was trained on %s, the config says %s; its position counts %s's images (use --dataset %s, or start a new run)",
			path, meta.Dataset, r.cfg.Dataset, meta.Dataset, meta.Dataset)
	}
	if saved.BatchSize != r.cfg.BatchSize {
		return fmt.Errorf("resume %s: the checkpoint trained with batch size %d; its position counts batches of that size, so a resumed run keeps it (drop --batch-size, or start a new run with --batch-size %d)",
			path, saved.BatchSize, r.cfg.BatchSize)
	}
	batches := r.loader.Batches()
	damaged := func(format string, args ...any) error {
		return fmt.Errorf("resume %s: the checkpoint's position is impossible: %s; the file is damaged or not from this program: resume another checkpoint of the run",
			path, fmt.Sprintf(format, args...))
	}
	switch {
	case meta.Batch > batches:
		return damaged("batch %d of an epoch of %d batches (%d images in batches of %d)", meta.Batch, batches, r.data.Train.N, r.cfg.BatchSize)
	case meta.Epoch > saved.Epochs+1:
		return damaged("epoch %d of a run of %d epochs", meta.Epoch, saved.Epochs)
	case int64(meta.Epoch-1)*int64(batches)+int64(meta.Batch) != meta.Step:
		return damaged("epoch %d, batch %d is step %d with %d batches an epoch, but the file says step %d",
			meta.Epoch, meta.Batch, int64(meta.Epoch-1)*int64(batches)+int64(meta.Batch), batches, meta.Step)
	}
	return CheckEpochsLeft(path, meta, r.cfg.Epochs)
}

// CheckEpochsLeft refuses to resume the checkpoint at path (its metadata meta) for a run of
// epochs epochs that has nothing left to train. The command line asks it before it loads any
// data, so that the reason is all a user sees; the trainer asks again for callers that did not.
func CheckEpochsLeft(path string, meta checkpoint.Meta, epochs int) error {
	switch {
	case meta.Epoch > epochs && meta.Batch == 0:
		return fmt.Errorf("resume %s: the run has finished all %d of its epochs: nothing to train; to train it further, ask for more with --epochs N (N > %d)",
			path, meta.Epoch-1, meta.Epoch-1)
	case meta.Epoch > epochs:
		return fmt.Errorf("resume %s: the checkpoint is in epoch %d, past the %d epochs asked for; use --epochs %d or more",
			path, meta.Epoch, epochs, meta.Epoch)
	}
	return nil
}

// takeFolder locks the run folder for this process and clears what a
// killed writer left there.
func (r *run) takeFolder() error {
	lock, err := runs.LockRun(r.dir)
	if err != nil {
		return err
	}
	r.lock = lock
	removed, err := lock.RemoveStaleTemps(r.dir)
	if len(removed) > 0 && r.t.opts.Log != nil {
		r.t.opts.Log(fmt.Sprintf("removed %d temporary file(s) a killed run left in %s: %s", len(removed), r.dir, strings.Join(removed, ", ")))
	}
	if err != nil && r.t.opts.Log != nil {
		r.t.opts.Log("could not remove a stale temporary file: " + err.Error())
	}
	return nil
}

// writeInheritedHistory copies the history a branched run brings from
// its parent's checkpoint into its own metrics.jsonl, so that the folder
// tells its whole story on its own.
func (r *run) writeInheritedHistory() {
	for _, l := range r.hist.Logs {
		r.writeMetric(l.Record())
	}
	for _, e := range r.hist.Epochs {
		r.writeMetric(e.Record(0))
	}
	for _, c := range r.hist.Changes {
		r.writeMetric(runs.Change{Step: c.Step, Key: c.Key, Old: c.Old, New: c.New})
	}
}

// writePlots draws the finished run's accuracy and loss curves next to its
// files, for reports and slides.
func (r *run) writePlots() error {
	err := r.metrics.Sync()
	var folder runs.Run
	if err == nil {
		folder, err = runs.Load(r.dir)
	}
	if err == nil {
		err = runs.WritePlots(r.dir, []runs.Run{folder})
	}
	if err != nil {
		return fmt.Errorf("plots for %s: %w", r.dir, err)
	}
	return nil
}

// unsavedError is the error a run ends with when some of its files could
// not be written (a full disk, a read-only folder): which, why, and what
// to do. how says how training ended ("finished", "stopped").
func (r *run) unsavedError(how string) error {
	if len(r.unsaved) == 0 && r.metricsErr == nil {
		return nil
	}
	var problems []string
	for _, path := range slices.Sorted(maps.Keys(r.unsaved)) {
		problems = append(problems, fmt.Sprintf("%s (%v)", path, rootCause(r.unsaved[path])))
	}
	if r.metricsErr != nil {
		problems = append(problems, fmt.Sprintf("lines of %s (%v)", filepath.Join(r.dir, runs.MetricsFile), rootCause(r.metricsErr)))
	}
	advice := "nothing resumable was saved: free some space (or fix the folder's permissions) and start the run again"
	if r.newestGood != "" {
		advice = "free some space (or fix the folder's permissions), then continue from the newest good checkpoint: mnist-tui train --resume " + r.newestGood
	}
	return &UnsavedError{Problems: problems, Advice: advice, How: how}
}

// UnsavedError ends a run whose files could not all be written.
type UnsavedError struct {
	How      string   // how training ended ("finished", "stopped") or "goes on"
	Problems []string // each file not written, with the reason
	Advice   string
}

func (e *UnsavedError) Error() string {
	return fmt.Sprintf("training %s, but could not write %s; %s", e.How, strings.Join(e.Problems, ", "), e.Advice)
}

// rootCause is the innermost error of a chain: "no space left on device",
// without the layers that name temporary files.
func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

func (r *run) close() {
	r.loader.Close()
	if r.metrics != nil {
		r.metrics.Close()
	}
	r.lock.Unlock()
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

// trainingMessage is the status line of a run that has started: its network by the name the
// dashboard's header gives it (a custom network's name:, not "custom"), data set, threads and
// run.
func trainingMessage(cfg config.Config, threads int, run string) string {
	th := fmt.Sprintf("%d threads", threads)
	if threads == 1 {
		th = "1 thread"
	}
	return fmt.Sprintf("training %s on %s, %s, run %s", cfg.Label(), cfg.Dataset, th, run)
}
