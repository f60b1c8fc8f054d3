package runs

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot"

	"mnist-tui/engine/config"
)

func sampleRun(id, model string, accs ...float64) Run {
	r := Run{ID: id, Model: model, Dataset: "mnist", TestAcc: accs, EpochsDone: len(accs)}
	for i := range accs {
		r.Losses = append(r.Losses, LossPoint{Epoch: float64(i) + 0.5, Loss: 1 / float64(i+2)})
	}
	return r
}

func TestWritePlotsOfOneRun(t *testing.T) {
	dir := t.TempDir()
	if err := WritePlots(dir, []Run{sampleRun("20250101-100000-cnn", "cnn", 97, 98, 98.5)}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got, want := strings.Join(names, " "), "accuracy.png accuracy.svg loss.png loss.svg"; got != want {
		t.Errorf("files %q, want %q (and no temporary files left)", got, want)
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "accuracy.svg"))
	for _, want := range []string{"<svg", "Test accuracy — mnist", "cnn", "epoch"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("accuracy.svg lacks %q", want)
		}
	}
	f, err := os.Open(filepath.Join(dir, "loss.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("loss.png: %v", err)
	}
	// 16 x 10 cm at 150 dpi.
	if b := img.Bounds(); b.Dx() < 940 || b.Dx() > 950 || b.Dy() < 585 || b.Dy() > 595 {
		t.Errorf("loss.png is %dx%d, want about 945x591", b.Dx(), b.Dy())
	}
}

func TestComparisonPlotsNameTheModelsAndTakeAPrefix(t *testing.T) {
	dir := t.TempDir()
	runs := []Run{sampleRun("a", "linear", 91, 92), sampleRun("b", "cnn", 97, 98), sampleRun("c", "residual", 98, 99)}
	written, err := WritePlotsAs(dir, "compare-20250101-100000-", runs)
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 4 || filepath.Base(written[0]) != "compare-20250101-100000-accuracy.svg" {
		t.Errorf("written %v", written)
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "compare-20250101-100000-loss.svg"))
	for _, model := range []string{"linear", "cnn", "residual"} {
		if !bytes.Contains(svg, []byte(model)) {
			t.Errorf("loss legend lacks %q", model)
		}
	}
}

// Runs of one model are told apart by their ids.
func TestPlotLegendUsesIDsForTheSameModel(t *testing.T) {
	svg := drawSVGs(t, []Run{sampleRun("run-one", "cnn", 97), sampleRun("run-two", "cnn", 98)})
	if !bytes.Contains(svg, []byte("run-one")) || !bytes.Contains(svg, []byte("run-two")) {
		t.Error("legend lacks the run ids")
	}
}

// Nothing to draw, a single point, a zero loss, a non-finite value: each
// still gives a plot rather than an error or a panic.
func TestPlotsOfAwkwardRuns(t *testing.T) {
	nan := Run{ID: "nan", Model: "cnn", TestAcc: []float64{97}, Losses: []LossPoint{{Epoch: 0.3, Loss: 0}, {Epoch: 0.6, Loss: math.Inf(1)}, {Epoch: 0.9, Loss: math.NaN()}}}
	for name, runs := range map[string][]Run{
		"no runs":         nil,
		"nothing logged":  {{ID: "empty", Model: "cnn"}},
		"one point each":  {sampleRun("one", "cnn", 98)},
		"zero and inf":    {nan},
		"one decade only": {{ID: "d", Model: "cnn", TestAcc: []float64{98, 98}, Losses: []LossPoint{{Epoch: 0.5, Loss: 0.05}, {Epoch: 1, Loss: 0.04}}}},
	} {
		t.Run(name, func(t *testing.T) { drawSVGs(t, runs) })
	}
}

func TestWritePlotsIntoAMissingFolderFails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	err := WritePlots(dir, []Run{sampleRun("a", "cnn", 97)})
	if err == nil || !strings.Contains(err.Error(), "accuracy.svg") {
		t.Errorf("err %v, want one naming the file", err)
	}
}

func TestLogAxisEndsOnOneTwoFive(t *testing.T) {
	cases := []struct{ v, below, above float64 }{
		{0.2, 0.2, 0.5},
		{0.15, 0.1, 0.2},
		{0.07, 0.05, 0.1},
		{3, 2, 5},
		{10, 10, 20},
		{0.0001, 0.0001, 0.0002},
	}
	for _, c := range cases {
		if got := niceBelow(c.v); math.Abs(got-c.below) > 1e-12 {
			t.Errorf("niceBelow(%v) = %v, want %v", c.v, got, c.below)
		}
		if got := niceAbove(c.v); math.Abs(got-c.above) > 1e-12 {
			t.Errorf("niceAbove(%v) = %v, want %v", c.v, got, c.above)
		}
	}
	var labels []string
	for _, tk := range (logTicks{}).Ticks(0.05, 1) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "0.05 0.1 0.2 0.5 1" {
		t.Errorf("labels %q", got)
	}
}

// drawSVGs draws both plots as SVG only (rasterising PNGs is slow under
// the race detector) and returns them concatenated.
func drawSVGs(t *testing.T, runs []Run) []byte {
	t.Helper()
	var out []byte
	for _, build := range []func([]Run) (*plot.Plot, error){accuracyPlot, lossPlot} {
		p, err := build(runs)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "plot.svg")
		if err := writePlot(path, p, "svg"); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(path)
		out = append(out, data...)
	}
	return out
}

// Nothing is drawn in the figure's last columns: the legend's samples and
// the last tick label keep clear of the image's edge.
func TestPNGLegendsAreNotCutAtTheRight(t *testing.T) {
	dir := t.TempDir()
	long := []Run{sampleRun("20261203-053858-inception", "cnn", 97, 98, 98.5), sampleRun("20261203-053859-residual", "cnn", 96, 97, 99)}
	if err := WritePlots(dir, long); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"accuracy.png", "loss.png"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b := img.Bounds()
		for x := b.Max.X - 8; x < b.Max.X; x++ {
			for y := b.Min.Y; y < b.Max.Y; y++ {
				if r, g, bl, _ := img.At(x, y).RGBA(); r < 0xf000 || g < 0xf000 || bl < 0xf000 {
					t.Fatalf("%s: ink at (%d, %d), %d pixels from the right edge: something is cut", name, x, y, b.Max.X-x)
				}
			}
		}
	}
}

// With one epoch each, a comparison's accuracy is drawn as labelled bars,
// not as lone dots.
func TestOneEpochComparisonIsDrawnAsBars(t *testing.T) {
	dir := t.TempDir()
	runs := []Run{sampleRun("a", "linear", 91.2), sampleRun("b", "cnn", 97.4)}
	if _, err := WritePlotsAs(dir, "c-", runs); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "c-accuracy.svg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"91.20 %", "97.40 %", "linear", "cnn", "after epoch 1"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("c-accuracy.svg lacks %q", want)
		}
	}
	p, err := accuracyPlot(runs)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tick := range p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max) {
		names = append(names, tick.Label)
	}
	if strings.Join(names, ",") != "linear,cnn" {
		t.Errorf("x axis %q, want the models", names)
	}
}

// The plots' legends name a custom network by its name and add the
// settings that differ, so two runs of one model stay apart.
func TestLegendNamesShowTheSettingsThatDiffer(t *testing.T) {
	slow, fast, custom := config.Defaults(), config.Defaults(), config.Defaults()
	fast.LearningRate = 0.1
	custom.Model, custom.Name = config.Custom, "wide-bn"
	a := Run{ID: "20250101-120000-cnn", Model: "cnn", Config: &slow}
	b := Run{ID: "20250101-130000-cnn", Model: "cnn", Config: &fast}
	c := Run{ID: "20250101-140000-custom", Model: "custom", Config: &custom}
	for _, tc := range []struct {
		runs []Run
		want []string
	}{
		{[]Run{a, b}, []string{"20250101-120000-cnn lr 0.01", "20250101-130000-cnn lr 0.1"}},
		{[]Run{a, c}, []string{"cnn", "wide-bn"}},
		{[]Run{b, c}, []string{"cnn lr 0.1", "wide-bn lr 0.01"}},
		{[]Run{{ID: "x-linear", Model: "linear"}, {ID: "y-cnn", Model: "cnn"}}, []string{"linear", "cnn"}},
	} {
		if got := legendNames(tc.runs); !slices.Equal(got, tc.want) {
			t.Errorf("legendNames = %q, want %q", got, tc.want)
		}
	}
}
