package draw

import (
	"bytes"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"

	"mnist-tui/ui/view"
)

func TestStandaloneQuitKeys(t *testing.T) {
	for _, k := range []string{"esc", "q", "ctrl+c"} {
		m := Standalone(newPage(fakeModel{probs: sevenish}, view.Options{NoColor: true}), "draw")
		_, cmd := m.Update(keyPress(k))
		if cmd == nil {
			t.Errorf("%s: no command, want quit", k)
			continue
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Errorf("%s does not quit", k)
		}
	}
}

func TestStandaloneFrame(t *testing.T) {
	p := newPage(fakeModel{probs: sevenish}, view.Options{NoColor: true})
	var m tea.Model = Standalone(p, "mnist-tui draw · best.safetensors")
	for _, size := range [][2]int{{120, 40}, {80, 18}, {50, 10}, {10, 2}} {
		m, _ = m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		lines := strings.Split(m.View(), "\n")
		if len(lines) != size[1] {
			t.Errorf("%dx%d: %d lines, want %d", size[0], size[1], len(lines), size[1])
		}
		for i, l := range lines {
			if lipgloss.Width(l) > size[0] {
				t.Errorf("%dx%d: line %d is %d cells wide", size[0], size[1], i, lipgloss.Width(l))
			}
		}
	}
	// The page sits under the title line: a click maps through that origin.
	m, _ = m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m.View()
	m, _ = m.Update(tea.MouseMsg{X: 1 + 2*9, Y: 1 + 1 + 4, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
	if p.Canvas().At(9, 4) != inkCentre {
		t.Error("a click under the title line did not paint the pixel under it")
	}
	// Keys other than the quit keys reach the page.
	m.Update(keyPress("c"))
	if !p.Canvas().Empty() {
		t.Error("c did not reach the page")
	}
	// Keys typed together arrive as one message: each one counts.
	m, _ = m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(" p")})
	if p.Canvas().Empty() || !p.penDown {
		t.Errorf("space and p in one message: canvas empty %v, pen down %v; want both done", p.Canvas().Empty(), p.penDown)
	}
}

// TestStandaloneProgram runs the page in a real bubbletea program, draws
// with the mouse and the keyboard, and quits. The canvas's first pixel is
// at (1, 2): under the title line and inside the frame.
func TestStandaloneProgram(t *testing.T) {
	p := newPage(fakeModel{probs: sevenish}, view.Options{NoColor: true})
	tm := teatest.NewTestModel(t, Standalone(p, "mnist-tui draw"), teatest.WithInitialTermSize(120, 40))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("draw a digit")) },
		teatest.WithDuration(5*time.Second))
	for _, m := range []tea.MouseMsg{
		{X: 1 + 2*8, Y: 2 + 5, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft},
		{X: 1 + 2*20, Y: 2 + 5, Action: tea.MouseActionMotion, Button: tea.MouseButtonLeft},
		{X: 1 + 2*12, Y: 2 + 23, Action: tea.MouseActionMotion, Button: tea.MouseButtonLeft},
		{X: 1 + 2*12, Y: 2 + 23, Action: tea.MouseActionRelease},
	} {
		tm.Send(m)
	}
	tm.Send(keyPress("space"))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("83.0 % sure")) },
		teatest.WithDuration(5*time.Second))
	tm.Send(keyPress("q"))
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	if p.Canvas().At(8, 5) != inkCentre || p.Canvas().At(12, 23) != inkCentre {
		t.Error("the program's mouse events did not reach the canvas at the right pixels")
	}
}
