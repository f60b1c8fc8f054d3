package dashboard

import (
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"mnist-tui/engine/train"
)

// Colours are ANSI 256 indexes rather than hex values so that 256-colour
// terminals show exactly what was chosen; true-colour terminals show the same.
const (
	colorGreen  = lipgloss.Color("42")
	colorRed    = lipgloss.Color("203")
	colorAmber  = lipgloss.Color("214")
	colorBlue   = lipgloss.Color("75")
	colorCyan   = lipgloss.Color("80")
	colorViolet = lipgloss.Color("141")
	colorGrey   = lipgloss.Color("245")
	colorDim    = lipgloss.Color("240")
	colorBlack  = lipgloss.Color("16")
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
		title:   r.NewStyle().Bold(true).Foreground(colorViolet),
		section: r.NewStyle().Bold(true).Foreground(colorBlue),
		label:   r.NewStyle().Foreground(colorGrey),
		value:   r.NewStyle().Bold(true),
		dim:     r.NewStyle().Foreground(colorDim),
		good:    r.NewStyle().Foreground(colorGreen),
		bad:     r.NewStyle().Foreground(colorRed),
		warn:    r.NewStyle().Foreground(colorAmber),
		line:    r.NewStyle().Foreground(colorCyan),
		bars:    r.NewStyle().Foreground(colorViolet),
		marker:  r.NewStyle().Foreground(colorAmber),
		badge:   r.NewStyle().Bold(true).Foreground(colorBlack),
		helpKey: r.NewStyle().Foreground(colorGrey),
		helpTxt: r.NewStyle().Foreground(colorDim),

		tabActive: r.NewStyle().Bold(true).Foreground(colorViolet),
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
	bg := colorGrey
	switch {
	case text == "STOPPING":
		bg = colorAmber
	case st == train.Loading:
		bg = colorBlue
	case st == train.Running:
		bg = colorGreen
	case st == train.Paused:
		bg = colorAmber
	case st == train.Done:
		bg = colorCyan
	case st == train.Failed:
		bg = colorRed
	}
	return s.badge.Background(bg).Render("[" + text + "]")
}
