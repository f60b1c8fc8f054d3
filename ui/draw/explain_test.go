package draw

import (
	"io"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/muesli/termenv"

	"mnist-tui/dataset"
	"mnist-tui/dataset/prepare"
	"mnist-tui/engine"
	"mnist-tui/engine/saliency"
	"mnist-tui/ui/view"
)

// explainingModel answers like fakeModel and explains with a made-up
// map: the top two rows for the answer, the bottom two against it.
type explainingModel struct {
	fakeModel
	explained *int
	classes   *[]int
}

func (m explainingModel) Explain(pixels [dataset.ImageSize]uint8, class int) (saliency.Result, error) {
	*m.explained++
	*m.classes = append(*m.classes, class)
	var r saliency.Result
	for x := range saliency.Side {
		r.Map[x], r.Map[saliency.Side+x] = 2, 2
		r.Map[26*saliency.Side+x], r.Map[27*saliency.Side+x] = -2, -2
	}
	r.Max, r.Class = 2, class
	return r, nil
}

// previewRows are the 14 rows inside the frame of "what the model sees".
func previewRows(t *testing.T, out string) []string {
	t.Helper()
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if j := strings.Index(l, "╭"+strings.Repeat("─", Side)+"╮"); j >= 0 && strings.Contains(lines[i-1], "why") {
			col := len([]rune(l[:j])) // no colours: a rune is a cell
			var rows []string
			for _, r := range lines[i+1 : i+1+Side/2] {
				rows = append(rows, string([]rune(r)[col+1:col+1+Side]))
			}
			return rows
		}
	}
	t.Fatalf("no preview titled why in:\n%s", out)
	return nil
}

func TestWhyOverlaysTheSaliencyOfTheAnswer(t *testing.T) {
	calls := 0
	var classes []int
	m := explainingModel{fakeModel: fakeModel{probs: sevenish}, explained: &calls, classes: &classes}
	p := newPage(m, view.Options{NoColor: true})
	drawSeven(p)
	if calls != 0 {
		t.Fatalf("explained %d times with the overlay off, want never", calls)
	}
	runCmd(t, p, p.Update(keyPress("w")))
	if calls != 1 || classes[0] != 7 {
		t.Fatalf("w: %d explanations of %v, want one of the answer, 7", calls, classes)
	}
	out := p.Render(120, 40)
	if !strings.Contains(out, "why 7: # + for, = - against") {
		t.Errorf("no legend:\n%s", out)
	}
	rows := previewRows(t, out)
	if rows[0] != strings.Repeat("#", Side) || rows[13] != strings.Repeat("=", Side) {
		t.Errorf("first and last rows %q, %q: want the map's for and against", rows[0], rows[13])
	}
	// A new stroke makes the map stale: it is computed again.
	runCmd(t, p, p.Update(press(3, 20, 1)))
	p.Update(release(3, 20))
	if calls != 2 {
		t.Errorf("%d explanations after another stroke, want 2", calls)
	}
	runCmd(t, p, p.Update(keyPress("w")))
	if out := p.Render(120, 40); strings.Contains(out, "why 7") || !strings.Contains(out, "what the model sees") {
		t.Errorf("w again does not turn the overlay off:\n%s", out)
	}
}

// A checkpoint's model explains through occlusion, on the very image the
// answer was for.
func TestFixedModelExplains(t *testing.T) {
	net, err := engine.NewNet("cnn", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := dataset.Lookup("mnist")
	f := NewFixed(net, info, "cnn")
	var pixels [prepare.Size * prepare.Size]uint8
	for i := 200; i < 400; i++ {
		pixels[i] = 255
	}
	res, err := f.Explain(pixels, 3)
	if err != nil {
		t.Fatal(err)
	}
	probs, _ := f.Classify(pixels)
	if res.Class != 3 || res.Prob != probs[3] || res.Max <= 0 {
		t.Errorf("explained class %d with p %g (Classify says %g), max %g", res.Class, res.Prob, probs[3], res.Max)
	}
	if _, err := NewFixed(nil, info, "none").Explain(pixels, 3); err != ErrNoWeights {
		t.Errorf("no net: %v, want ErrNoWeights", err)
	}
}

// gradedModel answers like fakeModel and explains with a map that runs
// from strongly against (left) through nothing (the middle columns) to
// strongly for (right), stronger toward the bottom: every shade of both
// colours and the dimmed ink between them.
type gradedModel struct{ fakeModel }

func (m gradedModel) Explain(pixels [dataset.ImageSize]uint8, class int) (saliency.Result, error) {
	var r saliency.Result
	for y := range saliency.Side {
		for x := range saliency.Side {
			r.Map[y*saliency.Side+x] = float32(x-13) / 14 * float32(y+1) / saliency.Side * 3
		}
	}
	r.Max, r.Class = 3, class
	return r, nil
}

// The colour overlay, as a true-colour terminal receives it (every shade
// kept, where 256 colours would merge them): red for, blue against, in
// proportion, the ink dimmed where a pixel hardly mattered.
func TestGoldenColourSaliency(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.TrueColor)
	r.SetHasDarkBackground(true)
	p := newPage(gradedModel{fakeModel{probs: sevenish}}, view.Options{Renderer: r})
	drawSeven(p)
	runCmd(t, p, p.Update(keyPress("w")))
	out := p.Render(120, 40) // room for the preview beside the canvas
	if !strings.Contains(out, "red for, blue against") {
		t.Fatalf("no colour legend:\n%s", out)
	}
	golden.RequireEqualEscape(t, []byte(out), true)
}

// In the windows the dashboard usually has, the panel has no room for the
// bars and the map together: w shows the map in place of the bars, and a
// window too narrow for it says so instead of changing nothing.
func TestWhyShowsInSmallWindows(t *testing.T) {
	calls := 0
	var classes []int
	m := explainingModel{fakeModel: fakeModel{probs: sevenish}, explained: &calls, classes: &classes}
	p := newPage(m, view.Options{NoColor: true})
	drawSeven(p)
	runCmd(t, p, p.Update(keyPress("w")))
	for _, size := range [][2]int{{100, 23}, {100, 17}} {
		out := p.Render(size[0], size[1])
		if !strings.Contains(out, "why 7: # + for") || !strings.Contains(out, strings.Repeat("#", Side)) || !strings.Contains(out, strings.Repeat("=", Side)) {
			t.Errorf("%dx%d: no map:\n%s", size[0], size[1], out)
		}
		if lines := strings.Count(out, "\n") + 1; lines != size[1] {
			t.Errorf("%dx%d: %d lines", size[0], size[1], lines)
		}
	}
	if out := p.Render(80, 17); !strings.Contains(out, "widen the window") {
		t.Errorf("80x17: the map does not fit and nothing says so:\n%s", out)
	}
}
