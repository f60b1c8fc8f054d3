package layers

import (
	tea "github.com/charmbracelet/bubbletea"

	"mnist-tui/ui/termdraw"
	"mnist-tui/ui/view"
)

// BesideDraw is `mnist-tui draw CKPT` with the layers page one key away: draw is the draw
// page's own program (draw.Standalone), shown first; `l` switches to the layers page of the
// same checkpoint, which looks at the drawing (SetDrawing), and `d` or esc back. Messages
// that are not keys reach both, so each keeps its own timers.
func BesideDraw(draw tea.Model, p *Page, title string) tea.Model {
	return besideDraw{draw: draw, page: p, title: title}
}

type besideDraw struct {
	draw          tea.Model
	page          *Page
	title         string
	layers        bool // the layers page is shown
	width, height int
}

func (m besideDraw) Init() tea.Cmd { return tea.Batch(m.draw.Init(), m.page.Start()) }

func (m besideDraw) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tea.KeyMsg:
		if !m.layers {
			if msg.String() == "l" {
				m.layers = true
				return m, m.page.Update(view.OpenedMsg{Key: "l"})
			}
			var cmd tea.Cmd
			m.draw, cmd = m.draw.Update(msg)
			return m, cmd
		}
		switch msg.String() {
		case "d", "esc":
			m.layers = false
			return m, nil
		case "q", "ctrl+c":
			return m, tea.Quit
		}
		return m, m.page.Update(msg)
	case tea.MouseMsg:
		if m.layers {
			return m, nil
		}
		var cmd tea.Cmd
		m.draw, cmd = m.draw.Update(msg)
		return m, cmd
	}
	var cmd tea.Cmd
	m.draw, cmd = m.draw.Update(msg)
	return m, tea.Batch(cmd, m.page.Update(msg))
}

func (m besideDraw) View() string {
	if !m.layers {
		return m.draw.View()
	}
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	st := m.page.st
	title := st.title.Render(termdraw.FitWidth(m.title, m.width))
	keys := "↑↓ layer · pgup/pgdn page · d/esc back to the drawing · q quit"
	if m.page.test != nil {
		keys = "←→ test image · v drawing · " + keys
	}
	help := st.dim.Render(termdraw.FitWidth(keys, m.width))
	if m.height < 3 {
		return termdraw.FitBlock(title, m.width, m.height)
	}
	return title + "\n" + m.page.Render(m.width, m.height-2) + "\n" + help
}
