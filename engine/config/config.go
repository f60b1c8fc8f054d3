// Package config holds the training settings of mnist-tui: their defaults
// (the classic PyTorch MNIST tutorial), the rules for what values are allowed,
// and reading and editing them as YAML.
//
// The YAML is read through its syntax tree rather than decoded into the struct
// so that every error can point at the exact line and column of the offending
// key or value, and so that Update can change one value in a user's file
// without disturbing their comments or layout.
package config

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"mnist-tui/dataset"
	"mnist-tui/engine/network"
)

// Config is every setting of a training run. The yaml tags are the key names
// used in config.yaml; the order of the fields is the order of the file.
type Config struct {
	// Recipe names the built-in recipe (engine/recipe) the other settings start from; "" for none.
	Recipe       string  `yaml:"recipe"`
	Model        string  `yaml:"model"`
	Dataset      string  `yaml:"dataset"`
	DataDir      string  `yaml:"data_dir"`
	Epochs       int     `yaml:"epochs"`
	BatchSize    int     `yaml:"batch_size"`
	LearningRate float64 `yaml:"learning_rate"`
	Momentum     float64 `yaml:"momentum"`
	WeightDecay  float64 `yaml:"weight_decay"`
	// The optimizer and its settings, as torch.optim names them (Adam's betas=(Beta1, Beta2)).
	Optimizer string  `yaml:"optimizer"`
	Nesterov  bool    `yaml:"nesterov"`
	Beta1     float64 `yaml:"beta1"`
	Beta2     float64 `yaml:"beta2"`
	Eps       float64 `yaml:"eps"`
	// The learning-rate schedule, counted in optimizer steps (batches); see engine/schedule.
	Schedule       string  `yaml:"schedule"`
	WarmupSteps    int     `yaml:"warmup_steps"`
	StepSize       int     `yaml:"step_size"`
	Gamma          float64 `yaml:"gamma"`
	TMax           int     `yaml:"t_max"`
	EtaMin         float64 `yaml:"eta_min"`
	MaxLR          float64 `yaml:"max_lr"`
	PctStart       float64 `yaml:"pct_start"`
	DivFactor      float64 `yaml:"div_factor"`
	FinalDivFactor float64 `yaml:"final_div_factor"`
	// OneCycleLR's cycle_momentum: SGD's momentum or Adam's beta1 moves against the rate,
	// from MaxMomentum down to BaseMomentum at the peak and back.
	CycleMomentum  bool    `yaml:"cycle_momentum"`
	BaseMomentum   float64 `yaml:"base_momentum"`
	MaxMomentum    float64 `yaml:"max_momentum"`
	LabelSmoothing float64 `yaml:"label_smoothing"`
	// ClipGradNorm is torch.nn.utils.clip_grad_norm_'s max_norm (0: no clipping); EMADecay the
	// decay of the averaged weights used for evaluation (0: none).
	ClipGradNorm float64 `yaml:"clip_grad_norm"`
	EMADecay     float64 `yaml:"ema_decay"`
	// TTAShift is test-time augmentation: evaluation also sees each image shifted this many
	// pixels four ways (0: off).
	TTAShift int `yaml:"tta_shift"`
	// Augmentation of the training images, as torchvision's RandomAffine (see dataset/augment):
	// separate keys because a key holds one value. All four at their defaults leave images untouched.
	AugmentRotate    float64 `yaml:"augment_rotate"`
	AugmentTranslate float64 `yaml:"augment_translate"`
	AugmentScaleMin  float64 `yaml:"augment_scale_min"`
	AugmentScaleMax  float64 `yaml:"augment_scale_max"`
	Seed             uint64  `yaml:"seed"`
	LogInterval      int     `yaml:"log_interval"`
	Threads          int     `yaml:"threads"`
	RunsDir          string  `yaml:"runs_dir"`
	// Name labels a custom network; Network is its layers (nil: none), read when Model is custom.
	Name    string           `yaml:"name"`
	Network *network.Network `yaml:"network"`
}

// Defaults returns the settings of the PyTorch MNIST tutorial: a LeNet-style
// CNN trained for 10 epochs by SGD (lr 0.01, momentum 0.5) in batches of 64,
// with torch.manual_seed(1).
func Defaults() Config {
	return Config{
		Model:        "cnn",
		Dataset:      "mnist",
		DataDir:      "", // the user cache folder mnist-tui/<dataset>
		Epochs:       10,
		BatchSize:    64,
		LearningRate: 0.01,
		Momentum:     0.5,
		WeightDecay:  0,
		// The tutorial's plain SGD at a constant rate; the other settings are PyTorch's
		// defaults, used when a run picks adam or a schedule.
		Optimizer:      "sgd",
		Beta1:          0.9,
		Beta2:          0.999,
		Eps:            1e-8,
		Schedule:       "constant",
		StepSize:       1000,
		Gamma:          0.1,
		PctStart:       0.3,
		DivFactor:      25,
		FinalDivFactor: 10000,
		BaseMomentum:   0.85,
		MaxMomentum:    0.95,
		// No augmentation: the tutorial trains on the images as they are.
		AugmentScaleMin: 1,
		AugmentScaleMax: 1,
		Seed:            1,
		LogInterval:     300,
		Threads:         0, // all cores
		RunsDir:         "runs",
	}
}

// field describes one key of the file. The table below is the single place
// that knows the keys, their order, their rules and whether a running
// training run can pick up a change to them.
type field struct {
	key string
	// ptr returns a pointer to the field inside c: *string, *int, *uint64,
	// *bool or *float64. Its type says which YAML scalars the key accepts.
	ptr func(c *Config) any
	// check returns "" when the value in c is allowed, or else what is wrong
	// with it, phrased to follow "key: ".
	check func(c Config) string
	// live keys may change while a run is training; the others need a fresh
	// start (a new model, new data or a new random stream).
	live bool
}

// fields lists the keys in file order. Read-only.
var fields = []field{
	{key: recipeKey, ptr: func(c *Config) any { return &c.Recipe }, check: checkRecipe},
	{key: "model", ptr: func(c *Config) any { return &c.Model }, check: checkModel},
	{key: "dataset", ptr: func(c *Config) any { return &c.Dataset }, check: func(c Config) string {
		return oneOf(c.Dataset, dataset.Names())
	}},
	{key: "data_dir", ptr: func(c *Config) any { return &c.DataDir }, check: func(c Config) string {
		return folderText(c.DataDir) // any folder; "" means the user cache folder
	}},
	{key: "epochs", live: true, ptr: func(c *Config) any { return &c.Epochs }, check: func(c Config) string {
		return intRange(c.Epochs, 1, 10000, "")
	}},
	{key: "batch_size", ptr: func(c *Config) any { return &c.BatchSize }, check: func(c Config) string {
		return intRange(c.BatchSize, 1, 60000, "")
	}},
	{key: "learning_rate", live: true, ptr: func(c *Config) any { return &c.LearningRate }, check: func(c Config) string {
		lr := c.LearningRate
		if math.IsNaN(lr) || math.IsInf(lr, 0) || lr <= 0 {
			return "must be a finite number greater than 0 (got " + showFloat(lr) + ")"
		}
		if lr > 100 {
			return "must be at most 100; typical values are 0.001 to 0.1 (got " + showFloat(lr) + ")"
		}
		return ""
	}},
	{key: "momentum", live: true, ptr: func(c *Config) any { return &c.Momentum }, check: func(c Config) string {
		m := c.Momentum
		if math.IsNaN(m) || m < 0 || m >= 1 {
			return "must be at least 0 and less than 1 (got " + showFloat(m) + ")"
		}
		return ""
	}},
	{key: "weight_decay", ptr: func(c *Config) any { return &c.WeightDecay }, check: func(c Config) string {
		wd := c.WeightDecay
		if math.IsNaN(wd) || math.IsInf(wd, 0) || wd < 0 {
			return "must be a finite number of at least 0 (got " + showFloat(wd) + ")"
		}
		return ""
	}},
	{key: "optimizer", ptr: func(c *Config) any { return &c.Optimizer }, check: func(c Config) string {
		return oneOf(c.Optimizer, Optimizers())
	}},
	{key: "nesterov", ptr: func(c *Config) any { return &c.Nesterov }, check: func(c Config) string {
		switch {
		case c.Nesterov && c.Optimizer != "sgd":
			return "is an option of sgd, not " + c.Optimizer + "; set it to false"
		case c.Nesterov && c.Momentum == 0:
			return "needs momentum above 0 (PyTorch refuses it without)"
		}
		return ""
	}},
	{key: "beta1", ptr: func(c *Config) any { return &c.Beta1 }, check: func(c Config) string { return unitInterval(c.Beta1) }},
	{key: "beta2", ptr: func(c *Config) any { return &c.Beta2 }, check: func(c Config) string { return unitInterval(c.Beta2) }},
	{key: "eps", ptr: func(c *Config) any { return &c.Eps }, check: func(c Config) string {
		return positive(c.Eps, "; 1.0e-08 is usual")
	}},
	{key: "schedule", ptr: func(c *Config) any { return &c.Schedule }, check: func(c Config) string {
		return oneOf(c.Schedule, Schedules())
	}},
	{key: "warmup_steps", ptr: func(c *Config) any { return &c.WarmupSteps }, check: func(c Config) string {
		if c.WarmupSteps > 0 && c.Schedule == "onecycle" {
			return "must be 0 with schedule onecycle, which warms up by itself (pct_start)"
		}
		return intRange(c.WarmupSteps, 0, 1e9, " optimizer steps (batches); 0 means no warmup")
	}},
	{key: "step_size", ptr: func(c *Config) any { return &c.StepSize }, check: func(c Config) string {
		return intRange(c.StepSize, 1, 1e9, " optimizer steps (batches)")
	}},
	{key: "gamma", ptr: func(c *Config) any { return &c.Gamma }, check: func(c Config) string {
		return positive(c.Gamma, "; 0.1 divides the rate by 10 every step_size steps")
	}},
	{key: "t_max", ptr: func(c *Config) any { return &c.TMax }, check: func(c Config) string {
		return intRange(c.TMax, 0, 1e9, " optimizer steps (batches); 0 means the whole run")
	}},
	{key: "eta_min", ptr: func(c *Config) any { return &c.EtaMin }, check: func(c Config) string {
		if math.IsNaN(c.EtaMin) || math.IsInf(c.EtaMin, 0) || c.EtaMin < 0 {
			return "must be a finite number of at least 0 (got " + showFloat(c.EtaMin) + ")"
		}
		return ""
	}},
	{key: "max_lr", ptr: func(c *Config) any { return &c.MaxLR }, check: func(c Config) string {
		if c.MaxLR == 0 {
			return "" // learning_rate is the peak
		}
		return positive(c.MaxLR, "; 0 means learning_rate")
	}},
	{key: "pct_start", ptr: func(c *Config) any { return &c.PctStart }, check: func(c Config) string {
		if math.IsNaN(c.PctStart) || c.PctStart < 0 || c.PctStart > 1 {
			return "must be from 0 to 1, the part of the run spent warming up (got " + showFloat(c.PctStart) + ")"
		}
		return ""
	}},
	{key: "div_factor", ptr: func(c *Config) any { return &c.DivFactor }, check: func(c Config) string {
		return positive(c.DivFactor, "; onecycle starts at max_lr/div_factor")
	}},
	{key: "final_div_factor", ptr: func(c *Config) any { return &c.FinalDivFactor }, check: func(c Config) string {
		return positive(c.FinalDivFactor, "; onecycle ends at max_lr/(div_factor*final_div_factor)")
	}},
	{key: "cycle_momentum", ptr: func(c *Config) any { return &c.CycleMomentum }, check: func(c Config) string {
		if c.CycleMomentum && c.Schedule != "onecycle" {
			return "is an option of schedule onecycle, not " + c.Schedule + "; set it to false or use schedule: onecycle"
		}
		return ""
	}},
	{key: "base_momentum", ptr: func(c *Config) any { return &c.BaseMomentum }, check: func(c Config) string {
		return unitInterval(c.BaseMomentum)
	}},
	{key: "max_momentum", ptr: func(c *Config) any { return &c.MaxMomentum }, check: func(c Config) string {
		return unitInterval(c.MaxMomentum)
	}},
	{key: "label_smoothing", ptr: func(c *Config) any { return &c.LabelSmoothing }, check: func(c Config) string {
		if math.IsNaN(c.LabelSmoothing) || c.LabelSmoothing < 0 || c.LabelSmoothing > 1 {
			return "must be from 0 to 1; 0 turns it off, 0.1 is usual (got " + showFloat(c.LabelSmoothing) + ")"
		}
		return ""
	}},
	{key: "clip_grad_norm", ptr: func(c *Config) any { return &c.ClipGradNorm }, check: func(c Config) string {
		v := c.ClipGradNorm
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return "must be a finite number of at least 0; 0 turns clipping off, 1 is usual (got " + showFloat(v) + ")"
		}
		return ""
	}},
	{key: "ema_decay", ptr: func(c *Config) any { return &c.EMADecay }, check: func(c Config) string {
		if math.IsNaN(c.EMADecay) || c.EMADecay < 0 || c.EMADecay >= 1 {
			return "must be at least 0 and less than 1; 0 turns the average off, 0.999 is usual (got " + showFloat(c.EMADecay) + ")"
		}
		return ""
	}},
	{key: "tta_shift", ptr: func(c *Config) any { return &c.TTAShift }, check: func(c Config) string {
		return intRange(c.TTAShift, 0, 4, " pixels; 0 turns test-time augmentation off, 1 or 2 is usual")
	}},
	{key: "augment_rotate", ptr: func(c *Config) any { return &c.AugmentRotate }, check: func(c Config) string {
		if math.IsNaN(c.AugmentRotate) || c.AugmentRotate < 0 || c.AugmentRotate > 180 {
			return "must be from 0 to 180 degrees; 0 turns rotation off, 10 to 15 is usual for digits (got " + showFloat(c.AugmentRotate) + ")"
		}
		return ""
	}},
	{key: "augment_translate", ptr: func(c *Config) any { return &c.AugmentTranslate }, check: func(c Config) string {
		if math.IsNaN(c.AugmentTranslate) || c.AugmentTranslate < 0 || c.AugmentTranslate > 1 {
			return "must be from 0 to 1, a fraction of the image's side; 0 turns shifts off, 0.1 is usual (got " + showFloat(c.AugmentTranslate) + ")"
		}
		return ""
	}},
	{key: "augment_scale_min", ptr: func(c *Config) any { return &c.AugmentScaleMin }, check: func(c Config) string {
		if math.IsNaN(c.AugmentScaleMin) || c.AugmentScaleMin <= 0 || c.AugmentScaleMin > 10 {
			return "must be above 0 and at most 10; 1 with augment_scale_max 1 turns scaling off (got " + showFloat(c.AugmentScaleMin) + ")"
		}
		return ""
	}},
	{key: "augment_scale_max", ptr: func(c *Config) any { return &c.AugmentScaleMax }, check: func(c Config) string {
		if math.IsNaN(c.AugmentScaleMax) || c.AugmentScaleMax <= 0 || c.AugmentScaleMax > 10 {
			return "must be above 0 and at most 10; 1 with augment_scale_min 1 turns scaling off (got " + showFloat(c.AugmentScaleMax) + ")"
		}
		if c.AugmentScaleMax < c.AugmentScaleMin {
			return "must be at least augment_scale_min (" + showFloat(c.AugmentScaleMin) + "; got " + showFloat(c.AugmentScaleMax) + ")"
		}
		return ""
	}},
	{key: "seed", ptr: func(c *Config) any { return &c.Seed }, check: func(Config) string {
		return "" // every uint64 is a seed
	}},
	{key: "log_interval", live: true, ptr: func(c *Config) any { return &c.LogInterval }, check: func(c Config) string {
		if c.LogInterval < 1 {
			return "must be a whole number of batches, at least 1 (got " + strconv.Itoa(c.LogInterval) + ")"
		}
		return ""
	}},
	{key: "threads", ptr: func(c *Config) any { return &c.Threads }, check: func(c Config) string {
		return intRange(c.Threads, 0, 256, "; 0 means all cores")
	}},
	{key: "runs_dir", ptr: func(c *Config) any { return &c.RunsDir }, check: func(c Config) string {
		if c.RunsDir == "" {
			return `must not be empty: it is the folder where runs are saved (default "runs")`
		}
		return folderText(c.RunsDir)
	}},
	{key: "name", ptr: func(c *Config) any { return &c.Name }, check: checkName},
	{key: networkKey, ptr: func(c *Config) any { return &c.Network }, check: checkNetwork},
}

// Optimizers lists the values of the optimizer key.
func Optimizers() []string { return []string{"sgd", "adam", "adamw"} }

// Schedules lists the values of the schedule key.
func Schedules() []string { return []string{"constant", "step", "cosine", "onecycle"} }

// unitInterval checks an exponential decay rate such as Adam's betas: [0, 1).
func unitInterval(v float64) string {
	if math.IsNaN(v) || v < 0 || v >= 1 {
		return "must be at least 0 and less than 1 (got " + showFloat(v) + ")"
	}
	return ""
}

// positive checks a finite number above 0.
func positive(v float64, hint string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		return "must be a finite number greater than 0" + hint + " (got " + showFloat(v) + ")"
	}
	return ""
}

// lookup finds the field for a key name.
func lookup(key string) (field, bool) {
	i := slices.IndexFunc(fields, func(f field) bool { return f.key == key })
	if i < 0 {
		return field{}, false
	}
	return fields[i], true
}

// folderText checks a folder name that is written to config files and
// shown on screen: it must be UTF-8 (a config file can hold nothing else,
// so it could not be written back) without control characters (they would
// act on the terminal).
func folderText(dir string) string {
	switch {
	case !utf8.ValidString(dir):
		return "must be valid UTF-8 text (got " + strconv.Quote(dir) + "); rename the folder"
	case hasControl(dir):
		return "must not hold control characters (got " + strconv.Quote(dir) + ")"
	}
	return ""
}

func oneOf(v string, allowed []string) string {
	if slices.Contains(allowed, v) {
		return ""
	}
	return "must be one of " + strings.Join(allowed, ", ") + " (got " + strconv.Quote(v) + ")"
}

func intRange(v, lo, hi int, hint string) string {
	if v >= lo && v <= hi {
		return ""
	}
	return fmt.Sprintf("must be a whole number from %d to %d%s (got %d)", lo, hi, hint, v)
}

// Validate checks the range rules that Parse applies, for a Config built
// another way (defaults plus command-line flags). The first problem, in file
// order, comes back as an *Error naming the key, with no file position.
func (c Config) Validate() error {
	for _, f := range fields {
		if msg := f.check(c); msg != "" {
			return &Error{Key: f.key, Msg: msg}
		}
	}
	return nil
}

// Marshal returns c as plain YAML, one "key: value" line per key in file
// order, without comments. Parse reads it back to the same Config, which is
// what a run stores to remember how it was started.
func (c Config) Marshal() []byte {
	var b strings.Builder
	for _, f := range fields {
		b.WriteString(f.key)
		b.WriteString(": ")
		b.WriteString(formatValue(f.ptr(&c)))
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// Diff returns the keys whose values differ between old and new, in file
// order, split into those a running run can apply (live) and those that need
// a restart. Both are nil when nothing differs.
func Diff(old, new Config) (live, restart []string) {
	for _, f := range fields {
		if sameValue(f.ptr(&old), f.ptr(&new)) {
			continue
		}
		if f.live {
			live = append(live, f.key)
		} else {
			restart = append(restart, f.key)
		}
	}
	return live, restart
}

// sameValue compares two pointers of the same type taken from fields.ptr.
// Two NaNs count as the same value: neither is a change.
func sameValue(a, b any) bool {
	switch a := a.(type) {
	case *string:
		return *a == *b.(*string)
	case *int:
		return *a == *b.(*int)
	case *uint64:
		return *a == *b.(*uint64)
	case *bool:
		return *a == *b.(*bool)
	case *float64:
		y := *b.(*float64)
		return *a == y || (math.IsNaN(*a) && math.IsNaN(y))
	case **network.Network:
		return (*a).YAML() == (*b.(**network.Network)).YAML()
	}
	panic(fmt.Sprintf("config: field pointer of unexpected type %T", a)) // a bug in the fields table
}
