package config

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseMissingKeysTakeDefaults(t *testing.T) {
	withEpochs3 := Defaults()
	withEpochs3.Epochs = 3
	tests := []struct {
		name string
		src  string
		want Config
	}{
		{"empty file", "", Defaults()},
		{"only blank lines", "\n\n  \n", Defaults()},
		{"only comments", "# nothing set\n# yet\n", Defaults()},
		{"empty document", "---\n", Defaults()},
		{"one key", "epochs: 3\n", withEpochs3},
		{"one key, no final newline", "epochs: 3", withEpochs3},
		{"byte-order mark", "\ufeffepochs: 3\n", withEpochs3},
		{"document markers", "---\nepochs: 3\n...\n", withEpochs3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("config.yaml", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// Ways of writing values that people use and YAML allows.
func TestParseAcceptedSpellings(t *testing.T) {
	tests := []struct {
		src   string
		check func(Config) bool
	}{
		{"learning_rate: 1e-3\n", func(c Config) bool { return c.LearningRate == 0.001 }},
		{"learning_rate: 2.5E+1\n", func(c Config) bool { return c.LearningRate == 25 }},
		{"learning_rate: 1\n", func(c Config) bool { return c.LearningRate == 1 }},
		{"learning_rate: .5 # half\n", func(c Config) bool { return c.LearningRate == 0.5 }},
		{"weight_decay: 0\n", func(c Config) bool { return c.WeightDecay == 0 }},
		{"weight_decay: 1.0e-4\n", func(c Config) bool { return c.WeightDecay == 1e-4 }},
		{"model: \"linear\"\n", func(c Config) bool { return c.Model == "linear" }},
		{"model: 'inception'\n", func(c Config) bool { return c.Model == "inception" }},
		{"dataset: fashion-mnist\n", func(c Config) bool { return c.Dataset == "fashion-mnist" }},
		{"data_dir: ~/data/mnist # mine\n", func(c Config) bool { return c.DataDir == "~/data/mnist" }},
		{"data_dir: \"\"\n", func(c Config) bool { return c.DataDir == "" }},
		{"seed: 18446744073709551615\n", func(c Config) bool { return c.Seed == math.MaxUint64 }},
		{"seed: 0\n", func(c Config) bool { return c.Seed == 0 }},
		{"batch_size: 1_000\n", func(c Config) bool { return c.BatchSize == 1000 }},
		{"epochs:\n  7\n", func(c Config) bool { return c.Epochs == 7 }},
		{"  epochs: 7\n  threads: 2\n", func(c Config) bool { return c.Epochs == 7 && c.Threads == 2 }},
		{"{epochs: 7, model: linear}\n", func(c Config) bool { return c.Epochs == 7 && c.Model == "linear" }},
		{"nesterov: true\n", func(c Config) bool { return c.Nesterov }},
		{"optimizer: adamw\neps: 1e-6\n", func(c Config) bool { return c.Optimizer == "adamw" && c.Eps == 1e-6 }},
		{"epochs: 7\r\nthreads: 2\r\n", func(c Config) bool { return c.Epochs == 7 && c.Threads == 2 }},
	}
	for _, tt := range tests {
		got, err := Parse("config.yaml", []byte(tt.src))
		if err != nil {
			t.Errorf("%q: %v", tt.src, err)
			continue
		}
		if !tt.check(got) {
			t.Errorf("%q parsed to %+v", tt.src, got)
		}
	}
}

// Every rejection names the key (when there is one) and the line and column
// of what is wrong. Positions are counted by hand from the source text:
// 1-based, in characters.
func TestParseRejects(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		line, col int
		key       string
		msg       string // part of the message
	}{
		// Keys.
		{"unknown key", "model: cnn\nbatchsize: 32\n", 2, 1, "batchsize", "unknown key; did you mean batch_size?"},
		{"unknown key, no suggestion", "colour: red\n", 1, 1, "colour", "the keys are recipe, model, dataset,"},
		{"duplicated key", "epochs: 3\nmodel: cnn\nepochs: 4\n", 3, 1, "epochs", "set twice (first on line 1)"},
		{"key that is a number", "1: 2\n", 1, 1, "", "keys must be plain names"},
		{"merge key", "<<: {epochs: 1}\n", 1, 1, "", "keys must be plain names"},

		// The document as a whole.
		{"syntax: unclosed list", "epochs: [1\n", 1, 9, "", "invalid YAML"},
		{"syntax: tab indentation", "model: cnn\n\tepochs: 3\n", 2, 1, "", "invalid YAML"},
		{"syntax: unclosed quote", "model: cnn\ndata_dir: 'x\n", 2, 11, "", "invalid YAML"},
		{"not a mapping: text", "hello\n", 1, 1, "", `(got "hello")`},
		{"not a mapping: list", "\n- epochs\n- 3\n", 2, 1, "", "(got a list)"},
		{"directive", "%YAML 1.2\n---\nepochs: 3\n", 1, 1, "", "directives"},
		{"lone tag at the end", "epochs: 3\n!x", 2, 1, "", "invalid YAML"},
		{"two documents", "epochs: 3\n---\nepochs: 4\n", 3, 1, "", "only one YAML document"},
		{"two documents, CR line endings", "---\r---\repochs: 1\r", 2, 1, "", "only one YAML document"},
		{"two empty documents", "---\n# nothing\n--- # here\n", 3, 1, "", "only one YAML document"},

		// Types.
		{"text for epochs", "epochs: ten\n", 1, 9, "epochs", `must be a whole number (got "ten")`},
		{"quoted number for epochs", "epochs: \"10\"\n", 1, 9, "epochs", "must be a whole number"},
		{"float for batch_size", "batch_size: 64.5\n", 1, 13, "batch_size", "must be a whole number (got 64.5)"},
		{"whole float for batch_size", "batch_size: 64.0\n", 1, 13, "batch_size", "must be a whole number"},
		{"bool for momentum", "momentum: true\n", 1, 11, "momentum", "must be a number (got true)"},
		{"text for learning_rate", "learning_rate: fast\n", 1, 16, "learning_rate", "must be a number"},
		{"number for runs_dir", "runs_dir: 2024\n", 1, 11, "runs_dir", "must be text (got 2024)"},
		{"flow list", "model: [cnn, linear]\n", 1, 8, "model", "not a list"},
		{"block list", "threads:\n  - 1\n  - 2\n", 2, 3, "threads", "not a list"},
		{"nested mapping", "dataset:\n  name: mnist\n", 2, 3, "dataset", "not a nested mapping"},
		{"empty value", "model: cnn\nepochs:\n", 2, 1, "epochs", "has no value"},
		{"null value", "epochs: null\n", 1, 1, "epochs", "has no value"},
		{"octal trap", "batch_size: 064\n", 1, 13, "batch_size", "leading zero"},
		{"tag", "epochs: !!int 5\n", 1, 9, "epochs", "tags"},
		{"anchor", "epochs: &n 5\n", 1, 9, "epochs", "anchors"},
		{"block text", "data_dir: |\n  /data\n", 1, 11, "data_dir", "block text"},
		{"integer too large", "epochs: 99999999999999999999\n", 1, 9, "epochs", "too large a number"},
		{"integer too large for an int", "log_interval: 9223372036854775808\n", 1, 15, "log_interval", "too large a number"},
		{"cycle_momentum without onecycle", "schedule: cosine\ncycle_momentum: true\n", 2, 17, "cycle_momentum", "an option of schedule onecycle, not cosine"},
		{"cycle_momentum before a schedule that is not onecycle", "cycle_momentum: true\nschedule: step\n", 1, 17, "cycle_momentum", "not step"},
		{"warmup before schedule onecycle", "warmup_steps: 5\nschedule: onecycle\n", 1, 15, "warmup_steps", "must be 0 with schedule onecycle"},
		{"text for ema_decay", "ema_decay: slow\n", 1, 12, "ema_decay", "must be a number"},
		{"ema_decay 1", "ema_decay: 1\n", 1, 12, "ema_decay", "less than 1"},
		{"negative clip_grad_norm", "clip_grad_norm: -0.5\n", 1, 17, "clip_grad_norm", "at least 0"},
		{"integer too large for a seed", "seed: 18446744073709551616\n", 1, 7, "seed", "too large a number"},
		{"negative seed", "seed: -1\n", 1, 7, "seed", "from 0 to 18446744073709551615 (got -1)"},

		// Ranges.
		{"epochs 0", "epochs: 0\n", 1, 9, "epochs", "from 1 to 10000 (got 0)"},
		{"epochs 10001", "epochs: 10001\n", 1, 9, "epochs", "(got 10001)"},
		{"batch_size 0", "batch_size: 0\n", 1, 13, "batch_size", "from 1 to 60000"},
		{"batch_size 60001", "batch_size: 60001\n", 1, 13, "batch_size", "(got 60001)"},
		{"learning_rate 0", "learning_rate: 0\n", 1, 16, "learning_rate", "greater than 0 (got 0)"},
		{"learning_rate NaN", "learning_rate: .nan\n", 1, 16, "learning_rate", "finite"},
		{"learning_rate Inf", "learning_rate: .inf\n", 1, 16, "learning_rate", "finite"},
		{"learning_rate overflow", "learning_rate: 1e999\n", 1, 16, "learning_rate", "finite"},
		{"learning_rate 1e3", "learning_rate: 1e3\n", 1, 16, "learning_rate", "at most 100"},

		// The optimizer, schedule and loss.
		{"unknown optimizer", "optimizer: adagrad\n", 1, 12, "optimizer", `one of sgd, adam, adamw (got "adagrad")`},
		{"nesterov as text", "nesterov: yes please\n", 1, 11, "nesterov", "must be true or false"},
		{"nesterov with adam", "optimizer: adam\nnesterov: true\n", 2, 11, "nesterov", "an option of sgd, not adam"},
		{"nesterov without momentum", "momentum: 0\nnesterov: true\n", 2, 11, "nesterov", "needs momentum above 0"},
		{"beta1 of 1", "beta1: 1\n", 1, 8, "beta1", "less than 1 (got 1)"},
		{"beta2 negative", "beta2: -0.5\n", 1, 8, "beta2", "at least 0"},
		{"eps 0", "eps: 0\n", 1, 6, "eps", "greater than 0"},
		{"unknown schedule", "schedule: linear\n", 1, 11, "schedule", "one of constant, step, cosine, onecycle"},
		{"warmup with onecycle", "schedule: onecycle\nwarmup_steps: 10\n", 2, 15, "warmup_steps", "warms up by itself"},
		{"warmup negative", "warmup_steps: -1\n", 1, 15, "warmup_steps", "from 0 to"},
		{"step_size 0", "step_size: 0\n", 1, 12, "step_size", "from 1 to"},
		{"gamma 0", "gamma: 0\n", 1, 8, "gamma", "greater than 0"},
		{"t_max negative", "t_max: -5\n", 1, 8, "t_max", "0 means the whole run"},
		{"eta_min negative", "eta_min: -1e-5\n", 1, 10, "eta_min", "at least 0"},
		{"max_lr negative", "max_lr: -0.1\n", 1, 9, "max_lr", "0 means learning_rate"},
		{"pct_start above 1", "pct_start: 1.5\n", 1, 12, "pct_start", "from 0 to 1"},
		{"div_factor 0", "div_factor: 0\n", 1, 13, "div_factor", "greater than 0"},
		{"final_div_factor NaN", "final_div_factor: .nan\n", 1, 19, "final_div_factor", "finite"},
		{"label_smoothing above 1", "label_smoothing: 1.5\n", 1, 18, "label_smoothing", "from 0 to 1"},
		{"augment_rotate negative", "augment_rotate: -5\n", 1, 17, "augment_rotate", "from 0 to 180 degrees"},
		{"augment_translate above 1", "augment_translate: 1.5\n", 1, 20, "augment_translate", "fraction of the image's side"},
		{"augment_scale_min 0", "augment_scale_min: 0\n", 1, 20, "augment_scale_min", "above 0"},
		{"augment_scale_max below min", "augment_scale_min: 1.2\naugment_scale_max: 0.8\n", 2, 20, "augment_scale_max", "at least augment_scale_min (1.2; got 0.8)"},
		{"momentum -0.1", "momentum: -0.1\n", 1, 11, "momentum", "at least 0 and less than 1"},
		{"momentum 1", "momentum: 1\n", 1, 11, "momentum", "(got 1)"},
		{"momentum NaN", "momentum: .NaN\n", 1, 11, "momentum", "(got NaN)"},
		{"weight_decay negative", "weight_decay: -1\n", 1, 15, "weight_decay", "at least 0"},
		{"weight_decay NaN", "weight_decay: .nan\n", 1, 15, "weight_decay", "finite"},
		{"threads -1", "threads: -1\n", 1, 10, "threads", "from 0 to 256"},
		{"threads 257", "threads: 257\n", 1, 10, "threads", "(got 257)"},
		{"log_interval 0", "log_interval: 0\n", 1, 15, "log_interval", "at least 1"},
		{"unknown model", "model: mlp\n", 1, 8, "model", "linear, cnn, inception, residual"},
		{"unknown dataset", "dataset: cifar10\n", 1, 10, "dataset", "mnist, fashion-mnist"},
		{"empty runs_dir", "runs_dir: \"\"\n", 1, 11, "runs_dir", "must not be empty"},

		// Positions elsewhere than column 1.
		{"indented", "  model: cnn\n  epochs: 0\n", 2, 11, "epochs", "from 1 to 10000"},
		{"value on the next line", "epochs:\n    0\n", 2, 5, "epochs", "from 1 to 10000"},
		{"after a comment and blank line", "# settings\n\nmodel: cnn # the CNN\nthreads: 300\n", 4, 10, "threads", "(got 300)"},
		{"flow mapping, after a wide character", "{data_dir: \"é\", epochs: 0}\n", 1, 25, "epochs", "from 1 to 10000"},
		{"blanks after the value", "epochs: 0  \nmodel: cnn\n", 1, 9, "epochs", "from 1 to 10000"},
		{"blanks after a quoted value", "model: \"mlp\" \t \n", 1, 8, "model", "(got \"mlp\")"},
		{"value that repeats the key", "runs_dir: runs_dir\nmodel: model   \n", 2, 8, "model", "(got \"model\")"},
		{"CR line endings", "model: cnn\repochs: 0\r", 2, 9, "epochs", "from 1 to 10000"},
		{"CRLF line endings", "model: cnn\r\nepochs: 0\r\n", 2, 9, "epochs", "from 1 to 10000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("config.yaml", []byte(tt.src))
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Parse(%q) = %+v, %v; want an *Error", tt.src, cfg, err)
			}
			if cerr.File != "config.yaml" || cerr.Line != tt.line || cerr.Column != tt.col || cerr.Key != tt.key {
				t.Errorf("error at %s:%d:%d key %q, want config.yaml:%d:%d key %q (%v)",
					cerr.File, cerr.Line, cerr.Column, cerr.Key, tt.line, tt.col, tt.key, err)
			}
			if !strings.Contains(cerr.Msg, tt.msg) {
				t.Errorf("message %q does not contain %q", cerr.Msg, tt.msg)
			}
			if cfg != (Config{}) {
				t.Errorf("a failed Parse returned %+v, want the zero Config", cfg)
			}
		})
	}
}

// The error format promised to the rest of the program, word for word.
func TestErrorFormat(t *testing.T) {
	src := "# line 1\n# line 2\nmodel: cnn\ndataset: mnist\nepochs: 10\nbatch_size: 64\nlearning_rate: -1\n"
	_, err := Parse("config.yaml", []byte(src))
	want := "config.yaml:7:16: learning_rate: must be a finite number greater than 0 (got -1)"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}

	for _, tt := range []struct {
		err  Error
		want string
	}{
		{Error{Key: "learning_rate", Msg: "bad"}, "learning_rate: bad"},
		{Error{File: "c.yaml", Msg: "invalid YAML: x"}, "c.yaml: invalid YAML: x"},
		{Error{File: "c.yaml", Line: 3, Msg: "m"}, "c.yaml:3: m"},
		{Error{File: "c.yaml", Line: 3, Column: 2, Key: "epochs", Msg: "m"}, "c.yaml:3:2: epochs: m"},
		{Error{File: "c.yaml", Line: 3, Column: 2, Key: "k", Msg: "m"}, `c.yaml:3:2: "k": m`},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%+v.Error() = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// What the user's file holds reaches the terminal as text: a key with an
// escape sequence in it is quoted, and control characters the YAML library
// echoes in its messages are escaped.
func TestErrorsEscapeUserText(t *testing.T) {
	for _, tt := range []struct{ src, want string }{
		{"\"\\e[2J\\e]0;pwned\\a\": 1\n", `c.yaml:1:1: "\x1b[2J\x1b]0;pwned\a": unknown key`},
		{"\"\\e[31mred\": 1\n", `c.yaml:1:1: "\x1b[31mred": unknown key`},
		{"epochs: \"\\e[31m\"\n", `c.yaml:1:9: epochs: must be a whole number (got "\x1b[31m")`},
		{"\x1b[2J: 1\n", `c.yaml:1:1: the file holds a control character (U+001B)`},
	} {
		_, err := Parse("c.yaml", []byte(tt.src))
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.ContainsRune(err.Error(), 0x1b) {
			t.Errorf("Parse(%q) = %q; want it to hold %q and no ESC", tt.src, err, tt.want)
		}
	}
	e := &Error{File: "a\x1b[1m.yaml", Msg: "m \x00 \xff é"}
	if got, want := e.Error(), `a\x1b[1m.yaml: m \x00 \xff é`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestUnknownKeySuggestions(t *testing.T) {
	for name, want := range map[string]string{
		"batchsize":     "batch_size",
		"batch-size":    "batch_size",
		"BATCH_SIZE":    "batch_size",
		"lerning_rate":  "learning_rate",
		"modle":         "model",
		"epoch":         "epochs",
		"seeds":         "seed",
		"momentun":      "momentum",
		"lr":            "learning_rate",
		"runs":          "runs_dir",
		"log_intervall": "log_interval",
		"xyz":           "",
		"colour":        "",
		"e":             "",
	} {
		if got := suggest(name); got != want {
			t.Errorf("suggest(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestLoad(t *testing.T) {
	embedded := []byte("epochs: 2\n")
	dir := t.TempDir()
	t.Chdir(dir)

	t.Run("embedded when there is no ./config.yaml", func(t *testing.T) {
		cfg, source, err := Load("", embedded)
		if err != nil || source != EmbeddedSource || cfg.Epochs != 2 {
			t.Errorf("Load = %+v, %q, %v; want epochs 2 from %q", cfg, source, err, EmbeddedSource)
		}
	})

	if err := os.WriteFile("config.yaml", []byte("epochs: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("./config.yaml when it exists", func(t *testing.T) {
		cfg, source, err := Load("", embedded)
		if err != nil || source != "config.yaml" || cfg.Epochs != 3 {
			t.Errorf("Load = %+v, %q, %v; want epochs 3 from config.yaml", cfg, source, err)
		}
	})

	other := filepath.Join(dir, "other.yaml")
	if err := os.WriteFile(other, []byte("epochs: 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("an explicit path wins", func(t *testing.T) {
		cfg, source, err := Load(other, embedded)
		if err != nil || source != other || cfg.Epochs != 4 {
			t.Errorf("Load = %+v, %q, %v; want epochs 4 from %s", cfg, source, err, other)
		}
	})

	t.Run("a missing explicit path is an error", func(t *testing.T) {
		missing := filepath.Join(dir, "missing.yaml")
		_, _, err := Load(missing, embedded)
		if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
			t.Errorf("Load(missing) error = %v, want a not-exist error naming the file", err)
		}
	})

	t.Run("errors name the file that was read", func(t *testing.T) {
		if err := os.WriteFile(other, []byte("\nepochs: 0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, source, err := Load(other, embedded)
		var cerr *Error
		if !errors.As(err, &cerr) || cerr.File != other || cerr.Line != 2 || source != other {
			t.Errorf("Load = source %q, error %v; want an *Error at %s:2", source, err, other)
		}
	})

	t.Run("a bad embedded copy says so", func(t *testing.T) {
		if err := os.Remove("config.yaml"); err != nil {
			t.Fatal(err)
		}
		_, _, err := Load("", []byte("epochs: 0\n"))
		if err == nil || !strings.Contains(err.Error(), "embedded") {
			t.Errorf("error %v does not say the embedded copy is at fault", err)
		}
	})

	t.Run("an unreadable ./config.yaml is not silently skipped", func(t *testing.T) {
		// A folder of that name cannot be read as a file, even by root.
		if err := os.Mkdir("config.yaml", 0o755); err != nil {
			t.Fatal(err)
		}
		defer os.Remove("config.yaml")
		_, source, err := Load("", embedded)
		if err == nil || source == EmbeddedSource {
			t.Errorf("Load = source %q, error %v; want an error about ./config.yaml", source, err)
		}
	})
}

// A check that reads another key sees it wherever the file sets it: cycle_momentum may come
// before the schedule it needs.
func TestCrossKeyChecksReadTheWholeFile(t *testing.T) {
	got, err := Parse("config.yaml", []byte("cycle_momentum: true\nbase_momentum: 0.8\nschedule: onecycle\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !got.CycleMomentum || got.Schedule != "onecycle" || got.BaseMomentum != 0.8 {
		t.Errorf("got %+v", got)
	}
}
