package dashboard

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"mnist-tui/engine/train"
	"mnist-tui/ui/termdraw"
)

// A sample digit is 28x28 pixels. Terminal cells are about twice as tall as
// they are wide, so two pixel rows share one text row: 28 columns x 14 rows.
const (
	imageSide  = 28
	imagePixel = imageSide * imageSide
	digitCols  = imageSide
	digitRows  = imageSide / 2
	cardGap    = 2 // columns between two sample cards
	// cardHeight is the digit plus its caption line.
	cardHeight = digitRows + 1
)

// asciiRamp goes from background to full ink.
const asciiRamp = " .:-=+*#%@"

// halfBlock is drawn with the upper pixel as foreground and the lower pixel
// as background, which gives full 28x28 resolution.
const halfBlock = "▀"

// checkImage says what is wrong with a sample image, if anything.
func checkImage(img []uint8) error {
	if len(img) != imagePixel {
		return fmt.Errorf("%d pixels, want 28x28=%d", len(img), imagePixel)
	}
	return nil
}

// digitASCII draws an image with the ASCII ramp, averaging each pair of
// pixel rows into one text row.
func digitASCII(img []uint8) ([]string, error) {
	if err := checkImage(img); err != nil {
		return nil, err
	}
	lines := make([]string, digitRows)
	var b strings.Builder
	for row := range digitRows {
		b.Reset()
		upper := img[2*row*imageSide:]
		lower := img[(2*row+1)*imageSide:]
		for col := range digitCols {
			avg := (int(upper[col]) + int(lower[col])) / 2
			b.WriteByte(asciiRamp[rampIndex(avg)])
		}
		lines[row] = b.String()
	}
	return lines, nil
}

// rampIndex maps a 0..255 grey level to the nearest ramp character.
func rampIndex(grey int) int {
	last := len(asciiRamp) - 1
	return (grey*last + 127) / 255
}

// digitHiRes draws an image with half blocks coloured by grey level. The
// escape sequences are written with termenv directly: going through
// lipgloss for each of the 392 cells would be needlessly slow.
func digitHiRes(img []uint8, profile termenv.Profile) ([]string, error) {
	if err := checkImage(img); err != nil {
		return nil, err
	}
	var greys [256]termenv.Color
	grey := func(v uint8) termenv.Color {
		if greys[v] == nil {
			greys[v] = profile.Color(fmt.Sprintf("#%02x%02x%02x", v, v, v))
		}
		return greys[v]
	}
	lines := make([]string, digitRows)
	var b strings.Builder
	for row := range digitRows {
		b.Reset()
		upper := img[2*row*imageSide:]
		lower := img[(2*row+1)*imageSide:]
		for col := range digitCols {
			cell := profile.String(halfBlock).
				Foreground(grey(upper[col])).
				Background(grey(lower[col]))
			b.WriteString(cell.String())
		}
		lines[row] = b.String()
	}
	return lines, nil
}

// className is what a class index is called in captions: the data set's
// name for it when it has one, the number otherwise.
func className(classes [10]string, i int) string {
	if i >= 0 && i < len(classes) && oneLine(classes[i]) != "" {
		return oneLine(classes[i])
	}
	return strconv.Itoa(i)
}

// confidence is Probs[Pred] as a percentage, or 0 when the prediction is
// not a class index.
func confidence(s train.Sample) float64 {
	if s.Pred < 0 || s.Pred >= len(s.Probs) {
		return 0
	}
	return 100 * float64(s.Probs[s.Pred])
}

// sampleCard draws one digit with a caption under it: the truth, the
// prediction and its confidence, green when right and red when wrong. The
// tick or cross keeps the verdict visible without colours.
func sampleCard(s train.Sample, classes [10]string, hiRes bool, st styles) string {
	var lines []string
	var err error
	if hiRes {
		lines, err = digitHiRes(s.Image, st.profile)
	} else {
		lines, err = digitASCII(s.Image)
	}
	if err != nil {
		// A malformed sample must not break the screen: say what is wrong
		// in the space the digit would have used.
		lines = make([]string, digitRows)
		lines[digitRows/2-1] = termdraw.FitWidth(fmt.Sprintf("sample #%d: bad image", s.Index), digitCols)
		lines[digitRows/2] = termdraw.FitWidth(err.Error(), digitCols)
	}
	mark, style := "✓", st.good
	if s.Pred != s.Label {
		mark, style = "✗", st.bad
	}
	caption := fmt.Sprintf("%s true %s pred %s %.1f%%", mark,
		className(classes, s.Label), className(classes, s.Pred), confidence(s))
	lines = append(lines, style.Render(termdraw.FitWidth(caption, digitCols)))
	return lipgloss.NewStyle().Width(digitCols).Render(strings.Join(lines, "\n"))
}

// samplesThatFit is how many sample cards fit side by side in width columns.
func samplesThatFit(width, have int) int {
	n := (width + cardGap) / (digitCols + cardGap)
	return max(0, min(n, have))
}

// samplesPanel draws as many sample cards as fit in width, under a title.
func samplesPanel(snap train.Snapshot, width int, hiRes bool, st styles) string {
	mode := "ascii · a: hi-res"
	if hiRes {
		mode = "hi-res · a: ascii"
	} else if !st.colorful() {
		mode = "ascii"
	}
	title := st.section.Render("samples") + st.dim.Render(" ("+mode+")")
	n := samplesThatFit(width, len(snap.Samples))
	if n == 0 {
		body := st.dim.Render("no samples yet: they appear after the first evaluation")
		return title + "\n" + body + strings.Repeat("\n", cardHeight-1)
	}
	cards := make([]string, 0, 2*n)
	for i, s := range snap.Samples[:n] {
		if i > 0 {
			cards = append(cards, strings.Repeat(" ", cardGap))
		}
		cards = append(cards, sampleCard(s, snap.Classes, hiRes, st))
	}
	return title + "\n" + lipgloss.JoinHorizontal(lipgloss.Top, cards...)
}

// samplesLine is the one-line summary shown when the window is too short
// for the digits themselves.
func samplesLine(snap train.Snapshot, width int, st styles) string {
	var b strings.Builder
	b.WriteString(st.section.Render("samples"))
	used := len("samples")
	if len(snap.Samples) == 0 {
		return b.String() + st.dim.Render(" none yet")
	}
	const hint = "  (taller window: digits)"
	for _, s := range snap.Samples {
		mark, style := "✓", st.good
		if s.Pred != s.Label {
			mark, style = "✗", st.bad
		}
		item := fmt.Sprintf(" %s%s→%s", mark, className(snap.Classes, s.Label), className(snap.Classes, s.Pred))
		if used+lipgloss.Width(item)+len(hint) > width {
			break
		}
		used += lipgloss.Width(item)
		b.WriteString(style.Render(item))
	}
	b.WriteString(st.dim.Render(hint))
	return b.String()
}
