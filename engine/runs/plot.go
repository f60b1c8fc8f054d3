package runs

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"mnist-tui/engine/atomicfile"
	"mnist-tui/engine/config"
)

// Plot sizes: a 16:10 figure that fits a slide or a report column.
const (
	plotWidth  = 16 * vg.Centimeter
	plotHeight = 10 * vg.Centimeter
	pngDPI     = 150
	// plotMargin is left free at the right and the top of a figure, so
	// that the legend's samples and the last tick label are not cut by
	// the image's edge.
	plotMargin = 3 * vg.Millimeter
)

// minPlotLoss keeps a loss of exactly zero on the log-scale loss plot.
const minPlotLoss = 1e-4

// WritePlots draws the test accuracy per epoch (accuracy.svg, accuracy.png)
// and the running training loss per log interval (loss.svg, loss.png) of the
// runs, one line per run with a legend, into dir. For one run, dir is its
// folder. Each file is replaced atomically.
func WritePlots(dir string, runs []Run) error {
	_, err := WritePlotsAs(dir, "", runs)
	return err
}

// WritePlotsAs is WritePlots with a prefix for the file names, for several
// sets of plots in one folder: "compare-20250101-120000-" gives
// compare-20250101-120000-accuracy.svg and so on. It returns the paths
// written.
func WritePlotsAs(dir, prefix string, runs []Run) ([]string, error) {
	plots := []struct {
		name  string
		build func([]Run) (*plot.Plot, error)
	}{
		{"accuracy", accuracyPlot},
		{"loss", lossPlot},
	}
	var written []string
	for _, pl := range plots {
		p, err := pl.build(runs)
		if err != nil {
			return written, fmt.Errorf("plot %s: %w", pl.name, err)
		}
		for _, format := range []string{"svg", "png"} {
			path := filepath.Join(dir, prefix+pl.name+"."+format)
			if err := writePlot(path, p, format); err != nil {
				return written, err
			}
			written = append(written, path)
		}
	}
	return written, nil
}

// writePlot draws p in memory, then replaces path with it in one step, so
// a report never picks up half an image.
func writePlot(path string, p *plot.Plot, format string) error {
	var c interface {
		vg.CanvasSizer
		io.WriterTo
	}
	switch format {
	case "svg":
		c = vgsvg.New(plotWidth, plotHeight)
	case "png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(plotWidth, plotHeight), vgimg.UseDPI(pngDPI))}
	default:
		return fmt.Errorf("plot %s: unknown format %q", path, format)
	}
	p.Draw(draw.Crop(draw.New(c), 0, -plotMargin, 0, -plotMargin))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, buf.Bytes()); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

// legendNames tell the runs of a plot apart: the network when every run
// has a different one (a comparison; a custom network by its name), else
// the run id; then the settings that differ between the runs (lr 0.1).
func legendNames(runs []Run) []string {
	labels := make([]string, len(runs))
	distinct := map[string]bool{}
	var cfgs []config.Config
	for i, r := range runs {
		labels[i] = r.Model
		if r.Config != nil {
			if r.Config.Model == r.Model {
				labels[i] = r.Config.Label()
			}
			cfgs = append(cfgs, *r.Config)
		}
		distinct[labels[i]] = true
	}
	var keys []string
	for _, k := range config.Differing(cfgs) {
		if k != "model" { // the label or the id names the network
			keys = append(keys, k)
		}
	}
	names := make([]string, len(runs))
	for i, r := range runs {
		switch {
		case len(distinct) == len(runs) && labels[i] != "":
			names[i] = labels[i]
		default:
			names[i] = r.ID
		}
		if r.Config != nil {
			for _, k := range keys {
				names[i] += " " + config.ShortKey(k) + " " + r.Config.Setting(k)
			}
		}
	}
	return names
}

// title names the data set when all runs share one.
func title(what string, runs []Run) string {
	if len(runs) == 0 {
		return what
	}
	ds := runs[0].Dataset
	for _, r := range runs[1:] {
		if r.Dataset != ds {
			return what
		}
	}
	if ds == "" {
		return what
	}
	return what + " — " + ds
}

func newPlot(titleText, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = titleText
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Add(plotter.NewGrid())
	return p
}

// accuracyPlot draws test accuracy against epoch, a marker on every epoch.
// When no run has more than one epoch, a curve would be a lone dot: the
// runs are drawn as labelled bars instead.
func accuracyPlot(runs []Run) (*plot.Plot, error) {
	most := 0
	for _, r := range runs {
		most = max(most, finiteCount(r.TestAcc))
	}
	if most == 1 {
		return oneEpochPlot(runs)
	}
	p := newPlot(title("Test accuracy", runs), "epoch", "test accuracy (%)")
	// Curves rise to the top right, so the legend goes bottom right, in
	// room made for it below the lowest curve.
	p.Legend.Top, p.Legend.Left = false, false
	p.X.Tick.Marker = epochTicks{}
	names := legendNames(runs)
	lines := 0
	for i, r := range runs {
		xys := make(plotter.XYs, 0, len(r.TestAcc))
		for e, acc := range r.TestAcc {
			if finite(acc) {
				xys = append(xys, plotter.XY{X: float64(e + 1), Y: acc})
			}
		}
		if len(xys) == 0 {
			continue
		}
		lines++
		if err := addLine(p, i, names[i], xys, true); err != nil {
			return nil, err
		}
	}
	if lines == 0 {
		p.Title.Text += " (no epoch finished)"
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 1, 2, 0, 100
		return p, nil
	}
	span := p.Y.Max - p.Y.Min
	p.Y.Min -= legendRoom(lines, span)
	p.Y.Max += 0.03 * max(span, 1) // keep the top markers inside the frame
	return p, nil
}

// legendRoom is how far to extend a value range of span so that a legend
// of n entries fits below the data: each entry takes about a fifteenth of
// the plot's height.
func legendRoom(n int, span float64) float64 {
	if span <= 0 {
		span = 1
	}
	frac := min(0.6, float64(n+1)/15)
	return span * frac / (1 - frac)
}

// lossPlot draws the running training loss of every log interval against
// the epoch on a log scale, which keeps the first steep fall and the late
// slow creep both readable.
func lossPlot(runs []Run) (*plot.Plot, error) {
	p := newPlot(title("Training loss", runs), "epoch", "running loss (log scale)")
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = logTicks{}
	p.Legend.Top = true // losses fall: the top right is empty
	names := legendNames(runs)
	points := 0
	for i, r := range runs {
		xys := make(plotter.XYs, 0, len(r.Losses))
		for _, l := range r.Losses {
			if finite(l.Loss) {
				xys = append(xys, plotter.XY{X: l.Epoch, Y: max(l.Loss, minPlotLoss)})
			}
		}
		if len(xys) == 0 {
			continue
		}
		points += len(xys)
		if err := addLine(p, i, names[i], xys, false); err != nil {
			return nil, err
		}
	}
	if points == 0 {
		p.Title.Text += " (nothing logged)"
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0.01, 10
	}
	p.Y.Min, p.Y.Max = niceBelow(p.Y.Min), niceAbove(p.Y.Max)
	if p.X.Max-p.X.Min >= 2 {
		p.X.Tick.Marker = epochTicks{}
	}
	return p, nil
}

// addLine adds one run's curve in its own colour (and dash, for print in
// black and white), with markers when the points are few enough to show.
func addLine(p *plot.Plot, i int, name string, xys plotter.XYs, markers bool) error {
	line, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	line.Color = plotutil.Color(i)
	line.Dashes = plotutil.Dashes(i)
	line.Width = vg.Points(1.5)
	p.Add(line)
	if !markers {
		p.Legend.Add(name, line)
		return nil
	}
	dots, err := plotter.NewScatter(xys)
	if err != nil {
		return err
	}
	dots.Color = plotutil.Color(i)
	dots.Shape = plotutil.Shape(i)
	p.Add(dots)
	p.Legend.Add(name, line, dots)
	return nil
}

// Log axes are labelled at 1, 2 and 5 times powers of ten, and end on
// such values, so that even a range inside one decade shows numbers.
// (gonum's own LogTicks can miss the lower decade to rounding.)
var niceMantissas = []float64{1, 2, 5}

// logTicks marks every integer multiple of a power of ten and labels the
// 1-2-5 ones.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for k := int(math.Floor(math.Log10(lo))); k <= int(math.Ceil(math.Log10(hi))); k++ {
		for m := 1; m <= 9; m++ {
			v := float64(m) * math.Pow10(k)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// niceBelow is the largest 1-2-5 value at or below v (v > 0).
func niceBelow(v float64) float64 {
	k := math.Floor(math.Log10(v))
	best := math.Pow10(int(k)-1) * 5
	for _, m := range niceMantissas {
		if c := m * math.Pow10(int(k)); c <= v*(1+1e-9) {
			best = c
		}
	}
	return best
}

// niceAbove is the smallest 1-2-5 value above v (v > 0), strictly above so
// that the axis never has zero length.
func niceAbove(v float64) float64 {
	k := math.Floor(math.Log10(v))
	for _, m := range append(niceMantissas, 10) {
		if c := m * math.Pow10(int(k)); c > v*(1+1e-9) {
			return c
		}
	}
	return 2 * math.Pow10(int(k)+1)
}

// epochTicks marks whole epochs only: "1.5" is not an epoch.
type epochTicks struct{}

func (epochTicks) Ticks(lo, hi float64) []plot.Tick {
	first, last := math.Ceil(lo), math.Floor(hi)
	step := max(1, math.Ceil((last-first+1)/10)) // at most about ten labels
	var ticks []plot.Tick
	for v := first; v <= last; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: fmt.Sprintf("%.0f", v)})
	}
	return ticks
}

// oneEpochPlot draws each run's one test accuracy as a bar, labelled with
// its value, the runs side by side under their legend names.
func oneEpochPlot(runs []Run) (*plot.Plot, error) {
	p := newPlot(title("Test accuracy after epoch 1", runs), "", "test accuracy (%)")
	names := legendNames(runs)
	var shown []string
	var labels plotter.XYLabels
	lo := 100.0
	for i, r := range runs {
		acc, ok := firstFinite(r.TestAcc)
		if !ok {
			continue
		}
		x := float64(len(shown))
		bar, err := plotter.NewBarChart(plotter.Values{acc}, vg.Centimeter)
		if err != nil {
			return nil, err
		}
		bar.XMin = x
		bar.Color = plotutil.Color(i)
		bar.LineStyle.Width = 0
		p.Add(bar)
		shown = append(shown, names[i])
		labels.XYs = append(labels.XYs, plotter.XY{X: x, Y: acc})
		labels.Labels = append(labels.Labels, fmt.Sprintf("%.2f %%", acc))
		lo = min(lo, acc)
	}
	values, err := plotter.NewLabels(labels)
	if err != nil {
		return nil, err
	}
	for i := range values.TextStyle {
		values.TextStyle[i].XAlign = draw.XCenter
		values.TextStyle[i].YAlign = draw.YBottom
	}
	p.Add(values)
	p.NominalX(shown...)
	// Bars from zero would make 97 % and 98 % look alike; from just below
	// the lowest, the differences show, and the labels give the numbers.
	p.Y.Min = max(0, math.Floor(lo-(100-lo)/2-1))
	p.Y.Max = 100
	p.X.Min, p.X.Max = -0.6, float64(len(shown))-0.4
	return p, nil
}

// finiteCount is how many of vs are numbers.
func finiteCount(vs []float64) int {
	n := 0
	for _, v := range vs {
		if finite(v) {
			n++
		}
	}
	return n
}

// firstFinite is the first of vs that is a number.
func firstFinite(vs []float64) (float64, bool) {
	for _, v := range vs {
		if finite(v) {
			return v, true
		}
	}
	return 0, false
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
