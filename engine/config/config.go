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
	Model        string  `yaml:"model"`
	Dataset      string  `yaml:"dataset"`
	DataDir      string  `yaml:"data_dir"`
	Epochs       int     `yaml:"epochs"`
	BatchSize    int     `yaml:"batch_size"`
	LearningRate float64 `yaml:"learning_rate"`
	Momentum     float64 `yaml:"momentum"`
	WeightDecay  float64 `yaml:"weight_decay"`
	Seed         uint64  `yaml:"seed"`
	LogInterval  int     `yaml:"log_interval"`
	Threads      int     `yaml:"threads"`
	RunsDir      string  `yaml:"runs_dir"`
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
		Seed:         1,
		LogInterval:  300,
		Threads:      0, // all cores
		RunsDir:      "runs",
	}
}

// field describes one key of the file. The table below is the single place
// that knows the keys, their order, their rules and whether a running
// training run can pick up a change to them.
type field struct {
	key string
	// ptr returns a pointer to the field inside c: *string, *int, *uint64 or
	// *float64. Its type says which YAML scalars the key accepts.
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
	case *float64:
		y := *b.(*float64)
		return *a == y || (math.IsNaN(*a) && math.IsNaN(y))
	case **network.Network:
		return (*a).YAML() == (*b.(**network.Network)).YAML()
	}
	panic(fmt.Sprintf("config: field pointer of unexpected type %T", a)) // a bug in the fields table
}
