package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mnist-tui/engine/config"
	"mnist-tui/engine/runs"
	"mnist-tui/engine/train"
	"mnist-tui/ui/dashboard"
)

// TestJSONLinesAreMetricsRecords: `train --json` prints the records of
// metrics.jsonl, in its schema: every line has "type" (no "event"), and
// its log and epoch lines are the very lines the run folder holds.
func TestJSONLinesAreMetricsRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on real MNIST")
	}
	load := smallMNIST(t, 640, 100)
	data, err := load(context.Background(), config.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.Model, cfg.Epochs, cfg.BatchSize, cfg.LogInterval, cfg.Threads = "linear", 2, 32, 5, 2
	cfg.RunsDir = t.TempDir()
	var out bytes.Buffer
	tr := train.New(cfg, train.Options{Data: data})
	if err := trainHeadless(context.Background(), &Env{Stdout: &out, Stderr: &out}, tr, true); err != nil {
		t.Fatal(err)
	}
	metrics, err := os.ReadFile(filepath.Join(tr.Snapshot().RunDir, runs.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	inMetrics := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(metrics)), "\n") {
		inMetrics[line] = true
	}
	types := map[string]int{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		line := sc.Bytes()
		var fields map[string]any
		if err := json.Unmarshal(line, &fields); err != nil {
			t.Fatalf("not a JSON line: %s", line)
		}
		if _, ok := fields["event"]; ok {
			t.Errorf(`line says "event", metrics.jsonl says "type": %s`, line)
		}
		rec, err := runs.UnmarshalRecord(line)
		if err != nil {
			t.Fatalf("line %s: %v", line, err)
		}
		if _, unknown := rec.(runs.Unknown); unknown {
			t.Errorf("line of a type the schema does not define: %s", line)
		}
		types[rec.RecordType()]++
		switch rec.(type) {
		case runs.Log, runs.Epoch:
			if !inMetrics[string(line)] {
				t.Errorf("--json line not in metrics.jsonl as it is:\n%s\nmetrics.jsonl:\n%s", line, metrics)
			}
		}
	}
	if types[runs.TypeLog] != 8 || types[runs.TypeEpoch] != 2 || types[runs.TypeSummary] != 1 {
		t.Errorf("line types %v, want 8 log, 2 epoch and a summary", types)
	}
}

// TestForcedQuitSaysWhetherTheCheckpointWasWritten: after a second ctrl+c
// the session still waits for the trainer, so the message can say what
// happened instead of "may not be written".
func TestForcedQuitSaysWhetherTheCheckpointWasWritten(t *testing.T) {
	saved := train.Snapshot{State: train.Done, Checkpoint: "runs/x/last.safetensors"}
	note, err := settleForcedQuit(dashboard.ErrInterrupted, saved, nil)
	if err != nil || !strings.Contains(note, "was written: runs/x/last.safetensors") {
		t.Errorf("checkpoint written: note %q, err %v", note, err)
	}
	unsaved := train.Snapshot{State: train.Done, Checkpoint: "runs/x/step-5.safetensors", SaveErr: errors.New("runs/x/last.safetensors (no space left on device)")}
	if _, err := settleForcedQuit(dashboard.ErrInterrupted, unsaved, nil); err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Errorf("checkpoint not written: err %v", err)
	}
	runErr := errors.New("training stopped, but could not write runs/x/last.safetensors")
	if note, err := settleForcedQuit(dashboard.ErrInterrupted, train.Snapshot{State: train.Failed}, runErr); err != nil || note != "" {
		t.Errorf("failed run: note %q, err %v; the run's own error says it", note, err)
	}
	other := errors.New("dashboard: terminal gone")
	if _, err := settleForcedQuit(other, saved, nil); err != other {
		t.Errorf("another dashboard error was replaced: %v", err)
	}
}

// A run that ends before its first epoch (a data set that cannot be
// fetched, an impossible checkpoint) claims no speed and no accuracy.
// A custom network is named in the summary as the dashboard's header names it.
func TestSummaryNamesACustomNetwork(t *testing.T) {
	var out strings.Builder
	p := &printer{w: &out}
	cfg := config.Defaults()
	cfg.Model, cfg.Name = config.Custom, "wide-bn"
	p.summary(train.Snapshot{State: train.Done, Model: config.Custom, Dataset: "mnist", Config: cfg,
		History: []train.EpochResult{{Epoch: 1, TestAcc: 97.5, Seconds: 2, ImagesPerSec: 30000}}})
	if got := out.String(); !strings.HasPrefix(got, "wide-bn on mnist: 1 epoch") {
		t.Errorf("summary of a custom network named wide-bn:\n%s", got)
	}
}

func TestSummaryOfARunWithoutAnEpoch(t *testing.T) {
	var out strings.Builder
	p := &printer{w: &out}
	p.summary(train.Snapshot{State: train.Failed, Model: "cnn", Dataset: "mnist", Message: "dataset mnist: no usable copy"})
	got := out.String()
	if strings.Contains(got, "0.00 %") || strings.Contains(got, "images/s") {
		t.Errorf("summary of a run without an epoch invents results:\n%s", got)
	}
	if !strings.Contains(got, "cnn on mnist: no epoch finished") || !strings.Contains(got, "failed") {
		t.Errorf("summary does not say that no epoch finished, and that the run failed:\n%s", got)
	}
	// The reason is the command's error, printed once on stderr by main.
	if strings.Contains(got, "no usable copy") {
		t.Errorf("summary repeats the error that main prints on stderr:\n%s", got)
	}
}
