package inspect

import (
	"context"
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"mnist-tui/dataset"
	"mnist-tui/engine/saliency"
	"mnist-tui/ui/view"
)

// fakeExplainer explains every image with the same map: its top two rows
// for the class, the bottom two against; it records what it was asked.
type fakeExplainer struct{ asked *[]int }

func (f fakeExplainer) Explain(_ context.Context, _ [dataset.ImageSize]uint8, class int) (saliency.Result, error) {
	*f.asked = append(*f.asked, class)
	var r saliency.Result
	for x := range saliency.Side {
		r.Map[x], r.Map[saliency.Side+x] = 1, 1
		r.Map[26*saliency.Side+x], r.Map[27*saliency.Side+x] = -1, -1
	}
	r.Max, r.Class = 1, class
	return r, nil
}

// run feeds a command's messages back into the page, as bubbletea would.
func run(p view.View, cmd tea.Cmd) {
	for cmd != nil {
		msg := cmd()
		cmd = p.Update(msg)
	}
}

func TestMistakesWhyShowsTheMapOfTheAnswer(t *testing.T) {
	var asked []int
	m := NewMistakes(noColor())
	m.SetExplainer(fakeExplainer{&asked})
	m.SetSnapshot(handSnapshot(mnistInfo(t)))
	m.Render(120, 40)
	if bound(m.Keys(), "w") {
		t.Error("w is offered on the grid: it belongs to the probability chart")
	}
	send(m, "enter")
	if !bound(m.Keys(), "w") {
		t.Fatal("the probability chart does not offer w")
	}
	run(m, m.Update(press("w")))
	i := m.browse.items[m.browse.grid.cursor]
	pred := int(handPreds[i])
	if len(asked) != 1 || asked[0] != pred {
		t.Fatalf("explained %v, want the prediction %d of image %d", asked, pred, i)
	}
	out := m.Render(120, 40)
	ls := lines(out)
	if !strings.HasPrefix(ls[1], "why "+m.names.of(pred)+": # + for, = - against") ||
		!strings.HasPrefix(ls[2], strings.Repeat("#", saliency.Side)) || !strings.HasPrefix(ls[15], strings.Repeat("=", saliency.Side)) {
		t.Errorf("no map beside the chart:\n%s", out)
	}
	if !strings.Contains(out, "predicted "+m.names.of(pred)) {
		t.Errorf("the probability chart is gone:\n%s", out)
	}
	// The next image gets its own map; w again turns it off.
	run(m, m.Update(press("right")))
	if len(asked) != 2 {
		t.Errorf("%d explanations after moving to the next image, want 2", len(asked))
	}
	run(m, m.Update(press("w")))
	if out := m.Render(120, 40); strings.Contains(out, "why ") {
		t.Errorf("w did not turn the map off:\n%s", out)
	}
}

// Without a model to explain with (a page made without one), w is not
// offered and does nothing.
func TestMistakesWithoutExplainerIgnoreW(t *testing.T) {
	m := NewMistakes(noColor())
	m.SetSnapshot(handSnapshot(mnistInfo(t)))
	m.Render(120, 40)
	send(m, "enter")
	before := m.Render(120, 40)
	if cmd := m.Update(press("w")); cmd != nil || m.Render(120, 40) != before || bound(m.Keys(), "w") {
		t.Error("w does something without an explainer")
	}
}

func TestHelpListsWhy(t *testing.T) {
	var asked []int
	checkHelpCoversKeys(t, "mistakes image with an explainer", func() view.View {
		m := NewMistakes(noColor())
		m.SetExplainer(fakeExplainer{&asked})
		m.SetSnapshot(handSnapshot(mnistInfo(t)))
		m.Render(120, 40)
		send(m, "enter")
		return m
	})
}

// bound reports whether one of the bindings answers k.
func bound(bs []key.Binding, k string) bool {
	for _, b := range bs {
		if b.Enabled() && key.Matches(press(k), b) {
			return true
		}
	}
	return false
}

// At 80 columns the map leaves the chart less room than its large digit
// needs beside the bars: the chart draws its small digit, never a "need a
// bigger window" that the window already is.
func TestMistakesWhyFitsEightyColumns(t *testing.T) {
	var asked []int
	m := NewMistakes(noColor())
	m.SetExplainer(fakeExplainer{&asked})
	m.SetSnapshot(handSnapshot(mnistInfo(t)))
	m.Render(80, 17)
	send(m, "enter")
	run(m, m.Update(press("w")))
	out := m.Render(80, 17)
	if strings.Contains(out, "enlarge") || !strings.Contains(out, "predicted ") || !strings.Contains(out, "why ") {
		t.Errorf("at 80x17 the map and the chart do not both show:\n%s", out)
	}
}
