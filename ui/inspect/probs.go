package inspect

import (
	"fmt"
	"math"
	"strings"
)

// The probability chart: the digit on the left, a bar per class on the right.
//
//	 ....        0 │                      0.0%
//	.%@@%.       1 │▍                     1.2%  truth
//	 ...         2 │███████████████████▉ 97.9%  predicted
const (
	chartGap    = 3  // columns between the digit and the bars
	minBarWidth = 10 // narrower bars cannot show a difference worth seeing
	valueW      = 7  // " 100.0%"
	markW       = 13 // "  truth, pred"
)

// eighths are the partial blocks that end a bar, so that its length is
// exact to an eighth of a cell.
var eighths = [8]string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}

// probsChart draws image with the ten class probabilities as horizontal
// bars, the truth and the prediction marked in words (and colours). It
// returns false when width x height is too small for it.
func probsChart(image []uint8, probs []float32, truth, pred int, names classNames,
	dd *digitDrawer, hiRes bool, st theme, width, height int) ([]string, bool) {
	nameW := names.widest()
	size := large
	if height < size.rows() || barWidth(width, size, nameW) < minBarWidth {
		size = small // the large digit leaves the bars too little room
	}
	if height < max(size.rows(), len(probs)) {
		return nil, false
	}
	digit, err := dd.draw(image, size, hiRes)
	if err != nil {
		digit = packWords(strings.Fields(err.Error()), size.cols())
		for i := range digit {
			digit[i] = pad(digit[i], size.cols())
		}
	}

	barW := barWidth(width, size, nameW)
	if barW < minBarWidth {
		return nil, false
	}
	lines := make([]string, max(size.rows(), len(probs)))
	for y := range lines {
		left := strings.Repeat(" ", size.cols())
		if y < len(digit) {
			left = digit[y] // exactly size.cols() wide
		}
		lines[y] = left + strings.Repeat(" ", chartGap)
		if y >= len(probs) {
			continue
		}
		style, mark := st.bar, ""
		switch {
		case y == truth && y == pred:
			style, mark = st.good, "truth, pred"
		case y == truth:
			style, mark = st.good, "truth"
		case y == pred:
			style, mark = st.bad, "predicted"
		}
		p := float64(probs[y])
		lines[y] += st.label.Render(pad(names.of(y), nameW)) + " " +
			style.Render(pad(bar(p, barW), barW)) +
			fmt.Sprintf("%*s", valueW, fmt.Sprintf("%.1f%%", 100*clamp01(p))) +
			"  " + style.Render(mark)
	}
	return lines, true
}

// bar is p (0-1) of width cells, in full and partial blocks.
func bar(p float64, width int) string {
	units := int(math.Round(clamp01(p) * float64(width) * 8))
	return strings.Repeat("█", units/8) + eighths[units%8]
}

// clamp01 keeps a probability that arithmetic pushed out of 0-1 (or a NaN
// from a diverged model) drawable.
func clamp01(p float64) float64 {
	if math.IsNaN(p) {
		return 0
	}
	return math.Max(0, math.Min(1, p))
}

// barWidth is what is left for the bars once the digit, the names, the
// values and the marks have their room.
func barWidth(width int, size digitSize, nameW int) int {
	return width - size.cols() - chartGap - nameW - len(" ") - valueW - markW
}

// probsMinSize is the least area the chart fits in: small digit, short bars.
func probsMinSize(names classNames) (width, height int) {
	return small.cols() + chartGap + names.widest() + len(" ") + minBarWidth + valueW + markW, len(names)
}
