package runsview

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/canvas/graph"
	"github.com/NimbleMarkets/ntcharts/linechart"
	"github.com/charmbracelet/lipgloss"

	"mnist-tui/engine/config"
	"mnist-tui/engine/runs"
	"mnist-tui/ui/termdraw"
)

// shownRun is a run on the chart with its look.
type shownRun struct {
	run  runs.Run
	slot int
}

// shownRuns are the selected runs in the order of their looks; with none
// selected, the run under the cursor stands in, so the chart is never idle.
func (p *Page) shownRuns() (shown []shownRun, preview bool) {
	for _, r := range p.runs {
		if slot, ok := p.slots[r.ID]; ok {
			shown = append(shown, shownRun{r, slot})
		}
	}
	sort.Slice(shown, func(i, j int) bool { return shown[i].slot < shown[j].slot })
	if len(shown) == 0 && len(p.runs) > 0 {
		return []shownRun{{p.runs[p.cursor], 0}}, true
	}
	return shown, false
}

// chart draws the title, the legend and the test accuracy of the shown runs
// per epoch in exactly height lines.
func (p *Page) chart(width, height int) string {
	st := p.st
	shown, preview := p.shownRuns()
	title := st.title.Render("test accuracy per epoch")
	if preview {
		title += st.dim.Render(" · the run under the cursor; x selects runs to overlay")
	}
	// The legend may take a few lines; the plot keeps at least four rows.
	lines := append([]string{termdraw.FitWidth(title, width)}, p.legend(shown, width, max(1, height-5))...)
	plotH := height - len(lines)

	minY, maxY, ok := accuracyRange(shown)
	if !ok {
		lines = append(lines, placeholder("no finished epoch yet", width, plotH, st))
		return strings.Join(lines, "\n")
	}
	maxX := 2.0 // a run's planned epochs, so a live curve grows to the right
	for _, s := range shown {
		maxX = max(maxX, float64(max(len(s.run.TestAcc), s.run.Epochs)))
	}
	lc := linechart.New(width, plotH, 1, maxX, minY, maxY,
		linechart.WithXYSteps(1, 2),
		linechart.WithStyles(st.dim, st.label, st.label),
		linechart.WithXLabelFormatter(epochLabel),
		linechart.WithYLabelFormatter(percentLabel(maxY-minY)),
	)
	if lc.GraphWidth() < 2 || lc.GraphHeight() < 2 {
		lines = append(lines, placeholder("too small for the chart", width, plotH, st))
		return strings.Join(lines, "\n")
	}
	// The axis labels column i with minX + i*(range/graphWidth), so the
	// last column never reaches maxX; one column more puts the last
	// epoch's number on the axis.
	ext := (maxX - 1) / float64(lc.GraphWidth()-1)
	lc.SetXRange(1, maxX+ext)
	lc.SetViewXRange(1, maxX+ext)
	lc.DrawXYAxisAndLabel()
	labelRows := map[int]bool{}
	for _, s := range shown {
		p.drawCurve(&lc, s, minY, maxY, labelRows)
	}
	lines = append(lines, termdraw.CanvasView(&lc.Canvas))
	return strings.Join(lines, "\n")
}

// drawCurve draws one run: braille lines in its colour, or, without
// colours, a line of its character. A run of one epoch would be a lone
// dot: it is drawn as a mark with its accuracy written beside it, each on
// a row of its own (labelRows are the rows taken).
func (p *Page) drawCurve(lc *linechart.Model, s shownRun, minY, maxY float64, labelRows map[int]bool) {
	style := p.st.curves[s.slot]
	var pts []canvas.Float64Point
	for e, acc := range s.run.TestAcc {
		if !math.IsNaN(acc) && !math.IsInf(acc, 0) {
			pts = append(pts, canvas.Float64Point{X: float64(e + 1), Y: acc})
		}
	}
	if len(pts) == 0 {
		return
	}
	if len(pts) == 1 {
		p.drawPoint(lc, s, pts[0], labelRows)
		return
	}
	if p.st.chars {
		mark := curves[s.slot].mark
		lc.DrawRuneWithStyle(pts[0], mark, style)
		for i := 1; i < len(pts); i++ {
			lc.DrawRuneLineWithStyle(pts[i-1], pts[i], mark, style)
		}
		return
	}
	grid := graph.NewBrailleGrid(lc.GraphWidth(), lc.GraphHeight(), lc.MinX(), lc.MaxX(), minY, maxY)
	prev := grid.GridPoint(pts[0])
	grid.Set(prev)
	for _, pt := range pts[1:] {
		next := grid.GridPoint(pt)
		for _, gp := range graph.GetLinePoints(prev, next) {
			grid.Set(gp)
		}
		prev = next
	}
	graph.DrawBraillePatterns(&lc.Canvas, canvas.Point{X: lc.Origin().X + 1, Y: 0}, grid.BraillePatterns(), style)
}

// drawPoint draws a run's single epoch as its mark and its accuracy.
func (p *Page) drawPoint(lc *linechart.Model, s shownRun, pt canvas.Float64Point, labelRows map[int]bool) {
	at := canvas.CanvasPointFromFloat64Point(lc.Origin(), lc.ScaleFloat64Point(pt))
	at.X++ // right of the y axis, as the chart draws runes
	mark := "●"
	if p.st.chars {
		mark = string(curves[s.slot].mark)
	}
	text := mark + " " + strconv.FormatFloat(pt.Y, 'f', 2, 64) + "%"
	if p.comparison != nil {
		text += " " + p.comparisonLabel(s.run)
	}
	// Close accuracies would land on one row: the later run moves to the
	// nearest free row, above or below.
	for d := 0; d < lc.GraphHeight(); d++ {
		if y := at.Y - d; y >= 0 && !labelRows[y] {
			at.Y = y
			break
		}
		if y := at.Y + d; y < lc.Origin().Y && !labelRows[y] {
			at.Y = y
			break
		}
	}
	labelRows[at.Y] = true
	lc.Canvas.SetStringWithStyle(at, text, p.st.curves[s.slot])
}

// configOf is the configuration run r trained with, as far as known:
// its comparison entry's, or its folder's config.yaml.
func (p *Page) configOf(r runs.Run) (config.Config, bool) {
	if i := slices.Index(p.compareIDs, r.ID); r.ID != "" && i >= 0 {
		return p.comparison[i].Config, true
	}
	if r.Config != nil {
		return *r.Config, true
	}
	return config.Config{}, false
}

// legendSettings are the settings that differ between the shown runs,
// as "lr 0.1 batch 32" for each: the legend tells the curves apart even
// when the ids or labels do not say how the runs differ.
func (p *Page) legendSettings(shown []shownRun) []string {
	var cfgs []config.Config
	known := make([]bool, len(shown))
	for i, s := range shown {
		if c, ok := p.configOf(s.run); ok {
			cfgs = append(cfgs, c)
			known[i] = true
		}
	}
	keys := config.Differing(cfgs)
	// A run id ends in its model; only a custom network needs its name.
	anyCustom := slices.ContainsFunc(cfgs, func(c config.Config) bool { return c.Model == config.Custom })
	byFile := p.comparison != nil && p.entryNoun() == "configuration"
	cells := make(map[string][]string, len(keys))
	for _, k := range keys {
		cells[k] = config.Cells(cfgs, k)
	}
	texts := make([]string, len(shown))
	j := 0 // shown[i]'s index in cfgs
	for i := range shown {
		if !known[i] {
			continue
		}
		var parts []string
		for _, k := range keys {
			if k == "model" && ((p.comparison != nil && !byFile) || (p.comparison == nil && !anyCustom)) {
				continue // the label or the id names the model
			}
			parts = append(parts, config.ShortKey(k)+" "+cells[k][j])
		}
		texts[i] = strings.Join(parts, " ")
		j++
	}
	return texts
}

// legend names the shown runs in their looks, with the settings that tell
// them apart and their best accuracy, in at most maxLines lines.
func (p *Page) legend(shown []shownRun, width, maxLines int) []string {
	st := p.st
	var items []string
	settings := p.legendSettings(shown)
	for i, s := range shown {
		swatch := "━━"
		if st.chars {
			swatch = strings.Repeat(string(curves[s.slot].mark), 2)
		}
		name := s.run.ID
		if p.comparison != nil {
			name = p.comparisonLabel(s.run) // the rows say which run; the legend, which entry
		}
		if settings[i] != "" {
			name += " " + settings[i]
		}
		item := st.curves[s.slot].Render(swatch) + " " + name
		if s.run.EpochsDone > 0 {
			item += st.dim.Render(" " + strconv.FormatFloat(s.run.BestAcc, 'f', 2, 64) + "%")
		}
		items = append(items, item)
	}
	var lines []string
	line := ""
	for _, item := range items {
		switch {
		case line == "":
			line = item
		case lipgloss.Width(line)+3+lipgloss.Width(item) <= width || len(lines) == maxLines-1:
			line += "   " + item
		default:
			lines = append(lines, termdraw.FitWidth(line, width))
			line = item
		}
	}
	return append(lines, termdraw.FitWidth(line, width))
}

// accuracyRange is the y extent of the shown runs' accuracies with a
// little air, within 0-100; ok is false when there is nothing to draw.
func accuracyRange(shown []shownRun) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range shown {
		for _, acc := range s.run.TestAcc {
			if math.IsNaN(acc) || math.IsInf(acc, 0) {
				continue
			}
			lo, hi = min(lo, acc), max(hi, acc)
		}
	}
	if lo > hi {
		return 0, 0, false
	}
	pad := max(0.5, 0.1*(hi-lo))
	lo, hi = max(0, lo-pad), min(100, hi+pad)
	if hi-lo < 1 {
		lo, hi = max(0, hi-1), max(1, hi)
	}
	return lo, hi, true
}

// epochLabel puts each epoch's number where that epoch begins on the axis
// (the chart hides a label equal to the one before it).
func epochLabel(_ int, x float64) string {
	return strconv.Itoa(int(math.Floor(x + 1e-9)))
}

// percentLabel shows a decimal when the range is narrow enough to need one.
func percentLabel(span float64) linechart.LabelFormatter {
	prec := 0
	if span < 5 {
		prec = 1
	}
	return func(_ int, y float64) string { return strconv.FormatFloat(y, 'f', prec, 64) }
}

// placeholder centres a note in a w x h box.
func placeholder(note string, w, h int, st styles) string {
	if h <= 0 {
		return ""
	}
	return lipgloss.Place(w, h, lipgloss.Center, lipgloss.Center, st.dim.Render(termdraw.FitWidth(note, w)))
}
