package dashboard

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"mnist-tui/engine/config"
	"mnist-tui/engine/train"
)

func nan() float64 { return math.NaN() }

// verticalBar is a 28x28 image with one full-ink column.
func verticalBar(col int) []uint8 {
	img := make([]uint8, imagePixel)
	for y := range imageSide {
		img[y*imageSide+col] = 255
	}
	return img
}

func TestDigitASCII(t *testing.T) {
	lines, err := digitASCII(verticalBar(14))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != digitRows {
		t.Fatalf("%d lines, want %d", len(lines), digitRows)
	}
	for i, l := range lines {
		want := strings.Repeat(" ", 14) + "@" + strings.Repeat(" ", 13)
		if l != want {
			t.Errorf("line %d = %q, want %q", i, l, want)
		}
	}

	// Two pixel rows share a text row: ink in only one of them is drawn
	// as half ink, neither blank nor full.
	img := make([]uint8, imagePixel)
	for x := range imageSide {
		img[x] = 255 // row 0 inked, row 1 blank
	}
	lines, _ = digitASCII(img)
	if c := lines[0][0]; c == ' ' || c == '@' {
		t.Errorf("half-inked pair drawn as %q, want a middle shade", c)
	}
	if strings.TrimSpace(strings.Join(lines[1:], "")) != "" {
		t.Error("ink leaked into other rows")
	}
}

func TestRampCoversBlankToFullInk(t *testing.T) {
	if asciiRamp[rampIndex(0)] != ' ' || asciiRamp[rampIndex(255)] != '@' {
		t.Errorf("ramp ends: %q %q", asciiRamp[rampIndex(0)], asciiRamp[rampIndex(255)])
	}
	prev := 0
	for g := range 256 {
		i := rampIndex(g)
		if i < prev {
			t.Fatalf("ramp index goes down at grey %d", g)
		}
		prev = i
	}
}

func TestDigitHiRes(t *testing.T) {
	// Without colours a half block carries no information: plain blocks.
	lines, err := digitHiRes(verticalBar(3), termenv.Ascii)
	if err != nil {
		t.Fatal(err)
	}
	if lines[0] != strings.Repeat(halfBlock, digitCols) {
		t.Errorf("ascii profile line = %q", lines[0])
	}

	lines, _ = digitHiRes(verticalBar(3), termenv.ANSI256)
	for i, l := range lines {
		if w := ansi.StringWidth(l); w != digitCols {
			t.Errorf("line %d is %d columns, want %d", i, w, digitCols)
		}
		if strings.Count(l, halfBlock) != digitCols {
			t.Errorf("line %d has %d half blocks", i, strings.Count(l, halfBlock))
		}
	}
	// The inked column gets a different colour from the background.
	cells := strings.Split(lines[0], halfBlock)
	if cells[3] == cells[0] {
		t.Errorf("inked pixel coloured like the background: %q", cells[3])
	}
}

func TestMalformedSampleIsDescribed(t *testing.T) {
	st := newStyles(colorRenderer(termenv.Ascii))
	card := sampleCard(train.Sample{Index: 42, Image: make([]uint8, 10), Label: 3, Pred: 12}, [10]string{}, false, st)
	if !strings.Contains(card, "sample #42: bad image") || !strings.Contains(card, "10 pixels, want 28x28=784") {
		t.Errorf("card does not explain the bad image:\n%s", card)
	}
	if !strings.Contains(card, "✗ true 3 pred 12 0.0%") {
		t.Errorf("caption with an out-of-range prediction:\n%s", card)
	}
}

func TestCaptionUsesClassNamesAndConfidence(t *testing.T) {
	st := newStyles(colorRenderer(termenv.Ascii))
	var classes [10]string
	classes[9] = "ankle boot"
	var probs [10]float32
	probs[9] = 0.875
	card := sampleCard(train.Sample{Image: make([]uint8, imagePixel), Label: 9, Pred: 9, Probs: probs}, classes, false, st)
	if !strings.Contains(card, "✓ true ankle boot pred ankl…") {
		t.Errorf("caption not using class names (cut to 28 columns):\n%s", lastLines(card, 1))
	}
	probs[9], probs[4] = 0.1, 0.5
	card = sampleCard(train.Sample{Image: make([]uint8, imagePixel), Label: 9, Pred: 4, Probs: probs}, [10]string{}, false, st)
	if !strings.Contains(card, "✗ true 9 pred 4 50.0%") {
		t.Errorf("wrong prediction caption:\n%s", lastLines(card, 1))
	}
}

func TestSamplesThatFit(t *testing.T) {
	for _, c := range []struct{ width, have, want int }{
		{120, 8, 4}, {80, 8, 2}, {57, 8, 1}, {58, 8, 2}, {200, 3, 3}, {20, 8, 0},
	} {
		if got := samplesThatFit(c.width, c.have); got != c.want {
			t.Errorf("samplesThatFit(%d, %d) = %d, want %d", c.width, c.have, got, c.want)
		}
	}
}

func TestLossPointsSkipNonFiniteAndClampZero(t *testing.T) {
	pts, dropped := lossPoints([]train.LogPoint{
		{Step: 10, Loss: 2.3}, {Step: 20, Loss: nan()}, {Step: 30, Loss: math.Inf(1)}, {Step: 40, Loss: 0},
	})
	if dropped != 2 || len(pts) != 2 {
		t.Fatalf("kept %d, dropped %d; want 2 and 2", len(pts), dropped)
	}
	if pts[0].X != 10 || math.Abs(pts[0].Y-math.Log10(2.3)) > 1e-12 {
		t.Errorf("first point %+v", pts[0])
	}
	if pts[1].Y != math.Log10(minLoss) {
		t.Errorf("zero loss plotted at %v, want log10(%v)", pts[1].Y, minLoss)
	}
}

func TestLossRangeSpansThePlannedRun(t *testing.T) {
	pts := []lossPoint{{X: 10, Y: 0.3}, {X: 50, Y: -1}}
	minX, maxX, minY, maxY := lossRange(pts, 1000)
	if minX != 0 || maxX != 1000 {
		t.Errorf("x range %v..%v, want 0..1000", minX, maxX)
	}
	if !(minY < -1 && maxY > 0.3) {
		t.Errorf("y range %v..%v does not contain the data with a margin", minY, maxY)
	}
	// A run that went past its plan (epochs raised live) still fits.
	if _, maxX, _, _ = lossRange(pts, 20); maxX != 50 {
		t.Errorf("maxX = %v, want the last step 50", maxX)
	}
}

// Epoch k is labelled where it ends, as in loss.png and the tutorial: 0 at
// the axis's start, 10 at its end.
func TestLossAxisLabelsEpochsWhereTheyEnd(t *testing.T) {
	s := midRun() // 10 epochs of 100 batches
	st := newStyles(colorRenderer(termenv.Ascii))
	chart := strings.Split(lossChart(s, 70, 18, st), "\n")
	at := slices.IndexFunc(chart, func(l string) bool { return strings.ContainsRune(l, '└') })
	if at < 0 || at+1 >= len(chart) {
		t.Fatalf("no x axis with labels under it:\n%s", strings.Join(chart, "\n"))
	}
	axis, labels := chart[at], chart[at+1]
	start := strings.IndexRune(axis, '└') // in bytes: the axis line is drawn with 3-byte runes
	start = len([]rune(axis[:start]))
	fields := strings.Fields(labels)
	if fields[0] != "0" || fields[len(fields)-1] != "10" || len(fields) < 6 {
		t.Fatalf("labels %q, want 0 first and 10 last", labels)
	}
	zero := strings.Index(labels, " 0 ") + 1
	end := strings.LastIndex(labels, "10")
	if zero != start+1 || end < 70-3 {
		t.Errorf("0 at column %d (axis starts at %d), 10 at %d of 70:\n%s\n%s", zero, start, end, axis, labels)
	}
	// Each label k sits a k-tenth of the way along.
	for _, k := range fields[1 : len(fields)-1] {
		n, _ := strconv.Atoi(k)
		col := strings.Index(labels, " "+k+" ") + 1
		want := zero + n*(end-zero)/10
		if col < want-2 || col > want+2 {
			t.Errorf("epoch %s labelled at column %d, want about %d:\n%s", k, col, want, labels)
		}
	}
	if got := stepLabel(0)(0, 1234); got != "1234" {
		t.Errorf("without epoch length, step 1234 labelled %q", got)
	}
}

func TestPowerOfTenLabelReadsAsLoss(t *testing.T) {
	for v, want := range map[float64]string{0: "1", 1: "10", -1: "0.1", math.Log10(2.3): "2.3"} {
		if got := powerOfTenLabel(0, v); got != want {
			t.Errorf("powerOfTenLabel(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestLossChartMarksLearningRateChanges(t *testing.T) {
	s := midRun()
	s.Changes = append(s.Changes,
		train.HyperChange{Step: 200, Key: lrKey, Old: 0.01, New: 0.005},
		train.HyperChange{Step: 250, Key: "momentum", Old: 0.5, New: 0.9})
	st := newStyles(colorRenderer(termenv.Ascii))
	chart := lossChart(s, 70, 18, st)
	if !strings.Contains(chart, "lr 0.005") {
		t.Errorf("no label for the lr change:\n%s", chart)
	}
	if strings.Contains(chart, "lr 0.9") {
		t.Errorf("a momentum change was marked on the loss chart:\n%s", chart)
	}
	marks := 0
	for _, l := range strings.Split(chart, "\n")[1:] {
		marks += strings.Count(l, "┊")
	}
	if marks < 10 {
		t.Errorf("lr change drawn as %d marks, want a vertical line", marks)
	}
	checkFits(t, chart, 70, 18)
}

func TestLossChartWaitsForData(t *testing.T) {
	st := newStyles(colorRenderer(termenv.Ascii))
	chart := lossChart(train.Snapshot{}, 50, 10, st)
	if !strings.Contains(chart, "waiting for the first log interval") {
		t.Errorf("empty chart:\n%s", chart)
	}
	checkFits(t, chart, 50, 10)
}

func TestErrorScaleZoomsBelowTheBestEpoch(t *testing.T) {
	top, base := errorScale([]float64{3, 1.2, 1.0})
	if top != 3 {
		t.Errorf("top = %v, want the worst error 3", top)
	}
	if !(base > 0 && base < 1.0) {
		t.Errorf("base = %v, want between 0 and the best error", base)
	}
	if top, base = errorScale([]float64{1.5}); top != 1.5 || base != 0 {
		t.Errorf("single epoch: %v..%v, want 0..1.5", base, top)
	}
	if top, base = errorScale([]float64{0}); top <= base {
		t.Errorf("perfect epoch: empty range %v..%v", base, top)
	}
}

func TestErrorPanel(t *testing.T) {
	st := newStyles(colorRenderer(termenv.Ascii))
	h := []train.EpochResult{{Epoch: 1, TestAcc: 97}, {Epoch: 2, TestAcc: 98.9}, {Epoch: 3, TestAcc: 98.5}}
	panel := errorPanel(h, 40, errorH, st)
	checkFits(t, panel, 40, errorH)
	for _, want := range []string{" 3.00", "test acc 98.50%", "best 98.90% (epoch 2)"} {
		if !strings.Contains(panel, want) {
			t.Errorf("panel lacks %q:\n%s", want, panel)
		}
	}
	if !strings.Contains(errorPanel(nil, 40, errorH, st), "no finished epoch yet") {
		t.Error("empty history not explained")
	}
}

func TestVisibleEpochsKeepLatestAndBest(t *testing.T) {
	h := make([]train.EpochResult, 10)
	for i := range h {
		h[i] = train.EpochResult{Epoch: i + 1, TestAcc: 98 + float64(i)/10}
	}
	h[1].TestAcc = 99.9 // the best is old
	got, hidden := visibleEpochs(h, 4)
	// One row says how many are left out: the best and the two latest.
	want := []int{1, 8, 9}
	if !slices.Equal(got, want) || hidden != 7 {
		t.Fatalf("visibleEpochs = %v, %d hidden; want %v, 7 hidden", got, hidden, want)
	}
	if got, hidden := visibleEpochs(h[:3], 4); len(got) != 3 || hidden != 0 {
		t.Errorf("short history: %v, %d hidden", got, hidden)
	}
}

// After more epochs than the table has rows, it says how many are hidden.
func TestEpochTableSaysHowManyEpochsAreHidden(t *testing.T) {
	st := newStyles(colorRenderer(termenv.Ascii))
	h := make([]train.EpochResult, 12)
	for i := range h {
		h[i] = train.EpochResult{Epoch: i + 1, TestAcc: 98 + float64(i)/10}
	}
	table := epochTable(h, 10, st) // 8 rows under the header
	if !strings.Contains(table, "↑") || !strings.Contains(table, "5 earlier") {
		t.Errorf("no hint of the 5 hidden epochs:\n%s", table)
	}
	if !strings.Contains(table, " 12 ") || strings.Contains(table, "  5    ") {
		t.Errorf("want the latest 7 epochs (6-12):\n%s", table)
	}
}

// Each test-error bar has its epoch's number under it.
func TestErrorBarsAreLabelledWithTheirEpochs(t *testing.T) {
	st := newStyles(colorRenderer(termenv.Ascii))
	h := make([]train.EpochResult, 10)
	for i := range h {
		h[i] = train.EpochResult{Epoch: i + 1, TestAcc: 97 + float64(i)/5}
	}
	panel := errorPanel(h, 40, errorH, st)
	checkFits(t, panel, 40, errorH)
	numbers := strings.Fields(strings.Split(panel, "\n")[errorH-2])
	if strings.Join(numbers, " ") != "ep 1 2 3 4 5 6 7 8 9 10" {
		t.Errorf("epoch numbers %q under the bars:\n%s", numbers, panel)
	}
	// Narrow bars: not every number fits, the latest always does.
	many := make([]train.EpochResult, 30)
	for i := range many {
		many[i] = train.EpochResult{Epoch: i + 1, TestAcc: 97 + float64(i)/30}
	}
	line := strings.Split(errorPanel(many, 40, errorH, st), "\n")[errorH-2]
	if !strings.HasSuffix(strings.TrimRight(line, " "), "30") || !strings.Contains(line, " 1 ") {
		t.Errorf("30 epochs in 34 columns: %q", line)
	}
}

func TestEpochTableMarksTheBestEpoch(t *testing.T) {
	st := newStyles(colorRenderer(termenv.Ascii))
	h := []train.EpochResult{
		{Epoch: 1, TrainLoss: 0.31, TrainAcc: 90, TestAcc: 97.1, Seconds: 12},
		{Epoch: 2, TrainLoss: 0.12, TrainAcc: 96, TestAcc: 98.4, Seconds: 11},
		{Epoch: 3, TrainLoss: 0.09, TrainAcc: 97, TestAcc: 98.2, Seconds: 11},
	}
	table := epochTable(h, 8, st)
	lines := strings.Split(table, "\n")
	if len(lines) != 8 {
		t.Fatalf("table has %d lines, want 8:\n%s", len(lines), table)
	}
	for _, l := range lines {
		if strings.Contains(l, "best") != strings.HasPrefix(strings.TrimSpace(l), "2 ") {
			t.Errorf("best mark on the wrong row: %q", l)
		}
	}
}

func TestBestEpochPrefersTheEarliestTie(t *testing.T) {
	h := []train.EpochResult{{TestAcc: 98}, {TestAcc: 99}, {TestAcc: 99}}
	if got := bestEpoch(h); got != 1 {
		t.Errorf("bestEpoch = %d, want 1", got)
	}
}

func TestFormatting(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 21840: "21,840", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := groupThousands(n); got != want {
			t.Errorf("groupThousands(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[string]string{"0s": "–", "59.6s": "1m00s", "83s": "1m23s", "3723s": "1h02m03s"} {
		if got := formatDuration(mustDuration(t, d)); got != want {
			t.Errorf("formatDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

func mustDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A custom network is named in the header by its name, or as custom.
func TestHeaderNamesACustomNetwork(t *testing.T) {
	st := newStyles(colorRenderer(termenv.Ascii))
	snap := train.Snapshot{Model: config.Custom, Params: 1234, Dataset: "mnist"}
	snap.Config.Model, snap.Config.Name = config.Custom, "wide-bn"
	if got := ansi.Strip(headerLines(snap, "mnist-tui", false, 100, st)); !strings.Contains(got, "mnist-tui · wide-bn · 1,234 params") {
		t.Errorf("header %q, want the network's name", got)
	}
	snap.Config.Name = ""
	if got := ansi.Strip(headerLines(snap, "mnist-tui", false, 100, st)); !strings.Contains(got, "mnist-tui · custom · 1,234 params") {
		t.Errorf("header %q, want custom", got)
	}
}

// The learning rate of every step is a thin line under the loss chart, on its x axis: the
// synthetic run's 0.01 until its live change to 0.005 at step 500 is a high flat line that
// steps down where the change is marked, and the margin gives the highest rate.
func TestLossChartDrawsTheRateLine(t *testing.T) {
	run := newSyntheticRun(10, 100, 10) // lr halved at step 500, the start of epoch 6
	s := run.start()
	run.advance(&s, 650)
	if s.Rates.Next() != s.Step {
		t.Fatalf("the synthetic run traced rates up to step %d, it is at %d", s.Rates.Next(), s.Step)
	}
	st := newStyles(colorRenderer(termenv.Ascii))
	const w, h = 70, 18
	chart := lossChart(s, w, h, st)
	checkFits(t, chart, w, h)
	lines := strings.Split(chart, "\n")
	axis := slices.IndexFunc(lines, func(l string) bool { return strings.ContainsRune(l, '└') })
	if axis != len(lines)-2-rateLineH {
		t.Fatalf("x axis on line %d of %d, want %d rows of rate line under its labels:\n%s", axis, len(lines), rateLineH, chart)
	}
	high, low := []rune(lines[len(lines)-2]), []rune(lines[len(lines)-1])
	origin := slices.Index([]rune(lines[axis]), '└')
	if high[origin] != '│' || low[origin] != '│' || !strings.HasSuffix(strings.TrimSpace(string(high[:origin])), "0.01") ||
		strings.TrimSpace(string(low[:origin])) != "lr" {
		t.Errorf("the rate line's margin is %q / %q, want 0.01 over lr beside an axis at column %d", string(high[:origin+1]), string(low[:origin+1]), origin)
	}
	// Where each row has dots: the high row from the axis to the change, the low one after it.
	span := func(row []rune) (first, last int) {
		first, last = -1, -1
		for x, r := range row[origin+1:] {
			if r >= 0x2801 && r <= 0x28ff {
				if first < 0 {
					first = x
				}
				last = x
			}
		}
		return first, last
	}
	graphW := w - origin - 1
	change, now := graphW*500/1000, graphW*650/1000
	hiFirst, hiLast := span(high)
	loFirst, loLast := span(low)
	if hiFirst != 0 || hiLast < change-1 || hiLast > change+1 || loFirst < change-1 || loLast < now-1 || loLast > now+1 {
		t.Errorf("high row's dots at %d-%d, low row's at %d-%d; want 0-%d and %d-%d:\n%s\n%s",
			hiFirst, hiLast, loFirst, loLast, change, change, now, string(high), string(low))
	}

	// No rates, no line; too little height, no line either.
	s.Rates = train.RateTrace{}
	if got := lossChart(s, w, h, st); strings.Contains(got, "lr│") || strings.Count(got, "\n") != h-1 {
		t.Errorf("without rates the chart still draws a rate line, or is not %d lines:\n%s", h, got)
	}
	short := midRun()
	small := lossChart(short, w, minLossRows+rateLineH, st)
	checkFits(t, small, w, minLossRows+rateLineH)
	if strings.Contains(small, "lr│") {
		t.Errorf("a chart of %d lines gives the rate line rows it needs for the loss:\n%s", minLossRows+rateLineH, small)
	}
}

// The rate line's margin names the highest rate in the cells it has.
func TestShortRate(t *testing.T) {
	for _, c := range []struct {
		v     float64
		width int
		want  string
	}{{0.01, 4, "0.01"}, {1e-5, 4, "1e-5"}, {1e-4, 4, "1e-4"}, {0.0003, 5, "3e-4"}, {2.5e-5, 8, "2.5e-05"}, {0.1, 3, "0.1"}, {12, 4, "12"}} {
		if got := shortRate(c.v, c.width); got != c.want {
			t.Errorf("shortRate(%g, %d) = %q, want %q", c.v, c.width, got, c.want)
		}
	}
}
