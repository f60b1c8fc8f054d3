package runsview

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/muesli/termenv"

	"mnist-tui/engine/config"
	"mnist-tui/engine/runs"
	"mnist-tui/engine/train"
	"mnist-tui/ui/view"
)

// Golden files are regenerated with
//
//	go test ./ui/runsview -update
//
// The runs are synthetic and the renderers have a fixed profile, so
// nothing depends on the clock or on the terminal running the tests.
func TestMain(m *testing.M) {
	// The table draws with lipgloss's default renderer: it must not probe
	// the terminal either.
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

func renderer(p termenv.Profile) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(p)
	r.SetHasDarkBackground(true)
	return r
}

func newPage(t *testing.T, profile termenv.Profile, noColor bool) *Page {
	t.Helper()
	return New("runs", view.Options{Renderer: renderer(profile), NoColor: noColor})
}

// feed hands the page a scan result as its own scan would.
func feed(p *Page, rs []runs.Run) {
	p.scanning = true
	p.Update(scannedMsg{page: p, runs: rs})
}

func press(p *Page, keys ...string) {
	for _, k := range keys {
		var msg tea.KeyMsg
		switch k {
		case "up":
			msg = tea.KeyMsg{Type: tea.KeyUp}
		case "down":
			msg = tea.KeyMsg{Type: tea.KeyDown}
		case "space":
			msg = tea.KeyMsg{Type: tea.KeySpace, Runes: []rune(" ")}
		default:
			msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
		}
		p.Update(msg)
	}
}

// run is a synthetic finished run whose accuracy climbs from first by
// half the remaining distance to 100 % each epoch.
func run(id, model, dataset string, params, epochs, done int, first float64, state runs.State) runs.Run {
	r := runs.Run{ID: id, Dir: "runs/" + id, Model: model, Dataset: dataset, Params: params, Epochs: epochs,
		BatchSize: 64, Threads: 2, EpochsDone: done, State: state}
	acc := first
	for e := 0; e < done; e++ {
		r.TestAcc = append(r.TestAcc, acc)
		r.BestAcc = max(r.BestAcc, acc)
		acc += (100 - acc) / 5
	}
	if done > 0 {
		r.SecPerEpoch, r.ImgPerSec = 12.5+float64(params%7), 60000/(12.5+float64(params%7))
	}
	r.Started, _ = time.ParseInLocation("20060102-150405", id[:15], time.Local)
	return r
}

func fixture() []runs.Run {
	damaged := runs.Run{ID: "20250301-090000-cnn", Dir: "runs/20250301-090000-cnn", State: runs.Damaged,
		Problem: "metrics.jsonl line 7: invalid JSON", Model: "cnn", Dataset: "mnist"}
	failed := run("20250228-180000-cnn", "cnn", "mnist", 21840, 10, 2, 95.1, runs.Failed)
	failed.Error = "loss is NaN at step 1203: lower the learning rate"
	return []runs.Run{
		run("20250301-120000-residual", "residual", "fashion-mnist", 1234567, 10, 4, 84.2, runs.Running),
		damaged,
		run("20250301-080000-cnn", "cnn", "mnist", 21840, 10, 10, 97.9, runs.Done),
		run("20250301-070000-linear", "linear", "mnist", 7850, 10, 10, 90.1, runs.Done),
		failed,
		run("20250227-100000-inception", "inception", "mnist", 86410, 5, 3, 97.2, runs.Stopped),
		run("20250226-100000-linear", "linear", "fashion-mnist", 7850, 3, 1, 80.4, runs.Interrupted),
	}
}

// The runs page with three runs overlaid, the cursor on a damaged run.
func TestGoldenRunsNoColor(t *testing.T) {
	p := newPage(t, termenv.Ascii, true)
	feed(p, fixture())
	press(p, "x", "down", "down", "x", "down", "x", "up", "up")
	golden.RequireEqual(t, []byte(p.Render(110, 32)))
}

func TestGoldenRunsColour(t *testing.T) {
	p := newPage(t, termenv.ANSI256, false)
	feed(p, fixture())
	press(p, "x", "down", "down", "x", "down", "x")
	golden.RequireEqual(t, []byte(p.Render(110, 32)))
}

// Nothing selected: the run under the cursor is charted alone.
func TestGoldenRunsPreviewNarrow(t *testing.T) {
	p := newPage(t, termenv.Ascii, true)
	feed(p, fixture())
	press(p, "down", "down", "down")
	golden.RequireEqual(t, []byte(p.Render(60, 20)))
}

func TestGoldenNoRuns(t *testing.T) {
	p := newPage(t, termenv.Ascii, true)
	feed(p, nil)
	golden.RequireEqual(t, []byte(p.Render(80, 10)))
}

func TestGoldenTooSmall(t *testing.T) {
	p := newPage(t, termenv.Ascii, true)
	feed(p, fixture())
	golden.RequireEqual(t, []byte(p.Render(40, 6)))
}

func TestRenderFitsEverySize(t *testing.T) {
	many := fixture()
	for i := 0; i < 40; i++ {
		many = append(many, run(fmt.Sprintf("20240101-%06d-cnn", i), "cnn", "mnist", 21840, 10, i%11, 90, runs.Done))
	}
	for _, rs := range [][]runs.Run{nil, fixture()[:1], fixture(), many} {
		for _, colour := range []bool{false, true} {
			profile := termenv.Ascii
			if colour {
				profile = termenv.TrueColor
			}
			p := newPage(t, profile, !colour)
			feed(p, rs)
			press(p, "x", "down", "x", "down", "down", "down", "down", "down", "down", "down", "down", "down", "x")
			for _, size := range [][2]int{{0, 0}, {1, 1}, {20, 3}, {49, 8}, {50, 7}, {50, 8}, {50, 9}, {64, 14}, {80, 24}, {120, 40}, {200, 60}} {
				w, h := size[0], size[1]
				out := p.Render(w, h)
				lines := strings.Split(out, "\n")
				if len(lines) != max(h, 1) && !(h == 0 && out == "") {
					t.Errorf("%d runs %dx%d: %d lines", len(rs), w, h, len(lines))
				}
				for i, l := range lines {
					if lipgloss.Width(l) > w {
						t.Errorf("%d runs %dx%d: line %d is %d wide: %q", len(rs), w, h, i, lipgloss.Width(l), l)
					}
				}
			}
		}
	}
}

func TestCursorScrollsTheTable(t *testing.T) {
	var many []runs.Run
	for i := 0; i < 30; i++ {
		many = append(many, run(fmt.Sprintf("20240101-%06d-cnn", 235959-i), "cnn", "mnist", 21840, 10, 1, 90, runs.Done))
	}
	p := newPage(t, termenv.Ascii, true)
	feed(p, many)
	for range 25 {
		press(p, "down")
	}
	out := p.Render(100, 20)
	if !strings.Contains(out, ">[ ]  20240101-235934-cnn") {
		t.Errorf("the cursor's run is not on screen:\n%s", out)
	}
	press(p, "g")
	if out := p.Render(100, 20); !strings.Contains(out, ">[ ]  20240101-235959-cnn") {
		t.Errorf("g did not go back to the newest:\n%s", out)
	}
}

func TestCursorStaysOnItsRunWhenANewRunAppears(t *testing.T) {
	p := newPage(t, termenv.Ascii, true)
	rs := fixture()
	feed(p, rs[1:])
	press(p, "down", "down") // onto 20250301-070000-linear
	want := p.runs[p.cursor].ID
	feed(p, rs)
	if got := p.runs[p.cursor].ID; got != want {
		t.Errorf("cursor moved to %s, want it to stay on %s", got, want)
	}
}

func TestSelection(t *testing.T) {
	p := newPage(t, termenv.Ascii, true)
	rs := fixture()
	feed(p, rs)
	press(p, "x", "down", "space", "down", "x")
	if len(p.slots) != 3 {
		t.Fatalf("%d selected, want 3", len(p.slots))
	}
	press(p, "up", "x") // deselect the second
	if _, ok := p.slots[rs[1].ID]; ok || len(p.slots) != 2 {
		t.Errorf("selection %v after deselecting %s", p.slots, rs[1].ID)
	}
	// A newly selected run takes the free look, and the others keep theirs.
	press(p, "down", "down", "down", "x")
	if p.slots[rs[0].ID] != 0 || p.slots[rs[2].ID] != 2 || p.slots[rs[4].ID] != 1 {
		t.Errorf("slots %v", p.slots)
	}
	// A run that disappears leaves the selection.
	feed(p, rs[1:])
	if _, ok := p.slots[rs[0].ID]; ok {
		t.Errorf("the vanished run is still selected: %v", p.slots)
	}
	press(p, "c")
	if len(p.slots) != 0 {
		t.Errorf("c left %v", p.slots)
	}
}

func TestSelectionIsCapped(t *testing.T) {
	var many []runs.Run
	for i := 0; i < maxSelected+2; i++ {
		many = append(many, run(fmt.Sprintf("20240101-%06d-cnn", 235959-i), "cnn", "mnist", 21840, 10, 1, 90, runs.Done))
	}
	p := newPage(t, termenv.Ascii, true)
	feed(p, many)
	for range maxSelected {
		press(p, "x", "down")
	}
	press(p, "x")
	if len(p.slots) != maxSelected {
		t.Errorf("%d selected, want the cap %d", len(p.slots), maxSelected)
	}
	if !strings.Contains(p.Render(100, 30), "at most 8 runs") {
		t.Error("no note about the cap")
	}
}

// The loop: Start scans, a scan's answer sets a tick, the tick scans again.
func TestRescanLoopReadsTheFolder(t *testing.T) {
	dir := t.TempDir()
	writeMetrics(t, filepath.Join(dir, "20250101-100000-linear"),
		map[string]any{"type": "start", "model": "linear", "dataset": "mnist", "epochs": 1, "batch_size": 64},
		map[string]any{"type": "epoch", "epoch": 1, "test_acc": 91.5, "seconds": 3, "img_s": 20000},
		map[string]any{"type": "end", "state": "done"})
	p := New(dir, view.Options{Renderer: renderer(termenv.Ascii), NoColor: true})

	cmd := p.Start()
	msg := cmd()
	if _, ok := msg.(scannedMsg); !ok {
		t.Fatalf("Start's command gave %T, want a scan result", msg)
	}
	if next := p.Update(msg); next == nil {
		t.Fatal("no tick after a scan")
	}
	if len(p.runs) != 1 || p.runs[0].BestAcc != 91.5 {
		t.Fatalf("runs %+v", p.runs)
	}
	if !strings.Contains(p.Render(100, 20), "91.50") {
		t.Errorf("the run's accuracy is not shown:\n%s", p.Render(100, 20))
	}

	writeMetrics(t, filepath.Join(dir, "20250101-110000-cnn"),
		map[string]any{"type": "start", "model": "cnn", "dataset": "mnist", "epochs": 1, "batch_size": 64})
	scan := p.Update(tickMsg{page: p})
	if scan == nil {
		t.Fatal("a tick did not scan")
	}
	p.Update(scan())
	if len(p.runs) != 2 || p.runs[0].Model != "cnn" {
		t.Errorf("after the rescan: %+v", p.runs)
	}

	// Another page's messages are not ours.
	other := New(dir, view.Options{})
	if cmd := p.Update(tickMsg{page: other}); cmd != nil {
		t.Error("reacted to another page's tick")
	}
}

// While a scan is under way, a tick does not start a second one.
func TestOneScanAtATime(t *testing.T) {
	p := newPage(t, termenv.Ascii, true)
	p.Start()
	if cmd := p.Update(tickMsg{page: p}); cmd != nil {
		t.Error("a tick during a scan started another")
	}
}

func TestScanErrorIsShown(t *testing.T) {
	p := newPage(t, termenv.Ascii, true)
	p.scanning = true
	p.Update(scannedMsg{page: p, err: errors.New("runs folder runs: permission denied")})
	if out := p.Render(100, 10); !strings.Contains(out, "permission denied") {
		t.Errorf("scan error not shown:\n%s", out)
	}
}

// The dashboard's own run: the snapshot knows better than its files.
func TestLiveRunFollowsTheSnapshot(t *testing.T) {
	p := newPage(t, termenv.Ascii, true)
	rs := fixture()
	rs[2].State = runs.Interrupted // its files have been quiet during a pause
	feed(p, rs)
	p.SetSnapshot(train.Snapshot{RunID: rs[2].ID, State: train.Paused, History: make([]train.EpochResult, 10)})
	if got := p.shownState(rs[2]); got != paused {
		t.Errorf("state %q, want paused", got)
	}
	// A new epoch of the live run asks for a rescan at the next message.
	p.SetSnapshot(train.Snapshot{RunID: rs[2].ID, State: train.Running, History: make([]train.EpochResult, 11)})
	cmd := p.Update(struct{}{})
	if cmd == nil {
		t.Fatal("no rescan after the live run's epoch ended")
	}
	if _, ok := cmd().(scannedMsg); !ok {
		t.Error("the command is not a scan")
	}
}

func writeMetrics(t *testing.T, dir string, lines ...map[string]any) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range lines {
		data, _ := json.Marshal(l)
		b.Write(data)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, runs.MetricsFile), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTitleCountsRuns(t *testing.T) {
	p := newPage(t, termenv.Ascii, true)
	feed(p, fixture()[:1])
	if out := p.Render(100, 12); !strings.Contains(out, "· 1 run · 0 selected") {
		t.Errorf("one run is not counted as one run:\n%s", out)
	}
	feed(p, fixture()[:2])
	if out := p.Render(100, 12); !strings.Contains(out, "· 2 runs · 0 selected") {
		t.Errorf("two runs are not counted:\n%s", out)
	}
}

// TestBranchNamesItsParent: a run resumed from an older checkpoint of
// another says which, under the cursor.
func TestBranchNamesItsParent(t *testing.T) {
	p := newPage(t, termenv.Ascii, true)
	branch := run("20250302-100000-cnn", "cnn", "mnist", 21840, 10, 4, 97.0, runs.Done)
	branch.Parent = &runs.Parent{Run: "20250301-080000-cnn", Step: 1876, Checkpoint: "runs/20250301-080000-cnn/step-1876.safetensors"}
	feed(p, []runs.Run{branch})
	if out := p.Render(160, 12); !strings.Contains(out, "branch of 20250301-080000-cnn at step 1876") {
		t.Errorf("the branch does not name its parent:\n%s", out)
	}
}

// The cursor starts on the dashboard's own run, even when the first scan
// did not have it yet; once the user moves it, it stays where they put it.
func TestCursorStartsOnTheCurrentRun(t *testing.T) {
	rs := fixture()
	p := newPage(t, termenv.Ascii, true)
	p.SetSnapshot(train.Snapshot{RunID: rs[0].ID, State: train.Running})
	feed(p, rs[1:]) // the live run's folder is not there yet
	if p.cursor != 0 {
		t.Errorf("before the live run shows up, cursor on %s, want the newest", p.runs[p.cursor].ID)
	}
	feed(p, rs)
	if got := p.runs[p.cursor].ID; got != rs[0].ID {
		t.Errorf("cursor on %s, want the dashboard's run %s", got, rs[0].ID)
	}
	// A run of its own in the middle of the list.
	p = newPage(t, termenv.Ascii, true)
	p.SetSnapshot(train.Snapshot{RunID: rs[2].ID, State: train.Running})
	feed(p, rs)
	if got := p.runs[p.cursor].ID; got != rs[2].ID {
		t.Errorf("cursor on %s, want the dashboard's run %s", got, rs[2].ID)
	}
}

// Every key the page answers to is in its help.
func TestHelpListsEveryKeyOfTheRunsPage(t *testing.T) {
	var candidates []tea.KeyMsg
	for r := '!'; r <= '~'; r++ {
		candidates = append(candidates, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	for _, t := range []tea.KeyType{tea.KeySpace, tea.KeyUp, tea.KeyDown, tea.KeyLeft, tea.KeyRight, tea.KeyPgUp,
		tea.KeyPgDown, tea.KeyHome, tea.KeyEnd, tea.KeyEnter, tea.KeyBackspace, tea.KeyDelete} {
		candidates = append(candidates, tea.KeyMsg{Type: t})
	}
	// The dashboard keeps these on every page (space only where not claimed).
	global := []string{"q", "p", "s", "a", "m", "?", "r", "d", "e", "E", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	for _, k := range candidates {
		if slices.Contains(global, k.String()) && !(k.Type == tea.KeySpace) {
			continue
		}
		p := newPage(t, termenv.Ascii, true)
		feed(p, fixture())
		press(p, "down", "x") // mid-list, one run selected: every key has something to do
		before := p.Render(100, 30)
		cmd := p.Update(k)
		if p.Render(100, 30) == before && cmd == nil {
			continue
		}
		found := false
		for _, b := range p.Keys() {
			found = found || (b.Enabled() && key.Matches(k, b))
		}
		if !found {
			t.Errorf("%q changes the page but is not in its help", k.String())
		}
	}
}

// Runs whose config.yaml differ show the settings that differ as columns
// and in the legend; a custom network is named by its name.
func TestRunsPageShowsTheSettingsThatDiffer(t *testing.T) {
	p := New("runs", view.Options{Renderer: renderer(termenv.Ascii), NoColor: true})
	slow, fast, custom := config.Defaults(), config.Defaults(), config.Defaults()
	fast.LearningRate, fast.Momentum = 0.1, 0.9
	custom.Model, custom.Name = config.Custom, "wide-bn"
	a := run("20250302-100000-cnn", "cnn", "mnist", 21840, 10, 2, 95.5, runs.Done)
	b := run("20250302-110000-cnn", "cnn", "mnist", 21840, 10, 2, 96.5, runs.Done)
	c := run("20250302-120000-custom", "custom", "mnist", 12345, 10, 2, 97.5, runs.Done)
	custom.Dataset = "fashion-mnist" // has its own column
	a.Config, b.Config, c.Config = &slow, &fast, &custom
	feed(p, []runs.Run{c, b, a})
	press(p, "x", "down", "x")
	out := ansi.Strip(p.Render(120, 24))
	if header := strings.Split(out, "\n")[1]; strings.Contains(header, "dataset") {
		t.Errorf("the data set has a second column:\n%s", out)
	}
	for _, want := range []string{"lr ", "momentum", "wide-bn", "0.9 ", "model wide-bn dataset fashion-mnist lr 0.01 momentum 0.5", "20250302-110000-cnn model cnn dataset mnist lr 0.1 momentum 0.9"} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q:\n%s", want, out)
		}
	}
}

func TestDetailLineCountsOneThread(t *testing.T) {
	p := New("runs", view.Options{Renderer: renderer(termenv.Ascii), NoColor: true})
	r := run("20250302-100000-cnn", "cnn", "mnist", 21840, 10, 2, 95.5, runs.Done)
	r.Threads = 1
	feed(p, []runs.Run{r})
	if got := ansi.Strip(p.detailLine(120)); !strings.Contains(got, "· 1 thread ·") {
		t.Errorf("detail line %q, want 1 thread", got)
	}
}

// Two runs of networks that share a name but not their layers are told apart in the legend.
func TestLegendTellsSameNamedNetworksApart(t *testing.T) {
	p := New("runs", view.Options{Renderer: renderer(termenv.Ascii), NoColor: true})
	var cfgs [2]config.Config
	for i, layers := range []string{"  - flatten\n  - linear: 10\n", "  - maxpool: 2\n  - flatten\n  - linear: 10\n"} {
		c, err := config.Parse("c.yaml", []byte("model: custom\nname: wide-bn\nnetwork:\n"+layers))
		if err != nil {
			t.Fatal(err)
		}
		cfgs[i] = c
	}
	a := run("20250302-100000-custom", "custom", "mnist", 7850, 10, 2, 95.5, runs.Done)
	b := run("20250302-110000-custom", "custom", "mnist", 1970, 10, 2, 96.5, runs.Done)
	a.Config, b.Config = &cfgs[0], &cfgs[1]
	feed(p, []runs.Run{b, a})
	press(p, "x", "down", "x")
	out := ansi.Strip(p.Render(140, 24))
	for _, want := range []string{"model wide-bn 7,850 params", "model wide-bn 1,970 params"} {
		if !strings.Contains(out, want) {
			t.Errorf("the legend lacks %q:\n%s", want, out)
		}
	}
}
