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
	"github.com/muesli/termenv"

	"mnist-tui/engine/config"
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
	if !strings.Contains(p.status, ":6:") || !strings.Contains(p.status, "momentum") {
		t.Errorf("status %q does not give the line and key", p.status)
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
