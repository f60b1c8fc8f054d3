package train

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"mnist-tui/engine/checkpoint"
	"mnist-tui/engine/config"
	"mnist-tui/engine/doctor"
	"mnist-tui/engine/runs"
)

// metricRecords reads a run's metrics.jsonl.
func metricRecords(t *testing.T, dir string) []runs.Record {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, runs.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var recs []runs.Record
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		rec, err := runs.UnmarshalRecord(sc.Bytes())
		if err != nil {
			t.Fatalf("%s: %v", sc.Text(), err)
		}
		recs = append(recs, rec)
	}
	return recs
}

// Every log interval writes the layers' health after the log line, for
// every layer of the model, with the learning rate in force.
func TestHealthIsRecordedEveryLogInterval(t *testing.T) {
	cfg := testConfig(t)
	cfg.Epochs = 1
	s := runToEnd(t, New(cfg, Options{Data: syntheticData(640, 50, 11)}))
	if len(s.Health) != len(s.Logs) || len(s.Logs) != 4 {
		t.Fatalf("%d health records for %d log points, want 4 of each", len(s.Health), len(s.Logs))
	}
	recs := metricRecords(t, s.RunDir)
	var seen int
	for i, rec := range recs {
		h, ok := rec.(runs.Health)
		if !ok {
			continue
		}
		l, ok := recs[i-1].(runs.Log)
		if !ok || l.Step != h.Step {
			t.Errorf("health record of step %d does not follow its log line (%+v)", h.Step, recs[i-1])
		}
		if h.LR != cfg.LearningRate || len(h.Layers) != 4 || h.Layers[0].Name != "conv1.0" {
			t.Errorf("health record %+v", h)
		}
		for _, layer := range h.Layers {
			if !(layer.WeightNorm > 0 && layer.GradNorm > 0 && layer.UpdateRatio > 0) {
				t.Errorf("step %d, %s: %+v", h.Step, layer.Name, layer)
			}
		}
		// The activations of the step's batch: conv1 and conv2 end in a
		// ReLU (10 and 20 filters), fc.0 does not, fc.1's are the logits.
		relus := []int{10, 20, 0}
		for i, want := range relus {
			a := h.Layers[i].Act
			if a == nil || a.ReLUs != want || !(a.Std > 0) || a.Dead < 0 || a.Dead >= 0.5 {
				t.Errorf("step %d, %s activations %+v, want %d ReLUs, a spread, few dead", h.Step, h.Layers[i].Name, a, want)
			}
		}
		if h.Layers[3].Act != nil {
			t.Errorf("step %d: the logits measured as activations: %+v", h.Step, *h.Layers[3].Act)
		}
		seen++
	}
	if seen != 4 {
		t.Errorf("%d health lines in metrics.jsonl, want 4", seen)
	}
	if len(s.Notes) != 0 {
		t.Errorf("notes on a healthy run: %+v", s.Notes)
	}
}

// With --lr 0.00001 the doctor says, within the first epoch, that the
// learning rate is too low and offers x10; applying the fix is recorded as
// a live change, and undoing it as another.
func TestDoctorNotesATooLowLearningRateAndItsFixIsALiveChange(t *testing.T) {
	cfg := testConfig(t)
	cfg.Epochs = 2
	cfg.LearningRate = 1e-5
	tr := New(cfg, Options{Data: syntheticData(640, 50, 12)})
	var noted Snapshot
	tr.afterStep = func(step int64) {
		if step == 12 { // the note comes at the second health record, step 10
			noted = tr.Snapshot()
			if len(noted.Notes) == 0 {
				return
			}
			fixed := 1e-5 * noted.Notes[0].FixFactor
			tr.Send(SetHyper{LearningRate: &fixed, Why: "doctor: fix"})
		}
		if step == 13 {
			tr.Send(Save{})
		}
		if step == 15 {
			undo := 1e-5
			tr.Send(SetHyper{LearningRate: &undo, Why: "doctor: undo"})
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), hangDeadline(t))
	defer cancel()
	if err := tr.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if len(noted.Notes) == 0 {
		t.Fatal("no note by step 12 at lr 1e-5")
	}
	n := noted.Notes[0]
	if n.Rule != doctor.RuleStepTooLow || n.Step != 10 || n.FixKey != doctor.LearningRate || n.FixFactor != 10 {
		t.Errorf("first note %+v, want step_too_low at step 10 with learning rate x10", n)
	}
	var notes []runs.Note
	var changes []runs.Change
	for _, rec := range metricRecords(t, tr.Snapshot().RunDir) {
		switch r := rec.(type) {
		case runs.Note:
			notes = append(notes, r)
		case runs.Change:
			changes = append(changes, r)
		}
	}
	if len(notes) == 0 || notes[0] != n {
		t.Errorf("metrics.jsonl notes %+v, want the snapshot's first, %+v", notes, n)
	}
	want := []runs.Change{{Step: 12, Key: "learning_rate", Old: 1e-5, New: 1e-4, Why: "doctor: fix"}, {Step: 15, Key: "learning_rate", Old: 1e-4, New: 1e-5, Why: "doctor: undo"}}
	if len(changes) != 2 || changes[0] != want[0] || changes[1] != want[1] {
		t.Errorf("changes %+v, want the fix and its undoing %+v", changes, want)
	}
	// A checkpoint saved while the fix held carries it, and the run's
	// last one the value the undo put back.
	for _, c := range []struct {
		file string
		lr   float64
	}{{runs.StepCheckpoint(13), 1e-4}, {runs.LastCheckpoint, 1e-5}} {
		ck, err := checkpoint.Load(filepath.Join(tr.Snapshot().RunDir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		saved, err := config.Parse(c.file, []byte(ck.Meta.Config))
		if err != nil {
			t.Fatal(err)
		}
		if saved.LearningRate != c.lr {
			t.Errorf("%s carries learning rate %g, want %g", c.file, saved.LearningRate, c.lr)
		}
	}
}

// A learning rate far too high (10 on the synthetic set, as --lr 2 on
// MNIST) makes the loss NaN: the doctor's last note says so and offers
// /10 (before it, with log lines every 5 steps, it may already have seen
// the loss run away); every note is in metrics.jsonl.
func TestDoctorNotesADivergence(t *testing.T) {
	cfg := testConfig(t)
	cfg.LearningRate = 10
	cfg.Epochs = 1
	tr := New(cfg, Options{Data: syntheticData(640, 50, 4)})
	done := make(chan error, 1)
	go func() { done <- tr.Run(context.Background()) }()
	waitFor(t, tr, func(s Snapshot) bool { return s.State == Paused && s.Err != nil })
	tr.Send(Stop{})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s := tr.Snapshot()
	if n := len(s.Notes); n == 0 || s.Notes[n-1].Rule != doctor.RuleDiverged || s.Notes[n-1].FixFactor != 0.1 {
		t.Fatalf("notes %+v, want a diverged note offering lr /10 last", s.Notes)
	}
	var written []runs.Note
	for _, rec := range metricRecords(t, s.RunDir) {
		if n, ok := rec.(runs.Note); ok {
			written = append(written, n)
		}
	}
	if len(written) != len(s.Notes) || written[len(written)-1] != s.Notes[len(s.Notes)-1] {
		t.Errorf("metrics.jsonl notes %+v, want %+v", written, s.Notes)
	}
}

// A run stopped and resumed with --resume shows the same layer health and
// doctor's notes as one that ran through: the history before the
// checkpoint is read back from metrics.jsonl, and the doctor, having
// heard it, does not repeat a note it gave before the stop.
func TestHealthAndNotesSurviveResume(t *testing.T) {
	for _, lr := range []float64{0.01, 1e-5} { // no note; a note before the stop
		cfg := testConfig(t)
		cfg.LearningRate = lr
		data := syntheticData(640, 50, 13)
		whole := runToEnd(t, New(cfg, Options{Data: data}))

		cfg.RunsDir = t.TempDir()
		first := New(cfg, Options{Data: data})
		stopAtStep(first, 27)
		part := runToEnd(t, first)
		if len(part.Health) == 0 || len(part.Health) >= len(whole.Health) {
			t.Fatalf("lr %g: the first part has %d health records of %d", lr, len(part.Health), len(whole.Health))
		}
		resumed := New(cfg, Options{Data: data, Resume: filepath.Join(part.RunDir, runs.LastCheckpoint)})
		var atStart Snapshot
		resumed.afterStep = func(step int64) {
			if atStart.RunID == "" {
				atStart = resumed.Snapshot()
			}
		}
		end := runToEnd(t, resumed)
		if len(atStart.Health) == 0 {
			t.Errorf("lr %g: the resumed run's first snapshot has no health history", lr)
		}
		if !reflect.DeepEqual(end.Health, whole.Health) {
			t.Errorf("lr %g: health after resume (%d records) differs from the uninterrupted run's (%d)", lr, len(end.Health), len(whole.Health))
		}
		if !reflect.DeepEqual(end.Notes, whole.Notes) {
			t.Errorf("lr %g: notes after resume\n%+v\nwant the uninterrupted run's\n%+v", lr, end.Notes, whole.Notes)
		}
		if lr < 1e-3 && len(whole.Notes) == 0 {
			t.Errorf("lr %g: no note to carry over", lr)
		}
	}
}
