package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mnist-tui/engine/config"
	"mnist-tui/engine/runs"
	"mnist-tui/engine/train"
	"mnist-tui/ui/dashboard"
)

// waitFinal waits for a run to reach Done or Failed.
func waitFinal(t *testing.T, tr dashboard.Trainer) train.Snapshot {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	for {
		s := tr.Snapshot()
		if s.State == train.Done || s.State == train.Failed {
			return s
		}
		select {
		case <-tr.Changed():
		case <-deadline:
			t.Fatalf("the run is still %s after 2 minutes", s.State)
		}
	}
}

func smallComparison(t *testing.T, models ...string) (*comparison, *train.Data) {
	t.Helper()
	dir := t.TempDir()
	data, err := smallMNIST(t, 1000, 300)(context.Background(), config.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.RunsDir = filepath.Join(dir, "runs")
	cfg.Epochs, cfg.BatchSize, cfg.LearningRate, cfg.LogInterval = 1, 32, 0.05, 10
	ses := newSession(context.Background())
	t.Cleanup(func() { ses.close() })
	var contenders []contender
	for _, m := range models {
		c := cfg
		c.Model = m
		contenders = append(contenders, contender{label: m, cfg: c})
	}
	return &comparison{contenders: contenders, started: time.Now(), ses: ses}, data
}

// What the dashboard does with Options.Next during `mnist-tui compare`: each
// finished model starts the next one on the same images, and the last one
// writes the report.
func TestComparisonStartsEachModelInTurn(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two models on a slice of real MNIST")
	}
	c, data := smallComparison(t, "linear", "cnn")
	first := c.ses.start(c.configFor(0), train.Options{Version: Version, Data: data})
	done := waitFinal(t, first)

	second, note, err := c.next(done)
	if err != nil || second == nil {
		t.Fatalf("next after linear: %v, %v", second, err)
	}
	if !strings.Contains(note, "linear done: best") || !strings.Contains(note, "now cnn, model 2 of 2") {
		t.Errorf("note %q", note)
	}
	if reports, _ := filepath.Glob(filepath.Join(c.runsDir(), "compare-*.md")); len(reports) != 0 {
		t.Error("the report was written before the last model finished")
	}

	secondDone := waitFinal(t, second)
	if secondDone.Model != "cnn" || secondDone.Data != done.Data {
		t.Errorf("second run: model %q, shares the data: %v", secondDone.Model, secondDone.Data == done.Data)
	}
	last, note, err := c.next(secondDone)
	if err != nil || last != nil {
		t.Fatalf("next after the last model: %v, %v; want no run", last, err)
	}
	reports, _ := filepath.Glob(filepath.Join(c.runsDir(), "compare-*.md"))
	if len(reports) != 1 || !strings.Contains(note, "comparison done") || !strings.Contains(note, reports[0]) {
		t.Fatalf("reports %v, note %q", reports, note)
	}
	report, _ := os.ReadFile(reports[0])
	for _, model := range []string{"linear", "cnn"} {
		if !strings.Contains(string(report), "| "+model+" | ") || !strings.Contains(string(report), "-"+model+" |") {
			t.Errorf("the report has no finished %s row:\n%s", model, report)
		}
	}
	if again, _, _ := c.next(secondDone); again != nil {
		t.Error("a finished comparison started another run")
	}
}

// A model that never got its data ends the comparison at once: the others
// would fail the same way.
func TestComparisonStopsWhenTheDataCannotLoad(t *testing.T) {
	c, _ := smallComparison(t, "cnn", "linear")
	failed := train.Snapshot{State: train.Failed, Model: "cnn", Err: errors.New("mnist: no copy found; run mnist-tui data")}
	next, note, err := c.next(failed)
	if err != nil || next != nil {
		t.Fatalf("next: %v, %v; want no run", next, err)
	}
	if !strings.Contains(note, "could not load the data") || !strings.Contains(note, "run mnist-tui data") {
		t.Errorf("note %q does not say what went wrong", note)
	}
	if len(c.results) != 1 || c.results[0].State != runs.Failed {
		t.Errorf("results %+v, want the failed cnn", c.results)
	}
	if !strings.Contains(c.report, "| linear |") || !strings.Contains(c.report, "not run") {
		t.Errorf("report lacks the model that did not run:\n%s", c.report)
	}
}

// The compare page comes after the pages every dashboard has, so that a
// page's number is the same under `compare` as under `train`.
func TestComparePageKeepsThePageNumbers(t *testing.T) {
	env := &Env{Stdout: io.Discard, Stderr: io.Discard}
	cfg := config.Defaults()
	cfg.RunsDir = t.TempDir()
	var current currentTrainer
	plain, err := dashboardPages(env, cfg, "", &current, pageOptions())
	if err != nil {
		t.Fatal(err)
	}
	compared, err := comparePages(env, []contender{{label: "a", cfg: cfg}, {label: "b", cfg: cfg}}, "", &current, pageOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(compared) != len(plain)+1 {
		t.Fatalf("%d pages under compare, want %d", len(compared), len(plain)+1)
	}
	for i, p := range plain {
		if compared[i].Name() != p.Name() {
			t.Errorf("page %d is %q under compare, %q under train", i+2, compared[i].Name(), p.Name())
		}
	}
	if last := compared[len(compared)-1].Name(); last != "compare" {
		t.Errorf("the last page is %q, want compare", last)
	}
}

// Under the dashboard, configurations follow one another like models,
// named by their files, and the report tells them apart by the setting
// that differs.
func TestComparisonOfConfigurationsUnderTheDashboard(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two networks on a slice of real MNIST")
	}
	c, data := smallComparison(t, "linear", "linear")
	c.contenders[0].label, c.contenders[0].path = "slow", "slow.yaml"
	c.contenders[1].label, c.contenders[1].path = "fast", "fast.yaml"
	c.contenders[1].cfg.LearningRate = 0.1
	first := c.ses.start(c.configFor(0), train.Options{Version: Version, Data: data})
	second, note, err := c.next(waitFinal(t, first))
	if err != nil || second == nil || !strings.Contains(note, "slow done: best") || !strings.Contains(note, "now fast, configuration 2 of 2") {
		t.Fatalf("next after slow: %v, %v, note %q", second, err, note)
	}
	if s := waitFinal(t, second); s.Config.LearningRate != 0.1 {
		t.Errorf("the second run trained at lr %v, want fast's 0.1", s.Config.LearningRate)
	}
	if _, _, err := c.next(second.Snapshot()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Configuration comparison", "| config | lr | parameters |", "| slow | 0.05 | 575,050 |", "| fast | 0.1 | 575,050 |"} {
		if !strings.Contains(c.report, want) {
			t.Errorf("report lacks %q:\n%s", want, c.report)
		}
	}
}
