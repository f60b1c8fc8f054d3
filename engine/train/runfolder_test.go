package train

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mnist-tui/engine"
	"mnist-tui/engine/checkpoint"
	"mnist-tui/engine/runs"
)

// records reads a run's metrics.jsonl through the runs package's schema.
func records(t *testing.T, dir string) []runs.Record {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, runs.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var out []runs.Record
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		rec, err := runs.UnmarshalRecord(sc.Bytes())
		if err != nil {
			t.Fatalf("metrics.jsonl line %q: %v", sc.Text(), err)
		}
		if _, unknown := rec.(runs.Unknown); unknown {
			t.Fatalf("metrics.jsonl line of a type the runs package does not know: %s", sc.Text())
		}
		out = append(out, rec)
	}
	return out
}

// blockFile puts a folder where the run folder's file name goes: every later write of the file
// fails, even for root.
func blockFile(t *testing.T, tr *Trainer, name string) {
	t.Helper()
	if err := os.Mkdir(filepath.Join(tr.Snapshot().RunDir, name), 0o755); err != nil {
		t.Error(err)
	}
}

// TestFailedLastCheckpointFailsTheRun: when last.safetensors cannot be
// written the run must not end DONE: it fails, naming the file, the reason
// and what to do, and says so in metrics.jsonl.
func TestFailedLastCheckpointFailsTheRun(t *testing.T) {
	cfg := testConfig(t)
	cfg.Epochs = 1
	tr := New(cfg, Options{Data: syntheticData(320, 50, 11)})
	tr.afterStep = func(step int64) {
		if step == 1 {
			blockFile(t, tr, runs.LastCheckpoint)
		}
	}
	err := tr.Run(context.Background())
	s := tr.Snapshot()
	if err == nil || s.State != Failed {
		t.Fatalf("run whose last checkpoint could not be written: err %v, state %v, message %q", err, s.State, s.Message)
	}
	last := filepath.Join(s.RunDir, runs.LastCheckpoint)
	for _, want := range []string{last, "free some space", "start the run again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if s.SaveErr == nil {
		t.Error("the snapshot keeps no lasting trace of the unsaved file")
	}
	recs := records(t, s.RunDir)
	if end, ok := recs[len(recs)-1].(runs.End); !ok || end.State != runs.Failed {
		t.Errorf("last metrics line %+v, want an end line with state failed", recs[len(recs)-1])
	}
}

// TestFailedSaveThenGoodOnePointsAtIt: a failed last.safetensors with a
// good step checkpoint saved later names that checkpoint to resume.
func TestFailedSaveNamesTheNewestGoodCheckpoint(t *testing.T) {
	cfg := testConfig(t)
	cfg.Epochs = 2
	tr := New(cfg, Options{Data: syntheticData(320, 50, 12)})
	tr.afterStep = func(step int64) {
		switch step {
		case 12: // after epoch 1's last.safetensors was written
			if err := os.Rename(filepath.Join(tr.Snapshot().RunDir, runs.LastCheckpoint), filepath.Join(t.TempDir(), "away")); err != nil {
				t.Error(err)
			}
			blockFile(t, tr, runs.LastCheckpoint)
			tr.Send(Save{})
		}
	}
	err := tr.Run(context.Background())
	step := filepath.Join(tr.Snapshot().RunDir, runs.StepCheckpoint(12))
	if err == nil || !strings.Contains(err.Error(), "mnist-tui train --resume "+step) {
		t.Fatalf("error does not point at the newest good checkpoint %s:\n%v", step, err)
	}
}

// TestFailedPlotsFailTheRun: plots that cannot be written are not a DONE.
func TestFailedPlotsFailTheRun(t *testing.T) {
	cfg := testConfig(t)
	cfg.Epochs = 1
	tr := New(cfg, Options{Data: syntheticData(320, 50, 13)})
	tr.afterStep = func(step int64) {
		if step == 1 {
			blockFile(t, tr, "accuracy.svg")
		}
	}
	err := tr.Run(context.Background())
	if err == nil || tr.Snapshot().State != Failed || !strings.Contains(err.Error(), "plots") {
		t.Fatalf("plots not written: err %v, state %v", err, tr.Snapshot().State)
	}
}

func hashFolder(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][32]byte{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = sha256.Sum256(data)
	}
	return out
}

// TestResumingAnOlderCheckpointBranches: a step checkpoint from before the
// run's end resumes into a new folder that names its parent; the parent's
// files stay byte for byte as they were, and the branch trains exactly as
// the parent did from there.
func TestResumingAnOlderCheckpointBranches(t *testing.T) {
	data := syntheticData(320, 50, 14)
	cfg := testConfig(t)
	tr := New(cfg, Options{Data: data})
	tr.afterStep = func(step int64) {
		if step == 13 {
			tr.Send(Save{})
		}
	}
	parent := runToEnd(t, tr)
	before := hashFolder(t, parent.RunDir)

	older := filepath.Join(parent.RunDir, runs.StepCheckpoint(13))
	var notes []string
	branch := runToEnd(t, New(cfg, Options{Data: data, Resume: older, Log: func(s string) { notes = append(notes, s) }}))
	if branch.RunDir == parent.RunDir || branch.RunID == parent.RunID {
		t.Fatalf("resuming %s continued in the parent's folder %s", older, branch.RunDir)
	}
	if said := strings.Join(notes, "\n"); !strings.Contains(said, branch.RunDir) || !strings.Contains(said, "branch of run "+parent.RunID) {
		t.Errorf("the user is not told that the run branched into %s:\n%s", branch.RunDir, said)
	}
	if after := hashFolder(t, parent.RunDir); !reflect.DeepEqual(before, after) {
		t.Errorf("the parent's files changed:\nbefore %x\nafter  %x", before, after)
	}
	got, err := runs.Load(branch.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	want := runs.Parent{Run: parent.RunID, Step: 13, Checkpoint: older}
	if got.Parent == nil || *got.Parent != want {
		t.Errorf("branch records parent %+v, want %+v", got.Parent, want)
	}
	if got.EpochsDone != 2 || got.State != runs.Done {
		t.Errorf("branch folder: %d epochs, state %s; want its inherited epoch 1 and its own epoch 2, done", got.EpochsDone, got.State)
	}
	if !reflect.DeepEqual(paramsOf(t, filepath.Join(parent.RunDir, runs.LastCheckpoint)), paramsOf(t, filepath.Join(branch.RunDir, runs.LastCheckpoint))) {
		t.Error("the branch ended with other weights than the parent from the same position")
	}
	ck, err := checkpoint.Load(filepath.Join(branch.RunDir, runs.LastCheckpoint))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Meta.RunID != branch.RunID {
		t.Errorf("branch checkpoint names run %q, want %q", ck.Meta.RunID, branch.RunID)
	}

	// The run's own newest checkpoint still continues in place.
	cfg.Epochs = 3
	more := runToEnd(t, New(cfg, Options{Data: data, Resume: filepath.Join(parent.RunDir, runs.LastCheckpoint)}))
	if more.RunDir != parent.RunDir {
		t.Errorf("resuming the run's last.safetensors went to %s, want %s", more.RunDir, parent.RunDir)
	}
}

// forge saves the weights of a real checkpoint under another position.
func forge(t *testing.T, from string, change func(m *checkpoint.Meta)) string {
	t.Helper()
	ck, err := checkpoint.Load(from)
	if err != nil {
		t.Fatal(err)
	}
	m := ck.Meta
	change(&m)
	net, err := engine.NewNet(m.Model, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := ck.LoadInto(net.Params(), nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "forged.safetensors")
	if err := checkpoint.Save(path, net.Params(), nil, m); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestResumeRefusesImpossiblePositions: a checkpoint whose epoch or batch
// cannot be a position of its run is refused with a reason, not resumed
// into a run that does nothing and calls itself done.
func TestResumeRefusesImpossiblePositions(t *testing.T) {
	data := syntheticData(320, 50, 15)
	cfg := testConfig(t)
	first := New(cfg, Options{Data: data})
	stopAtStep(first, 3)
	part := runToEnd(t, first)
	last := filepath.Join(part.RunDir, runs.LastCheckpoint)
	cases := []struct {
		name   string
		change func(m *checkpoint.Meta)
		want   string
	}{
		{"epoch 2^62", func(m *checkpoint.Meta) { m.Epoch = 1 << 62 }, "epoch 4611686018427387904"},
		{"batch 10^12", func(m *checkpoint.Meta) { m.Batch = 1e12 }, "batch 1000000000000 of an epoch of 10 batches"},
		{"step off its position", func(m *checkpoint.Meta) { m.Step = 7 }, "says step 7"},
		{"past the planned epochs", func(m *checkpoint.Meta) { m.Epoch, m.Batch, m.Step = 3, 0, 20 }, "finished all 2 of its epochs"},
		{"unknown data set", func(m *checkpoint.Meta) { m.Dataset = "image\x1b[2Jnet" }, `data set "image\x1b[2Jnet", which this program does not know`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := forge(t, last, c.change)
			tr := New(cfg, Options{Data: data, Resume: path})
			err := tr.Run(context.Background())
			if err == nil || tr.Snapshot().State != Failed || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v (state %v), want a refusal saying %q", err, tr.Snapshot().State, c.want)
			}
			if strings.ContainsRune(err.Error(), 0x1b) {
				t.Errorf("an escape sequence from the file reaches the terminal: %q", err)
			}
		})
	}
}

// TestResumeRemovesStaleTemporaries: the temporary file a write killed
// mid-way left in the run folder is removed when the run resumes, and only
// when no live process holds the folder.
func TestResumeRemovesStaleTemporaries(t *testing.T) {
	data := syntheticData(320, 50, 16)
	cfg := testConfig(t)
	first := New(cfg, Options{Data: data})
	stopAtStep(first, 3)
	part := runToEnd(t, first)
	stale := filepath.Join(part.RunDir, ".last.safetensors.tmp-123456")
	if err := os.WriteFile(stale, []byte("half a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	last := filepath.Join(part.RunDir, runs.LastCheckpoint)

	// Another live trainer holds the folder: its temporaries are its own.
	held, err := runs.LockRun(part.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	busy := New(cfg, Options{Data: data, Resume: last})
	if err := busy.Run(context.Background()); !errors.Is(err, runs.ErrBusy) {
		t.Errorf("resuming a run another process trains: %v, want ErrBusy", err)
	}
	if _, err := os.Stat(stale); err != nil {
		t.Fatalf("a temporary was removed while the folder was held: %v", err)
	}
	held.Unlock()

	var notes []string
	resumed := New(cfg, Options{Data: data, Resume: last, Log: func(s string) { notes = append(notes, s) }})
	stopAtStep(resumed, 5)
	runToEnd(t, resumed)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary still there after the resume: %v", err)
	}
	if len(notes) == 0 || !strings.Contains(notes[0], ".last.safetensors.tmp-123456") {
		t.Errorf("the removal is not reported: %q", notes)
	}
}

// TestPausesAreNotTrainingTime: a pause adds nothing to the epoch's
// seconds or throughput, and metrics.jsonl records it. The clock moves
// only when the test moves it: one second a step, 70 while paused.
func TestPausesAreNotTrainingTime(t *testing.T) {
	cfg := testConfig(t)
	cfg.Epochs = 1
	tr := New(cfg, Options{Data: syntheticData(640, 50, 17)})
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var offset atomic.Int64
	tr.now = func() time.Time { return base.Add(time.Duration(offset.Load())) }
	tr.afterStep = func(step int64) {
		offset.Add(int64(time.Second))
		if step == 5 {
			tr.Send(Pause{})
		}
	}
	done := make(chan error, 1)
	go func() { done <- tr.Run(context.Background()) }()
	waitFor(t, tr, func(s Snapshot) bool { return s.State == Paused })
	offset.Add(int64(70 * time.Second))
	tr.Send(Resume{})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s := tr.Snapshot()
	// 640 images in batches of 32: 20 steps of one second.
	if e := s.History[0]; e.Seconds != 20 || e.ImagesPerSec != 32 {
		t.Errorf("epoch took %v s at %v img/s; want 20 s at 32 img/s, the 70 s pause left out", e.Seconds, e.ImagesPerSec)
	}
	// The header's elapsed time leaves the pause out too: it stands still
	// while paused, and must not jump by the pause when training resumes.
	if s.Elapsed > 20*time.Second {
		t.Errorf("elapsed %v after 20 s of training and a 70 s pause; want the pause left out", s.Elapsed)
	}
	var pause *runs.Pause
	var resume *runs.Resume
	for _, rec := range records(t, s.RunDir) {
		switch r := rec.(type) {
		case runs.Pause:
			pause = &r
		case runs.Resume:
			resume = &r
		}
	}
	if pause == nil || pause.Step != 5 || resume == nil || resume.Step != 5 || resume.PausedSeconds != 70 {
		t.Errorf("pause %+v, resume %+v; want both at step 5, paused 70 s", pause, resume)
	}
	r, err := runs.Load(s.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	if r.SecPerEpoch != 20 || r.ImgPerSec != 32 {
		t.Errorf("runs page reads %v s/epoch, %v img/s; want 20 and 32", r.SecPerEpoch, r.ImgPerSec)
	}
}

// TestLogPointsUseTheRunsOwnEpochLength: the runs package places a first
// epoch's log points by the data set the run trained on, not by MNIST's
// 60 000 images.
func TestLogPointsUseTheRunsOwnEpochLength(t *testing.T) {
	cfg := testConfig(t)
	tr := New(cfg, Options{Data: syntheticData(640, 50, 18)})
	stopAtStep(tr, 6)
	s := runToEnd(t, tr)
	r, err := runs.Load(s.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	// 640 images in batches of 32: the log point at batch 5 is a quarter in.
	if len(r.Losses) != 1 || r.Losses[0].Epoch != 0.25 {
		t.Errorf("loss points %+v, want one at epoch 0.25", r.Losses)
	}
}

// A run folder is named for what trained in it: the model, or the custom network's name made
// safe for a folder name, which any text of up to 40 characters may not be.
func TestRunFolderLabels(t *testing.T) {
	for label, want := range map[string]string{
		"cnn":             "cnn",
		"tiny-mlp":        "tiny-mlp",
		"LeNet v2.1":      "LeNet-v2.1",
		"my/net: wide!!":  "my-net-wide",
		"../../etc":       "etc",
		"--rm -rf":        "rm-rf",
		"réseau_à_moi":    "r-seau_-_moi",
		"***":             "custom",
		"":                "custom",
		".hidden":         "hidden",
		"tab\there  end ": "tab-here-end",
	} {
		if got := folderLabel(label); got != want {
			t.Errorf("folderLabel(%q) = %q, want %q", label, got, want)
		}
	}
}
