package draw

import (
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"mnist-tui/ui/termdraw"
	"mnist-tui/ui/view"
)

// styles holds what the page draws with, all from one renderer so that one
// colour profile (detected, fixed by a test, or ASCII for NO_COLOR) rules.
type styles struct {
	colour bool // false: characters only (NO_COLOR or no colours)

	section lipgloss.Style // captions
	label   lipgloss.Style
	value   lipgloss.Style
	dim     lipgloss.Style // hints, the canvas's frame, empty bar track
	top     lipgloss.Style // the top guess and its bar
	bar     lipgloss.Style // the other bars
	bad     lipgloss.Style // errors
	warn    lipgloss.Style // waiting, saving

	// Canvas cells are written as raw SGR sequences, made once here: 784
	// cells through lipgloss or termenv on every stroke would be needlessly
	// slow. Empty sequences (the ASCII profile) mean no colour.
	fgGrey, bgGrey     [256]string
	fgCursor, bgCursor string
	profile            termenv.Profile // for the saliency overlay's colours
}

func newStyles(opts view.Options) styles {
	r := opts.Renderer
	switch {
	case opts.NoColor:
		// A renderer of our own: the caller's may be shared.
		r = lipgloss.NewRenderer(io.Discard)
		r.SetColorProfile(termenv.Ascii)
	case r == nil:
		r = lipgloss.DefaultRenderer() // detects the terminal
	}
	profile := r.ColorProfile()
	st := styles{
		profile: profile,
		colour:  profile != termenv.Ascii,
		section: r.NewStyle().Bold(true).Foreground(termdraw.Blue),
		label:   r.NewStyle().Foreground(termdraw.Grey),
		value:   r.NewStyle().Bold(true),
		dim:     r.NewStyle().Foreground(termdraw.Dim),
		top:     r.NewStyle().Bold(true).Foreground(termdraw.Green),
		bar:     r.NewStyle().Foreground(termdraw.Blue),
		bad:     r.NewStyle().Foreground(termdraw.Red),
		warn:    r.NewStyle().Foreground(termdraw.Amber),
	}
	for v := range st.fgGrey {
		c := profile.Color(fmt.Sprintf("#%02x%02x%02x", v, v, v))
		st.fgGrey[v], st.bgGrey[v] = c.Sequence(false), c.Sequence(true)
	}
	amber := profile.Color(string(termdraw.Amber))
	st.fgCursor, st.bgCursor = amber.Sequence(false), amber.Sequence(true)
	return st
}

// cell writes text in the colours fg and bg (SGR sequences; "" for none).
func cell(b *strings.Builder, text, fg, bg string) {
	if fg == "" && bg == "" {
		b.WriteString(text)
		return
	}
	b.WriteString(termenv.CSI)
	b.WriteString(fg)
	if fg != "" && bg != "" {
		b.WriteByte(';')
	}
	b.WriteString(bg)
	b.WriteByte('m')
	b.WriteString(text)
	b.WriteString(termenv.CSI + termenv.ResetSeq + "m")
}
