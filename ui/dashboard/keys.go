package dashboard

import "github.com/charmbracelet/bubbles/key"

// keyMap is every key the dashboard answers to. The help line is generated
// from it, so a binding that is disabled here disappears from the help too.
type keyMap struct {
	Pause    key.Binding
	Save     key.Binding
	NextView key.Binding
	PickView key.Binding
	Render   key.Binding
	Help     key.Binding
	Quit     key.Binding
}

func newKeyMap(colorful bool) keyMap {
	k := keyMap{
		Pause: key.NewBinding(
			key.WithKeys(" ", "p"),
			key.WithHelp("space/p", "pause/resume"),
		),
		Save: key.NewBinding(
			key.WithKeys("s"),
			key.WithHelp("s", "save"),
		),
		NextView: key.NewBinding(
			key.WithKeys("tab"),
			key.WithHelp("tab", "pages"),
		),
		PickView: key.NewBinding(
			key.WithKeys("1", "2", "3", "4", "5", "6", "7", "8", "9"),
			key.WithHelp("1-9", "go to page"),
		),
		Render: key.NewBinding(
			key.WithKeys("a"),
			key.WithHelp("a", "ascii/hi-res digits"),
		),
		Help: key.NewBinding(
			key.WithKeys("?"),
			key.WithHelp("?", "more keys"),
		),
		Quit: key.NewBinding(
			key.WithKeys("q", "ctrl+c"),
			key.WithHelp("q", "quit"),
		),
	}
	// Hi-res digits are drawn with colours only; without colours the
	// toggle would do nothing, so it is not offered.
	k.Render.SetEnabled(colorful)
	return k
}

// ShortHelp is the one-line hint under the status line.
func (k keyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Pause, k.Save, k.Render, k.Help, k.Quit}
}

// FullHelp is shown by `?`, grouped by what the keys act on.
func (k keyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Pause, k.Save},
		{k.NextView, k.PickView, k.Render},
		{k.Help, k.Quit},
	}
}

// helpKeys is what the help shows: the dashboard's keys, the pages'
// shortcuts, and the keys of the page on screen.
type helpKeys struct {
	base      keyMap
	shortcuts []key.Binding
	page      []key.Binding
	capturing bool // the page takes every key: show its keys and the way out
}

var (
	escBack   = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back"))
	ctrlCQuit = key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "stop & quit"))
)

func (h helpKeys) ShortHelp() []key.Binding {
	if h.capturing {
		return append(append([]key.Binding{}, h.page...), escBack, ctrlCQuit)
	}
	// The help line is cut at the terminal's edge: what must never be cut
	// (how to pause, save, quit and see the rest) comes first.
	out := []key.Binding{h.base.Pause, h.base.Save, h.base.Help, h.base.Quit}
	out = append(out, h.page...)
	out = append(out, h.base.NextView)
	out = append(out, h.shortcuts...)
	if len(h.page) == 0 {
		out = append(out, h.base.Render)
	}
	return out
}

func (h helpKeys) FullHelp() [][]key.Binding {
	groups := h.base.FullHelp()
	if len(h.shortcuts) > 0 {
		groups = append(groups, h.shortcuts)
	}
	if len(h.page) > 0 {
		groups = append(groups, append(append([]key.Binding{}, h.page...), escBack))
	}
	return groups
}
