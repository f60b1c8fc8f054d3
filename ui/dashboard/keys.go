package dashboard

import "github.com/charmbracelet/bubbles/key"

// keyMap is every key the dashboard answers to. The help line is generated
// from it, so a binding that is disabled here disappears from the help too.
type keyMap struct {
	Pause    key.Binding
	Save     key.Binding
	Edit     key.Binding // hyperparameter editor: disabled until it exists
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
			key.WithHelp("s", "save checkpoint"),
		),
		// The editor is another helper's job; its binding is kept here,
		// disabled, so that enabling it is a one-line change.
		Edit: key.NewBinding(
			key.WithKeys("e"),
			key.WithHelp("e", "edit hyperparameters"),
			key.WithDisabled(),
		),
		NextView: key.NewBinding(
			key.WithKeys("tab"),
			key.WithHelp("tab", "next view"),
		),
		PickView: key.NewBinding(
			key.WithKeys("1", "2", "3", "4"),
			key.WithHelp("1-4", "go to view"),
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
			key.WithHelp("q", "stop & quit"),
		),
	}
	// Hi-res digits are drawn with colours only; without colours the
	// toggle would do nothing, so it is not offered.
	k.Render.SetEnabled(colorful)
	// With a single view, switching views would do nothing either.
	k.NextView.SetEnabled(viewCount > 1)
	k.PickView.SetEnabled(viewCount > 1)
	return k
}

// ShortHelp is the one-line hint under the status line.
func (k keyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Pause, k.Save, k.Render, k.Help, k.Quit}
}

// FullHelp is shown by `?`, grouped by what the keys act on.
func (k keyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Pause, k.Save, k.Edit},
		{k.NextView, k.PickView, k.Render},
		{k.Help, k.Quit},
	}
}
