package dashboard

import (
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"mnist-tui/ui/termdraw"
	"mnist-tui/ui/view"
)

// Pages: the first is the dashboard itself (drawn by this package); the
// others are view.View pages from their own packages, given in Options.
// `tab` cycles through them, `1`-`9` jump to one, a page's own shortcut
// (`d` for draw) opens it, and `esc` comes back to the first.

// pageName is the label of page i in the tab line.
func (m Model) pageName(i int) string {
	if i == 0 {
		return "dashboard"
	}
	return m.pages[i-1].Name()
}

func (m Model) pageCount() int { return 1 + len(m.pages) }

// current is the page shown, or nil for the dashboard page.
func (m Model) current() view.View {
	if m.page == 0 {
		return nil
	}
	return m.pages[m.page-1]
}

// pageForKey maps "1".."9" to a page, reporting false for pages that do
// not exist.
func (m Model) pageForKey(k string) (int, bool) {
	n, err := strconv.Atoi(k)
	if err != nil || n < 1 || n > m.pageCount() {
		return 0, false
	}
	return n - 1, true
}

// shortcutPage is the page whose own key k is, if any.
func (m Model) shortcutPage(k tea.KeyMsg) (int, bool) {
	for i, p := range m.pages {
		if s, ok := p.(view.Shortcut); ok {
			if b := s.Shortcut(); b.Enabled() && key.Matches(k, b) {
				return i + 1, true
			}
		}
	}
	return 0, false
}

// shortcutBindings are the pages' own keys, for the help.
func (m Model) shortcutBindings() []key.Binding {
	var out []key.Binding
	for _, p := range m.pages {
		if s, ok := p.(view.Shortcut); ok {
			out = append(out, s.Shortcut())
		}
	}
	return out
}

// tabLine shows the pages, the current one highlighted. It is empty when
// there is only the dashboard.
func (m Model) tabLine(width int) string {
	if len(m.pages) == 0 {
		return ""
	}
	// Every tab must show: a narrow screen drops the padding first, then
	// cuts the other pages' names short (the current one stays whole), so
	// that nine or ten pages still fit 80 columns.
	longest := 0
	for i := range m.pageCount() {
		longest = max(longest, len([]rune(m.pageName(i))))
	}
	line := m.tabs(" ", longest)
	for cut := longest; lipgloss.Width(line) > width && cut >= 1; cut-- {
		line = m.tabs("", cut)
	}
	return termdraw.FitWidth(line, width)
}

// tabs is the tab line with pad around the labels of the pages not shown
// and their names cut to at most cut characters.
func (m Model) tabs(pad string, cut int) string {
	st := m.styles
	names := make([]string, m.pageCount())
	for i := range names {
		names[i] = m.pageName(i)
	}
	short := cutApart(names, cut)
	items := make([]string, len(names))
	for i, name := range names {
		if i == m.page {
			items[i] = st.tabActive.Render("[" + strconv.Itoa(i+1) + " " + name + "]")
			continue
		}
		items[i] = st.label.Render(pad + strconv.Itoa(i+1) + " " + short[i] + pad)
	}
	return strings.Join(items, " ")
}

// cutApart cuts names to cut characters but keeps two cut names from reading the same
// (confusion and config are not both "conf"): the names of a clash grow together until
// they differ.
func cutApart(names []string, cut int) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n
		if r := []rune(n); len(r) > cut {
			out[i] = string(r[:cut])
		}
	}
	for {
		clash := map[string][]int{}
		for i, n := range out {
			clash[n] = append(clash[n], i)
		}
		grew := false
		for _, group := range clash {
			if len(group) < 2 {
				continue
			}
			for _, i := range group {
				if r := []rune(names[i]); len(r) > len([]rune(out[i])) {
					out[i] = string(r[:len([]rune(out[i]))+1])
					grew = true
				}
			}
		}
		if !grew {
			return out
		}
	}
}

// routeToPage gives a message to the page shown (keys, mouse) and returns
// its command.
func (m *Model) routeToPage(msg tea.Msg) tea.Cmd {
	p := m.current()
	if p == nil {
		return nil
	}
	cmd := p.Update(msg)
	m.render()
	return cmd
}

// broadcast gives a message that is not input (a page's own command's
// result, a tick) to every page, since only its owner knows it.
func (m *Model) broadcast(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	for _, p := range m.pages {
		cmds = append(cmds, p.Update(msg))
	}
	m.render()
	return tea.Batch(cmds...)
}

// pageWantsEsc reports whether esc belongs to the page (it closes an inner
// level) rather than to the dashboard (back to the first page).
func pageWantsEsc(p view.View) bool {
	n, ok := p.(view.Nested)
	return ok && n.Nested()
}
