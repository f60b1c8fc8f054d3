package editor

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"mnist-tui/engine"
	"mnist-tui/engine/config"
	"mnist-tui/engine/memlimit"
	"mnist-tui/engine/train"
	"mnist-tui/ui/view"
)

const sample = `# my experiment
model: cnn   # the tutorial's
epochs: 10
# step size
learning_rate: 0.01
momentum: 0.5
`

func newPage(t *testing.T, text string) (*Page, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	p := New(path, []byte(text), view.Options{Renderer: r, NoColor: true})
	cfg, err := config.Parse(path, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	p.SetSnapshot(train.Snapshot{Config: cfg})
	return p, path
}

// edit replaces the text as if typed, the way the textarea would end up.
func edit(p *Page, text string) {
	p.area.SetValue(text)
	p.validate()
}

func ctrlS() tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyCtrlS} }

func run(cmd tea.Cmd) tea.Msg {
	if cmd == nil {
		return nil
	}
	return cmd()
}

func TestLiveChangeIsSentAndWrittenBackWithComments(t *testing.T) {
	p, path := newPage(t, sample)
	edit(p, strings.Replace(sample, "learning_rate: 0.01", "learning_rate: 0.05", 1))
	msg, ok := run(p.Update(ctrlS())).(view.SendMsg)
	if !ok {
		t.Fatalf("ctrl+s sent nothing to the trainer (status %q)", p.status)
	}
	c, ok := msg.Command.(train.SetHyper)
	if !ok || c.LearningRate == nil || *c.LearningRate != 0.05 || c.Momentum != nil {
		t.Fatalf("command %+v, want SetHyper with learning rate 0.05 only", msg.Command)
	}
	written, _ := os.ReadFile(path)
	if !strings.Contains(string(written), "# step size\nlearning_rate: 0.05") || !strings.Contains(string(written), "# the tutorial's") {
		t.Errorf("file lost comments or the change:\n%s", written)
	}
}

func TestInvalidEditIsNeitherAppliedNorLost(t *testing.T) {
	p, path := newPage(t, sample)
	bad := strings.Replace(sample, "momentum: 0.5", "momentum: 1.5", 1)
	edit(p, bad)
	if cmd := p.Update(ctrlS()); run(cmd) != nil {
		t.Fatalf("an invalid edit produced %v", run(cmd))
	}
	if !strings.Contains(p.status, "not applied") {
		t.Errorf("status %q does not say the text was not applied", p.status)
	}
	// The panel shows the error with its line and key; the status, below
	// it, does not repeat it.
	if strings.Contains(p.status, "momentum") {
		t.Errorf("status %q repeats the error the panel shows", p.status)
	}
	if screen := ansi.Strip(p.Render(100, 30)); !strings.Contains(screen, "line 6, column 11") {
		t.Errorf("the page does not point at the error:\n%s", screen)
	}
	if p.area.Value() != bad {
		t.Error("the invalid text was thrown away")
	}
	if written, _ := os.ReadFile(path); string(written) != sample {
		t.Error("an invalid edit was written to the file")
	}
	if !strings.Contains(p.Render(100, 20), "invalid") {
		t.Error("the page does not show that the text is invalid")
	}
}

func TestRestartNeedsConfirmation(t *testing.T) {
	p, _ := newPage(t, sample)
	edit(p, strings.Replace(sample, "model: cnn", "model: residual", 1))
	if msg := run(p.Update(ctrlS())); msg != nil {
		t.Fatalf("a restart-requiring change acted before confirmation: %v", msg)
	}
	if !p.confirm || !p.Nested() {
		t.Fatal("no confirmation asked")
	}
	if msg := run(p.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("n")})); msg != nil || p.confirm {
		t.Fatalf("n did not cancel: %v", msg)
	}
	p.Update(ctrlS())
	msg, ok := run(p.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("y")})).(view.RestartMsg)
	if !ok || msg.Config.Model != "residual" || msg.Config.LearningRate != 0.01 {
		t.Fatalf("y gave %+v, want a restart with model residual", msg)
	}
}

func TestUnwritableFileStillAppliesToTheRun(t *testing.T) {
	p, _ := newPage(t, sample)
	// A folder in the way of the file makes the write fail even for root.
	p.path = filepath.Join(t.TempDir(), "missing", "config.yaml")
	edit(p, strings.Replace(sample, "epochs: 10", "epochs: 12", 1))
	msg, ok := run(p.Update(ctrlS())).(view.SendMsg)
	if !ok || *msg.Command.(train.SetHyper).Epochs != 12 {
		t.Fatalf("the change did not reach the run: %v", msg)
	}
	if !strings.Contains(p.status, "applies to this run only") {
		t.Errorf("status %q does not explain the failed write", p.status)
	}
}

func TestRunValuesReplaceFileValuesOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	p := New(path, []byte(sample), view.Options{NoColor: true})
	run := config.Defaults()
	run.Epochs = 2 // as if --epochs 2 was given
	p.SetSnapshot(train.Snapshot{Config: run})
	if !strings.Contains(p.area.Value(), "epochs: 2") || !strings.Contains(p.area.Value(), "# my experiment") {
		t.Errorf("the editor does not show the run's values in the user's file:\n%s", p.area.Value())
	}
	if len(p.live)+len(p.restart) != 0 {
		t.Errorf("fresh editor reports differences: %v %v", p.live, p.restart)
	}
}

func TestRenderFits(t *testing.T) {
	p, _ := newPage(t, sample)
	for _, size := range [][2]int{{120, 30}, {80, 16}, {60, 8}} {
		out := p.Render(size[0], size[1])
		for _, line := range strings.Split(out, "\n") {
			if w := lipgloss.Width(line); w > size[0] {
				t.Errorf("%dx%d: line of width %d: %q", size[0], size[1], w, line)
			}
		}
	}
}

// flagged opens the editor on sample for a run whose model and epochs came
// from flags (--model linear --epochs 1).
func flagged(t *testing.T, path string) *Page {
	t.Helper()
	p := New(path, []byte(sample), view.Options{NoColor: true})
	run, err := config.Parse(path, []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	run.Model, run.Epochs = "linear", 1
	p.SetSnapshot(train.Snapshot{Config: run})
	if !strings.Contains(p.area.Value(), "model: linear") {
		t.Fatalf("the editor does not show the run's values:\n%s", p.area.Value())
	}
	return p
}

func readString(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// Flags are for one run: applying an edit writes what the user changed,
// not the flags' values.
func TestFlagValuesStayOutOfTheFile(t *testing.T) {
	t.Run("nothing changed, no file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "config.yaml") // the run came from the built-in default
		p := flagged(t, path)
		run(p.Update(ctrlS()))
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("ctrl+s without a change created %s (%v)", path, err)
		}
		if draft, err := p.KeepDraft(); draft != "" || err != nil {
			t.Errorf("an unchanged text left a draft %q (%v)", draft, err)
		}
	})
	t.Run("a value changed", func(t *testing.T) {
		p, path := newPage(t, sample)
		p = flagged(t, path)
		edit(p, strings.Replace(p.area.Value(), "learning_rate: 0.01", "learning_rate: 0.05", 1))
		run(p.Update(ctrlS()))
		want := strings.Replace(sample, "learning_rate: 0.01", "learning_rate: 0.05", 1)
		if got := readString(t, path); got != want {
			t.Errorf("file:\n%s\nwant:\n%s", got, want)
		}
		// A second edit, of a flag's own key this time, is the user's.
		edit(p, strings.Replace(p.area.Value(), "epochs: 1\n", "epochs: 3\n", 1))
		run(p.Update(ctrlS()))
		want = strings.Replace(want, "epochs: 10", "epochs: 3", 1)
		if got := readString(t, path); got != want {
			t.Errorf("after editing epochs, file:\n%s\nwant:\n%s", got, want)
		}
	})
	t.Run("text and a value changed", func(t *testing.T) {
		p, path := newPage(t, sample)
		p = flagged(t, path)
		text := strings.Replace(p.area.Value(), "# my experiment", "# my second experiment", 1)
		edit(p, strings.Replace(text, "momentum: 0.5", "momentum: 0.9", 1))
		run(p.Update(ctrlS()))
		got := readString(t, path)
		for _, want := range []string{"# my second experiment", "momentum: 0.9", "model: cnn   # the tutorial's", "epochs: 10"} {
			if !strings.Contains(got, want) {
				t.Errorf("file lacks %q:\n%s", want, got)
			}
		}
	})
}

// $EDITOR edits a copy: leaving it without a change changes nothing.
func TestExternalEditorWithoutChangeWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	p := flagged(t, path)
	t.Setenv("VISUAL", "true")
	if p.openExternal() == nil {
		t.Fatalf("the editor was not started: %s", p.status)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("opening $EDITOR wrote %s (%v)", path, err)
	}
	copyPath := filepath.Join(t.TempDir(), "copy.yaml")
	if err := os.WriteFile(copyPath, []byte(p.area.Value()), 0o644); err != nil {
		t.Fatal(err)
	}
	run(p.Update(editorDoneMsg{path: copyPath}))
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("quitting $EDITOR without a change wrote %s (%v)", path, err)
	}
	if _, err := os.Stat(copyPath); !os.IsNotExist(err) {
		t.Errorf("the temporary copy was left behind (%v)", err)
	}
}

// Text never applied is kept beside the config when the program quits.
func TestUnappliedTextIsKeptAsADraft(t *testing.T) {
	p, path := newPage(t, sample)
	typed := sample + "seed: 7 # half-way through an edit\n"
	edit(p, typed)
	draft, err := p.KeepDraft()
	if err != nil || draft != filepath.Join(filepath.Dir(path), "config.draft.yaml") {
		t.Fatalf("KeepDraft = %q, %v", draft, err)
	}
	if got := readString(t, draft); got != typed {
		t.Errorf("draft holds %q, want %q", got, typed)
	}
	if got := readString(t, path); got != sample {
		t.Errorf("the config file changed: %q", got)
	}
	// The next session says where the draft is.
	again := New(path, []byte(sample), view.Options{NoColor: true})
	if !strings.Contains(again.status, draft) {
		t.Errorf("a new editor does not mention the draft: %q", again.status)
	}

	// Applied text is no draft.
	p.Update(ctrlS())
	p.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("n")})
	if d, err := p.KeepDraft(); d != "" || err != nil {
		t.Errorf("applied text kept as a draft: %q, %v", d, err)
	}
}

// Under NO_COLOR the cursor is still visible: reverse video, no colours.
func TestCursorVisibleWithoutColour(t *testing.T) {
	p, _ := newPage(t, sample)
	out := p.Render(100, 20)
	if !strings.Contains(out, "\x1b[7m") {
		t.Errorf("no reverse-video cursor in:\n%q", out)
	}
	for _, colour := range []string{"\x1b[3", "\x1b[4", "\x1b[9", ";3", ";4"} {
		if strings.Contains(out, colour) {
			t.Errorf("colour sequence %q under NO_COLOR in:\n%q", colour, out)
		}
	}
	// Still there after a key press (no blinking away).
	p.Update(tea.KeyMsg{Type: tea.KeyDown})
	if !strings.Contains(p.Render(100, 20), "\x1b[7m") {
		t.Error("the cursor vanished after a key press")
	}
}

// After DONE nothing runs to take a change: applying offers a new run.
func TestApplyAfterDoneOffersANewRun(t *testing.T) {
	p, _ := newPage(t, sample)
	cfg, _ := config.Parse("", []byte(sample))
	p.SetSnapshot(train.Snapshot{Config: cfg, State: train.Done})
	edit(p, strings.Replace(sample, "learning_rate: 0.01", "learning_rate: 0.05", 1))
	screen := p.Render(120, 30)
	if !strings.Contains(screen, "starts a new run") || strings.Contains(screen, "from the next step") {
		t.Errorf("the page does not say that a new run takes the change:\n%s", screen)
	}
	if help := p.Keys()[0].Help(); help.Key != "ctrl+s" || !strings.Contains(help.Desc, "new run") {
		t.Errorf("the key help says %q", help)
	}
	if msg := run(p.Update(ctrlS())); msg != nil {
		t.Fatalf("ctrl+s after DONE sent %v", msg)
	}
	if !p.confirm || !strings.Contains(p.status, "press y to start a new run") || strings.Contains(p.status, "next step") {
		t.Fatalf("no new run offered: confirm %v, status %q", p.confirm, p.status)
	}
	msg, ok := run(p.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("y")})).(view.RestartMsg)
	if !ok || msg.Config.LearningRate != 0.05 {
		t.Fatalf("y gave %+v, want a new run with learning rate 0.05", msg)
	}
}

// A value typed in the editor is shown quoted: an escape sequence in it
// reaches the terminal as text.
func TestChangedValuesAreQuoted(t *testing.T) {
	p, _ := newPage(t, sample)
	edit(p, sample+"data_dir: \"\\e[2J\\e]0;x\\a\"\n")
	out := p.Render(120, 30)
	if strings.ContainsRune(out, 0x07) || strings.Contains(out, "\x1b[2J") || !strings.Contains(out, `"\x1b[2J\x1b]0;x\a"`) {
		t.Errorf("the value is not quoted:\n%q", out)
	}
}

// What another program wrote to the file since the editor opened it stays.
func TestApplyKeepsOutsideChangesToTheFile(t *testing.T) {
	p, path := newPage(t, sample)
	p = flagged(t, path)
	outside := sample + "seed: 9\n"
	if err := os.WriteFile(path, []byte(outside), 0o644); err != nil {
		t.Fatal(err)
	}
	edit(p, strings.Replace(p.area.Value(), "momentum: 0.5", "momentum: 0.9", 1))
	run(p.Update(ctrlS()))
	if got, want := readString(t, path), strings.Replace(outside, "momentum: 0.5", "momentum: 0.9", 1); got != want {
		t.Errorf("file:\n%s\nwant:\n%s", got, want)
	}
}

// A new run that would not fit in memory is refused before the running one
// is stopped for it.
func TestRestartTooLargeForMemoryIsRefused(t *testing.T) {
	memory, _ := memlimit.Machine()
	if need, _ := engine.WorkspaceBytes("inception", 60000, 2); memory == 0 || need <= memory/memlimit.Share {
		t.Skip("this machine's memory is unknown or holds inception in one batch")
	}
	p, path := newPage(t, sample)
	edit(p, strings.Replace(sample, "model: cnn", "model: inception", 1)+"batch_size: 60000\nthreads: 2\n")
	if msg := run(p.Update(ctrlS())); msg != nil || p.confirm {
		t.Fatalf("ctrl+s gave %v, confirm %v", msg, p.confirm)
	}
	if !strings.Contains(p.status, "not applied") || !strings.Contains(p.status, "use batch_size") {
		t.Errorf("status %q", p.status)
	}
	if got := readString(t, path); got != sample {
		t.Errorf("the refused edit was written:\n%s", got)
	}
}

// The editor opens at the first setting with the file's opening comments on
// screen, not scrolled to the end of the file, both as loaded and after the
// run's own values (flags) were put into the text.
func TestEditorOpensAtTheFirstSetting(t *testing.T) {
	long := sample + strings.Repeat("# more explanations\n", 40) + "seed: 1\n"
	for _, withFlags := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "config.yaml")
		p := New(path, []byte(long), view.Options{NoColor: true})
		run, err := config.Parse(path, []byte(long))
		if err != nil {
			t.Fatal(err)
		}
		if withFlags {
			run.Model = "linear"
		}
		p.SetSnapshot(train.Snapshot{Config: run})
		if withFlags && !strings.Contains(p.area.Value(), "model: linear") {
			t.Fatalf("the run's values are not shown:\n%s", p.area.Value())
		}
		if row := p.area.Line(); row != 1 {
			t.Errorf("flags %v: cursor on line %d, want 1 (model:)", withFlags, row+1)
		}
		if out := p.Render(80, 16); !strings.Contains(out, "# my experiment") {
			t.Errorf("flags %v: the file's first lines are not on screen:\n%s", withFlags, out)
		}
	}
}

func TestEditorCommandDefaultsPerSystem(t *testing.T) {
	env := func(vars map[string]string) func(string) string {
		return func(name string) string { return vars[name] }
	}
	cases := []struct {
		name string
		vars map[string]string
		goos string
		want []string
	}{
		{"VISUAL wins", map[string]string{"VISUAL": "code --wait", "EDITOR": "nano"}, "linux", []string{"code", "--wait"}},
		{"EDITOR next", map[string]string{"EDITOR": "nano"}, "darwin", []string{"nano"}},
		{"blank VISUAL is unset", map[string]string{"VISUAL": "  ", "EDITOR": "nano"}, "linux", []string{"nano"}},
		{"unix default", nil, "linux", []string{"vi"}},
		{"mac default", nil, "darwin", []string{"vi"}},
		{"windows has no vi", nil, "windows", []string{"notepad"}},
		{"windows honours EDITOR", map[string]string{"EDITOR": "notepad++"}, "windows", []string{"notepad++"}},
	}
	for _, c := range cases {
		got := editorCommand(env(c.vars), c.goos)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: editorCommand = %q, want %q", c.name, got, c.want)
		}
	}
}

// Every key, not only the tutorial's, is named with its values in the list
// of changes, and a run setting from a flag stays out of the file when the
// user edits another key.
func TestEveryKeyIsShownAndKeptOutOfTheFile(t *testing.T) {
	p, path := newPage(t, sample)
	edit(p, p.area.Value()+"optimizer: adam\nlabel_smoothing: 0.1\nschedule: cosine\n")
	side := p.Render(160, 40)
	for _, want := range []string{`optimizer: "sgd" → "adam"`, "label_smoothing: 0 → 0.1", `schedule: "constant" → "cosine"`} {
		if !strings.Contains(side, want) {
			t.Errorf("the panel lacks %q:\n%s", want, side)
		}
	}

	// The run's optimizer came from a flag (--optimizer adam): editing
	// momentum writes momentum, and the file keeps its own optimizer.
	p = New(path, []byte(sample), view.Options{NoColor: true})
	flags, err := config.Parse(path, []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	flags.Optimizer, flags.LabelSmoothing = "adam", 0.1
	p.SetSnapshot(train.Snapshot{Config: flags})
	edit(p, strings.Replace(p.area.Value(), "momentum: 0.5", "momentum: 0.9", 1))
	run(p.Update(ctrlS()))
	want := strings.Replace(sample, "momentum: 0.5", "momentum: 0.9", 1)
	if got := readString(t, path); got != want {
		t.Errorf("file:\n%s\nwant:\n%s", got, want)
	}
}

// messages runs cmd and the commands of a batch it gives.
func messages(cmd tea.Cmd) []tea.Msg {
	msg := run(cmd)
	if batch, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range batch {
			out = append(out, messages(c)...)
		}
		return out
	}
	if msg == nil {
		return nil
	}
	return []tea.Msg{msg}
}

// Another page's edit (the doctor's fix) goes the way of one typed here:
// into the text, written back to the file with its comments, sent to the
// run as a live change carrying its reason, and answered.
func TestEditFromAnotherPageIsAppliedAsTyped(t *testing.T) {
	p, path := newPage(t, sample)
	why := "doctor: step_too_low at step 600, learning rate x10 (0.1)"
	var set *train.SetHyper
	var answer *view.EditedMsg
	for _, m := range messages(p.Update(view.EditMsg{Values: map[string]any{"learning_rate": 0.1}, Why: why})) {
		switch m := m.(type) {
		case view.SendMsg:
			c, _ := m.Command.(train.SetHyper)
			set = &c
		case view.EditedMsg:
			answer = &m
		}
	}
	if set == nil || set.LearningRate == nil || *set.LearningRate != 0.1 || set.Why != why || set.Momentum != nil {
		t.Fatalf("sent %+v, want learning rate 0.1 with the reason", set)
	}
	if answer == nil || !answer.Applied || answer.Why != why {
		t.Errorf("answer %+v, want applied", answer)
	}
	written := readString(t, path)
	if !strings.Contains(written, "# step size\nlearning_rate: 0.1\n") || !strings.Contains(written, "# the tutorial's") {
		t.Errorf("file:\n%s", written)
	}
	if !strings.Contains(p.area.Value(), "learning_rate: 0.1\n") || p.area.Value() != p.applied {
		t.Errorf("the editor's text does not show the applied fix:\n%s", p.area.Value())
	}
}

// The user's own unapplied text would be applied with the edit: the edit
// is refused, the text and the file stay as they were.
func TestEditFromAnotherPageWaitsForTheUsersOwn(t *testing.T) {
	p, path := newPage(t, sample)
	mine := strings.Replace(sample, "epochs: 10", "epochs: 12", 1)
	edit(p, mine)
	msgs := messages(p.Update(view.EditMsg{Values: map[string]any{"learning_rate": 0.1}, Why: "doctor"}))
	if len(msgs) != 1 {
		t.Fatalf("messages %+v, want the answer alone", msgs)
	}
	if a, ok := msgs[0].(view.EditedMsg); !ok || a.Applied || !strings.Contains(a.Status, "not applied") {
		t.Errorf("answer %+v, want a refusal", msgs[0])
	}
	if p.area.Value() != mine || readString(t, path) != sample {
		t.Errorf("text or file changed:\n%s\n%s", p.area.Value(), readString(t, path))
	}
}

// Line numbers of one and two digits (and three) take the same room, so
// that the text of line 10 starts in the column of line 9's.
func TestLineNumbersLineUp(t *testing.T) {
	var b strings.Builder
	b.WriteString("model: cnn\n")
	for i := 2; i <= 120; i++ {
		b.WriteString("# note\n")
	}
	p, _ := newPage(t, b.String())
	for _, lines := range []int{12, 120} {
		text := strings.Join(strings.Split(b.String(), "\n")[:lines], "\n")
		edit(p, text)
		columns := map[int]bool{}
		for _, row := range strings.Split(p.Render(80, lines+4), "\n") {
			if w := lipgloss.Width(row); w > 80 {
				t.Errorf("%d lines: a row %d wide on an 80-column screen: %q", lines, w, row)
			}
			if i := strings.Index(row, "# note"); i >= 0 {
				columns[lipgloss.Width(row[:i])] = true
			}
		}
		if len(columns) != 1 {
			t.Errorf("%d lines: the text starts in columns %v, want one column", lines, columns)
		}
	}
}

// The gutter's width is set through the textarea's MaxHeight, which also
// caps its lines: typing past 99 lines after a render must still work.
func TestNewLinePastTheGutterWidth(t *testing.T) {
	p, _ := newPage(t, "model: cnn\n"+strings.Repeat("# note\n", 97))
	p.Render(80, 24)
	if n := p.area.LineCount(); n != 99 {
		t.Fatalf("%d lines, want 99", n)
	}
	p.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if n := p.area.LineCount(); n != 100 {
		t.Errorf("enter at line 99 gave %d lines, want 100", n)
	}
}
