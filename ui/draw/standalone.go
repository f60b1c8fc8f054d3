package draw

import (
	tea "github.com/charmbracelet/bubbletea"
)

// Standalone is a bubbletea model that shows just the page, for
// `mnist-tui draw PATH`: a title line, the page, and a help line. esc, q
// and ctrl+c quit; every other key and the mouse go to the page. Run it
// with tea.WithAltScreen() and tea.WithMouseCellMotion().
func Standalone(p *Page, title string) tea.Model {
	return standalone{page: p, title: title}
}

type standalone struct {
	page          *Page
	title         string
	width, height int
}

// The page sits below the title line.
const standaloneTop = 1

func (m standalone) Init() tea.Cmd { return m.page.Start() }

func (m standalone) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return m, nil
	case tea.KeyMsg:
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 {
			// Keys typed together arrive as one message: each is a key.
			var cmds []tea.Cmd
			for _, r := range msg.Runes {
				one := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}
				if r == ' ' {
					one.Type = tea.KeySpace
				}
				next, cmd := m.Update(one)
				m = next.(standalone)
				cmds = append(cmds, cmd)
			}
			return m, tea.Sequence(cmds...)
		}
		switch msg.String() {
		case "esc", "q", "ctrl+c":
			return m, tea.Quit
		}
	}
	return m, m.page.Update(msg)
}

func (m standalone) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	st := m.page.st
	title := st.section.Render(m.title)
	help := st.dim.Render("left button draws · right erases · arrows + space (p: pen down, ⌫: erase) · c clear · x save PNG · w why · esc/q quit")
	if m.height < 3 {
		return block([]string{title}, m.width, m.height)
	}
	m.page.SetOrigin(0, standaloneTop)
	body := m.page.Render(m.width, m.height-2)
	return fitWidth(title, m.width) + "\n" + body + "\n" + fitWidth(help, m.width)
}
