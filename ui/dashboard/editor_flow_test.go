package dashboard

import (
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"mnist-tui/engine/config"
	"mnist-tui/engine/train"
	"mnist-tui/ui/editor"
	"mnist-tui/ui/view"
)

// After DONE, an edit applied in the config page offers a new run, and y
// starts it with the edited settings.
func TestEditAfterDoneStartsANewRun(t *testing.T) {
	done := midRun()
	done.State, done.Config = train.Done, config.Defaults()
	var started []config.Config
	restart := func(cfg config.Config) (Trainer, error) {
		started = append(started, cfg)
		return newFakeTrainer(midRun()), nil
	}
	page := editor.New(filepath.Join(t.TempDir(), "config.yaml"), []byte("epochs: 10\n"), view.Options{NoColor: true})
	_, m, _ := newTestModel(t, done, Options{NoColor: true, Restart: restart, Pages: []view.View{page}}, 120, 40)

	// The editor opens at the first setting: a new line typed there.
	m = apply(t, m, press("e"), tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("seed: 7")}, tea.KeyMsg{Type: tea.KeyEnter})
	m, cmd := step(t, m, tea.KeyMsg{Type: tea.KeyCtrlS})
	if cmd != nil {
		if msg := cmd(); msg != nil {
			t.Fatalf("ctrl+s after DONE did %T %v at once", msg, msg)
		}
	}
	if !strings.Contains(m.View(), "press y to start a new run") {
		t.Fatalf("no new run offered on screen:\n%s", m.View())
	}
	m, cmd = step(t, m, press("y"))
	if cmd == nil {
		t.Fatal("y did nothing")
	}
	m = apply(t, m, cmd())
	if len(started) != 1 || started[0].Seed != 7 || started[0].Epochs != 10 {
		t.Fatalf("new runs: %+v, want one with seed 7", started)
	}
	if !strings.Contains(m.View(), "started a new run") {
		t.Errorf("the screen does not say a new run started:\n%s", m.View())
	}
}
