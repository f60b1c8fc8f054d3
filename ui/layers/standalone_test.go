package layers

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"

	"mnist-tui/dataset"
)

// drawStub stands for the draw page's program: it records the keys it gets.
type drawStub struct{ keys *[]string }

func (d drawStub) Init() tea.Cmd { return nil }
func (d drawStub) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok {
		*d.keys = append(*d.keys, k.String())
	}
	return d, nil
}
func (d drawStub) View() string { return "the draw page" }

// step sends msg and runs the commands the layers page starts.
func step(t *testing.T, m tea.Model, p *Page, msg tea.Msg) tea.Model {
	t.Helper()
	m, cmd := m.Update(msg)
	settle(t, p, cmd)
	return m
}

// Under `mnist-tui draw CKPT`, l shows the layers page of the drawing, d and esc go back, and
// the draw page keeps every other key.
func TestBesideDraw(t *testing.T) {
	var got []string
	p := New(&synthetic{spec: preset(t, "cnn")}, noColor())
	var drawn [dataset.ImageSize]uint8
	copy(drawn[:], testSet(4).Image(3))
	p.SetDrawing(func() ([dataset.ImageSize]uint8, bool) { return drawn, true })
	var m tea.Model = BesideDraw(drawStub{&got}, p, "mnist-tui draw · x.safetensors · layers")
	m = step(t, m, p, tea.WindowSizeMsg{Width: 80, Height: 24})
	m = step(t, m, p, press("c"))
	if v := m.View(); v != "the draw page" || strings.Join(got, ",") != "c" {
		t.Fatalf("at first: %q, the draw page got %v", v, got)
	}
	m = step(t, m, p, press("l"))
	v := ansi.Strip(m.View())
	lines := strings.Split(v, "\n")
	if len(lines) != 24 || !strings.HasPrefix(lines[0], "mnist-tui draw · x.safetensors · layers") ||
		!strings.HasPrefix(lines[1], "the drawing · cnn ·") || !strings.Contains(lines[23], "d/esc back") {
		t.Fatalf("after l (%d lines):\n%s", len(lines), v)
	}
	if strings.Contains(lines[22]+lines[23], "test image") {
		t.Errorf("the help offers test images, and there are none: %q", lines[22:])
	}
	m = step(t, m, p, press("j"))
	if p.top == 0 || len(got) != 1 {
		t.Errorf("j on the layers page: line %d, the draw page got %v", p.top, got)
	}
	m = step(t, m, p, tea.KeyMsg{Type: tea.KeyEsc})
	if m.View() != "the draw page" {
		t.Errorf("esc did not go back to the draw page")
	}
	m = step(t, m, p, press("l"))
	if _, cmd := m.Update(press("q")); cmd == nil {
		t.Error("q on the layers page does not quit")
	}
}

// `mnist-tui draw CKPT` in an 80x24 terminal, on the layers page: the whole screen.
func TestGoldenBesideDraw80x24(t *testing.T) {
	var got []string
	p := New(&synthetic{spec: mustSpec(t, blocks), model: "blocks"}, noColor())
	var drawn [dataset.ImageSize]uint8
	copy(drawn[:], testSet(4).Image(3))
	p.SetDrawing(func() ([dataset.ImageSize]uint8, bool) { return drawn, true })
	var m tea.Model = BesideDraw(drawStub{&got}, p, "mnist-tui draw · runs/x/best.safetensors · layers")
	m = step(t, m, p, tea.WindowSizeMsg{Width: 80, Height: 24})
	m = step(t, m, p, press("l"))
	m.View() // bubbletea draws after every message: the page learns its layout
	m = step(t, m, p, press("j"))
	teatest.RequireEqualOutput(t, []byte(m.View()))
}
