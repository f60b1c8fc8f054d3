package config

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

// Changing values in the shipped, heavily commented config.yaml touches only
// the changed lines, and only their values.
func TestUpdateKeepsCommentsAndOrder(t *testing.T) {
	orig := readRepoConfig(t)
	input := bytes.Clone(orig)
	out, err := Update("config.yaml", input, map[string]any{
		"learning_rate": 0.05,
		"epochs":        3,
		"model":         "residual",
		"data_dir":      "/tmp/my data",
		"nesterov":      true,
		"optimizer":     "sgd",
		"schedule":      "cosine",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(input, orig) {
		t.Error("Update changed its input slice")
	}

	want := Defaults()
	want.LearningRate, want.Epochs, want.Model, want.DataDir = 0.05, 3, "residual", "/tmp/my data"
	want.Nesterov, want.Schedule = true, "cosine"
	got, err := Parse("config.yaml", out)
	if err != nil {
		t.Fatalf("the result does not parse: %v\n%s", err, out)
	}
	if got != want {
		t.Errorf("the result parses to %+v\nwant %+v", got, want)
	}

	changed := map[string]string{
		"learning_rate: 0.01": "learning_rate: 0.05",
		"epochs: 10":          "epochs: 3",
		"model: cnn":          "model: residual",
		`data_dir: ""`:        "data_dir: /tmp/my data",
		"nesterov: false":     "nesterov: true",
		"schedule: constant":  "schedule: cosine",
	}
	before := strings.Split(string(orig), "\n")
	after := strings.Split(string(out), "\n")
	if len(before) != len(after) {
		t.Fatalf("line count went from %d to %d:\n%s", len(before), len(after), out)
	}
	for i := range before {
		wantLine := before[i]
		if repl, ok := changed[before[i]]; ok {
			wantLine = repl
		}
		if after[i] != wantLine {
			t.Errorf("line %d: got %q, want %q", i+1, after[i], wantLine)
		}
	}
}

// Exact expected outputs: the edit replaces the value's text and nothing else.
func TestUpdateEditsInPlace(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		changes map[string]any
		want    string
	}{
		{"comment after the value", "learning_rate: 0.01   # step size\n", map[string]any{"learning_rate": 0.1},
			"learning_rate: 0.1   # step size\n"},
		{"quoted value", "model: \"cnn\" # net\nepochs: 2\n", map[string]any{"model": "linear"},
			"model: linear # net\nepochs: 2\n"},
		{"value on its own line", "epochs:\n  2\nthreads: 1\n", map[string]any{"epochs": 20},
			"epochs:\n  20\nthreads: 1\n"},
		{"wide characters before the value", "{data_dir: \"é\", epochs: 3}\n", map[string]any{"epochs": 5},
			"{data_dir: \"é\", epochs: 5}\n"},
		{"text that needs quotes", "runs_dir: runs\n", map[string]any{"runs_dir": "2024"},
			"runs_dir: \"2024\"\n"},
		{"blanks after the value", "epochs: 1  \nthreads: 2 \n", map[string]any{"epochs": 5, "threads": 3},
			"epochs: 5  \nthreads: 3 \n"},
		{"byte-order mark", "\ufeffepochs: 3\n", map[string]any{"epochs": 4}, "\ufeffepochs: 4\n"},
		{"CRLF", "model: cnn\r\nepochs: 3\r\n", map[string]any{"epochs": 4}, "model: cnn\r\nepochs: 4\r\n"},
		{"no changes", "epochs: 3 # keep\n", nil, "epochs: 3 # keep\n"},
		{"unchanged values keep their spelling", "learning_rate: 1e-2\nepochs: 3\n",
			map[string]any{"learning_rate": 0.01, "epochs": 4, "runs_dir": "runs"}, "learning_rate: 1e-2\nepochs: 4\n"},
		{"other integer and float types", "epochs: 3\nseed: 1\nmomentum: 0.5\n",
			map[string]any{"epochs": int64(4), "seed": uint8(9), "momentum": float32(0.25)},
			"epochs: 4\nseed: 9\nmomentum: 0.25\n"},
		{"whole number for a float key", "momentum: 0.5\n", map[string]any{"momentum": 0}, "momentum: 0.0\n"},

		// Keys the file does not set yet are added at the end, in file order.
		{"added keys", "# mine\nepochs: 3\n", map[string]any{"threads": 4, "model": "linear"},
			"# mine\nepochs: 3\nmodel: linear\nthreads: 4\n"},
		{"added to a file without final newline", "epochs: 3", map[string]any{"threads": 4},
			"epochs: 3\nthreads: 4\n"},
		{"CR", "epochs:\r1", map[string]any{"epochs": 2}, "epochs:\r2"},
		{"added with CR", "epochs: 3\r", map[string]any{"threads": 4}, "epochs: 3\rthreads: 4\r"},
		{"added with CRLF", "epochs: 3\r\n", map[string]any{"threads": 4}, "epochs: 3\r\nthreads: 4\r\n"},
		{"added with the keys' indentation", "  epochs: 3\n", map[string]any{"threads": 4},
			"  epochs: 3\n  threads: 4\n"},
		{"added to an empty file", "", map[string]any{"epochs": 5}, "epochs: 5\n"},
		{"added after comments only", "# nothing yet\n", map[string]any{"epochs": 5}, "# nothing yet\nepochs: 5\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Update("config.yaml", []byte(tt.src), tt.changes)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Errorf("got\n%q\nwant\n%q", out, tt.want)
			}
		})
	}
}

func TestUpdateStringsRoundTrip(t *testing.T) {
	src := readRepoConfig(t)
	for _, s := range trickyStrings {
		out, err := Update("config.yaml", src, map[string]any{"data_dir": s})
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		got, err := Parse("config.yaml", out)
		if err != nil || got.DataDir != s {
			t.Errorf("%q came back as %q (%v)", s, got.DataDir, err)
		}
	}
}

func TestUpdateRejects(t *testing.T) {
	const valid = "# settings\nmodel: cnn\nlearning_rate: 0.01 # step\nepochs: 3\n"
	tests := []struct {
		name      string
		src       string
		changes   map[string]any
		key       string
		line, col int // 0 when the problem is not in the file
		msg       string
	}{
		{"out of range", valid, map[string]any{"learning_rate": -1.0}, "learning_rate", 3, 16, "greater than 0 (got -1)"},
		{"NaN added", valid, map[string]any{"momentum": math.NaN()}, "momentum", 5, 11, "less than 1 (got NaN)"},
		{"unknown model", valid, map[string]any{"model": "mlp"}, "model", 2, 8, "linear, cnn, inception, residual"},
		{"empty runs_dir added", valid, map[string]any{"runs_dir": ""}, "runs_dir", 5, 11, "must not be empty"},
		{"unknown key", valid, map[string]any{"lr": 0.1}, "lr", 0, 0, "did you mean learning_rate?"},
		{"text for a number", valid, map[string]any{"epochs": "ten"}, "epochs", 0, 0, "whole number"},
		{"float for a whole number", valid, map[string]any{"epochs": 2.5}, "epochs", 0, 0, "whole number"},
		{"negative seed", valid, map[string]any{"seed": -1}, "seed", 0, 0, "at least 0"},
		{"number for text", valid, map[string]any{"model": 3}, "model", 0, 0, "must be a string"},
		{"nil", valid, map[string]any{"epochs": nil}, "epochs", 0, 0, "whole number"},
		{"invalid UTF-8", valid, map[string]any{"data_dir": "a\xffb"}, "data_dir", 0, 0, "UTF-8"},
		{"file already invalid", "epochs: 3\nthreads: -1\n", map[string]any{"epochs": 4}, "threads", 2, 10, "from 0 to 256"},
		{"adding to a one-line mapping", "{epochs: 3}\n", map[string]any{"threads": 4}, "threads", 0, 0, "add it by hand"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := []byte(tt.src)
			out, err := Update("config.yaml", input, tt.changes)
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Update = %q, %v; want an *Error", out, err)
			}
			if out != nil {
				t.Errorf("a failed Update returned %q", out)
			}
			if string(input) != tt.src {
				t.Errorf("the input was changed to %q", input)
			}
			if cerr.Key != tt.key || cerr.File != "config.yaml" || cerr.Line != tt.line || cerr.Column != tt.col {
				t.Errorf("error %q at %d:%d key %q, want %d:%d key %q", err, cerr.Line, cerr.Column, cerr.Key, tt.line, tt.col, tt.key)
			}
			if !strings.Contains(cerr.Msg, tt.msg) {
				t.Errorf("message %q does not contain %q", cerr.Msg, tt.msg)
			}
		})
	}
}

// An edited file fed back to Update keeps working: the dashboard edits the
// same file many times.
func TestUpdateRepeatedly(t *testing.T) {
	data := readRepoConfig(t)
	want := Defaults()
	for i, lr := range []float64{0.1, 1e-5, 3, 0.0123456789, 100} {
		var err error
		data, err = Update("config.yaml", data, map[string]any{"learning_rate": lr, "log_interval": i + 1})
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		want.LearningRate, want.LogInterval = lr, i+1
	}
	got, err := Parse("config.yaml", data)
	if err != nil || got != want {
		t.Errorf("after the edits: %+v, %v; want %+v", got, err, want)
	}
	if live, restart := Diff(Defaults(), got); !slices.Equal(live, []string{"learning_rate", "log_interval"}) || restart != nil {
		t.Errorf("Diff from defaults = %v, %v", live, restart)
	}
}
