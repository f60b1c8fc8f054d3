package cli

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"mnist-tui/engine"
	"mnist-tui/engine/checkpoint"
)

// A checkpoint's config goes through the same size and nesting limits as a
// config file: train --resume of one holding 30 000 nested '[' is refused
// at once, without the YAML reader's gigabytes.
func TestResumeRefusesADeeplyNestedConfig(t *testing.T) {
	net, err := engine.NewNet("linear", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "step-1.safetensors")
	meta := checkpoint.Meta{Model: "linear", Dataset: "mnist", Epoch: 1, Batch: 1, Step: 1, Seed: 1,
		Config: "epochs: " + strings.Repeat("[", 30000), Version: "test", RunID: "r"}
	if err := checkpoint.Save(path, net.Params(), engine.NewSGD(net.Params(), 0.01, 0.5, 0), meta); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	code, _, stderr := run(t, dir, "train", "--headless", "--resume", path)
	runtime.ReadMemStats(&after)
	if code == exitOK || !strings.Contains(stderr, "nested more than") || !strings.Contains(stderr, path) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	// Reading the checkpoint itself takes a few MB.
	if mb := (after.TotalAlloc - before.TotalAlloc) >> 20; mb > 64 {
		t.Errorf("refusing it allocated %d MB", mb)
	}
}

// train --resume of a run that has trained all its epochs says so, and only that: no
// "no epoch finished" summary and no data loading before it; --epochs past it is the way on.
func TestResumeOfAFinishedRunSaysSoFirst(t *testing.T) {
	net, err := engine.NewNet("linear", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "last.safetensors")
	meta := checkpoint.Meta{Model: "linear", Dataset: "mnist", Epoch: 3, Batch: 0, Step: 2 * 938, Seed: 1,
		Config: "model: linear\nepochs: 2\n", Version: "test", RunID: "r"}
	if err := checkpoint.Save(path, net.Params(), engine.NewSGD(net.Params(), 0.01, 0.5, 0), meta); err != nil {
		t.Fatal(err)
	}
	// No data folder: reaching the data would fail with another message.
	code, stdout, stderr := run(t, dir, "train", "--headless", "--data-dir", filepath.Join(dir, "no-data"), "--resume", path)
	if code == exitOK || !strings.Contains(stderr, "finished all 2 of its epochs") || !strings.Contains(stderr, "--epochs N (N > 2)") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout %q, want nothing before the reason", stdout)
	}
}
