package dashboard

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/key"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"mnist-tui/engine/config"
	"mnist-tui/engine/train"
	"mnist-tui/ui/view"
)

// fakeClock lets tests decide what "now" is for the redraw throttle.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock               { return &fakeClock{t: time.Unix(1_000_000, 0)} }
func colorRenderer(p termenv.Profile) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(p)
	return r
}

// midRun is a snapshot three and a half epochs into a ten-epoch run.
func midRun() train.Snapshot {
	run := newSyntheticRun(10, 100, 10)
	s := run.start()
	run.advance(&s, 350)
	return s
}

// newTestModel builds a dashboard on a fake trainer, sized w x h.
func newTestModel(t *testing.T, s train.Snapshot, opts Options, w, h int) (*fakeTrainer, Model, *fakeClock) {
	t.Helper()
	f := newFakeTrainer(s)
	m := New(f, opts)
	clock := newFakeClock()
	m.now = clock.now
	m = apply(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	return f, m, clock
}

// apply feeds messages to the model and returns the new model; commands
// are dropped (tests that care use step).
func apply(t *testing.T, m Model, msgs ...tea.Msg) Model {
	t.Helper()
	for _, msg := range msgs {
		m, _ = step(t, m, msg)
	}
	return m
}

func step(t *testing.T, m Model, msg tea.Msg) (Model, tea.Cmd) {
	t.Helper()
	next, cmd := m.Update(msg)
	nm, ok := next.(Model)
	if !ok {
		t.Fatalf("Update returned %T, want dashboard.Model", next)
	}
	return nm, cmd
}

func press(k string) tea.KeyMsg {
	switch k {
	case " ":
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

func isQuit(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	_, ok := cmd().(tea.QuitMsg)
	return ok
}

// refresh delivers a change signal late enough not to be throttled.
func refresh(t *testing.T, m Model, clock *fakeClock) (Model, tea.Cmd) {
	t.Helper()
	clock.advance(time.Second)
	return step(t, m, changedMsg{})
}

func TestPauseAndResumeFollowTheState(t *testing.T) {
	f, m, clock := newTestModel(t, midRun(), Options{NoColor: true}, 120, 40)

	m = apply(t, m, press(" "))
	if got := f.commands(); len(got) != 1 || got[0] != (train.Pause{}) {
		t.Fatalf("space while running sent %v, want [Pause]", got)
	}
	if !strings.Contains(m.View(), "pausing at the next batch") {
		t.Errorf("no pausing note in the status line:\n%s", m.View())
	}

	m, _ = refresh(t, m, clock) // the fake obeyed: now Paused
	if !strings.Contains(m.View(), "[PAUSED]") {
		t.Errorf("header does not show PAUSED:\n%s", firstLines(m.View(), 2))
	}
	if strings.Contains(m.View(), "pausing at the next batch") {
		t.Errorf("the note stayed after the trainer answered")
	}

	m = apply(t, m, press("p"))
	if got := f.commands(); len(got) != 2 || got[1] != (train.Resume{}) {
		t.Fatalf("p while paused sent %v, want [Pause Resume]", got)
	}
	m, _ = refresh(t, m, clock)
	if !strings.Contains(m.View(), "[RUNNING]") {
		t.Errorf("header does not show RUNNING after resume:\n%s", firstLines(m.View(), 2))
	}
}

func TestPauseAndSaveNeedALiveRun(t *testing.T) {
	for _, state := range []train.State{train.Loading, train.Done, train.Failed} {
		s := midRun()
		s.State = state
		f, m, _ := newTestModel(t, s, Options{NoColor: true}, 120, 40)
		m = apply(t, m, press(" "), press("s"))
		if got := f.commands(); len(got) != 0 {
			t.Errorf("%v: space and s sent %v, want nothing", state, got)
		}
		if !strings.Contains(m.View(), "nothing to save while "+state.String()) {
			t.Errorf("%v: no explanation in the status line:\n%s", state, lastLines(m.View(), 2))
		}
	}
}

func TestSaveSendsSaveAndShowsTheAnswer(t *testing.T) {
	f, m, clock := newTestModel(t, midRun(), Options{NoColor: true}, 120, 40)
	m = apply(t, m, press("s"))
	if got := f.commands(); len(got) != 1 || got[0] != (train.Save{}) {
		t.Fatalf("s sent %v, want [Save]", got)
	}
	if !strings.Contains(m.View(), "saving checkpoint…") {
		t.Errorf("no saving note:\n%s", lastLines(m.View(), 2))
	}
	m, _ = refresh(t, m, clock)
	if !strings.Contains(m.View(), "saved runs/demo/step-350.safetensors") {
		t.Errorf("the trainer's message is not shown:\n%s", lastLines(m.View(), 2))
	}
}

func TestQuitStopsTheTrainerAndWaitsForIt(t *testing.T) {
	f, m, clock := newTestModel(t, midRun(), Options{NoColor: true}, 120, 40)
	f.obey = false // the trainer takes its time

	m, cmd := step(t, m, press("q"))
	if isQuit(cmd) {
		t.Fatal("q quit before the trainer stopped")
	}
	if got := f.commands(); len(got) != 1 || got[0] != (train.Stop{}) {
		t.Fatalf("q sent %v, want [Stop]", got)
	}
	if !strings.Contains(m.View(), "stopping — saving checkpoint…") {
		t.Errorf("no stopping notice:\n%s", lastLines(m.View(), 2))
	}
	if !strings.Contains(m.View(), "[STOPPING]") {
		t.Errorf("header does not say STOPPING:\n%s", firstLines(m.View(), 1))
	}

	// Keys that would confuse an ending run do nothing, a second q too.
	m, cmd = step(t, m, press("q"))
	m = apply(t, m, press(" "), press("s"))
	if isQuit(cmd) || len(f.commands()) != 1 {
		t.Fatalf("after Stop: quit=%v, commands %v; want no quit and only [Stop]", isQuit(cmd), f.commands())
	}

	// Still running: a signal redraws but does not quit.
	f.update(func(s *train.Snapshot) { s.Batch++ })
	m, cmd = refresh(t, m, clock)
	if isQuit(cmd) {
		t.Fatal("quit while the trainer was still running")
	}

	f.update(finish)
	m, cmd = refresh(t, m, clock)
	if !isQuit(cmd) {
		t.Fatal("did not quit once the trainer was Done")
	}
	if m.forced {
		t.Error("a normal stop was recorded as forced")
	}
}

func TestSecondCtrlCQuitsAtOnce(t *testing.T) {
	f, m, _ := newTestModel(t, midRun(), Options{NoColor: true}, 120, 40)
	f.obey = false
	m, cmd := step(t, m, press("ctrl+c"))
	if isQuit(cmd) {
		t.Fatal("the first ctrl+c quit without waiting")
	}
	m, cmd = step(t, m, press("ctrl+c"))
	if !isQuit(cmd) {
		t.Fatal("the second ctrl+c did not quit")
	}
	if !m.forced {
		t.Error("a forced quit was not recorded (Run reports it as ErrInterrupted)")
	}
	if got := f.commands(); len(got) != 1 {
		t.Errorf("sent %v, want a single Stop", got)
	}
}

func TestQuitAfterTheRunEndedIsImmediate(t *testing.T) {
	s := midRun()
	finish(&s)
	f, m, _ := newTestModel(t, s, Options{NoColor: true}, 120, 40)
	if !strings.Contains(m.View(), "run finished — q quits") {
		t.Errorf("a finished run does not say how to leave:\n%s", lastLines(m.View(), 2))
	}
	_, cmd := step(t, m, press("q"))
	if !isQuit(cmd) {
		t.Fatal("q on a finished run did not quit")
	}
	if got := f.commands(); len(got) != 0 {
		t.Errorf("sent %v to a finished run", got)
	}
}

func TestChangesAreCoalesced(t *testing.T) {
	f, m, clock := newTestModel(t, midRun(), Options{NoColor: true}, 120, 40)
	base := f.snapshotCalls()

	// The first change after a quiet spell is drawn at once.
	f.update(func(s *train.Snapshot) { s.Batch++ })
	m, cmd := refresh(t, m, clock)
	if f.snapshotCalls() != base+1 {
		t.Fatalf("first change: %d snapshots taken, want 1", f.snapshotCalls()-base)
	}
	if cmd == nil {
		t.Fatal("stopped listening to the trainer after a redraw")
	}

	// A change 10 ms later waits for a single later redraw.
	f.update(func(s *train.Snapshot) { s.Batch++ })
	clock.advance(10 * time.Millisecond)
	m, cmd = step(t, m, changedMsg{})
	if f.snapshotCalls() != base+1 {
		t.Fatal("a change within 50 ms of the last redraw took a snapshot at once")
	}
	if cmd == nil {
		t.Fatal("a throttled change scheduled no redraw")
	}
	before := m.View()
	m, _ = step(t, m, redrawMsg{})
	if f.snapshotCalls() != base+2 {
		t.Fatal("the scheduled redraw took no snapshot")
	}
	if m.View() == before {
		t.Error("the scheduled redraw did not show the new batch")
	}
}

func TestListenTurnsSignalsIntoMessages(t *testing.T) {
	f, m, _ := newTestModel(t, midRun(), Options{NoColor: true}, 120, 40)
	f.update(func(s *train.Snapshot) { s.Batch++ })
	if msg := m.listen()(); msg != (changedMsg{}) {
		t.Fatalf("listen after a signal returned %#v, want changedMsg", msg)
	}

	// A closed channel means the trainer is gone: say so once, then stop listening.
	closed := make(chan struct{})
	close(closed)
	f.changed = closed
	if msg := m.listen()(); msg != (trainerGoneMsg{}) {
		t.Fatalf("listen on a closed channel returned %#v, want trainerGoneMsg", msg)
	}
	m, cmd := step(t, m, trainerGoneMsg{})
	if cmd != nil {
		t.Error("still listening after the trainer went away")
	}
	if _, cmd = step(t, m, press("q")); !isQuit(cmd) {
		t.Error("q did not quit with the trainer gone (nothing would ever answer Stop)")
	}

	// Run closes stop when the program ends, which releases a pending listener.
	f.changed = make(chan struct{})
	listen := m.listen()
	if listen == nil {
		m.trainerGone = false
		listen = m.listen()
	}
	close(m.stop)
	if msg := listen(); msg != nil {
		t.Errorf("listen after stop returned %#v, want nil", msg)
	}
}

func TestEveryFrameFitsTheTerminal(t *testing.T) {
	download := midRun()
	download.State = train.Loading
	download.Download = &train.Download{File: "train-images-idx3-ubyte.gz", Done: 4 << 20, Total: 9_912_422}
	unruly := midRun()
	unruly.Model = "resnet\nwith a name far too long to fit in any header line at all, really"
	unruly.Err = errors.New("config.yaml:3:\n\tlearning_rate: \x1b[31mnot a number\x1b[0m")
	unruly.Message = strings.Repeat("a long message ", 20)
	unruly.Classes[7] = "seven\nlines"
	sizes := [][2]int{{80, 24}, {100, 30}, {120, 40}, {133, 35}, {200, 60}}
	for _, snap := range []train.Snapshot{midRun(), download, unruly, {}} {
		for _, help := range []bool{false, true} {
			for _, size := range sizes {
				_, m, _ := newTestModel(t, snap, Options{NoColor: true}, size[0], size[1])
				if help {
					m = apply(t, m, press("?"))
				}
				checkFits(t, m.View(), size[0], size[1])
			}
		}
	}
}

// checkFits fails when a frame is not exactly h lines of at most w columns.
func checkFits(t *testing.T, frame string, w, h int) {
	t.Helper()
	lines := strings.Split(frame, "\n")
	if len(lines) != h {
		t.Errorf("%dx%d: frame has %d lines:\n%s", w, h, len(lines), frame)
	}
	for i, l := range lines {
		if got := ansi.StringWidth(l); got > w {
			t.Errorf("%dx%d: line %d is %d columns wide: %q", w, h, i, got, l)
		}
	}
}

func TestResizeRelaysOutEveryPanel(t *testing.T) {
	_, m, _ := newTestModel(t, midRun(), Options{NoColor: true}, 120, 40)
	wide := m.View()
	if !strings.Contains(wide, "true 7 pred 1") {
		t.Errorf("120x40 shows no sample digits:\n%s", wide)
	}
	m = apply(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	small := m.View()
	checkFits(t, small, 80, 24)
	if strings.Contains(small, "true 7 pred 1") || !strings.Contains(small, "(taller window: digits)") {
		t.Errorf("80x24 should summarise the samples on one line:\n%s", small)
	}
	m = apply(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
	if m.View() != wide {
		t.Error("going back to 120x40 does not give the same frame")
	}
}

func TestTooSmallTerminalSaysWhatToDo(t *testing.T) {
	for _, size := range [][2]int{{79, 24}, {80, 23}, {40, 10}} {
		_, m, _ := newTestModel(t, midRun(), Options{NoColor: true}, size[0], size[1])
		flat := strings.Join(strings.Fields(m.View()), " ")
		want := "terminal too small: need at least 80x24, have " +
			strconv.Itoa(size[0]) + "x" + strconv.Itoa(size[1]) + " — make the window larger"
		if !strings.Contains(flat, want) {
			t.Errorf("%dx%d: got %q, want it to contain %q", size[0], size[1], flat, want)
		}
		checkFits(t, m.View(), size[0], size[1])
	}
}

func TestNoColorMeansPlainTextAndASCIIDigits(t *testing.T) {
	// Even when handed a colour renderer, NoColor wins.
	_, m, _ := newTestModel(t, midRun(), Options{NoColor: true, Renderer: colorRenderer(termenv.ANSI256)}, 120, 40)
	m = apply(t, m, press("a"))
	v := m.View()
	if strings.Contains(v, "\x1b[") {
		t.Errorf("NoColor frame has escape sequences: %q", firstLines(v, 3))
	}
	if m.hiRes || strings.Contains(v, halfBlock) {
		t.Error("`a` switched to hi-res digits without colours")
	}
	if !strings.ContainsAny(v, asciiRamp[1:]) {
		t.Error("no ASCII digits in the frame")
	}
	if strings.Contains(v, "hi-res") {
		t.Error("the help offers hi-res digits without colours")
	}
}

func TestColorTogglesHiResDigits(t *testing.T) {
	_, m, _ := newTestModel(t, midRun(), Options{Renderer: colorRenderer(termenv.ANSI256)}, 120, 40)
	if !strings.Contains(m.View(), "\x1b[") {
		t.Fatal("a 256-colour frame has no colours")
	}
	// With colours the digits start in hi-res, as on every other page.
	if !strings.Contains(m.View(), halfBlock) {
		t.Fatal("no hi-res digits by default with colours")
	}
	m = apply(t, m, press("a"))
	if strings.Contains(m.View(), halfBlock) {
		t.Fatal("`a` did not switch to ASCII digits")
	}
	m = apply(t, m, press("a"))
	if !strings.Contains(m.View(), halfBlock) {
		t.Fatal("a second `a` did not switch back to hi-res")
	}
}

func TestFailedRunShowsTheErrorNotACrash(t *testing.T) {
	s := midRun()
	s.State = train.Failed
	s.Err = errors.New("loss is NaN at step 351: lower the learning rate")
	s.Logs = append(s.Logs, train.LogPoint{Epoch: 4, Batch: 51, Step: 351, Loss: nan()})
	_, m, _ := newTestModel(t, s, Options{NoColor: true}, 120, 40)
	v := m.View()
	if !strings.Contains(v, "[ERROR]") {
		t.Errorf("header does not show ERROR:\n%s", firstLines(v, 2))
	}
	if !strings.Contains(v, "run failed: loss is NaN at step 351: lower the learning rate") {
		t.Errorf("status line does not show the error:\n%s", lastLines(v, 2))
	}
	if !strings.Contains(v, "1 non-finite skipped") {
		t.Errorf("the loss chart does not mention the NaN point:\n%s", v)
	}
}

func TestRecoverableErrorIsShownWhileRunning(t *testing.T) {
	s := midRun()
	s.Err = errors.New("save runs/demo/step-350.safetensors: disk full")
	_, m, _ := newTestModel(t, s, Options{NoColor: true}, 120, 40)
	if !strings.Contains(m.View(), "[RUNNING]") || !strings.Contains(m.View(), "error: save runs/demo/step-350.safetensors: disk full") {
		t.Errorf("recoverable error not shown next to a running state:\n%s", m.View())
	}
}

// TestUnsavedFilesStayInSight: a checkpoint that could not be written is
// not a message the next one replaces.
func TestUnsavedFilesStayInSight(t *testing.T) {
	s := midRun()
	s.SaveErr = errors.New("training goes on, but could not write runs/demo/last.safetensors (no space left on device)")
	s.Message = "saving runs/demo/last.safetensors failed"
	f, m, _ := newTestModel(t, s, Options{NoColor: true}, 120, 40)
	f.update(func(s *train.Snapshot) { s.Message = "epoch 4: test accuracy 98.10 %" })
	m = apply(t, m, changedMsg{})
	m = apply(t, m, redrawMsg{})
	v := m.View()
	if !strings.Contains(v, "epoch 4: test accuracy") {
		t.Fatalf("the new message is not shown:\n%s", lastLines(v, 2))
	}
	if !strings.Contains(v, "could not write runs/demo/last.safetensors") {
		t.Errorf("the unsaved checkpoint left the screen with the next message:\n%s", lastLines(v, 2))
	}
}

// TestUnsavedFilesAreReadableAt80Columns: the warning of a file the run
// could not write names the file, the reason and what to do, none of which
// fits one line of the smallest terminal; it is wrapped, not cut, and the
// screen keeps its height.
func TestUnsavedFilesAreReadableAt80Columns(t *testing.T) {
	s := midRun()
	s.SaveErr = errors.New("training goes on, but could not write /tmp/verify-work/tfs/runs/20261203-061211-linear/last.safetensors (no space left on device); " +
		"free some space (or fix the folder's permissions), then continue from the newest good checkpoint: mnist-tui train --resume /tmp/verify-work/tfs/runs/20261203-061211-linear/step-100.safetensors")
	s.Message = "epoch 4: test accuracy 98.10 %"
	for _, page := range []string{"1", "3"} {
		_, m, _ := newTestModel(t, s, Options{NoColor: true}, minWidth, minHeight)
		m = apply(t, m, press(page))
		v := m.View()
		// Wrapping breaks lines at spaces, '/' and '-': compare without
		// white space.
		if flat := func(s string) string { return strings.Join(strings.Fields(s), "") }; !strings.Contains(flat(v), flat(s.SaveErr.Error())) {
			t.Errorf("page %s: the unsaved file's warning is not whole on screen:\n%s", page, v)
		}
		if !strings.Contains(v, s.Message) {
			t.Errorf("page %s: the trainer's message gave way to the warning:\n%s", page, lastLines(v, 6))
		}
		if lines := strings.Split(v, "\n"); len(lines) != minHeight {
			t.Errorf("page %s: %d lines, want %d", page, len(lines), minHeight)
		}
		for _, line := range strings.Split(v, "\n") {
			if w := lipgloss.Width(line); w > minWidth {
				t.Errorf("page %s: line of width %d > %d: %q", page, w, minWidth, line)
			}
		}
	}
}

func TestNilTrainerIsReportedNotAPanic(t *testing.T) {
	m := New(nil, Options{NoColor: true})
	m = apply(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	if !strings.Contains(m.View(), "no trainer was given") {
		t.Errorf("nil trainer not reported:\n%s", m.View())
	}
	if _, cmd := step(t, m, press("q")); !isQuit(cmd) {
		t.Error("q does not quit a dashboard without a trainer")
	}
	if err := Run(nil, Options{}); err == nil {
		t.Error("Run(nil) returned no error")
	}
}

func TestHelpIsGeneratedFromTheBindings(t *testing.T) {
	_, m, _ := newTestModel(t, midRun(), Options{Renderer: colorRenderer(termenv.Ascii)}, 120, 40)
	short := lastLines(m.View(), 1)
	for _, want := range []string{"? all keys", "q quit", "space/p pause/resume", "s save"} {
		if !strings.Contains(short, want) {
			t.Errorf("short help %q lacks %q", short, want)
		}
	}
	m = apply(t, m, press("?"))
	if full := m.View(); !strings.Contains(full, "? or esc closes") || !strings.Contains(full, "save a checkpoint now") {
		t.Errorf("? does not open the full help:\n%s", full)
	}
	m = apply(t, m, press("?"))
	if strings.Contains(m.View(), "? or esc closes") {
		t.Error("a second ? does not close the help")
	}
}

// fakePage is a page that records what reaches it.
type fakePage struct {
	name      string
	shortcut  string
	capturing bool
	nested    bool
	claims    string // a key the page takes from the dashboard
	keys      []string
	snaps     int
	originY   int
}

func (p *fakePage) Name() string               { return p.name }
func (p *fakePage) SetSnapshot(train.Snapshot) { p.snaps++ }
func (p *fakePage) Keys() []key.Binding {
	return []key.Binding{key.NewBinding(key.WithKeys("x"), key.WithHelp("x", p.name+" thing"))}
}
func (p *fakePage) CapturesKeys() bool { return p.capturing }
func (p *fakePage) Nested() bool       { return p.nested }
func (p *fakePage) Claims(k tea.KeyMsg) bool {
	return p.claims != "" && k.String() == p.claims
}
func (p *fakePage) SetOrigin(x, y int) { p.originY = y }
func (p *fakePage) Render(width, height int) string {
	return strings.Repeat(p.name+" page\n", height+5) // too tall on purpose: the frame must cut it
}
func (p *fakePage) Update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyMsg); ok {
		p.keys = append(p.keys, k.String())
	}
	return nil
}
func (p *fakePage) Shortcut() key.Binding {
	return key.NewBinding(key.WithKeys(p.shortcut), key.WithHelp(p.shortcut, "open "+p.name))
}

func TestPagesAreReachedByTabNumbersAndShortcuts(t *testing.T) {
	runs := &fakePage{name: "runs", shortcut: "r", nested: false}
	draw := &fakePage{name: "draw", shortcut: "d", capturing: true}
	f, m, _ := newTestModel(t, midRun(), Options{NoColor: true, Pages: []view.View{runs, draw}}, 120, 40)
	if runs.snaps == 0 {
		t.Error("pages did not get the first snapshot")
	}
	if !strings.Contains(m.View(), "[1 dashboard]") {
		t.Errorf("no tab line with the dashboard page marked:\n%s", firstLines(m.View(), 5))
	}
	m = apply(t, m, press("tab"))
	if m.page != 1 || !strings.Contains(m.View(), "runs page") {
		t.Fatalf("tab did not open the runs page (page %d)", m.page)
	}
	checkFits(t, m.View(), 120, 40)
	m = apply(t, m, press("x"), press(" "))
	if strings.Join(runs.keys, ",") != "x" {
		t.Errorf("runs page got keys %v, want just x (space pauses everywhere)", runs.keys)
	}
	if len(f.sent) == 0 {
		t.Error("space on a page that does not capture keys did not pause")
	}
	m = apply(t, m, press("esc"))
	if m.page != 0 {
		t.Errorf("esc on a page without an inner level did not go back (page %d)", m.page)
	}
	m = apply(t, m, press("d"))
	if m.page != 2 {
		t.Fatalf("the d shortcut did not open the draw page (page %d)", m.page)
	}
	if draw.originY == 0 {
		t.Error("a positioned page was not told where it sits")
	}
	sent := len(f.sent)
	m = apply(t, m, press(" "), press("q"), press("s"))
	if strings.Join(draw.keys, ",") != " ,q,s" || len(f.sent) != sent {
		t.Errorf("a capturing page got %q and the trainer %d new commands; want every key for the page", draw.keys, len(f.sent)-sent)
	}
	m = apply(t, m, press("3"), press("esc"))
	if m.page != 0 {
		t.Errorf("esc did not leave the capturing page (page %d)", m.page)
	}
	runs.nested = true
	m = apply(t, m, press("2"), press("esc"))
	if m.page != 1 || runs.keys[len(runs.keys)-1] != "esc" {
		t.Errorf("esc on a nested page should close its inner level: page %d, keys %v", m.page, runs.keys)
	}
}

func TestRunReturnsOnceTheTrainerStopped(t *testing.T) {
	// Long enough (at least 1000 batches of 1 ms) that q always comes first.
	run := newSyntheticRun(20, 50, 5)
	f := newFakeTrainer(run.start())
	f.stopDelay = 20 * time.Millisecond
	go f.live(run, time.Millisecond)

	in, inW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Run(f, Options{NoColor: true, Input: in, Output: io.Discard})
	}()
	time.Sleep(30 * time.Millisecond) // let a few batches go by
	if _, err := inW.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after q")
	}
	if s := f.Snapshot(); s.State != train.Done {
		t.Errorf("Run returned with the trainer %v, want DONE", s.State)
	}
	if cmds := f.commands(); len(cmds) != 1 || cmds[0] != (train.Stop{}) {
		t.Errorf("sent %v, want [Stop]", cmds)
	}
	inW.Close()
}

func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func TestSameSeqIsNotRedrawn(t *testing.T) {
	f, m, clock := newTestModel(t, midRun(), Options{NoColor: true}, 120, 40)
	// Change the snapshot behind the dashboard's back, keeping Seq: the
	// dashboard must trust Seq and skip the redraw.
	f.mu.Lock()
	f.snap.Batch = 99
	f.mu.Unlock()
	m, _ = refresh(t, m, clock)
	if strings.Contains(m.View(), "batch 99/100") {
		t.Error("redrawn although Seq did not change")
	}
	f.update(func(*train.Snapshot) {}) // same change, new Seq
	m, _ = refresh(t, m, clock)
	if !strings.Contains(m.View(), "batch 99/100") {
		t.Error("not redrawn after Seq changed")
	}
}

func TestPanelsAreDrawnOnlyWhenTheirKeyChanges(t *testing.T) {
	var c cachedPanel[tableKey]
	draws := 0
	draw := func() string { draws++; return "panel" }
	c.get(tableKey{epochs: 0, height: 0}, draw) // the zero key is a key too
	c.get(tableKey{epochs: 0, height: 0}, draw)
	if draws != 1 {
		t.Fatalf("same key drawn %d times, want 1", draws)
	}
	c.get(tableKey{epochs: 1, height: 0}, draw)
	if draws != 2 {
		t.Fatalf("new key not drawn (draws = %d)", draws)
	}
}

// TestRestartStopsTheRunThenStartsTheNewOne: a page asks for a restart; the
// current run is stopped, and only once it has stopped does the new run
// start and take over the screen.
func TestRestartStopsTheRunThenStartsTheNewOne(t *testing.T) {
	var started []config.Config
	next := newFakeTrainer(midRun())
	next.update(func(s *train.Snapshot) { s.Model = "residual"; s.RunID = "second" })
	restart := func(cfg config.Config) (Trainer, error) {
		started = append(started, cfg)
		return next, nil
	}
	old, m, clock := newTestModel(t, midRun(), Options{NoColor: true, Restart: restart}, 120, 40)
	old.obey = false // the old run stops when the test says so

	cfg := config.Defaults()
	cfg.Model = "residual"
	m = apply(t, m, view.RestartMsg{Config: cfg})
	if got := old.commands(); len(got) != 1 || got[0] != (train.Stop{}) {
		t.Fatalf("restart sent %v to the old run, want [Stop]", got)
	}
	m, _ = refresh(t, m, clock)
	if len(started) != 0 {
		t.Fatal("the new run started before the old one had stopped")
	}
	old.update(func(s *train.Snapshot) { s.State = train.Done })
	m, cmd := refresh(t, m, clock)
	if len(started) != 1 || started[0].Model != "residual" {
		t.Fatalf("new runs started: %+v", started)
	}
	if cmd == nil {
		t.Error("the dashboard does not listen to the new run")
	}
	if !strings.Contains(m.View(), "residual") {
		t.Errorf("the screen does not show the new run:\n%s", firstLines(m.View(), 3))
	}
	m = apply(t, m, press(" "))
	if len(next.commands()) != 1 || len(old.commands()) != 1 {
		t.Errorf("space went to the old run (%v) instead of the new one (%v)", old.commands(), next.commands())
	}
}

func TestRestartWithoutARestarterIsRefused(t *testing.T) {
	f, m, _ := newTestModel(t, midRun(), Options{NoColor: true}, 120, 40)
	m = apply(t, m, view.RestartMsg{Config: config.Defaults()})
	if len(f.commands()) != 0 {
		t.Errorf("the run was stopped although no new one can start: %v", f.commands())
	}
	if !strings.Contains(m.View(), "restarting is not possible here") {
		t.Error("no explanation on screen")
	}
}

// sequence is an Options.Next that hands out trainers in order, recording
// the snapshots it was called with.
type sequence struct {
	next     []*fakeTrainer
	finished []train.Snapshot
}

func (q *sequence) Next(done train.Snapshot) (Trainer, string, error) {
	q.finished = append(q.finished, done)
	if len(q.next) == 0 {
		return nil, "comparison done: wrote runs/compare-1.md", nil
	}
	t := q.next[0]
	q.next = q.next[1:]
	return t, "now training " + t.snap.Model, nil
}

// runNext executes the command pull returned, as bubbletea would, and
// feeds its message back.
func runNext(t *testing.T, m Model, cmd tea.Cmd) Model {
	t.Helper()
	if cmd == nil {
		t.Fatal("no command: Next was not asked")
	}
	// A wrong command (the listener) would wait for the trainer forever.
	got := make(chan tea.Msg, 1)
	go func() { got <- cmd() }()
	select {
	case msg := <-got:
		if _, ok := msg.(nextRunMsg); !ok {
			t.Fatalf("the command returned %T, want nextRunMsg", msg)
		}
		return apply(t, m, msg)
	case <-time.After(5 * time.Second):
		t.Fatal("the command is not Next's: it is still waiting after 5 s")
	}
	return m
}

func TestNextRunFollowsARunThatFinished(t *testing.T) {
	second := newFakeTrainer(midRun())
	second.update(func(s *train.Snapshot) { s.Model = "residual"; s.RunID = "second" })
	q := &sequence{next: []*fakeTrainer{second}}
	first, m, clock := newTestModel(t, midRun(), Options{NoColor: true, Next: q.Next}, 120, 40)

	m, _ = refresh(t, m, clock)
	if len(q.finished) != 0 {
		t.Fatal("Next was asked while the run was still going")
	}
	first.update(func(s *train.Snapshot) { s.State = train.Done })
	m, cmd := refresh(t, m, clock)
	m = runNext(t, m, cmd)
	if len(q.finished) != 1 || q.finished[0].State != train.Done || q.finished[0].RunID != first.snap.RunID {
		t.Fatalf("Next was called with %d snapshots, want the first run's final one", len(q.finished))
	}
	if v := m.View(); !strings.Contains(v, "residual") || !strings.Contains(v, "now training residual") {
		t.Errorf("the screen does not show the next run and the note:\n%s", v)
	}
	m = apply(t, m, press(" "))
	if len(second.commands()) != 1 {
		t.Errorf("space did not reach the next run: %v", second.commands())
	}

	// The last run ends the sequence: its note stays, and Next is not asked
	// again however often the screen refreshes.
	second.update(func(s *train.Snapshot) { s.State = train.Done })
	m, cmd = refresh(t, m, clock)
	m = runNext(t, m, cmd)
	if !strings.Contains(m.View(), "comparison done: wrote runs/compare-1.md") {
		t.Errorf("the sequence's last note is not shown:\n%s", m.View())
	}
	second.update(func(*train.Snapshot) {})
	m, cmd = refresh(t, m, clock)
	if len(q.finished) != 2 {
		t.Errorf("Next called %d times, want 2", len(q.finished))
	}
	if cmd != nil {
		got := make(chan tea.Msg, 1)
		go func() { got <- cmd() }()
		select {
		case msg := <-got:
			if _, ok := msg.(nextRunMsg); ok {
				t.Error("Next asked again for a run it already answered for")
			}
		case <-time.After(100 * time.Millisecond): // the listener waiting: right
		}
	}
}

func TestQuitDoesNotStartTheNextRun(t *testing.T) {
	q := &sequence{next: []*fakeTrainer{newFakeTrainer(midRun())}}
	f, m, clock := newTestModel(t, midRun(), Options{NoColor: true, Next: q.Next}, 120, 40)
	m = apply(t, m, press("q"))
	if got := f.commands(); len(got) != 1 || got[0] != (train.Stop{}) {
		t.Fatalf("q sent %v, want [Stop]", got)
	}
	_, cmd := refresh(t, m, clock) // the fake stopped at once
	if cmd == nil {
		t.Fatal("no command after the run stopped: want tea.Quit")
	}
	if msg := cmd(); msg != (tea.QuitMsg{}) {
		t.Errorf("after the run stopped the dashboard returned %T, want tea.QuitMsg", msg)
	}
	if len(q.finished) != 0 {
		t.Error("Next was asked although the user quit")
	}
}

func TestNextRunErrorIsShown(t *testing.T) {
	next := func(train.Snapshot) (Trainer, string, error) {
		return nil, "", errors.New("no space left on device")
	}
	f, m, clock := newTestModel(t, midRun(), Options{NoColor: true, Next: next}, 120, 40)
	f.update(func(s *train.Snapshot) { s.State = train.Failed; s.Err = errors.New("loss is NaN") })
	m, cmd := refresh(t, m, clock)
	m = runNext(t, m, cmd)
	if !strings.Contains(m.View(), "could not start the next run: no space left on device") {
		t.Errorf("the error is not on screen:\n%s", m.View())
	}
}

// A page that claims space gets it; the dashboard's other pause key works.
func TestPageClaimsSpace(t *testing.T) {
	runs := &fakePage{name: "runs", shortcut: "r", claims: " "}
	f, m, clock := newTestModel(t, midRun(), Options{NoColor: true, Pages: []view.View{runs}}, 120, 40)
	m = apply(t, m, press("r"), press(" "))
	if len(f.commands()) != 0 || len(runs.keys) != 1 || runs.keys[0] != " " {
		t.Fatalf("space: trainer got %v, page got %q; want the page to have it", f.commands(), runs.keys)
	}
	m = apply(t, m, press("?"))
	if v := m.View(); strings.Contains(v, "space/p") || !strings.Contains(v, "p  ") || !strings.Contains(v, "pause/resume") {
		t.Errorf("the help still offers space for pausing on a page that takes it:\n%s", v)
	}
	m = apply(t, m, press("?"))
	m = apply(t, m, press("p"))
	if got := f.commands(); len(got) != 1 || got[0] != (train.Pause{}) {
		t.Errorf("p on the page sent %v, want [Pause]", got)
	}
	m, _ = refresh(t, m, clock) // now paused
	m = apply(t, m, press("esc"), press(" "))
	if got := f.commands(); len(got) != 2 || got[1] != (train.Resume{}) {
		t.Errorf("space on the dashboard page sent %v, want Pause then Resume", got)
	}
}

// A finished run's last message says where its files are: at 80 columns it
// is wrapped whole, not cut in the middle of the folder's name.
func TestFinishedRunNamesItsFolderWholeAt80Columns(t *testing.T) {
	s := midRun()
	s.State = train.Done
	s.Message = "done: best test accuracy 97.86 % — checkpoints in /tmp/verify-runs/20261203-061015-cnn"
	_, m, _ := newTestModel(t, s, Options{NoColor: true}, minWidth, minHeight)
	v := m.View()
	flat := func(s string) string { return strings.Join(strings.Fields(s), "") }
	if !strings.Contains(flat(v), flat(s.Message)) || !strings.Contains(v, "q quits") {
		t.Errorf("the finished run's message is not whole on screen:\n%s", lastLines(v, 4))
	}
	if lines := strings.Split(v, "\n"); len(lines) != minHeight {
		t.Errorf("%d lines, want %d", len(lines), minHeight)
	}
}
