package dashboard

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/canvas/graph"
	"github.com/NimbleMarkets/ntcharts/linechart"
	"github.com/charmbracelet/lipgloss"

	"mnist-tui/engine/train"
	"mnist-tui/ui/termdraw"
)

// lrKey is the HyperChange key whose changes are marked on the loss chart.
const lrKey = "learning_rate"

// minLoss keeps a loss of exactly zero (possible on a tiny interval) on the
// log-scale chart instead of at minus infinity.
const minLoss = 1e-4

// lossPoint is one log interval on the chart: x is the optimizer step, y
// the log10 of the running loss.
type lossPoint = canvas.Float64Point

// lossPoints converts log points for a log-scale chart, dropping the ones
// whose loss is not a number (a diverging run) and reporting how many.
func lossPoints(logs []train.LogPoint) (pts []lossPoint, dropped int) {
	pts = make([]lossPoint, 0, len(logs))
	for _, l := range logs {
		if math.IsNaN(l.Loss) || math.IsInf(l.Loss, 0) {
			dropped++
			continue
		}
		pts = append(pts, lossPoint{X: float64(l.Step), Y: math.Log10(max(l.Loss, minLoss))})
	}
	return pts, dropped
}

// lossRange is the chart's extent: x spans the whole planned run so the
// curve grows from left to right, y spans the data with a little air.
func lossRange(pts []lossPoint, plannedSteps int) (minX, maxX, minY, maxY float64) {
	maxX = float64(plannedSteps)
	minY, maxY = math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		maxX = max(maxX, p.X)
		minY = min(minY, p.Y)
		maxY = max(maxY, p.Y)
	}
	if maxX <= minX {
		maxX = minX + 1
	}
	pad := max(0.05, 0.05*(maxY-minY))
	return minX, maxX, minY - pad, maxY + pad
}

// lossChart draws a title line and, below it, the running loss of every log
// interval over the whole run on a log scale. A log scale keeps both the
// first steep fall (2.3 to 0.3) and the late slow creep (0.05 to 0.03)
// readable. Learning-rate changes are dotted vertical lines with a label.
func lossChart(snap train.Snapshot, w, h int, st styles) string {
	xAxis := "epoch"
	if snap.Batches <= 0 {
		xAxis = "step"
	}
	title := st.section.Render("running loss") + st.dim.Render(" log scale · x: "+xAxis+" · ") +
		st.marker.Render("┊") + st.dim.Render(" lr change")
	pts, dropped := lossPoints(snap.Logs)
	if dropped > 0 {
		title += st.bad.Render(fmt.Sprintf(" · %d non-finite skipped", dropped))
	}
	title = termdraw.FitWidth(title, w)
	chartH := h - 1
	if len(pts) == 0 || chartH < 3 {
		return title + "\n" + placeholder("waiting for the first log interval…", w, chartH, st)
	}
	// The learning rate's line takes the bottom rows when the loss keeps
	// enough of its own.
	rateRows := 0
	if len(snap.Rates.Rates) > 0 && chartH-rateLineH >= minLossRows {
		rateRows = rateLineH
		chartH -= rateRows
	}

	plannedSteps := snap.Epochs * snap.Batches
	minX, maxX, minY, maxY := lossRange(pts, plannedSteps)
	lc := linechart.New(w, chartH, minX, maxX, minY, maxY,
		linechart.WithXYSteps(1, 2),
		linechart.WithStyles(st.dim, st.label, st.line),
		linechart.WithXLabelFormatter(stepLabel(snap.Batches)),
		linechart.WithYLabelFormatter(powerOfTenLabel),
	)
	lc.DrawXYAxisAndLabel()

	origin := lc.Origin()
	graphW, graphH := lc.GraphWidth(), lc.GraphHeight()
	if graphW < 2 || graphH < 1 {
		return title + "\n" + placeholder("chart area too small", w, chartH, st)
	}
	// column maps a step to the text column the braille grid puts it in.
	column := func(step float64) int {
		frac := (step - minX) / (maxX - minX)
		sub := int(math.Round(frac * float64(2*graphW-1)))
		return origin.X + 1 + sub/2
	}

	var lrMarks []train.HyperChange
	for _, c := range snap.Changes {
		// A change outside the x range (a bogus step) has nowhere to go.
		if c.Key == lrKey && float64(c.Step) >= minX && float64(c.Step) <= maxX {
			lrMarks = append(lrMarks, c)
		}
	}
	for _, c := range lrMarks {
		x := column(float64(c.Step))
		for y := range origin.Y {
			lc.Canvas.SetCell(canvas.Point{X: x, Y: y}, canvas.NewCellWithStyle('┊', st.marker))
		}
	}

	grid := graph.NewBrailleGrid(graphW, graphH, minX, maxX, minY, maxY)
	prev := grid.GridPoint(pts[0])
	grid.Set(prev)
	for _, p := range pts[1:] {
		next := grid.GridPoint(p)
		for _, gp := range graph.GetLinePoints(prev, next) {
			grid.Set(gp)
		}
		prev = next
	}
	graph.DrawBraillePatterns(&lc.Canvas, canvas.Point{X: origin.X + 1, Y: 0}, grid.BraillePatterns(), st.line)

	// Labels go on last so the curve cannot hide them; they sit on the top
	// row, right of their mark, or left of it when that would overflow.
	for _, c := range lrMarks {
		x := column(float64(c.Step))
		label := "lr " + strconv.FormatFloat(c.New, 'g', 3, 64)
		if x+1+len(label) > w {
			x -= len(label) + 1
		}
		lc.Canvas.SetStringWithStyle(canvas.Point{X: x + 1, Y: 0}, label, st.marker)
	}
	if snap.Batches > 0 && snap.Epochs > 0 && int(maxX) == plannedSteps {
		epochLabels(&lc.Canvas, origin.Y+1, snap.Epochs, snap.Batches, w, column, st.label)
	}
	chart := title + "\n" + termdraw.CanvasView(&lc.Canvas)
	if rateRows > 0 {
		chart += "\n" + rateLine(snap.Rates, w, rateRows, origin.X, graphW, minX, maxX, st)
	}
	return chart
}

const (
	// rateLineH is the height of the learning rate's line under the loss
	// chart: 8 dots of braille from 0 to the highest rate.
	rateLineH = 2
	// minLossRows is the least height the loss chart keeps (axis and labels
	// included) before the rate's line gives way.
	minLossRows = 8
)

// shortRate writes a learning rate in at most width cells where it can:
// 0.01, or 1e-5 where 1e-05 or 0.0001 would be cut to "1e…".
func shortRate(v float64, width int) string {
	s := strconv.FormatFloat(v, 'g', 2, 64)
	if len(s) <= width {
		return s
	}
	mant, exp, ok := strings.Cut(strconv.FormatFloat(v, 'e', 0, 64), "e")
	if !ok {
		return s
	}
	sign := ""
	if exp[0] == '-' {
		sign = "-"
	}
	return mant + "e" + sign + strings.TrimLeft(exp[1:], "0")
}

// rateLine draws the learning rate of every step as a thin line, rows high,
// under the loss chart and on its x axis: the graph starts right of column
// x0 (the loss chart's y axis), graphW columns wide, from step minX to maxX.
// It rises from 0 at the bottom to a little below the top at the run's
// highest rate, which the margin gives, so that a constant rate is a flat
// line, a warmup a ramp and a schedule its curve; a live edit shows as a
// step, where the loss chart marks it.
func rateLine(tr train.RateTrace, w, rows, x0, graphW int, minX, maxX float64, st styles) string {
	top := 0.0
	for _, r := range tr.Rates {
		if !math.IsInf(r, 0) {
			top = max(top, r) // a NaN loses against any number
		}
	}
	c := canvas.New(w, rows)
	for y := range rows {
		c.SetCell(canvas.Point{X: x0, Y: y}, canvas.NewCellWithStyle('│', st.dim))
	}
	label := func(y int, text string) {
		text = termdraw.FitWidth(text, x0)
		c.SetStringWithStyle(canvas.Point{X: x0 - len([]rune(text)), Y: y}, text, st.label)
	}
	label(rows-1, "lr")
	if top <= 0 {
		return termdraw.CanvasView(&c)
	}
	label(0, shortRate(top, x0))

	// The highest rate sits one dot below the top, clear of the loss chart's
	// labels above.
	dots := float64(4 * rows)
	grid := graph.NewBrailleGrid(graphW, rows, minX, maxX, 0, top*(dots-1)/(dots-2))
	stride := max(tr.Stride, 1)
	var prev canvas.Point
	for i, r := range tr.Rates {
		x := float64(int64(i) * stride)
		if x > maxX || math.IsNaN(r) || r < 0 {
			break
		}
		p := grid.GridPoint(canvas.Float64Point{X: x, Y: min(r, top)})
		if i == 0 {
			grid.Set(p)
		} else {
			for _, gp := range graph.GetLinePoints(prev, p) {
				grid.Set(gp)
			}
		}
		prev = p
	}
	graph.DrawBraillePatterns(&c, canvas.Point{X: x0 + 1, Y: 0}, grid.BraillePatterns(), st.marker)
	return termdraw.CanvasView(&c)
}

// stepLabel labels the x axis in steps when the epoch length is unknown;
// with a known one the chart writes the epochs itself (epochLabels), so
// the chart's own labels are left blank.
func stepLabel(batches int) linechart.LabelFormatter {
	return func(_ int, step float64) string {
		if batches > 0 {
			return ""
		}
		return strconv.Itoa(int(step))
	}
}

// epochLabels writes epoch numbers on the x axis's label row: epoch k where
// it ends, as the tutorial counts and as loss.png draws it, so the axis
// starts at 0. Numbers that would touch the one before are left out, the
// last epoch's never.
func epochLabels(c *canvas.Model, row, epochs, batches, width int, column func(step float64) int, style lipgloss.Style) {
	type label struct {
		x    int
		text string
	}
	at := func(k int) label {
		text := strconv.Itoa(k)
		x := min(column(float64(k*batches)), width-len(text))
		return label{x, text}
	}
	last := at(epochs)
	free := 0
	for k := range epochs {
		l := at(k)
		if l.x < free || l.x+len(l.text) >= last.x {
			continue
		}
		c.SetStringWithStyle(canvas.Point{X: l.x, Y: row}, l.text, style)
		free = l.x + len(l.text) + 1
	}
	c.SetStringWithStyle(canvas.Point{X: last.x, Y: row}, last.text, style)
}

// powerOfTenLabel undoes the log10 of the y axis so labels read as losses.
func powerOfTenLabel(_ int, v float64) string {
	return strconv.FormatFloat(math.Pow(10, v), 'g', 2, 64)
}

// errorPanel draws the training and test error rates of each epoch as
// pairs of bars, with a title above and the latest and best accuracy
// below: h lines of width w.
//
// Accuracy sits between 95 and 100 % for most of a run, so bars of accuracy
// would all look full. The error rate (100 - accuracy) is plotted instead,
// zoomed so the bars start a little below the best epoch; the labels on the
// left give the top and the bottom of the zoomed range.
func errorPanel(history []train.EpochResult, w, h int, st styles) string {
	title := termdraw.FitWidth(st.section.Render("test █ train ▒ error %")+st.dim.Render(", lower is better"), w)
	barH := h - 3 // the title, the epoch numbers and the caption
	if len(history) == 0 || barH < 1 {
		return title + "\n" + placeholder("no finished epoch yet", w, h-1, st)
	}

	const labelW = 6 // " 2.50" and a space
	barW := w - labelW
	per := max(1, min(4, barW/len(history)))
	epochs := history
	if len(history)*per > barW {
		epochs = history[len(history)-barW/per:] // keep the latest epochs that fit
	}
	trainErrs, testErrs := make([]float64, len(epochs)), make([]float64, len(epochs))
	for i, e := range epochs {
		trainErrs[i], testErrs[i] = errorRate(e.TrainAcc), errorRate(e.TestAcc)
	}
	top, base := pairScale(trainErrs, testErrs)
	rows := pairBars(epochs, top, base, per, barW, barH, st)

	labels := make([]string, barH)
	labels[0] = fmt.Sprintf("%5.2f", top)
	if barH > 1 {
		labels[barH-1] = fmt.Sprintf("%5.2f", base)
	}
	var bars strings.Builder
	for r, row := range rows {
		bars.WriteString(st.label.Render(fmt.Sprintf("%-*s", labelW, labels[r])) + row + "\n")
	}
	bars.WriteString(st.label.Render(fmt.Sprintf("%-*s", labelW, " ep") + epochNumbers(epochs, per, barW)))

	last := history[len(history)-1]
	best := bestEpoch(history)
	caption := st.label.Render("test acc ") + st.value.Render(fmt.Sprintf("%.2f%%", last.TestAcc)) +
		st.label.Render(" · best ") + st.good.Render(fmt.Sprintf("%.2f%% (epoch %d)", history[best].TestAcc, history[best].Epoch))
	return title + "\n" + bars.String() + "\n" + termdraw.FitWidth(caption, w)
}

// epochNumbers is the line under the error bars: each epoch's number under
// its bar (the bars end at the right edge, per columns each), as many as
// fit without touching; the latest is always labelled.
func epochNumbers(epochs []train.EpochResult, per, width int) string {
	line := []rune(strings.Repeat(" ", width))
	start := width - len(epochs)*per
	put := func(i int) (from, to int) {
		label := strconv.Itoa(epochs[i].Epoch)
		from = start + i*per
		if from+len(label) > width {
			from = width - len(label)
		}
		return max(0, from), max(0, from) + len(label)
	}
	// The latest first, so that it always has its place; then the others
	// from the oldest, each when it leaves a space before the next.
	lastFrom, _ := put(len(epochs) - 1)
	free := 0
	for i := range len(epochs) - 1 {
		from, to := put(i)
		if from < free || to >= lastFrom {
			continue
		}
		copy(line[from:], []rune(strconv.Itoa(epochs[i].Epoch)))
		free = to + 1
	}
	copy(line[lastFrom:], []rune(strconv.Itoa(epochs[len(epochs)-1].Epoch)))
	return string(line)
}

// errorRate is 100 - accuracy, clamped to [0, 100] so a bogus accuracy
// cannot send the scale somewhere absurd.
func errorRate(acc float64) float64 {
	if math.IsNaN(acc) {
		return 100
	}
	return min(100, max(0, 100-acc))
}

// errorScale picks the zoomed range of the error sparkline: the top is the
// worst epoch, the base sits a quarter of the spread below the best one so
// that even the best epoch keeps a visible bar.
func errorScale(errs []float64) (top, base float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, e := range errs {
		lo, hi = min(lo, e), max(hi, e)
	}
	if hi <= lo {
		// One epoch, or all equal: nothing to zoom into.
		return max(hi, 0.01), 0
	}
	return hi, max(0, lo-(hi-lo)/4)
}

// bestEpoch is the index of the highest test accuracy, the earliest on a tie.
func bestEpoch(history []train.EpochResult) int {
	best := 0
	for i, e := range history {
		if e.TestAcc > history[best].TestAcc {
			best = i
		}
	}
	return best
}

// placeholder fills h lines of width w with a dim, centred note.
func placeholder(note string, w, h int, st styles) string {
	if h <= 0 {
		return ""
	}
	return lipgloss.Place(w, h, lipgloss.Center, lipgloss.Center, st.dim.Render(termdraw.FitWidth(note, w)))
}
