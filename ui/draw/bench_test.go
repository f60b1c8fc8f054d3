package draw

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"mnist-tui/dataset"
	"mnist-tui/engine"
	"mnist-tui/ui/view"
)

// BenchmarkStroke is the cost of one mouse motion event on the canvas:
// painting, preparing the drawing and running the model, for each model.
// It must stay well under a frame (16 ms) for the answer to follow the pen.
func BenchmarkStroke(b *testing.B) {
	info, err := dataset.Lookup("mnist")
	if err != nil {
		b.Fatal(err)
	}
	for _, model := range engine.Models() {
		b.Run(model, func(b *testing.B) {
			net, err := engine.NewNet(model, 1, 1)
			if err != nil {
				b.Fatal(err)
			}
			p := New(NewFixed(net, info, model), info.Classes, view.Options{NoColor: true})
			p.Render(120, 40)
			press := tea.MouseMsg{X: 1 + 2*10, Y: 1 + 10, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft}
			p.Update(press)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				x := 10 + i%8
				p.Update(tea.MouseMsg{X: 1 + 2*x, Y: 1 + 10 + i%5, Action: tea.MouseActionMotion, Button: tea.MouseButtonLeft})
			}
		})
	}
}

// BenchmarkRender is the cost of drawing the page, which the dashboard does
// after every mouse event.
func BenchmarkRender(b *testing.B) {
	p := New(fakeModel{}, digits, view.Options{Renderer: colourRenderer()})
	drawSeven(p)
	for b.Loop() {
		p.Render(120, 40)
	}
}
