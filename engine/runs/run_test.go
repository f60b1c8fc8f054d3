package runs

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// line is one metrics.jsonl record, written as the trainer writes them.
type line = Record

func start(model string, epochs, epoch, batch int, step int64) Start {
	return Start{RunID: "x", Model: model, Dataset: "mnist", Params: 7850, Epochs: epochs, BatchSize: 64, Threads: 2,
		TrainImages: 60000, Epoch: epoch, Batch: batch, Step: step}
}

func logAt(epoch, batch int, step int64, loss float64) Log {
	return Log{Epoch: epoch, Batch: batch, Step: step, Loss: loss, Acc: 80.0, LR: 0.01}
}

func epochResult(epoch int, testAcc, seconds, imgS float64) Epoch {
	return Epoch{Epoch: epoch, TrainLoss: 0.5 / float64(max(epoch, 1)), TrainAcc: 90.0,
		TestLoss: 0.3 / float64(max(epoch, 1)), TestAcc: testAcc, Seconds: seconds, ImgS: imgS}
}

func end(state string) End { return End{State: State(state), Step: 1876} }

// jsonl renders records one per line, each ending in a newline.
func jsonl(t testing.TB, lines ...line) string {
	t.Helper()
	var b strings.Builder
	for _, l := range lines {
		data, err := MarshalRecord(l)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
		b.WriteByte('\n')
	}
	return b.String()
}

// writeRun makes runs/<id>/ with the given metrics.jsonl content (nil for
// no file) and a config.yaml, and returns the folder.
func writeRun(t *testing.T, runsDir, id string, metrics *string) string {
	t.Helper()
	dir := filepath.Join(runsDir, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := "model: linear\ndataset: fashion-mnist\nepochs: 3\nbatch_size: 100\n"
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if metrics != nil {
		if err := os.WriteFile(filepath.Join(dir, MetricsFile), []byte(*metrics), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// age sets the modification times of a run folder and its files to d ago.
func age(t *testing.T, dir string, d time.Duration) {
	t.Helper()
	when := time.Now().Add(-d)
	for _, p := range []string{filepath.Join(dir, MetricsFile), filepath.Join(dir, ConfigFile), dir} {
		if err := os.Chtimes(p, when, when); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
}

func ptr(s string) *string { return &s }

func load(t *testing.T, dir string) Run {
	t.Helper()
	r, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return r
}

func TestLoadFinishedRun(t *testing.T) {
	m := jsonl(t,
		start("cnn", 2, 1, 0, 0),
		logAt(1, 300, 300, 1.2), logAt(1, 600, 600, 0.6),
		epochResult(1, 97.5, 40, 1500),
		logAt(2, 300, 938+300, 0.2),
		epochResult(2, 98.25, 20, 3000),
		end("done"))
	dir := writeRun(t, t.TempDir(), "20250102-030405-cnn", &m)
	r := load(t, dir)

	if r.State != Done || r.Problem != "" || len(r.Notes) != 0 {
		t.Errorf("state %q, problem %q, notes %q; want done and clean", r.State, r.Problem, r.Notes)
	}
	if r.ID != "20250102-030405-cnn" || r.Dir != dir {
		t.Errorf("id %q dir %q", r.ID, r.Dir)
	}
	// The start line wins over config.yaml, which says linear on fashion-mnist.
	if r.Model != "cnn" || r.Dataset != "mnist" || r.Params != 7850 || r.Epochs != 2 || r.BatchSize != 64 || r.Threads != 2 {
		t.Errorf("got %s %s params %d epochs %d batch %d threads %d", r.Model, r.Dataset, r.Params, r.Epochs, r.BatchSize, r.Threads)
	}
	if r.EpochsDone != 2 || r.BestAcc != 98.25 {
		t.Errorf("epochs done %d best %v, want 2 and 98.25", r.EpochsDone, r.BestAcc)
	}
	if r.SecPerEpoch != 30 {
		t.Errorf("seconds per epoch %v, want (40+20)/2 = 30", r.SecPerEpoch)
	}
	// 40 s at 1500/s and 20 s at 3000/s: 120000 images in 60 s.
	if r.ImgPerSec != 2000 {
		t.Errorf("images/s %v, want 2000", r.ImgPerSec)
	}
	if want := []float64{97.5, 98.25}; !slices.Equal(r.TestAcc, want) {
		t.Errorf("test acc %v, want %v", r.TestAcc, want)
	}
	if want := []float64{0.5, 0.25}; !slices.Equal(r.TrainLoss, want) {
		t.Errorf("train loss %v, want %v", r.TrainLoss, want)
	}
	// The second epoch's log line says an epoch is 938 batches long.
	wantX := []float64{300.0 / 938, 600.0 / 938, 1 + 300.0/938}
	if len(r.Losses) != 3 {
		t.Fatalf("losses %v, want 3", r.Losses)
	}
	for i, l := range r.Losses {
		if math.Abs(l.Epoch-wantX[i]) > 1e-9 {
			t.Errorf("loss point %d at epoch %v, want %v", i, l.Epoch, wantX[i])
		}
	}
	if r.Losses[2].Loss != 0.2 || r.Losses[2].Step != 1238 {
		t.Errorf("last loss point %+v", r.Losses[2])
	}
	if want := time.Date(2025, 1, 2, 3, 4, 5, 0, time.Local); !r.Started.Equal(want) {
		t.Errorf("started %v, want %v from the id", r.Started, want)
	}
}

func TestFirstEpochLogPointsUseTheBatchSize(t *testing.T) {
	m := jsonl(t, start("linear", 1, 1, 0, 0), logAt(1, 469, 469, 0.4))
	dir := writeRun(t, t.TempDir(), "r", &m)
	r := load(t, dir)
	// 60000 images in batches of 64 are 938 batches.
	if len(r.Losses) != 1 || math.Abs(r.Losses[0].Epoch-469.0/938) > 1e-9 {
		t.Errorf("losses %+v, want one at epoch %v", r.Losses, 469.0/938)
	}
}

func TestUnfinishedRunIsRunningThenInterrupted(t *testing.T) {
	m := jsonl(t, start("cnn", 10, 1, 0, 0), logAt(1, 300, 300, 1.0))
	dir := writeRun(t, t.TempDir(), "r", &m)
	if r := load(t, dir); r.State != Running {
		t.Errorf("fresh run without an end: %q, want running", r.State)
	}
	age(t, dir, RunningWindow+time.Minute)
	if r := load(t, dir); r.State != Interrupted || r.Problem != "" {
		t.Errorf("stale run without an end: %q (%q), want interrupted", r.State, r.Problem)
	}
}

func TestSlowRunsGetALongerWindow(t *testing.T) {
	// 300 batches of 64 at 20 images/s: 16 minutes between log lines.
	m := jsonl(t, start("inception", 10, 1, 0, 0), logAt(1, 300, 300, 1.0),
		epochResult(1, 95, 3000, 20), logAt(2, 300, 938+300, 0.5))
	dir := writeRun(t, t.TempDir(), "r", &m)
	age(t, dir, 10*time.Minute)
	if r := load(t, dir); r.State != Running {
		t.Errorf("slow model quiet for 10 minutes: %q, want running", r.State)
	}
	age(t, dir, 3*time.Hour)
	if r := load(t, dir); r.State != Interrupted {
		t.Errorf("slow model quiet for 3 hours: %q, want interrupted", r.State)
	}
}

func TestTornLastLineIsIgnoredAndNoted(t *testing.T) {
	m := jsonl(t, start("cnn", 10, 1, 0, 0), epochResult(1, 97, 30, 2000)) + `{"type":"log","epoch":2,"bat`
	dir := writeRun(t, t.TempDir(), "r", &m)
	age(t, dir, time.Hour)
	r := load(t, dir)
	if r.State != Interrupted || r.Problem != "" {
		t.Errorf("state %q problem %q, want interrupted without a problem", r.State, r.Problem)
	}
	if r.EpochsDone != 1 || r.BestAcc != 97 {
		t.Errorf("epochs %d best %v: the lines before the torn one are lost", r.EpochsDone, r.BestAcc)
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "line 3") || !strings.Contains(r.Notes[0], "unfinished") {
		t.Errorf("notes %q, want one about line 3", r.Notes)
	}
}

// A crash cut the last line short; the resumed run appended its start line
// right after the fragment.
func TestResumeAfterATornLine(t *testing.T) {
	m := jsonl(t, start("cnn", 2, 1, 0, 0), epochResult(1, 97, 30, 2000)) + `{"batch":300,"epo` +
		jsonl(t, start("cnn", 2, 2, 0, 938), epochResult(2, 98, 30, 2000), end("done"))
	r := load(t, writeRun(t, t.TempDir(), "r", &m))
	if r.State != Done || r.EpochsDone != 2 {
		t.Errorf("state %q (%q), %d epochs; want done with 2", r.State, r.Problem, r.EpochsDone)
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "line 3") {
		t.Errorf("notes %q, want one about line 3", r.Notes)
	}
}

func TestDamagedFolders(t *testing.T) {
	good := jsonl(t, start("cnn", 10, 1, 0, 0), epochResult(1, 97, 30, 2000))
	cases := []struct {
		name    string
		metrics *string
		want    string // in Problem
	}{
		{"no metrics", nil, "no metrics.jsonl"},
		{"empty metrics", ptr(""), "no start line"},
		{"invalid json mid-file", ptr(good + "{oops\n" + jsonl(t, end("done"))), "metrics.jsonl line 3: invalid JSON"},
		{"not an object", ptr(good + "[1, 2]\n"), "line 3: not a JSON object"},
		{"wrong type of value", ptr(good + `{"type":"epoch","epoch":"two"}` + "\n"), `line 3: "epoch": a string where a number belongs`},
		{"no type", ptr(good + `{"epoch":2}` + "\n"), `line 3: no "type"`},
		{"log before start", ptr(jsonl(t, logAt(1, 300, 300, 1))), `line 1: a "log" line before the start line`},
		{"unknown end", ptr(good + jsonl(t, end("exploded"))), `line 3: unknown end state "exploded"`},
		{"epoch zero", ptr(good + jsonl(t, epochResult(0, 97, 30, 2000))), "line 3: epoch line without an epoch number"},
	}
	runsDir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeRun(t, runsDir, strings.ReplaceAll(c.name, " ", "-"), c.metrics)
			age(t, dir, time.Hour)
			r := load(t, dir)
			if r.State != Damaged || !strings.Contains(r.Problem, c.want) {
				t.Errorf("state %q problem %q, want damaged with %q", r.State, r.Problem, c.want)
			}
		})
	}
}

func TestDamagedRunKeepsItsHistory(t *testing.T) {
	m := jsonl(t, start("cnn", 10, 1, 0, 0), epochResult(1, 97, 30, 2000)) + "garbage\n" + jsonl(t, epochResult(2, 99, 30, 2000))
	r := load(t, writeRun(t, t.TempDir(), "r", &m))
	if r.State != Damaged || r.EpochsDone != 1 || r.BestAcc != 97 {
		t.Errorf("state %q epochs %d best %v, want damaged with epoch 1 only", r.State, r.EpochsDone, r.BestAcc)
	}
}

func TestFreshFolderWithoutMetricsIsStarting(t *testing.T) {
	r := load(t, writeRun(t, t.TempDir(), "r", nil))
	if r.State != Running {
		t.Errorf("state %q (%q), want running: the trainer writes metrics.jsonl a moment later", r.State, r.Problem)
	}
	// What the run is comes from config.yaml meanwhile.
	if r.Model != "linear" || r.Dataset != "fashion-mnist" || r.Epochs != 3 || r.BatchSize != 100 {
		t.Errorf("from config.yaml: %s %s %d epochs batch %d", r.Model, r.Dataset, r.Epochs, r.BatchSize)
	}
}

func TestResumedRunDropsWhatItRedid(t *testing.T) {
	m := jsonl(t,
		start("cnn", 3, 1, 0, 0),
		logAt(1, 300, 300, 1.0), epochResult(1, 96, 30, 2000),
		logAt(2, 300, 938+300, 0.5), logAt(2, 600, 938+600, 0.4), // after the checkpoint: redone below
		epochResult(2, 96.5, 30, 2000), logAt(3, 300, 2*938+300, 0.3),
		// crash; resumed from a checkpoint taken at epoch 2, batch 300
		start("cnn", 3, 2, 300, 938+300),
		logAt(2, 600, 938+600, 0.45), epochResult(2, 97, 30, 2000),
		Change{Step: 2000, Key: "epochs", Old: 3, New: 5},
		epochResult(3, 98, 30, 2000), end("stopped"))
	r := load(t, writeRun(t, t.TempDir(), "r", &m))
	if r.State != Stopped {
		t.Errorf("state %q, want stopped", r.State)
	}
	if want := []float64{96, 97, 98}; !slices.Equal(r.TestAcc, want) {
		t.Errorf("test acc %v, want %v", r.TestAcc, want)
	}
	var losses []float64
	for _, l := range r.Losses {
		losses = append(losses, l.Loss)
	}
	if want := []float64{1.0, 0.5, 0.45}; !slices.Equal(losses, want) {
		t.Errorf("losses %v, want %v (the redone interval once)", losses, want)
	}
	if r.Epochs != 5 {
		t.Errorf("planned epochs %d, want 5 after the live change", r.Epochs)
	}
}

func TestAnEndThenAResumeIsRunningAgain(t *testing.T) {
	m := jsonl(t, start("cnn", 3, 1, 0, 0), epochResult(1, 96, 30, 2000), end("stopped"), start("cnn", 3, 2, 0, 938))
	if r := load(t, writeRun(t, t.TempDir(), "r", &m)); r.State != Running {
		t.Errorf("state %q, want running", r.State)
	}
}

func TestFailedRunKeepsItsError(t *testing.T) {
	m := jsonl(t, start("cnn", 3, 1, 0, 0), End{State: Failed, Step: 5, Error: "loss is NaN at step 5"})
	r := load(t, writeRun(t, t.TempDir(), "r", &m))
	if r.State != Failed || r.Error != "loss is NaN at step 5" || r.Problem != "" {
		t.Errorf("state %q error %q problem %q", r.State, r.Error, r.Problem)
	}
}

func TestLoadRefusesWhatIsNoFolder(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	for _, p := range []string{file, filepath.Join(dir, "missing")} {
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("Load(%s): %v, want an error naming it", p, err)
		}
	}
}

// TestFirstEpochOfAnOlderRunWithoutItsSize: a start line from before
// train_images places a first epoch's log points by the furthest one, not
// by an assumed data set size.
func TestFirstEpochOfAnOlderRunWithoutItsSize(t *testing.T) {
	old := start("linear", 1, 1, 0, 0)
	old.TrainImages = 0
	m := jsonl(t, old, logAt(1, 100, 100, 0.9), logAt(1, 200, 200, 0.5))
	dir := writeRun(t, t.TempDir(), "r", &m)
	r := load(t, dir)
	if len(r.Losses) != 2 || r.Losses[0].Epoch != 0.5 || r.Losses[1].Epoch != 1 {
		t.Errorf("losses %+v, want them at epochs 0.5 and 1", r.Losses)
	}
}
