package runsview

import (
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/muesli/termenv"

	"mnist-tui/engine/config"
	"mnist-tui/engine/runs"
	"mnist-tui/engine/train"
	"mnist-tui/ui/view"
)

func newComparison(models ...string) *Page {
	return NewComparison("runs", modelEntries(models...), view.Options{Renderer: renderer(termenv.Ascii), NoColor: true})
}

// modelEntries are the entries of `compare --models`.
func modelEntries(models ...string) []Entry {
	entries := make([]Entry, len(models))
	for i, m := range models {
		entries[i] = Entry{Label: m, Config: config.Defaults()}
		entries[i].Config.Model = m
	}
	return entries
}

// midComparison: linear finished, cnn training (its epoch 3), inception and
// residual to come; the folder also holds runs of other sessions.
func midComparison(t *testing.T) *Page {
	t.Helper()
	p := newComparison("linear", "cnn", "inception", "residual")
	linear := run("20250302-100000-linear", "linear", "mnist", 575050, 10, 10, 93.4, runs.Done)
	cnn := run("20250302-101500-cnn", "cnn", "mnist", 21840, 10, 3, 96.7, runs.Running)
	p.SetSnapshot(train.Snapshot{RunID: linear.ID, Model: "linear", State: train.Running})
	p.SetSnapshot(train.Snapshot{RunID: linear.ID, Model: "linear", State: train.Done, History: make([]train.EpochResult, 10)})
	p.SetSnapshot(train.Snapshot{RunID: cnn.ID, Model: "cnn", State: train.Running, History: make([]train.EpochResult, 3)})
	feed(p, append([]runs.Run{cnn, linear}, fixture()...))
	return p
}

func TestComparisonListsItsModelsInOrder(t *testing.T) {
	p := midComparison(t)
	var got []string
	for _, r := range p.runs {
		got = append(got, r.Model+":"+string(p.shownState(r)))
	}
	want := "linear:done cnn:running inception:queued residual:queued"
	if strings.Join(got, " ") != want {
		t.Errorf("rows %v, want %s (other runs in the folder left out)", got, want)
	}
	shown, preview := p.shownRuns()
	if preview || len(shown) != 2 || shown[0].run.Model != "linear" || shown[1].run.Model != "cnn" {
		t.Errorf("chart shows %+v (preview %v), want linear and cnn overlaid", shown, preview)
	}
	if shown[0].slot == shown[1].slot {
		t.Error("two models share a colour")
	}
	if out := p.Render(110, 24); !strings.Contains(out, "1 of 4 models finished") {
		t.Errorf("no progress in the title:\n%s", out)
	}
}

// A model whose folder has not been scanned yet is still shown as running
// from the snapshot; a queued model cannot be selected.
func TestComparisonBeforeTheFolderIsScanned(t *testing.T) {
	p := newComparison("cnn", "linear")
	p.SetSnapshot(train.Snapshot{RunID: "20250302-120000-cnn", Model: "cnn", State: train.Loading})
	if r := p.runs[0]; r.ID != "20250302-120000-cnn" || p.shownState(r) != runs.Running {
		t.Errorf("first row %+v, want the cnn run, running", r)
	}
	press(p, "down", "x")
	if len(p.slots) != 1 {
		t.Errorf("selecting a queued model changed the selection: %v", p.slots)
	}
	if out := p.Render(100, 20); !strings.Contains(out, "linear starts when the models before it have finished") {
		t.Errorf("the queued model is not explained:\n%s", out)
	}
}

func TestGoldenComparison(t *testing.T) {
	p := midComparison(t)
	golden.RequireEqual(t, []byte(p.Render(110, 26)))
}

// A comparison of one epoch each shows every model's accuracy as a
// labelled mark, not as lone dots.
func TestOneEpochComparisonIsReadable(t *testing.T) {
	p := NewComparison("runs", modelEntries("linear", "cnn"), view.Options{Renderer: renderer(termenv.ANSI256)})
	lin := run("20250301-120000-linear", "linear", "mnist", 7850, 1, 1, 91.25, runs.Done)
	cnn := run("20250301-120100-cnn", "cnn", "mnist", 21840, 1, 1, 91.5, runs.Done)
	for _, r := range []runs.Run{lin, cnn} {
		p.SetSnapshot(train.Snapshot{RunID: r.ID, Model: r.Model, State: train.Done})
	}
	feed(p, []runs.Run{cnn, lin})
	out := ansi.Strip(p.Render(100, 30))
	for _, want := range []string{"● 91.25% linear", "● 91.50% cnn"} {
		if !strings.Contains(out, want) {
			t.Errorf("the chart lacks %q:\n%s", want, out)
		}
	}
}

// The compare page lists models in the order compared: its help speaks of
// models, not of the newest and oldest runs.
func TestComparisonHelpSpeaksOfModels(t *testing.T) {
	p := midComparison(t)
	var help []string
	for _, b := range p.Keys() {
		help = append(help, b.Help().Desc)
	}
	all := strings.Join(help, ", ")
	if strings.Contains(all, "newest") || strings.Contains(all, "oldest") || !strings.Contains(all, "first model") {
		t.Errorf("compare page help: %s", all)
	}
	if runs := New(t.TempDir(), view.Options{NoColor: true}); !strings.Contains(runs.Keys()[2].Help().Desc, "newest") {
		t.Errorf("the runs page lost its own help: %+v", runs.Keys()[2].Help())
	}
}

// Two configurations of the same model are two rows, told apart by their
// file names and by the setting that differs, in the table and the legend.
func TestComparisonOfConfigurationsTellsThemApart(t *testing.T) {
	slow, fast := config.Defaults(), config.Defaults()
	fast.LearningRate = 0.1
	p := NewComparison("runs", []Entry{{Label: "slow", Config: slow}, {Label: "fast", Config: fast}},
		view.Options{Renderer: renderer(termenv.Ascii), NoColor: true})
	a := run("20250302-100000-cnn", "cnn", "mnist", 21840, 10, 2, 95.5, runs.Done)
	b := run("20250302-100000-cnn-2", "cnn", "mnist", 21840, 10, 1, 96.25, runs.Running)
	p.SetSnapshot(train.Snapshot{RunID: a.ID, Model: "cnn", State: train.Done})
	p.SetSnapshot(train.Snapshot{RunID: b.ID, Model: "cnn", State: train.Running})
	feed(p, []runs.Run{b, a})
	if p.runs[0].ID != a.ID || p.runs[1].ID != b.ID {
		t.Fatalf("rows %s, %s; want each configuration its own run, in order", p.runs[0].ID, p.runs[1].ID)
	}
	out := ansi.Strip(p.Render(110, 24))
	for _, want := range []string{"comparing slow, fast · 1 of 2 configurations finished", "config", "lr", "0.01", "0.1 ", "slow lr 0.01 96.40%", "fast lr 0.1 96.25%"} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`(?m)^ *> ?\[.\] +20250302-100000-cnn +slow +0\.01 `).MatchString(out) {
		t.Errorf("the first row does not show its label and learning rate:\n%s", out)
	}
}
