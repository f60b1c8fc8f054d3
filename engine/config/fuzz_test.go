package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParse feeds Parse arbitrary bytes. It must never panic, every error
// must be an *Error, and whatever it accepts must be a valid configuration
// that survives Marshal and Update unchanged.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(repoConfig); err == nil {
		f.Add(data)
	}
	for _, seed := range []string{
		"", "epochs: 3\n", "model: cnn\nbatchsize: 32\n", "epochs: 3\nepochs: 4\n", "epochs: ten\n",
		"batch_size: 64.5\n", "model: [cnn]\n", "threads:\n  - 1\n", "epochs: [1\n", "hello\n", "- 1\n",
		"epochs: 3\n---\nepochs: 4\n", "learning_rate: .nan\n", "learning_rate: 1e999\n", "momentum: 1\n",
		"weight_decay: -1\n", "threads: 257\n", "log_interval: 0\n", "model: mlp\n", "dataset: cifar\n",
		"runs_dir: \"\"\n", "epochs:\n", "batch_size: 064\n", "epochs: !!int 5\n", "epochs: &a 1\nseed: *a\n",
		"<<: {epochs: 1}\n", "? [a]\n: 1\n", "{data_dir: \"é\", epochs: 0}\n", "\ufeffepochs: 3\r\n",
		"data_dir: \"\\x00\\u2028\"\n", "seed: 18446744073709551616\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if err != nil {
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Parse accepted an invalid config: %v", err)
		}
		back, err := Parse("marshalled", cfg.Marshal())
		if err != nil || back != cfg {
			t.Fatalf("Marshal round trip: %+v, %v; want %+v", back, err, cfg)
		}
		out, err := Update("fuzz.yaml", data, map[string]any{"epochs": 7, "runs_dir": "out"})
		if err != nil {
			// Only adding a key to a one-line {...} mapping may fail.
			var cerr *Error
			if !errors.As(err, &cerr) || !strings.Contains(cerr.Msg, "one-line") {
				t.Fatalf("Update of a valid file failed: %v\n%q", err, data)
			}
			return
		}
		want := cfg
		want.Epochs, want.RunsDir = 7, "out"
		if got, err := Parse("fuzz.yaml", out); err != nil || got != want {
			t.Fatalf("Update result %q parses to %+v, %v; want %+v", out, got, err, want)
		}
	})
}
