// Package runs owns the format of the run folders (runs/<run-id>/): the
// names of their files and the records of metrics.jsonl (format.go), which
// the trainer writes; and it reads the folders back into summaries, for the
// runs page, the compare command and the plots written next to the run
// files.
//
// Run folders are read while other processes write them, and may have been
// left half-written by a crash, so nothing here trusts them: a folder that
// cannot be understood becomes a Run in State Damaged with a Problem saying
// why, and only an unreadable runs folder is an error.
package runs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"mnist-tui/engine/config"
)

// State is where a run is, as far as its files tell.
type State string

const (
	Done        State = "done"        // every planned epoch finished
	Stopped     State = "stopped"     // stopped on request; last.safetensors resumes it
	Failed      State = "failed"      // ended by an error; Run.Error says which
	Running     State = "running"     // no end yet, and the files changed recently
	Interrupted State = "interrupted" // no end, and nothing written for a while: a crash or a kill
	Damaged     State = "damaged"     // the files cannot be read; Run.Problem says why
)

// RunningWindow is how recently metrics.jsonl must have changed for a run
// without an "end" line to count as running. Slow models write less often;
// for them the window grows to a few of their expected gaps between lines.
const RunningWindow = 2 * time.Minute

// LossPoint is one log-interval report: the running training loss.
type LossPoint struct {
	Epoch float64 // position in epochs: 1.5 is halfway through the second epoch
	Step  int64
	Loss  float64
}

// Run is what a run folder says about its run.
type Run struct {
	ID  string // the folder name, e.g. 20250101-120000-cnn
	Dir string

	Model, Dataset string
	// Config is the run's config.yaml as it started; nil when it is
	// missing or unreadable. It tells runs apart (learning rate, network).
	Config    *config.Config
	Params    int // learnable scalars
	Epochs    int // planned (the latest value, when changed live)
	BatchSize int
	Threads   int

	EpochsDone  int
	BestAcc     float64 // percent; 0 before the first epoch ends
	SecPerEpoch float64 // mean training time of the finished epochs
	ImgPerSec   float64 // training images per second over the finished epochs

	TestAcc   []float64 // percent, one per finished epoch
	TestLoss  []float64
	TrainLoss []float64
	Losses    []LossPoint // one per log interval, in order

	State   State
	Problem string   // for Damaged: what is wrong and where
	Error   string   // for Failed: the run's own error message
	Notes   []string // oddities that were tolerated, e.g. a torn last line
	Parent  *Parent  // the run this one branched off, if it did

	Started time.Time // from the id, else the folder's modification time
	Updated time.Time // modification time of metrics.jsonl (zero without one)
}

// Load reads one run folder. Damage inside the folder is reported in the
// Run (State Damaged, Problem); the error is for a folder that cannot be
// read at all.
func Load(dir string) (Run, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return Run{}, fmt.Errorf("run %s: %w", dir, err)
	}
	if !info.IsDir() {
		return Run{}, fmt.Errorf("run %s: not a folder", dir)
	}
	f := readFolder(dir, info.ModTime())
	return f.settle(time.Now()), nil
}

// folder is a parsed run folder before its time-dependent state is decided:
// whether an unfinished run is still running depends on when one looks.
type folder struct {
	run       Run
	noMetrics bool          // metrics.jsonl does not exist (yet)
	started   bool          // metrics.jsonl has a start line
	gap       time.Duration // expected time between metrics lines, 0 when unknown
}

// settle decides the state of the run as seen at now. Files that stopped
// changing long ago are judged as they are; fresh ones may still be written.
func (f folder) settle(now time.Time) Run {
	r := f.run
	if r.State != "" {
		return r // decided by the files: damaged, or an end line
	}
	stale := now.Sub(r.Updated) > max(RunningWindow, 3*f.gap)
	switch {
	case f.noMetrics && stale:
		r.State, r.Problem = Damaged, "no "+MetricsFile
	case !f.started && stale:
		r.State, r.Problem = Damaged, MetricsFile+": no start line"
	case stale:
		r.State = Interrupted
	default:
		r.State = Running
	}
	return r
}

// readFolder parses the files of one run folder; modTime is the folder's.
func readFolder(dir string, modTime time.Time) folder {
	r := Run{ID: filepath.Base(dir), Dir: dir, Started: startTime(filepath.Base(dir), modTime)}
	p := &parser{run: &r}
	p.readConfig(filepath.Join(dir, ConfigFile))

	path := filepath.Join(dir, MetricsFile)
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// The trainer creates metrics.jsonl a moment after the folder; a
		// fresh folder without it is a run starting, an old one is broken.
		r.Updated = modTime
		return folder{run: r, noMetrics: true}
	case err != nil:
		r.State, r.Problem = Damaged, fmt.Sprintf("%s: %v", MetricsFile, err)
		return folder{run: r}
	case !info.Mode().IsRegular():
		r.State, r.Problem = Damaged, MetricsFile+" is not a regular file"
		return folder{run: r}
	}
	r.Updated = info.ModTime()
	data, err := os.ReadFile(path)
	if err != nil {
		r.State, r.Problem = Damaged, fmt.Sprintf("%s: %v", MetricsFile, err)
		return folder{run: r}
	}
	p.parse(data)
	p.summarise()
	return folder{run: r, started: p.started, gap: p.expectedGap()}
}

// startTime reads the start time from an id of the form the trainer makes
// (20060102-150405-model), falling back to the folder's modification time.
func startTime(id string, modTime time.Time) time.Time {
	const layout = "20060102-150405"
	if len(id) >= len(layout) {
		if t, err := time.ParseInLocation(layout, id[:len(layout)], time.Local); err == nil {
			return t
		}
	}
	return modTime
}

// logPoint is a log line as recorded, before its place on the epoch axis is known.
type logPoint struct {
	epoch, batch int
	step         int64
	loss         float64
}

// parser accumulates the lines of one metrics.jsonl.
type parser struct {
	run     *Run
	started bool
	logs    []logPoint
	epochs  []Epoch
	// trainImages is the epoch's length in images, from the start line;
	// it places the log points of a first epoch on the epoch axis.
	trainImages int
}

// readConfig takes model, data set and planned epochs from config.yaml, so
// that a run that has not written its start line yet still says what it is.
// A missing or unreadable config is only a note: metrics.jsonl says the same.
func (p *parser) readConfig(path string) {
	data, err := config.ReadFile(path) // at most config.MaxBytes
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			p.note(fmt.Sprintf("%s: %v", ConfigFile, err))
		}
		return
	}
	cfg, err := config.Parse(path, data)
	if err != nil {
		p.note(err.Error())
		return
	}
	p.run.Model, p.run.Dataset, p.run.Epochs, p.run.BatchSize = cfg.Model, cfg.Dataset, cfg.Epochs, cfg.BatchSize
	p.run.Config = &cfg
}

func (p *parser) note(s string) { p.run.Notes = append(p.run.Notes, s) }

// damage marks the run as damaged at a line; the first problem is kept.
func (p *parser) damage(line int, format string, args ...any) {
	if p.run.State == Damaged {
		return
	}
	p.run.State = Damaged
	p.run.Problem = fmt.Sprintf("%s line %d: %s", MetricsFile, line, fmt.Sprintf(format, args...))
}

// parse reads the lines in order and stops at the first damaged one; what
// came before it is kept, so a damaged run still shows its history.
func (p *parser) parse(data []byte) {
	lines := bytes.Split(data, []byte("\n"))
	// A file ending in a newline splits into a final empty piece; without
	// the newline the last piece is a line the writer may not have finished.
	last := len(lines) - 1
	for i, line := range lines {
		n := i + 1
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		rec, err := UnmarshalRecord(line)
		if err != nil && !errors.Is(err, errNoType) {
			if i == last {
				p.note(fmt.Sprintf("%s line %d: unfinished last line ignored (a crash or a write in progress)", MetricsFile, n))
				return
			}
			whole, ok := afterTornLine(line)
			if !ok {
				p.damage(n, "%s", describeJSONError(err))
				return
			}
			// A crash cut a line short and a resumed run appended to it.
			p.note(fmt.Sprintf("%s line %d: the start of it is cut short (a crash) and ignored", MetricsFile, n))
			if rec, err = UnmarshalRecord(whole); err != nil && !errors.Is(err, errNoType) {
				p.damage(n, "%s", describeJSONError(err))
				return
			}
		}
		if errors.Is(err, errNoType) {
			p.damage(n, "%v", err)
			return
		}
		if !p.apply(n, rec) {
			return
		}
	}
}

// afterTornLine finds the complete JSON object at the end of a line that
// begins with the unfinished remains of another.
func afterTornLine(line []byte) ([]byte, bool) {
	for i := 1; i < len(line); i++ {
		if line[i] == '{' && json.Valid(line[i:]) {
			return line[i:], true
		}
	}
	return nil, false
}

// describeJSONError turns a decoding error into a short phrase.
func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field == "" {
			return "not a JSON object"
		}
		want := "number"
		if typeErr.Type.Kind() == reflect.String {
			want = "string"
		}
		return fmt.Sprintf("%q: a %s where a %s belongs", typeErr.Field, typeErr.Value, want)
	}
	return "invalid JSON"
}

// apply takes one record into the run; false means the run is damaged and
// reading stops.
func (p *parser) apply(n int, rec Record) bool {
	r := p.run
	if _, isStart := rec.(Start); !isStart && !p.started {
		p.damage(n, "a %q line before the start line", rec.RecordType())
		return false
	}
	switch rec := rec.(type) {
	case Start:
		p.start(rec)
	case Log:
		if rec.Epoch < 1 {
			p.damage(n, "log line without an epoch")
			return false
		}
		p.logs = append(p.logs, logPoint{epoch: rec.Epoch, batch: rec.Batch, step: rec.Step, loss: rec.Loss})
	case Epoch:
		if rec.Epoch < 1 {
			p.damage(n, "epoch line without an epoch number")
			return false
		}
		// A repeated epoch (a resumed run redoing it) replaces the old one.
		p.epochs = keepEpochsBefore(p.epochs, rec.Epoch)
		p.epochs = append(p.epochs, rec)
	case Change:
		if rec.Key == "epochs" && rec.New >= 1 {
			r.Epochs = int(rec.New)
		}
	case End:
		switch rec.State {
		case Done, Stopped, Failed:
		default:
			p.damage(n, "unknown end state %q", rec.State)
			return false
		}
		r.State, r.Error = rec.State, rec.Error
	default:
		// Pause and resume change nothing here (epoch seconds already
		// leave pauses out); a type from a newer version is not needed.
	}
	return true
}

// start begins a run, or a resumption of it from a checkpoint: what was
// logged after that checkpoint is dropped, since the run does it again.
func (p *parser) start(rec Start) {
	r := p.run
	p.started = true
	r.State, r.Error = "", ""
	if rec.Model != "" {
		r.Model = rec.Model
	}
	if rec.Dataset != "" {
		r.Dataset = rec.Dataset
	}
	if rec.Epochs > 0 {
		r.Epochs = rec.Epochs
	}
	if rec.BatchSize > 0 {
		r.BatchSize = rec.BatchSize
	}
	if rec.TrainImages > 0 {
		p.trainImages = rec.TrainImages
	}
	if rec.Parent != nil {
		parent := *rec.Parent
		r.Parent = &parent
	}
	r.Params, r.Threads = rec.Params, rec.Threads
	kept := p.logs[:0]
	for _, l := range p.logs {
		if l.step <= rec.Step {
			kept = append(kept, l)
		}
	}
	p.logs = kept
	// Epochs before the one the run resumes in are finished.
	p.epochs = keepEpochsBefore(p.epochs, max(rec.Epoch, 1))
}

// keepEpochsBefore drops the results of epoch e and later.
func keepEpochsBefore(epochs []Epoch, e int) []Epoch {
	for i, ep := range epochs {
		if ep.Epoch >= e {
			return epochs[:i]
		}
	}
	return epochs
}

// summarise fills the per-epoch series and the summary numbers.
func (p *parser) summarise() {
	r := p.run
	var images, seconds float64
	for _, e := range p.epochs {
		r.TestAcc = append(r.TestAcc, e.TestAcc)
		r.TestLoss = append(r.TestLoss, e.TestLoss)
		r.TrainLoss = append(r.TrainLoss, e.TrainLoss)
		r.BestAcc = max(r.BestAcc, e.TestAcc)
		images += e.ImgS * e.Seconds
		seconds += e.Seconds
	}
	r.EpochsDone = len(p.epochs)
	if r.EpochsDone > 0 {
		r.SecPerEpoch = seconds / float64(r.EpochsDone)
	}
	if seconds > 0 {
		r.ImgPerSec = images / seconds
	}
	batches := p.batchesPerEpoch()
	for _, l := range p.logs {
		x := float64(l.epoch - 1)
		if batches > 0 {
			x += float64(l.batch) / float64(batches)
		}
		r.Losses = append(r.Losses, LossPoint{Epoch: x, Step: l.step, Loss: l.loss})
	}
}

// batchesPerEpoch is the length of an epoch in batches: a log line past
// the first epoch tells it exactly (step = (epoch-1)*batches + batch);
// otherwise it follows from the batch size.
func (p *parser) batchesPerEpoch() int {
	for _, l := range p.logs {
		if l.epoch > 1 && l.step > int64(l.batch) {
			return int((l.step - int64(l.batch)) / int64(l.epoch-1))
		}
	}
	if bs := p.run.BatchSize; bs > 0 && p.trainImages > 0 {
		return (p.trainImages + bs - 1) / bs
	}
	// A run older than train_images, still in its first epoch: its
	// furthest log line is as close to the epoch's end as is known.
	last := 0
	for _, l := range p.logs {
		last = max(last, l.batch)
	}
	return last
}

// expectedGap estimates the time between two lines of metrics.jsonl from the
// log interval and the measured speed, so that a slow model between two log
// lines is not taken for a dead one.
func (p *parser) expectedGap() time.Duration {
	r := p.run
	if len(p.logs) == 0 || r.ImgPerSec <= 0 || r.BatchSize <= 0 {
		return 0
	}
	interval := p.logs[0].batch // the first log line of a run comes after one interval
	secs := float64(interval*r.BatchSize) / r.ImgPerSec
	if math.IsInf(secs, 0) || math.IsNaN(secs) || secs <= 0 {
		return 0
	}
	// An epoch also ends with an evaluation; an epoch's time bounds that.
	return time.Duration(max(secs, r.SecPerEpoch/4) * float64(time.Second))
}
