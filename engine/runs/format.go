package runs

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The files of a run folder. The trainer writes them and every reader
// (the runs page, compare, the plots) finds them by these names.
const (
	MetricsFile    = "metrics.jsonl"
	ConfigFile     = "config.yaml"
	LastCheckpoint = "last.safetensors" // end of every epoch, and when the run stops
	BestCheckpoint = "best.safetensors" // weights alone, of the best test accuracy
)

// StepCheckpoint is the name of the checkpoint saved on request at step.
func StepCheckpoint(step int64) string { return "step-" + strconv.FormatInt(step, 10) + ".safetensors" }

// ParseStepCheckpoint reads the step out of a name StepCheckpoint made.
func ParseStepCheckpoint(name string) (int64, bool) {
	s, ok := strings.CutPrefix(name, "step-")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, ".safetensors")
	if !ok {
		return 0, false
	}
	step, err := strconv.ParseInt(s, 10, 64)
	return step, err == nil && step >= 0 && strconv.FormatInt(step, 10) == s
}

// The types of the lines of metrics.jsonl, and of the JSON lines of
// `train --headless --json`, which are the same records (its status and
// summary lines exist only on stdout).
const (
	TypeStart   = "start"
	TypeLog     = "log"
	TypeEpoch   = "epoch"
	TypeChange  = "change"
	TypePause   = "pause"
	TypeResume  = "resume"
	TypeEnd     = "end"
	TypeStatus  = "status"
	TypeSummary = "summary"
	TypeHealth  = "health"
	TypeNote    = "note"
)

// Record is one line of metrics.jsonl. Each type has its own struct; the
// line carries the type in its "type" field, before the struct's fields.
type Record interface{ RecordType() string }

// Start begins a run, or a resumption of it: what the run logged after
// Step is replaced by what follows.
type Start struct {
	RunID       string  `json:"run_id"`
	Model       string  `json:"model"`
	Dataset     string  `json:"dataset"`
	Params      int     `json:"params"`
	Epochs      int     `json:"epochs"`
	BatchSize   int     `json:"batch_size"`
	Threads     int     `json:"threads"`
	TrainImages int     `json:"train_images,omitempty"` // images per epoch; absent in runs older than the field
	Epoch       int     `json:"epoch"`                  // where the run starts: 1-based epoch,
	Batch       int     `json:"batch"`                  // batches of it already trained,
	Step        int64   `json:"step"`                   // optimizer steps so far
	Parent      *Parent `json:"parent,omitempty"`       // set when the run branched off another
}

// Parent is the run a branched run started from: a checkpoint of it that
// was not its newest, resumed into a folder of its own.
type Parent struct {
	Run        string `json:"run"`        // the parent's id (its folder name)
	Step       int64  `json:"step"`       // the parent's step the branch starts at
	Checkpoint string `json:"checkpoint"` // the file resumed, as given
}

// Log is one log interval: the tutorial's "[1,   300]: loss: ..." line.
type Log struct {
	Epoch int     `json:"epoch"`
	Batch int     `json:"batch"`
	Step  int64   `json:"step"`
	Loss  float64 `json:"loss"` // mean training loss over the interval
	Acc   float64 `json:"acc"`  // percent right over the interval
	LR    float64 `json:"lr"`
}

// Epoch is a finished epoch with its test result. Seconds and ImgS count
// training time only: not the test pass, not pauses.
type Epoch struct {
	Epoch     int     `json:"epoch"`
	Epochs    int     `json:"epochs,omitempty"` // planned when it finished
	TrainLoss float64 `json:"train_loss"`
	TrainAcc  float64 `json:"train_acc"`
	TestLoss  float64 `json:"test_loss"`
	TestAcc   float64 `json:"test_acc"`
	Seconds   float64 `json:"seconds"`
	ImgS      float64 `json:"img_s"`
}

// Change is a hyperparameter changed live, from step Step on.
type Change struct {
	Step int64   `json:"step"`
	Key  string  `json:"key"`
	Old  float64 `json:"old"`
	New  float64 `json:"new"`
	// Why is who made the change when it was not typed in: the doctor's
	// fix ("doctor: step_too_low"), or its undoing.
	Why string `json:"why,omitempty"`
}

// Pause is training paused at a batch boundary.
type Pause struct {
	Epoch int   `json:"epoch"`
	Batch int   `json:"batch"`
	Step  int64 `json:"step"`
}

// Resume is training going on after a pause; PausedSeconds is how long it
// stood still (left out of the epoch's seconds).
type Resume struct {
	Epoch         int     `json:"epoch"`
	Batch         int     `json:"batch"`
	Step          int64   `json:"step"`
	PausedSeconds float64 `json:"paused_seconds"`
}

// End is how a run (or one resumption of it) ended.
type End struct {
	State State  `json:"state"` // done, stopped or failed
	Step  int64  `json:"step"`
	Error string `json:"error,omitempty"`
}

// Health is the state of every layer with parameters at a log interval:
// how large its weights and its last gradient are, and how much one step
// changes the weights. Written after the Log record of the same step.
type Health struct {
	Epoch  int           `json:"epoch"`
	Batch  int           `json:"batch"`
	Step   int64         `json:"step"`
	LR     float64       `json:"lr"`
	Layers []LayerHealth `json:"layers"`
}

// LayerHealth is one layer (its weight and bias together, by the name
// they share: "conv1.0", "fc1").
type LayerHealth struct {
	Name       string  `json:"name"`
	WeightNorm float64 `json:"weight_norm"` // L2 norm of the parameters
	GradNorm   float64 `json:"grad_norm"`   // L2 norm of the last step's gradient
	// UpdateRatio is LR x GradNorm / WeightNorm: the relative change one
	// plain SGD step makes (about 1e-3 is healthy).
	UpdateRatio float64 `json:"update_ratio"`
	// Act is the layer's output over the step's batch; nil when it was
	// not measured (runs older than the field, a layer inside a block).
	Act *Activations `json:"act,omitempty"`
}

// Activations are a layer's output (after the ReLU that ends it, if
// one does) over one training batch.
type Activations struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
	// ReLUs are the layer's ReLU units (a convolution's channels, a
	// linear layer's outputs), 0 when no ReLU ends it; Dead is the share
	// of them that were zero for every image of the batch.
	ReLUs int     `json:"relus,omitempty"`
	Dead  float64 `json:"dead,omitempty"`
}

// Note is a remark of the training doctor: a classic failure seen as it
// happens, explained, with the one-key fix when there is one.
type Note struct {
	Epoch int    `json:"epoch"`
	Batch int    `json:"batch"`
	Step  int64  `json:"step"`
	Rule  string `json:"rule"` // "stuck", "diverging", "exploding", ...
	Text  string `json:"text"`
	// FixKey and FixFactor, when set, are the fix: multiply FixKey (a
	// live-editable key, "learning_rate") by FixFactor.
	FixKey    string  `json:"fix_key,omitempty"`
	FixFactor float64 `json:"fix_factor,omitempty"`
}

// Status is a status message of the trainer (--json output only).
type Status struct {
	State   string `json:"state"`
	Message string `json:"message"`
}

// Summary closes the --json output of a run.
type Summary struct {
	State       string  `json:"state"`
	Model       string  `json:"model"`
	Epochs      int     `json:"epochs"` // epochs finished
	BestTestAcc float64 `json:"best_test_acc"`
	WallSeconds float64 `json:"wall_seconds"`
	TrainImgS   float64 `json:"train_img_s"`
	RunDir      string  `json:"run_dir"`
}

// Unknown is a line of a type this version does not know (a newer
// version wrote it); readers skip it.
type Unknown struct{ Type string }

func (Start) RecordType() string     { return TypeStart }
func (Log) RecordType() string       { return TypeLog }
func (Epoch) RecordType() string     { return TypeEpoch }
func (Change) RecordType() string    { return TypeChange }
func (Pause) RecordType() string     { return TypePause }
func (Resume) RecordType() string    { return TypeResume }
func (End) RecordType() string       { return TypeEnd }
func (Status) RecordType() string    { return TypeStatus }
func (Summary) RecordType() string   { return TypeSummary }
func (Health) RecordType() string    { return TypeHealth }
func (Note) RecordType() string      { return TypeNote }
func (u Unknown) RecordType() string { return u.Type }

// MarshalRecord is the JSON line of r, without the newline:
// {"type":"log","epoch":1,...}.
func MarshalRecord(r Record) ([]byte, error) {
	if _, ok := r.(Unknown); ok {
		return nil, fmt.Errorf("record of unknown type %q cannot be written", r.RecordType())
	}
	body, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("%s record: %w", r.RecordType(), err)
	}
	typ, _ := json.Marshal(r.RecordType())
	line := append([]byte(`{"type":`), typ...)
	if len(body) > 2 { // more than "{}"
		line = append(line, ',')
	}
	return append(line, body[1:]...), nil
}

// errNoType is a line without a "type" field.
var errNoType = errors.New(`no "type"`)

// UnmarshalRecord reads one line into the struct of its type; a type it
// does not know gives Unknown.
func UnmarshalRecord(line []byte) (Record, error) {
	var head struct {
		Type *string `json:"type"`
	}
	if err := json.Unmarshal(line, &head); err != nil {
		return nil, err
	}
	if head.Type == nil || *head.Type == "" {
		return nil, errNoType
	}
	var rec Record
	var err error
	switch *head.Type {
	case TypeStart:
		rec, err = decodeAs[Start](line)
	case TypeLog:
		rec, err = decodeAs[Log](line)
	case TypeEpoch:
		rec, err = decodeAs[Epoch](line)
	case TypeChange:
		rec, err = decodeAs[Change](line)
	case TypePause:
		rec, err = decodeAs[Pause](line)
	case TypeResume:
		rec, err = decodeAs[Resume](line)
	case TypeEnd:
		rec, err = decodeAs[End](line)
	case TypeStatus:
		rec, err = decodeAs[Status](line)
	case TypeSummary:
		rec, err = decodeAs[Summary](line)
	case TypeHealth:
		rec, err = decodeAs[Health](line)
	case TypeNote:
		rec, err = decodeAs[Note](line)
	default:
		rec = Unknown{Type: *head.Type}
	}
	return rec, err
}

func decodeAs[R Record](line []byte) (Record, error) {
	var r R
	if err := json.Unmarshal(line, &r); err != nil {
		return nil, err
	}
	return r, nil
}
