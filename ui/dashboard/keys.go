package dashboard

import "github.com/charmbracelet/bubbles/key"

// keyMap is every key the dashboard answers to on every page. The help is
// generated from it, so a binding that is disabled here disappears from
// the help too.
type keyMap struct {
	Pause    key.Binding
	Save     key.Binding
	NextView key.Binding
	PickView key.Binding
	Render   key.Binding
	Compare  key.Binding // only when no page answers to m: says why nothing happens
	Back     key.Binding
	Help     key.Binding
	Quit     key.Binding
	CtrlC    key.Binding // part of Quit; listed on its own for what a second one does
}

func newKeyMap(colorful bool) keyMap {
	k := keyMap{
		Pause: key.NewBinding(
			key.WithKeys(" ", "p"),
			key.WithHelp("space/p", "pause/resume"),
		),
		Save: key.NewBinding(
			key.WithKeys("s"),
			key.WithHelp("s", "save a checkpoint now"),
		),
		NextView: key.NewBinding(
			key.WithKeys("tab"),
			key.WithHelp("tab", "next page"),
		),
		PickView: key.NewBinding(
			key.WithKeys("1", "2", "3", "4", "5", "6", "7", "8", "9"),
			key.WithHelp("1-9", "go to page"),
		),
		Render: key.NewBinding(
			key.WithKeys("a"),
			key.WithHelp("a", "ascii/hi-res digits (every page)"),
		),
		Compare: key.NewBinding(
			key.WithKeys("m"),
			key.WithHelp("m", "compare page (only under mnist-tui compare)"),
		),
		Back: key.NewBinding(
			key.WithKeys("esc"),
			key.WithHelp("esc", "back to the dashboard"),
		),
		Help: key.NewBinding(
			key.WithKeys("?", "f1"),
			key.WithHelp("?/f1", "all keys (f1 on a page that takes every key)"),
		),
		Quit: key.NewBinding(
			key.WithKeys("q", "ctrl+c"),
			key.WithHelp("q", "stop (saves a checkpoint) and quit"),
		),
		CtrlC: key.NewBinding(
			key.WithKeys("ctrl+c"),
			key.WithHelp("ctrl+c", "stop and quit; a second one quits at once"),
		),
	}
	// Hi-res digits are drawn with colours only; without colours the
	// toggle would do nothing, so it is not offered.
	k.Render.SetEnabled(colorful)
	return k
}
