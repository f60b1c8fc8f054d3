package dashboard

import (
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"mnist-tui/engine/train"
	"mnist-tui/ui/termdraw"
)

// styles holds every style the dashboard draws with. All of them come from
// one renderer so that a single colour profile (detected, forced by a test,
// or ASCII for NO_COLOR) governs the whole screen.
type styles struct {
	profile termenv.Profile

	title   lipgloss.Style // the program name in the header
	section lipgloss.Style // panel titles
	label   lipgloss.Style // "epoch", "ETA", axis captions
	value   lipgloss.Style // the numbers next to labels
	dim     lipgloss.Style // separators and hints
	good    lipgloss.Style // right predictions, the best epoch
	bad     lipgloss.Style // wrong predictions, errors
	warn    lipgloss.Style // notes about requests in flight
	line    lipgloss.Style // the loss curve
	bars    lipgloss.Style // the error sparkline
	marker  lipgloss.Style // learning-rate change marks
	badge   lipgloss.Style // the state block; its background tells the state
	helpKey lipgloss.Style
	helpTxt lipgloss.Style
	// tabActive marks the page on screen in the tab line.
	tabActive lipgloss.Style
}

func newStyles(r *lipgloss.Renderer) styles {
	return styles{
		profile: r.ColorProfile(),
		title:   r.NewStyle().Bold(true).Foreground(termdraw.Violet),
		section: r.NewStyle().Bold(true).Foreground(termdraw.Blue),
		label:   r.NewStyle().Foreground(termdraw.Grey),
		value:   r.NewStyle().Bold(true),
		dim:     r.NewStyle().Foreground(termdraw.Dim),
		good:    r.NewStyle().Foreground(termdraw.Green),
		bad:     r.NewStyle().Foreground(termdraw.Red),
		warn:    r.NewStyle().Foreground(termdraw.Amber),
		line:    r.NewStyle().Foreground(termdraw.Cyan),
		bars:    r.NewStyle().Foreground(termdraw.Violet),
		marker:  r.NewStyle().Foreground(termdraw.Amber),
		badge:   r.NewStyle().Bold(true).Foreground(termdraw.Black),
		helpKey: r.NewStyle().Foreground(termdraw.Grey),
		helpTxt: r.NewStyle().Foreground(termdraw.Dim),

		tabActive: r.NewStyle().Bold(true).Foreground(termdraw.Violet),
	}
}

// colorful reports whether the profile can show colours at all; without
// them the hi-res digits (which are nothing but colours) make no sense.
func (s styles) colorful() bool { return s.profile != termenv.Ascii }

// stateBadge renders the run state as a coloured block. The brackets keep
// the state readable when colours are off.
func (s styles) stateBadge(st train.State, stopping bool) string {
	text := st.String()
	if stopping && st != train.Done && st != train.Failed {
		text = "STOPPING"
	}
	bg := termdraw.Grey
	switch {
	case text == "STOPPING":
		bg = termdraw.Amber
	case st == train.Loading:
		bg = termdraw.Blue
	case st == train.Running:
		bg = termdraw.Green
	case st == train.Paused:
		bg = termdraw.Amber
	case st == train.Done:
		bg = termdraw.Cyan
	case st == train.Failed:
		bg = termdraw.Red
	}
	return s.badge.Background(bg).Render("[" + text + "]")
}
