package runsview

import (
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"mnist-tui/ui/termdraw"
)

// curve is how one selected run is drawn on the chart: a colour when the
// terminal has colours, a character when it has not.
type curve struct {
	color lipgloss.Color
	mark  rune
}

// curves are the looks of the selected runs, in the order they are handed
// out; the number of them caps the selection. The colours are far apart on
// the wheel, and the characters differ in shape, not just size.
var curves = [...]curve{
	{lipgloss.Color("80"), '*'},  // cyan
	{lipgloss.Color("214"), '+'}, // amber
	{lipgloss.Color("141"), 'o'}, // violet
	{lipgloss.Color("42"), 'x'},  // green
	{lipgloss.Color("203"), '#'}, // red
	{lipgloss.Color("75"), '@'},  // blue
	{lipgloss.Color("212"), '%'}, // pink
	{lipgloss.Color("226"), '&'}, // yellow
}

// maxSelected is how many runs the chart overlays at once.
const maxSelected = len(curves)

// styles holds every style of the page, all from the dashboard's renderer
// so one colour profile governs the screen.
type styles struct {
	// chars: draw curves with characters (no colours to tell them apart).
	chars bool

	title   lipgloss.Style
	label   lipgloss.Style
	value   lipgloss.Style
	dim     lipgloss.Style
	good    lipgloss.Style
	bad     lipgloss.Style
	warn    lipgloss.Style
	header  lipgloss.Style // table header cells
	cell    lipgloss.Style // table cells
	current lipgloss.Style // the table row under the cursor
	curves  [len(curves)]lipgloss.Style
}

func newStyles(r *lipgloss.Renderer, noColor bool) styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	st := styles{
		chars:   noColor || r.ColorProfile() == termenv.Ascii,
		title:   r.NewStyle().Bold(true).Foreground(termdraw.Blue),
		label:   r.NewStyle().Foreground(termdraw.Grey),
		value:   r.NewStyle().Bold(true),
		dim:     r.NewStyle().Foreground(termdraw.Dim),
		good:    r.NewStyle().Foreground(termdraw.Green),
		bad:     r.NewStyle().Foreground(termdraw.Red),
		warn:    r.NewStyle().Foreground(termdraw.Amber),
		header:  r.NewStyle().Bold(true).Foreground(termdraw.Blue).Padding(0, 1),
		cell:    r.NewStyle().Padding(0, 1),
		current: r.NewStyle().Bold(true).Foreground(termdraw.Violet),
	}
	for i, c := range curves {
		st.curves[i] = r.NewStyle().Foreground(c.color)
	}
	return st
}
