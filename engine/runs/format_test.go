package runs

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestRecordsRoundTrip: every record type written by MarshalRecord reads
// back as the same struct, its type first on the line.
func TestRecordsRoundTrip(t *testing.T) {
	recs := []Record{
		Start{RunID: "r", Model: "cnn", Dataset: "mnist", Params: 21840, Epochs: 10, BatchSize: 64, Threads: 2,
			TrainImages: 60000, Epoch: 3, Batch: 7, Step: 1883, Parent: &Parent{Run: "p", Step: 1883, Checkpoint: "runs/p/step-1883.safetensors"}},
		Log{Epoch: 1, Batch: 300, Step: 300, Loss: 0.8, Acc: 76.5, LR: 0.01},
		Epoch{Epoch: 1, Epochs: 10, TrainLoss: 0.3, TrainAcc: 91, TestLoss: 0.1, TestAcc: 96.7, Seconds: 1.5, ImgS: 40000},
		Change{Step: 5, Key: "learning_rate", Old: 0.01, New: 0.001, Why: "doctor: step_too_high at step 5"},
		Pause{Epoch: 2, Batch: 3, Step: 941},
		Resume{Epoch: 2, Batch: 3, Step: 941, PausedSeconds: 70},
		End{State: Failed, Step: 9, Error: "no space"},
		Status{State: "RUNNING", Message: "hi"},
		Summary{State: "DONE", Model: "cnn", Epochs: 10, BestTestAcc: 98.79, WallSeconds: 15.5, TrainImgS: 50000, RunDir: "runs/r"},
		Health{Epoch: 1, Batch: 300, Step: 300, LR: 0.01, Layers: []LayerHealth{
			{Name: "conv1.0", WeightNorm: 3.1, GradNorm: 0.25, UpdateRatio: 0.01 * 0.25 / 3.1, Act: &Activations{Mean: 0.4, Std: 0.7, ReLUs: 10, Dead: 0.6}},
			{Name: "fc2", WeightNorm: 1.5, GradNorm: 0.5, UpdateRatio: 0.01 * 0.5 / 1.5}}},
		Note{Epoch: 1, Batch: 300, Step: 300, Rule: "stuck", Text: "the loss has not moved", FixKey: "learning_rate", FixFactor: 10},
	}
	for _, rec := range recs {
		line, err := MarshalRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"type":"` + rec.RecordType() + `",`; !strings.HasPrefix(string(line), want) {
			t.Errorf("line %s does not begin %s", line, want)
		}
		back, err := UnmarshalRecord(line)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if !reflect.DeepEqual(back, rec) {
			t.Errorf("%s read back as %+v, want %+v", line, back, rec)
		}
	}
	if rec, err := UnmarshalRecord([]byte(`{"type":"hologram","x":1}`)); err != nil || rec != (Unknown{Type: "hologram"}) {
		t.Errorf("a newer version's line type: %+v, %v", rec, err)
	}
	if _, err := UnmarshalRecord([]byte(`{"epoch":1}`)); !errors.Is(err, errNoType) {
		t.Errorf(`a line without "type": %v`, err)
	}
}

// A health line written before layers carried their activations reads
// with none (nil, which the pages show as not measured).
func TestHealthWithoutActivationsReads(t *testing.T) {
	line := `{"type":"health","epoch":1,"batch":300,"step":300,"lr":0.01,"layers":[{"name":"fc1","weight_norm":2,"grad_norm":0.1,"update_ratio":0.0005}]}`
	rec, err := UnmarshalRecord([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := Health{Epoch: 1, Batch: 300, Step: 300, LR: 0.01, Layers: []LayerHealth{{Name: "fc1", WeightNorm: 2, GradNorm: 0.1, UpdateRatio: 0.0005}}}
	if !reflect.DeepEqual(rec, want) {
		t.Errorf("old health line read as %+v, want %+v", rec, want)
	}
}

func TestStepCheckpointNames(t *testing.T) {
	if step, ok := ParseStepCheckpoint(StepCheckpoint(1234)); !ok || step != 1234 {
		t.Errorf("round trip: %d, %v", step, ok)
	}
	for _, name := range []string{"step-.safetensors", "step-12.safetensors.tmp-3", "step--1.safetensors", "step-012.safetensors", "last.safetensors", ".step-12.safetensors.tmp-9"} {
		if _, ok := ParseStepCheckpoint(name); ok {
			t.Errorf("%q taken for a step checkpoint", name)
		}
	}
}

// TestRemoveStaleTempsTakesOnlyTemporaries: with the folder locked, the
// temporaries of atomic writes go and everything else stays; a folder
// another holder has locked cannot be taken.
func TestRemoveStaleTempsTakesOnlyTemporaries(t *testing.T) {
	dir := t.TempDir()
	keep := []string{"last.safetensors", "config.yaml", MetricsFile, ".lock", ".hidden", "notes.tmp-1", ".tmp-", "step-5.safetensors"}
	stale := []string{".last.safetensors.tmp-123456", ".config.yaml.tmp-9", ".step-5.safetensors.tmp-77"}
	for _, name := range append(slices.Clone(keep), stale...) {
		if name == ".lock" {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lock, err := LockRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockRun(dir); !errors.Is(err, ErrBusy) {
		t.Errorf("a second lock of a held folder: %v, want ErrBusy", err)
	}
	removed, err := lock.RemoveStaleTemps(dir)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	slices.Sort(stale)
	if !slices.Equal(removed, stale) {
		t.Errorf("removed %v, want %v", removed, stale)
	}
	for _, name := range keep {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s was removed: %v", name, err)
		}
	}
	if err := lock.Unlock(); err != nil {
		t.Fatal(err)
	}
	again, err := LockRun(dir)
	if err != nil {
		t.Fatalf("the lock is not released by Unlock: %v", err)
	}
	again.Unlock()
}
