package inspect

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"mnist-tui/dataset"
	"mnist-tui/engine/config"
	"mnist-tui/engine/train"
	"mnist-tui/ui/view"
)

// matrixRows reads the ten rows of a drawn confusion matrix back into
// counts: a row starts with its label, then ten counts (the selected one
// between brackets), then the accuracy.
func matrixRows(t *testing.T, drawn string, c *Confusion) (Matrix, [10]string, [2]int) {
	t.Helper()
	var m Matrix
	var acc [10]string
	selected := [2]int{-1, -1}
	ls := lines(drawn)
	for r := range 10 {
		label := c.rowLabel(r)
		i := slices.IndexFunc(ls, func(l string) bool { return strings.HasPrefix(l, label+" ") })
		if i < 0 {
			t.Fatalf("no row %q in\n%s", label, drawn)
		}
		fields := strings.Fields(strings.TrimPrefix(ls[i], label))
		if len(fields) != 11 {
			t.Fatalf("row %q has %d fields, want 10 counts and the accuracy: %q", label, len(fields), ls[i])
		}
		for p, f := range fields[:10] {
			if strings.HasPrefix(f, "[") {
				selected = [2]int{r, p}
				f = strings.Trim(f, "[]")
			}
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("row %q, column %d: %q is not a count", label, p, f)
			}
			m[r][p] = n
		}
		acc[r] = fields[10]
	}
	return m, acc, selected
}

func TestConfusionPageDrawsTheHandCountedMatrix(t *testing.T) {
	for _, info := range []dataset.Info{mnistInfo(t), fashionInfo(t)} {
		t.Run(info.Name, func(t *testing.T) {
			c := NewConfusion(noColor())
			c.SetSnapshot(handSnapshot(info))
			m, acc, selected := matrixRows(t, c.Render(100, 20), c)
			if m != handMatrix() {
				t.Errorf("drawn matrix\n%v\nwant\n%v", m, handMatrix())
			}
			// Row accuracies by hand: class 0 has 2 of 3 right, class 2 3
			// of 4, class 3 none of 1, class 5 no images at all.
			for r, want := range map[int]string{0: "66.7%", 1: "100.0%", 2: "75.0%", 3: "0.0%", 5: "0.0%", 9: "50.0%"} {
				if acc[r] != want {
					t.Errorf("row %d accuracy %s, want %s", r, acc[r], want)
				}
			}
			if selected != [2]int{0, 0} {
				t.Errorf("selected cell %v, want [0 0]", selected)
			}
		})
	}
}

func TestConfusionShowsFashionClassNames(t *testing.T) {
	c := NewConfusion(noColor())
	c.SetSnapshot(handSnapshot(fashionInfo(t)))
	send(c, "down", "down", "down", "right", "right", "right", "right", "right")
	out := c.Render(100, 20)
	for _, want := range []string{"0 T-shirt/top", "9 Ankle boot", "truth Dress, predicted Sandal: 1 of 1 images (100.0%)"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

func TestConfusionCellOpensItsImages(t *testing.T) {
	c := NewConfusion(noColor())
	c.SetSnapshot(handSnapshot(mnistInfo(t)))
	send(c, "up", "left") // already in the corner: nothing moves
	send(c, "down", "down", "right", "right", "right", "right", "right", "right", "right")
	if out := c.Render(100, 20); !strings.Contains(out, "truth 2, predicted 7: 1 of 4 images (25.0%)") {
		t.Fatalf("selection line missing in\n%s", out)
	}
	if c.Nested() {
		t.Error("nested before anything is open")
	}

	send(c, "enter")
	if !c.Nested() {
		t.Error("the list is open but esc would leave the page")
	}
	out := c.Render(100, 20)
	if !strings.Contains(out, "truth 2, predicted 7 · 1-1 of 1") {
		t.Errorf("list title missing in\n%s", out)
	}

	send(c, "enter")
	if out := c.Render(100, 20); !strings.Contains(out, "test image #6 truth 2, predicted 7 with 91.0%") {
		t.Errorf("probabilities of image 6 missing in\n%s", out)
	}
	send(c, "esc")
	if out := c.Render(100, 20); !c.Nested() || !strings.Contains(out, "1-1 of 1") {
		t.Errorf("esc in the chart should go back to the list:\n%s", out)
	}
	send(c, "esc")
	if out := c.Render(100, 20); c.Nested() || !strings.Contains(out, "confusion matrix") {
		t.Errorf("esc in the list should go back to the matrix:\n%s", out)
	}
}

func TestMistakesPage(t *testing.T) {
	m := NewMistakes(noColor())
	m.SetSnapshot(handSnapshot(mnistInfo(t)))
	out := m.Render(120, 40)
	if !strings.Contains(out, "mistakes: 4 of 12 (33.3%) · most confident first · 1-4 of 4") {
		t.Errorf("title missing in\n%s", out)
	}
	// Cards in order of confidence: 2→7 and 9→4 at 91%, 0→1 at 60%, 3→5 at 55%.
	captions := []string{"2 →7 91.0%", "9 →4 91.0%", "0 →1 60.0%", "3 →5 55.0%"}
	last := -1
	for _, c := range captions {
		i := strings.Index(out, c)
		if i < last {
			t.Errorf("caption %q missing or out of order in\n%s", c, out)
		}
		last = i
	}

	send(m, "enter")
	out = m.Render(120, 40)
	if !m.Nested() || !strings.Contains(out, "test image #6 truth 2, predicted 7 with 91.0% · 1 of 4") {
		t.Fatalf("enter should open the probabilities of image 6:\n%s", out)
	}
	// 120 columns leave 120-28-3-1-1-7-13 = 67 for the bars; 91% of 67
	// cells is 60.97: 61 full blocks.
	predicted := lineWith(t, out, "%  predicted")
	if n := strings.Count(predicted, "█"); n != 61 {
		t.Errorf("predicted bar has %d full blocks, want 61: %q", n, predicted)
	}
	if truth := lineWith(t, out, "%  truth"); strings.Count(truth, "█") >= 61 {
		t.Errorf("the truth's bar is as long as the prediction's: %q", truth)
	}

	send(m, "o") // no effect with the chart open
	send(m, "right")
	if out := m.Render(120, 40); !strings.Contains(out, "test image #11") {
		t.Errorf("right in the chart should show the next mistake, image 11:\n%s", out)
	}
	send(m, "esc", "o")
	out = m.Render(120, 40)
	if !strings.Contains(out, "least confident first") || strings.Index(out, "3 →5 55.0%") > strings.Index(out, "2 →7 91.0%") {
		t.Errorf("o should put the least confident first:\n%s", out)
	}
	send(m, "enter")
	if out := m.Render(120, 40); !strings.Contains(out, "test image #9") {
		t.Errorf("the cursor should be back on the first card, image 9:\n%s", out)
	}
}

// lineWith is the line of s holding sub.
func lineWith(t *testing.T, s, sub string) string {
	t.Helper()
	for _, l := range lines(s) {
		if strings.Contains(l, sub) {
			return l
		}
	}
	t.Fatalf("no line with %q in\n%s", sub, s)
	return ""
}

// On a narrow screen the title gives way, never the position in the list.
func TestMistakesTitleKeepsThePositionWhenNarrow(t *testing.T) {
	m := NewMistakes(noColor())
	m.SetSnapshot(handSnapshot(mnistInfo(t)))
	head := strings.SplitN(m.Render(56, 40), "\n", 2)[0]
	if !strings.Contains(head, "1-4 of 4") || !strings.Contains(head, "most confident first") {
		t.Errorf("title at 56 columns: %q; want the order and the position whole", head)
	}
}

func TestMistakesCursorFollowsItsImageToANewEvaluation(t *testing.T) {
	m := NewMistakes(noColor())
	s := handSnapshot(mnistInfo(t))
	m.SetSnapshot(s)
	send(m, "right", "right", "enter") // image 2, third most confident
	// The next epoch: image 2 is now the most confident mistake.
	conf := slices.Clone(handConf)
	conf[2] = 0.999
	s.Eval = evaluate(handLabels, handPreds, conf)
	m.SetSnapshot(s)
	if out := m.Render(120, 40); !strings.Contains(out, "test image #2") || !strings.Contains(out, "1 of 4") {
		t.Errorf("the chart should still show image 2, now first:\n%s", out)
	}
	// An evaluation without mistakes closes the chart.
	s.Eval = evaluate(handLabels, handLabels, handConf)
	m.SetSnapshot(s)
	if out := m.Render(120, 40); m.Nested() || !strings.Contains(out, "mistakes: 0 of 12") {
		t.Errorf("no mistakes left, yet:\n%s", out)
	}
}

func TestDataPageTurnsPages(t *testing.T) {
	d := NewData(noColor())
	d.SetSnapshot(handSnapshot(fashionInfo(t)))
	out := d.Render(120, 40)
	// 120 columns hold four 30-column slots, 39 rows two 15-row cards.
	if !strings.Contains(out, "training set · fashion-mnist · 1-8 of 60 · page 1/8") {
		t.Fatalf("title missing in\n%s", out)
	}
	// Labels are i*7 mod 10: 0, 7, 4, 1, ...
	for _, name := range []string{"T-shirt/top", "Sneaker", "Coat", "Trouser"} {
		if !strings.Contains(out, name) {
			t.Errorf("no %q caption in\n%s", name, out)
		}
	}
	for _, tc := range []struct {
		keys []string
		want string
	}{
		{[]string{"pgdown"}, "9-16 of 60 · page 2/8"},
		{[]string{"right"}, "17-24 of 60 · page 3/8"},
		{[]string{"left", "left", "left"}, "1-8 of 60 · page 1/8"},
		{[]string{"end"}, "57-60 of 60 · page 8/8"},
		{[]string{"pgdown"}, "57-60 of 60 · page 8/8"},
		{[]string{"home"}, "1-8 of 60 · page 1/8"},
		{[]string{"z"}, "1-28 of 60 · page 1/3"}, // small digits: 7 slots of 16 columns, 4 cards of 8 rows
	} {
		send(d, tc.keys...)
		if out := d.Render(120, 40); !strings.Contains(out, tc.want) {
			t.Errorf("after %v: want %q in\n%s", tc.keys, tc.want, lines(out)[0])
		}
	}
}

func TestHiResNeedsColours(t *testing.T) {
	d := NewData(colour())
	d.SetSnapshot(handSnapshot(mnistInfo(t)))
	if !strings.Contains(d.Render(80, 20), halfBlock) {
		t.Error("colour pages draw half blocks by default")
	}
	d.SetHiRes(false)
	if strings.Contains(d.Render(80, 20), halfBlock) {
		t.Error("SetHiRes(false) should switch to ASCII")
	}
	plain := NewData(noColor())
	plain.SetSnapshot(handSnapshot(mnistInfo(t)))
	plain.SetHiRes(true)
	if strings.Contains(plain.Render(80, 20), halfBlock) {
		t.Error("half blocks without colours")
	}
}

func TestPagesBeforeTheData(t *testing.T) {
	loading := train.Snapshot{}
	loaded := handSnapshot(mnistInfo(t))
	loaded.Eval = nil
	for _, tc := range []struct {
		page view.View
		snap train.Snapshot
		want string
	}{
		{NewConfusion(noColor()), loading, "the confusion matrix appears after the first epoch"},
		{NewConfusion(noColor()), loaded, "the confusion matrix appears after the first epoch"},
		{NewMistakes(noColor()), loaded, "the mistakes appear after the first epoch"},
		{NewData(noColor()), loading, "the training set appears once the data set is loaded"},
	} {
		tc.page.SetSnapshot(tc.snap)
		send(tc.page, "enter", "down", "o", "z", "pgdown") // nothing to act on: no panic
		if out := tc.page.Render(80, 10); !strings.Contains(out, tc.want) {
			t.Errorf("%s: want %q, got\n%s", tc.page.Name(), tc.want, out)
		}
		if len(tc.page.Keys()) != 0 {
			t.Errorf("%s offers keys with nothing to show", tc.page.Name())
		}
	}
}

func TestMismatchedEvaluationIsReportedNotFatal(t *testing.T) {
	s := handSnapshot(mnistInfo(t))
	s.Eval = evaluate(handLabels[:5], handPreds[:5], handConf[:5]) // made on another set
	for _, p := range []view.View{NewConfusion(noColor()), NewMistakes(noColor())} {
		p.SetSnapshot(s)
		send(p, "enter", "right", "enter")
		if out := p.Render(100, 10); !strings.Contains(out, "does not match the test set") {
			t.Errorf("%s: want the mismatch explained, got\n%s", p.Name(), out)
		}
	}
	bad := handSnapshot(mnistInfo(t))
	bad.Data.Train.Images = bad.Data.Train.Images[:100]
	d := NewData(noColor())
	d.SetSnapshot(bad)
	if out := d.Render(100, 10); !strings.Contains(out, "cannot show the training set") {
		t.Errorf("a malformed training set: got\n%s", out)
	}
}

// Every page, in every state, at every size, is exactly height lines of at
// most width cells, and never panics.
func TestRenderFitsEverySize(t *testing.T) {
	sizes := [][2]int{{1, 1}, {5, 3}, {20, 5}, {40, 12}, {60, 14}, {80, 17}, {100, 30}, {120, 40}, {250, 70}}
	type state struct {
		name string
		snap train.Snapshot
		keys []string
	}
	mnist, fashion := handSnapshot(mnistInfo(t)), handSnapshot(fashionInfo(t))
	states := []state{
		{"loading", train.Snapshot{}, nil},
		{"mnist", mnist, nil},
		{"fashion", fashion, nil},
		{"fashion opened", fashion, []string{"enter"}},
		{"fashion opened twice", fashion, []string{"enter", "enter"}},
		{"mnist small digits", mnist, []string{"z", "end"}},
	}
	pages := func(opts view.Options) []view.View {
		return []view.View{NewConfusion(opts), NewMistakes(opts), NewData(opts)}
	}
	for _, opts := range []view.Options{noColor(), colour(), {Renderer: fixedRenderer(termenv.TrueColor)}} {
		for _, st := range states {
			for _, p := range pages(opts) {
				p.SetSnapshot(st.snap)
				send(p, st.keys...)
				for _, sz := range sizes {
					w, h := sz[0], sz[1]
					name := fmt.Sprintf("%s/%s/%dx%d", p.Name(), st.name, w, h)
					out := p.Render(w, h)
					ls := lines(out)
					if len(ls) != h {
						t.Errorf("%s: %d lines", name, len(ls))
					}
					for i, l := range ls {
						if lw := lipgloss.Width(l); lw > w {
							t.Errorf("%s: line %d is %d wide: %q", name, i, lw, l)
						}
					}
				}
			}
		}
	}
}

func TestTooSmallSaysWhatItNeeds(t *testing.T) {
	c := NewConfusion(noColor())
	c.SetSnapshot(handSnapshot(mnistInfo(t)))
	// The largest row has 4 images: cells of 1 digit and 2 brackets, so
	// 1 (label) + 1 + 10x3 + 7 (accuracy) columns.
	if out := c.Render(60, 10); !strings.HasPrefix(out, "need 39x14") {
		t.Errorf("60x10 confusion page: %q", lines(out)[0])
	}
	m := NewMistakes(noColor())
	m.SetSnapshot(handSnapshot(mnistInfo(t)))
	if out := m.Render(100, 6); !strings.HasPrefix(out, "need 16x9") {
		t.Errorf("100x6 mistakes page: %q", lines(out)[0])
	}
}

// TestDataPageShowsAugmentedImages: v redraws the grid as the run's
// augmentation turns the images in its epoch (an example when the run does
// not augment), and v again shows them as stored.
func TestDataPageShowsAugmentedImages(t *testing.T) {
	s := handSnapshot(mnistInfo(t))
	s.Config = config.Defaults()
	s.Config.AugmentRotate, s.Config.AugmentTranslate = 30, 0.2
	s.Epoch = 3
	d := NewData(noColor())
	d.SetSnapshot(s)
	stored := d.Render(120, 40)
	send(d, "v")
	augmented := d.Render(120, 40)
	if !strings.Contains(lines(augmented)[0], "augmented, epoch 3 ·") || strings.Contains(augmented, "(example)") {
		t.Fatalf("title after v: %s", lines(augmented)[0])
	}
	if slices.Equal(lines(stored)[1:], lines(augmented)[1:]) {
		t.Fatal("v left the digits as they were")
	}
	send(d, "v")
	if again := d.Render(120, 40); again != stored {
		t.Fatalf("v twice does not give the stored images back:\n%s", again)
	}
	s.Config = config.Defaults()
	d.SetSnapshot(s)
	send(d, "v")
	if out := d.Render(120, 40); !strings.Contains(lines(out)[0], "augmented, epoch 3 (example)") {
		t.Fatalf("without augmentation the title is %s", lines(out)[0])
	}
}
