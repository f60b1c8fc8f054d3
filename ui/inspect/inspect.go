// Package inspect holds the dashboard pages that look at what the model
// and the data are doing, image by image:
//
//   - confusion: the 10x10 confusion matrix of the latest test evaluation;
//     a cell opens the list of test images in it;
//   - mistakes: every misclassified test image, most confident first, with
//     the ten class probabilities of any one of them;
//   - data: the training set as a grid of labelled digits, page by page.
//
// Each page implements view.View and takes everything it draws from the
// trainer's snapshot, so it works the same for MNIST and Fashion-MNIST.
package inspect

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"mnist-tui/engine/train"
	"mnist-tui/ui/termdraw"
	"mnist-tui/ui/view"
)

// theme is every style the pages draw with, all from one renderer so that
// one colour profile governs them.
type theme struct {
	profile termenv.Profile
	// color is false for NO_COLOR or a terminal without colours: the pages
	// then say everything with characters.
	color bool

	title    lipgloss.Style // the line at the top of a page
	dim      lipgloss.Style // hints, zero counts
	label    lipgloss.Style // row and column headings
	good     lipgloss.Style // right predictions
	bad      lipgloss.Style // wrong predictions
	selected lipgloss.Style // the caption under the cursor
	bar      lipgloss.Style // probability bars
}

func newTheme(opts view.Options) theme {
	r := opts.Renderer
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	if opts.NoColor {
		// A renderer of its own with the ASCII profile drops every colour
		// and attribute, whatever the dashboard's renderer detected.
		r = lipgloss.NewRenderer(io.Discard)
		r.SetColorProfile(termenv.Ascii)
	}
	return theme{
		profile:  r.ColorProfile(),
		color:    r.ColorProfile() != termenv.Ascii,
		title:    r.NewStyle().Bold(true).Foreground(termdraw.Blue),
		dim:      r.NewStyle().Foreground(termdraw.Dim),
		label:    r.NewStyle().Foreground(termdraw.Grey),
		good:     r.NewStyle().Foreground(termdraw.Green),
		bad:      r.NewStyle().Foreground(termdraw.Red),
		selected: r.NewStyle().Bold(true).Foreground(termdraw.Black).Background(termdraw.Violet),
		bar:      r.NewStyle().Foreground(termdraw.Blue),
	}
}

// classNames are the ten names shown for a data set's classes. MNIST's are
// its digits; Fashion-MNIST's are "T-shirt/top", "Trouser", ...
type classNames [10]string

// namesOf takes the names from the loaded data set, falling back to the
// snapshot's copy and then to the class numbers, so a caption is never empty.
func namesOf(s train.Snapshot) classNames {
	var names classNames
	for i := range names {
		names[i] = strconv.Itoa(i)
		switch {
		case s.Data != nil && oneLine(s.Data.Info.Classes[i]) != "":
			names[i] = oneLine(s.Data.Info.Classes[i])
		case oneLine(s.Classes[i]) != "":
			names[i] = oneLine(s.Classes[i])
		}
	}
	return names
}

// of is the name of class c, or its number when c is not a class.
func (n classNames) of(c int) string {
	if c < 0 || c >= len(n) {
		return strconv.Itoa(c)
	}
	return n[c]
}

// numeric reports whether every name is just its class number (MNIST), in
// which case "3 3" would say the same thing twice.
func (n classNames) numeric() bool {
	for i, name := range n {
		if name != strconv.Itoa(i) {
			return false
		}
	}
	return true
}

// widest is the width of the longest name.
func (n classNames) widest() int {
	w := 0
	for _, name := range n {
		w = max(w, lipgloss.Width(name))
	}
	return w
}

// oneLine keeps a name on one line: a control character in a data set's
// metadata must not break the layout.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }), " ")
}

// fit cuts s, which may hold colour codes, to at most w cells, marking the
// cut with an ellipsis.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	// No character takes more cells than bytes: a short string fits
	// without being measured.
	if len(s) <= w || lipgloss.Width(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// pad fills s with spaces on the right to exactly w cells (cutting it when
// longer), so that blocks drawn side by side line up.
func pad(s string, w int) string {
	s = fit(s, w)
	return s + strings.Repeat(" ", max(0, w-lipgloss.Width(s)))
}

// block makes lines exactly height lines of at most width cells: a page
// cannot break the frame, whatever it drew.
func block(lines []string, width, height int) string {
	out := make([]string, height)
	for i := range out {
		if i < len(lines) {
			out[i] = fit(lines[i], width)
		}
	}
	return strings.Join(out, "\n")
}

// message is a page that only says something (nothing to show yet, an
// error), wrapped to the width from the top line down.
func message(text string, style lipgloss.Style, width, height int) string {
	wrapped := packWords(strings.Fields(text), width)
	for i, l := range wrapped {
		wrapped[i] = style.Render(l)
	}
	return block(wrapped, width, height)
}

// needSize is the one-line message of a page too small for its content.
func needSize(w, h, width, height int, st theme) string {
	text := fmt.Sprintf("need %dx%d (have %dx%d): enlarge the window", w, h, width, height)
	return block([]string{st.bad.Render(fit(text, width))}, width, height)
}

// percent formats a fraction of a whole as "12.3%", "0.0%" for an empty whole.
func percent(part, whole int) string {
	if whole == 0 {
		return "0.0%"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(part)/float64(whole))
}

// The pages, and the optional parts of the contract they implement.
var (
	_ view.View   = (*Confusion)(nil)
	_ view.View   = (*Mistakes)(nil)
	_ view.View   = (*Data)(nil)
	_ view.Nested = (*Confusion)(nil)
	_ view.Nested = (*Mistakes)(nil)
)

var (
	_ view.Positioned = (*Confusion)(nil)
	_ view.Positioned = (*Mistakes)(nil)
	_ view.Positioned = (*Data)(nil)
)
