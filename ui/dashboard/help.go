package dashboard

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"mnist-tui/ui/termdraw"
	"mnist-tui/ui/view"
)

// The help comes in two sizes: the hint line under the status line, which
// is cut at the terminal's edge, and `?`, which shows every key of the
// dashboard and of the page on screen in place of the page, scrolling
// when the window is too short for all of them.

// helpScroll are the keys that move the open help; ? and esc close it.
var helpScroll = struct {
	Up, Down, PgUp, PgDown, Home, End, Close key.Binding
}{
	Up:     key.NewBinding(key.WithKeys("up", "k")),
	Down:   key.NewBinding(key.WithKeys("down", "j")),
	PgUp:   key.NewBinding(key.WithKeys("pgup")),
	PgDown: key.NewBinding(key.WithKeys("pgdown", " ")),
	Home:   key.NewBinding(key.WithKeys("home", "g")),
	End:    key.NewBinding(key.WithKeys("end", "G")),
	Close:  key.NewBinding(key.WithKeys("?", "f1", "esc")),
}

// helpKey answers a key while the help is open and reports whether it was
// the help's. Any other key closes the help and then does what it does.
func (m *Model) helpKey(k tea.KeyMsg) bool {
	page := max(1, m.helpPageLines())
	switch {
	case key.Matches(k, helpScroll.Close):
		m.helpOpen = false
	case key.Matches(k, helpScroll.Up):
		m.helpOffset--
	case key.Matches(k, helpScroll.Down):
		m.helpOffset++
	case key.Matches(k, helpScroll.PgUp):
		m.helpOffset -= page
	case key.Matches(k, helpScroll.PgDown):
		m.helpOffset += page
	case key.Matches(k, helpScroll.Home):
		m.helpOffset = 0
	case key.Matches(k, helpScroll.End):
		m.helpOffset = len(m.helpLines())
	default:
		m.helpOpen = false
		return false
	}
	return true
}

// helpPageLines is how many help lines the body shows at once: the body
// less the help's own title line.
func (m Model) helpPageLines() int {
	return m.lastBodyH - 1
}

// globalBindings are the dashboard's keys as they work on the page shown:
// a key the page claims (space selects on the runs page) is left out.
func (m Model) globalBindings() []key.Binding {
	claimed := func(keys ...string) []string {
		c, ok := m.current().(view.Claimer)
		var free []string
		for _, k := range keys {
			if !ok || !c.Claims(keyMsgFor(k)) {
				free = append(free, k)
			}
		}
		return free
	}
	var out []key.Binding
	if free := claimed(" ", "p"); len(free) > 0 {
		b := m.keys.Pause
		b.SetKeys(free...)
		b.SetHelp(strings.Join(helpNames(free), "/"), b.Help().Desc)
		out = append(out, b)
	} else {
		// Both pause keys are the page's: say where pausing went. (A
		// binding without keys counts as disabled; this name never arrives.)
		out = append(out, key.NewBinding(key.WithKeys("pause"), key.WithHelp("pause", "space/p belong to this page: pause from any other")))
	}
	out = append(out, m.keys.Save, m.keys.NextView, m.keys.PickView)
	out = append(out, m.shortcutBindings()...)
	if m.keys.Render.Enabled() {
		out = append(out, m.keys.Render)
	}
	if _, ok := m.shortcutPage(keyMsgFor("m")); !ok {
		out = append(out, m.keys.Compare)
	}
	back := m.keys.Back
	if m.page == 0 {
		back.SetHelp("esc", "back to the dashboard from any page")
	}
	out = append(out, back)
	return append(out, m.keys.Help, m.keys.Quit, m.keys.CtrlC)
}

// keyMsgFor is the message a single key name arrives as.
func keyMsgFor(k string) tea.KeyMsg {
	if k == " " {
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// helpNames are key names as the help shows them.
func helpNames(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k
		if k == " " {
			out[i] = "space"
		}
	}
	return out
}

// shortBindings are the hint line's keys. The line is cut at the
// terminal's edge, so what must never be cut comes first: how to see every
// key, how to leave the page and quit, then the page's own keys.
func (m Model) shortBindings() []key.Binding {
	short := func(b key.Binding, desc string) key.Binding {
		b.SetHelp(b.Help().Key, desc)
		return b
	}
	help, quit := short(m.keys.Help, "all keys"), short(m.keys.Quit, "quit")
	help.SetHelp("?", "all keys")
	page := m.current()
	if page == nil {
		out := []key.Binding{help, quit, short(m.keys.Pause, "pause/resume"), short(m.keys.Save, "save"), short(m.keys.NextView, "pages")}
		out = append(out, m.shortcutBindings()...)
		return append(out, short(m.keys.Render, "ascii/hi-res"))
	}
	back := short(m.keys.Back, "back")
	if page.CapturesKeys() {
		help.SetHelp("f1", "all keys")
		return append([]key.Binding{help, back, short(m.keys.CtrlC, "stop & quit")}, page.Keys()...)
	}
	return append([]key.Binding{help, back, quit}, page.Keys()...)
}

// helpView is the hint line.
func (m Model) helpView() string {
	return m.help.ShortHelpView(m.shortBindings())
}

// helpLines are the lines of the open help: the dashboard's keys, then the
// page's.
func (m Model) helpLines() []string {
	st := m.styles
	var lines []string
	section := func(title string, bs []key.Binding) {
		var enabled []key.Binding
		keyW := 0
		for _, b := range bs {
			if b.Enabled() && b.Help().Key != "" {
				enabled = append(enabled, b)
				keyW = max(keyW, lipgloss.Width(b.Help().Key))
			}
		}
		if len(enabled) == 0 {
			return
		}
		if len(lines) > 0 {
			lines = append(lines, "")
		}
		lines = append(lines, st.section.Render(title))
		for _, b := range enabled {
			k := b.Help().Key
			lines = append(lines, "  "+st.value.Render(k)+strings.Repeat(" ", keyW-lipgloss.Width(k)+2)+st.label.Render(b.Help().Desc))
		}
	}
	// The page's own keys first: on a page, they are what the user came
	// for; the keys of every page follow.
	page := m.current()
	if page != nil {
		section(m.pageName(m.page)+" page", page.Keys())
	}
	if page != nil && page.CapturesKeys() {
		f1 := m.keys.Help
		f1.SetHelp("f1", "all keys")
		section("the "+m.pageName(m.page)+" page takes every key but these", []key.Binding{f1, m.keys.NextView, m.keys.Back, m.keys.CtrlC})
	} else {
		section("every page", m.globalBindings())
	}
	return lines
}

// helpBody draws the open help in width x height: a title line with how to
// scroll and close it, and as many help lines as fit from helpOffset on.
func (m *Model) helpBody(width, height int) string {
	lines := m.helpLines()
	room := max(1, height-1)
	m.helpOffset = max(0, min(m.helpOffset, len(lines)-room))
	shown := lines[m.helpOffset:min(len(lines), m.helpOffset+room)]
	title := m.styles.section.Render("keys")
	if more := len(lines) - room; more > 0 {
		above, below := m.helpOffset, len(lines)-m.helpOffset-len(shown)
		title += m.styles.dim.Render(fmt.Sprintf(" · ↑ %d more above, ↓ %d more below (↑↓/pgup/pgdn scroll)", above, below))
	}
	title += m.styles.dim.Render(" · ? or esc closes")
	out := append([]string{termdraw.FitWidth(title, width)}, shown...)
	return termdraw.FitBlock(strings.Join(out, "\n"), width, height)
}
