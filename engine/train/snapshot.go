// Package train runs a training session in its own goroutine and publishes
// what happens as snapshots, so that a slow reader (a terminal UI, a pipe)
// never holds the training loop back.
//
// The contract is small: the trainer owns a Snapshot behind a mutex, updates
// it at batch boundaries, and signals Changed() without blocking. Readers call
// Snapshot() when signalled (at most as often as they want to redraw).
// Commands go the other way over a buffered channel and are applied at the
// next batch boundary.
package train

import (
	"time"

	"mnist-tui/dataset"
	"mnist-tui/engine"

	"mnist-tui/engine/config"
	"mnist-tui/engine/runs"
)

// State is where a run is in its life.
type State int

const (
	Loading State = iota // fetching data, building the model
	Running
	Paused
	Done
	Failed // stopped by an error; Snapshot.Err says which
)

func (s State) String() string {
	switch s {
	case Loading:
		return "LOADING"
	case Running:
		return "RUNNING"
	case Paused:
		return "PAUSED"
	case Done:
		return "DONE"
	case Failed:
		return "ERROR"
	}
	return "UNKNOWN"
}

// LogPoint is one log_interval report, the tutorial's
// "[1,   300]: loss: 0.820 , acc: 76.82 %" line.
type LogPoint struct {
	Epoch int     // 1-based
	Batch int     // batches done in this epoch when the point was taken
	Step  int64   // optimizer steps since the run began
	Loss  float64 // mean training loss over the interval
	Acc   float64 // percent of the interval's training images classified right
	LR    float64 // learning rate in force at the end of the interval
}

// Record is the point as a line of metrics.jsonl (and of --json output).
func (p LogPoint) Record() runs.Log {
	return runs.Log{Epoch: p.Epoch, Batch: p.Batch, Step: p.Step, Loss: p.Loss, Acc: p.Acc, LR: p.LR}
}

// EpochResult summarises one finished epoch.
type EpochResult struct {
	Epoch        int
	TrainLoss    float64 // mean over the epoch's batches, weighted by images
	TrainAcc     float64 // percent
	TestLoss     float64
	TestAcc      float64 // percent, the tutorial's "Accuracy on test set"
	Seconds      float64 // wall time of the training part of the epoch
	ImagesPerSec float64
}

// Record is the result as a line of metrics.jsonl (and of --json output);
// epochs is the plan when the epoch ended, 0 when not known.
func (e EpochResult) Record(epochs int) runs.Epoch {
	return runs.Epoch{Epoch: e.Epoch, Epochs: epochs, TrainLoss: e.TrainLoss, TrainAcc: e.TrainAcc,
		TestLoss: e.TestLoss, TestAcc: e.TestAcc, Seconds: e.Seconds, ImgS: e.ImagesPerSec}
}

// Sample is one test image with what the model currently says about it.
type Sample struct {
	Index int         // position in the test set
	Image []uint8     // 28*28 raw pixels, row-major, 0 = background
	Label int         // the truth
	Pred  int         // the model's answer
	Probs [10]float32 // softmax output; Probs[Pred] is the confidence
}

// HyperChange records a live change of a hyperparameter, so charts can mark it.
type HyperChange struct {
	Step     int64
	Key      string // "learning_rate", "momentum", ...
	Old, New float64
	Why      string // see runs.Change
}

// RateTrace is the learning rate of a run's steps: Rates[i] is the rate of
// step i*Stride (steps counted from 0, as the schedule counts them). It keeps
// at most maxRates rates, however long the run: when full, every other one is
// dropped and the stride doubles, in a new slice, so that a reader's copy
// stays as it was (otherwise Rates only grows, as the other histories do).
type RateTrace struct {
	Stride int64 // 0 in an empty trace
	Rates  []float64
}

// maxRates is more than the columns of any chart the trace is drawn in, times
// the two dots a braille cell has across.
const maxRates = 1024

// Add returns t with the rate of step recorded when step is the next one on
// the stride, t as it is otherwise: steps come in order, each at most once.
func (t RateTrace) Add(step int64, rate float64) RateTrace {
	if t.Stride == 0 {
		t.Stride = 1
	}
	if step != int64(len(t.Rates))*t.Stride {
		return t
	}
	if len(t.Rates) == maxRates {
		half := make([]float64, 0, maxRates)
		for i := 0; i < len(t.Rates); i += 2 {
			half = append(half, t.Rates[i])
		}
		t.Rates, t.Stride = half, 2*t.Stride
		if step != int64(len(t.Rates))*t.Stride {
			return t
		}
	}
	t.Rates = append(t.Rates, rate)
	return t
}

// Next is the step whose rate Add records next.
func (t RateTrace) Next() int64 { return int64(len(t.Rates)) * max(t.Stride, 1) }

// Before returns the trace of the steps before step alone, in a new slice:
// a run that steps back (after a divergence) records the steps again.
func (t RateTrace) Before(step int64) RateTrace {
	stride := max(t.Stride, 1)
	n := min(int64(len(t.Rates)), (max(step, 0)+stride-1)/stride)
	return RateTrace{Stride: t.Stride, Rates: append([]float64(nil), t.Rates[:n]...)}
}

// Download reports data fetching progress while the run is Loading.
type Download struct {
	File        string
	Done, Total int64 // bytes; Total is -1 when unknown
}

// Snapshot is everything a reader needs to draw the run. Slices are shared
// with the trainer, which only ever appends to them: treat them as read-only.
type Snapshot struct {
	Seq uint64 // increases with every change; equal Seq means nothing new

	// Config is the run's configuration as it stands now, live changes
	// included.
	Config config.Config

	RunID   string
	RunDir  string
	Model   string
	Params  int // number of learnable scalars
	Dataset string
	Classes [10]string

	State   State
	Message string // last status line: "saved runs/.../step-900.safetensors", ...
	Err     error  // set when State == Failed, or for a recoverable error (divergence, a failed step-<n> save)
	// SaveErr names the run's files that could not be written and have not
	// been since (last, best, lines of metrics.jsonl): unlike Message and
	// Err it stays until they are, and a run that ends with it ends Failed.
	SaveErr error
	// Checkpoint is the newest checkpoint on disk that resumes the run;
	// "" before the first is written.
	Checkpoint string

	Epoch, Epochs  int // current epoch (1-based) and planned total
	Batch, Batches int // batches done in the current epoch, and per epoch
	Step           int64
	LR, Momentum   float64

	RunningLoss  float64 // since the last log point
	RunningAcc   float64 // percent, since the last log point
	ImagesPerSec float64 // recent training throughput
	Elapsed      time.Duration
	ETA          time.Duration // to the end of the last epoch; 0 when unknown

	Download *Download // non-nil while data is being fetched

	Logs []LogPoint
	// Rates is the learning rate of the run's steps so far, for the line
	// under the loss chart.
	Rates   RateTrace
	History []EpochResult
	Changes []HyperChange
	Samples []Sample // refreshed after each evaluation
	// Health is the layers' health at each log point, a resumed run's
	// earlier ones included (read from its metrics.jsonl); Notes are the
	// training doctor's, likewise.
	Health []runs.Health
	Notes  []runs.Note

	// Data is the loaded data set (nil while Loading); read-only.
	Data *Data
	// Eval is the latest evaluation of the test set (nil before the first
	// epoch ends); a new one replaces it, it is never changed. Read-only.
	Eval *Evaluation
}

// Command asks the trainer to do something at the next batch boundary.
type Command interface{ isCommand() }

// Pause stops training at the next batch boundary; Resume continues exactly there.
type Pause struct{}

// Resume continues a paused run.
type Resume struct{}

// Stop ends the run at the next batch boundary, saving last.safetensors.
type Stop struct{}

// Save writes a checkpoint now (runs/<id>/step-<n>.safetensors).
type Save struct{}

// SetHyper changes hyperparameters that may change live, from the next step.
// Nil fields are left as they are.
type SetHyper struct {
	LearningRate *float64
	Momentum     *float64
	LogInterval  *int
	Epochs       *int
	// Why is recorded with the changes (runs.Change.Why).
	Why string
}

func (Pause) isCommand()    {}
func (Resume) isCommand()   {}
func (Stop) isCommand()     {}
func (Save) isCommand()     {}
func (SetHyper) isCommand() {}

// DataInfo is the normalisation and class names of the run's data set: the
// loaded set's, or the named one's before it is loaded.
func (s Snapshot) DataInfo() (dataset.Info, error) {
	if s.Data != nil {
		return s.Data.Info, nil
	}
	return dataset.Lookup(s.Dataset)
}

// NewNet builds a one-thread net of the run's model (its own network when
// custom) for a page to copy the run's weights into and look through.
func (s Snapshot) NewNet() (*engine.Net, error) {
	if s.Model == config.Custom {
		return engine.NewCustomNet(s.Config.Network, 1, 1)
	}
	return engine.NewNet(s.Model, 1, 1)
}
