package config

import (
	"mnist-tui/engine/network"

	"errors"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// repoConfig is the config.yaml that the program embeds.
const repoConfig = "../../config.yaml"

func readRepoConfig(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(repoConfig)
	if err != nil {
		t.Fatalf("read the repository's config.yaml: %v", err)
	}
	return data
}

// The shipped config.yaml and Defaults() must never drift apart: a user who
// deletes a line gets the value the file showed.
func TestConfigYAMLIsDefaults(t *testing.T) {
	got, err := Parse("config.yaml", readRepoConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if got != Defaults() {
		t.Errorf("config.yaml parses to\n%+v\nDefaults() is\n%+v", got, Defaults())
	}
}

// Every setting in the shipped file is explained by a comment right above
// it, and the keys come in the order of the Config struct.
func TestConfigYAMLExplainsEveryKeyInOrder(t *testing.T) {
	lines := strings.Split(string(readRepoConfig(t)), "\n")
	var keys []string
	for i, line := range lines {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, _, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("line %d is neither a comment nor a key: %q", i+1, line)
		}
		keys = append(keys, key)
		if i == 0 || !strings.HasPrefix(lines[i-1], "# ") {
			t.Errorf("line %d: key %s has no comment right above it", i+1, key)
		}
	}
	if want := structKeys(); !slices.Equal(keys, want) {
		t.Errorf("config.yaml keys are\n%v\nthe Config struct's are\n%v", keys, want)
	}
}

// structKeys returns the yaml tags of Config in field order.
func structKeys() []string {
	typ := reflect.TypeFor[Config]()
	keys := make([]string, typ.NumField())
	for i := range keys {
		keys[i] = typ.Field(i).Tag.Get("yaml")
	}
	return keys
}

// The fields table drives parsing, checking and writing; each entry must
// point at the struct field its key names.
func TestFieldsTableMatchesStruct(t *testing.T) {
	keys := structKeys()
	if len(fields) != len(keys) {
		t.Fatalf("fields has %d entries, Config has %d fields", len(fields), len(keys))
	}
	var c Config
	v := reflect.ValueOf(&c).Elem()
	for i, f := range fields {
		if f.key != keys[i] {
			t.Errorf("fields[%d] is %s, Config field %d is %s", i, f.key, i, keys[i])
		}
		if got, want := f.ptr(&c), v.Field(i).Addr().Interface(); got != want {
			t.Errorf("%s: ptr points at %T %p, want field %s at %p", f.key, got, got, v.Type().Field(i).Name, want)
		}
	}
}

func TestDefaultsAreValid(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateRejectsEachBadValue(t *testing.T) {
	tests := []struct {
		key    string
		mutate func(*Config)
		want   string // part of the message
	}{
		{"model", func(c *Config) { c.Model = "mlp" }, `linear, cnn, inception, residual (got "mlp")`},
		{"model", func(c *Config) { c.Model = "" }, "must be one of"},
		{"dataset", func(c *Config) { c.Dataset = "cifar10" }, `mnist, fashion-mnist (got "cifar10")`},
		{"epochs", func(c *Config) { c.Epochs = 0 }, "from 1 to 10000 (got 0)"},
		{"epochs", func(c *Config) { c.Epochs = 10001 }, "(got 10001)"},
		{"batch_size", func(c *Config) { c.BatchSize = 0 }, "from 1 to 60000"},
		{"batch_size", func(c *Config) { c.BatchSize = 60001 }, "(got 60001)"},
		{"learning_rate", func(c *Config) { c.LearningRate = 0 }, "greater than 0 (got 0)"},
		{"learning_rate", func(c *Config) { c.LearningRate = -1 }, "greater than 0 (got -1)"},
		{"learning_rate", func(c *Config) { c.LearningRate = math.NaN() }, "finite"},
		{"learning_rate", func(c *Config) { c.LearningRate = math.Inf(1) }, "finite"},
		{"learning_rate", func(c *Config) { c.LearningRate = 100.5 }, "at most 100"},
		{"momentum", func(c *Config) { c.Momentum = -0.1 }, "at least 0 and less than 1"},
		{"momentum", func(c *Config) { c.Momentum = 1 }, "(got 1)"},
		{"momentum", func(c *Config) { c.Momentum = math.NaN() }, "(got NaN)"},
		{"weight_decay", func(c *Config) { c.WeightDecay = -0.001 }, "at least 0"},
		{"weight_decay", func(c *Config) { c.WeightDecay = math.NaN() }, "finite"},
		{"log_interval", func(c *Config) { c.LogInterval = 0 }, "at least 1"},
		{"threads", func(c *Config) { c.Threads = -1 }, "from 0 to 256"},
		{"threads", func(c *Config) { c.Threads = 257 }, "(got 257)"},
		{"runs_dir", func(c *Config) { c.RunsDir = "" }, "must not be empty"},
		{"cycle_momentum", func(c *Config) { c.CycleMomentum = true }, "an option of schedule onecycle, not constant"},
		{"base_momentum", func(c *Config) { c.BaseMomentum = 1 }, "less than 1 (got 1)"},
		{"max_momentum", func(c *Config) { c.MaxMomentum = -0.5 }, "at least 0"},
		{"clip_grad_norm", func(c *Config) { c.ClipGradNorm = -1 }, "0 turns clipping off"},
		{"clip_grad_norm", func(c *Config) { c.ClipGradNorm = math.Inf(1) }, "finite"},
		{"ema_decay", func(c *Config) { c.EMADecay = 1 }, "less than 1"},
		{"ema_decay", func(c *Config) { c.EMADecay = math.NaN() }, "(got NaN)"},
		{"tta_shift", func(c *Config) { c.TTAShift = 5 }, "from 0 to 4 pixels"},
		{"tta_shift", func(c *Config) { c.TTAShift = -1 }, "(got -1)"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"/"+tt.want, func(t *testing.T) {
			c := Defaults()
			tt.mutate(&c)
			err := c.Validate()
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Validate() = %v, want an *Error", err)
			}
			if cerr.Key != tt.key || cerr.Line != 0 || cerr.Column != 0 || cerr.File != "" {
				t.Errorf("error %+v, want key %s and no position", cerr, tt.key)
			}
			if !strings.Contains(cerr.Msg, tt.want) {
				t.Errorf("message %q does not contain %q", cerr.Msg, tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.key+": ") {
				t.Errorf("Error() = %q, want it to start with the key and no position", err)
			}
		})
	}
}

func TestValidateAcceptsBoundaries(t *testing.T) {
	for _, mutate := range []func(*Config){
		func(c *Config) { c.Epochs, c.BatchSize, c.LogInterval = 1, 1, 1 },
		func(c *Config) { c.Epochs, c.BatchSize, c.Threads = 10000, 60000, 256 },
		func(c *Config) { c.LearningRate, c.Momentum, c.WeightDecay = 100, 0, 0 },
		func(c *Config) { c.LearningRate, c.Momentum = math.SmallestNonzeroFloat64, 0.999 },
		func(c *Config) {
			c.Schedule, c.CycleMomentum, c.BaseMomentum, c.MaxMomentum = "onecycle", true, 0, 0.999
			c.ClipGradNorm, c.EMADecay = 1e9, 0.9999
		},
		func(c *Config) {
			c.Model, c.Dataset, c.DataDir, c.Seed = "residual", "fashion-mnist", "/tmp/x", math.MaxUint64
		},
	} {
		c := Defaults()
		mutate(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

func TestMarshalWritesEveryKeyInOrder(t *testing.T) {
	var keys []string
	for _, line := range strings.Split(strings.TrimSuffix(string(Defaults().Marshal()), "\n"), "\n") {
		key, _, _ := strings.Cut(line, ": ")
		keys = append(keys, key)
	}
	if want := structKeys(); !slices.Equal(keys, want) {
		t.Errorf("Marshal keys %v, want %v", keys, want)
	}
}

func TestMarshalRoundTrips(t *testing.T) {
	odd := Config{
		Model: "residual", Dataset: "fashion-mnist",
		DataDir:      `C:\data "mnist" # not a comment: really`,
		Epochs:       10000,
		BatchSize:    1,
		LearningRate: 1e-7,
		Momentum:     0.9990000000000001,
		WeightDecay:  5e-4,
		Seed:         math.MaxUint64,
		LogInterval:  math.MaxInt,
		Threads:      256,
		RunsDir:      "2024",
		Optimizer:    "adamw", Beta1: 0.5, Beta2: 0.25, Eps: 1e-3,
		Schedule: "cosine", WarmupSteps: 7, StepSize: 3, Gamma: 0.5, TMax: 11, EtaMin: 1e-5,
		MaxLR: 0.5, PctStart: 0.25, DivFactor: 3, FinalDivFactor: 1e3, LabelSmoothing: 0.1,
		AugmentRotate: 12.5, AugmentTranslate: 0.1, AugmentScaleMin: 0.9, AugmentScaleMax: 1.1,
	}
	nesterov := Defaults()
	nesterov.Nesterov = true
	for _, c := range []Config{Defaults(), odd, nesterov} {
		data := c.Marshal()
		got, err := Parse("marshalled", data)
		if err != nil {
			t.Fatalf("Parse(Marshal()) failed: %v\n%s", err, data)
		}
		if got != c {
			t.Errorf("round trip changed the config:\n got %+v\nwant %+v\nYAML:\n%s", got, c, data)
		}
	}
}

// trickyStrings are texts that YAML would read as something else if written
// bare, or that need escapes.
var trickyStrings = []string{
	"", " ", "runs", "runs dir", " lead", "trail ", "null", "~", "true", "no", "123", "1e3", "0x10", ".inf",
	"- x", "? x", ": x", "a: b", "a #b", "#x", "[x]", "{x}", "&x", "*x", "!x", "|", ">", "%x", "@x", "`x",
	`"q"`, "'q'", `back\slash`, "é/中文/🙂",
	"zero\u200bwidth", "nbsp\u00a0", "---", "...", "a\u2028b",
}

// controlStrings hold control characters: no folder name needs one, and
// shown in a message one would act on the terminal.
var controlStrings = []string{"tab\there", "new\nline", "cr\rhere", "bell\a", "del\x7f", "esc\x1b[2J", "c1\u009b2J"}

// Folder names with control characters are refused, whether they come from
// flags (Validate) or a file written with YAML escapes.
func TestControlCharactersInTextAreRefused(t *testing.T) {
	for _, s := range controlStrings {
		for _, set := range []func(*Config){func(c *Config) { c.DataDir = s }, func(c *Config) { c.RunsDir = s }} {
			c := Defaults()
			set(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "must not hold control characters (got "+strconv.Quote(s)) {
				t.Errorf("Validate of %q: %v", s, err)
			}
			if _, err := Parse("c.yaml", c.Marshal()); err == nil || !strings.Contains(err.Error(), "control character") {
				t.Errorf("Parse of %q: %v\n%s", s, err, c.Marshal())
			}
		}
	}
	// From flags, bytes that are not UTF-8 could not be written back to a
	// run's config.yaml.
	c := Defaults()
	c.RunsDir = "runs\x80"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `runs_dir: must be valid UTF-8 text (got "runs\x80")`) {
		t.Errorf("Validate of a runs_dir that is not UTF-8: %v", err)
	}
	// Written raw in the file: refused where it stands.
	_, err := Parse("c.yaml", []byte("epochs: 3\ndata_dir: a\x1b[2J\n"))
	var cerr *Error
	if !errors.As(err, &cerr) || cerr.Line != 2 || cerr.Column != 12 || !strings.Contains(cerr.Msg, "control character (U+001B)") {
		t.Errorf("a raw ESC: %v", err)
	}
}

// Text values must come back as the same text.
func TestStringValuesRoundTrip(t *testing.T) {
	for _, s := range trickyStrings {
		c := Defaults()
		c.DataDir = s
		got, err := Parse("marshalled", c.Marshal())
		if err != nil {
			t.Errorf("%q: %v\n%s", s, err, c.Marshal())
			continue
		}
		if got.DataDir != s {
			t.Errorf("%q came back as %q; YAML was\n%s", s, got.DataDir, c.Marshal())
		}
	}
}

// Floats are written so that any YAML reader sees a float, not text: PyYAML
// (YAML 1.1) wants a decimal point in the mantissa and a sign in the exponent.
func TestFormatFloatLooksLikeAFloat(t *testing.T) {
	for _, v := range []float64{0, 0.01, 0.5, 1, 100, 1e-5, 2.5e-10, 1e21, 123456789, -3} {
		s := formatFloat(v)
		mantissa, exp, hasExp := strings.Cut(s, "e")
		if !strings.Contains(mantissa, ".") || hasExp && exp[0] != '-' && exp[0] != '+' {
			t.Errorf("formatFloat(%g) = %q, not a YAML 1.1 float", v, s)
		}
	}
}

func TestDiff(t *testing.T) {
	base := Defaults()
	tests := []struct {
		name          string
		mutate        func(*Config)
		live, restart []string
	}{
		{"nothing", func(*Config) {}, nil, nil},
		{"learning rate", func(c *Config) { c.LearningRate = 0.05 }, []string{"learning_rate"}, nil},
		{"model", func(c *Config) { c.Model = "linear" }, nil, []string{"model"}},
		{"mixed, in file order", func(c *Config) {
			c.RunsDir, c.LogInterval, c.Seed, c.Epochs = "out", 10, 7, 3
		}, []string{"epochs", "log_interval"}, []string{"seed", "runs_dir"}},
		{"to NaN", func(c *Config) { c.Momentum = math.NaN() }, []string{"momentum"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := base
			tt.mutate(&next)
			live, restart := Diff(base, next)
			if !slices.Equal(live, tt.live) || !slices.Equal(restart, tt.restart) {
				t.Errorf("Diff = %v, %v; want %v, %v", live, restart, tt.live, tt.restart)
			}
		})
	}

	nan := base
	nan.Momentum = math.NaN()
	if live, restart := Diff(nan, nan); live != nil || restart != nil {
		t.Errorf("NaN against NaN reported as a change: %v %v", live, restart)
	}
}

// Changing every key sorts every key into exactly one of the two lists.
func TestDiffCoversEveryKey(t *testing.T) {
	a := Defaults()
	b := Config{Recipe: "fast", Model: "linear", Dataset: "fashion-mnist", DataDir: "d", Epochs: 1, BatchSize: 1,
		LearningRate: 1, Momentum: 0.1, WeightDecay: 1, Seed: 2, LogInterval: 1, Threads: 1, RunsDir: "r", Name: "n",
		Optimizer: "adam", Nesterov: true, Beta1: 0.1, Beta2: 0.2, Eps: 0.3, Schedule: "step", WarmupSteps: 1, StepSize: 2,
		Gamma: 0.4, TMax: 3, EtaMin: 0.5, MaxLR: 0.6, PctStart: 0.7, DivFactor: 0.8, FinalDivFactor: 0.9, LabelSmoothing: 0.11,
		AugmentRotate: 1, AugmentTranslate: 0.2, AugmentScaleMin: 0.5, AugmentScaleMax: 2,
		CycleMomentum: true, BaseMomentum: 0.1, MaxMomentum: 0.2, ClipGradNorm: 3, EMADecay: 0.5, TTAShift: 1}
	var err error
	if b.Network, err = network.Preset("cnn"); err != nil {
		t.Fatal(err)
	}
	live, restart := Diff(a, b)
	// The keys a running run can take, as the trainer's SetHyper command carries them.
	if want := []string{"epochs", "learning_rate", "momentum", "log_interval"}; !slices.Equal(live, want) {
		t.Errorf("live = %v, want %v", live, want)
	}
	all := append(slices.Clone(live), restart...)
	slices.Sort(all)
	want := structKeys()
	slices.Sort(want)
	if !slices.Equal(all, want) {
		t.Errorf("live+restart = %v, want every key %v", all, want)
	}
}
