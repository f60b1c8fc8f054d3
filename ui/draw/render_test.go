package draw

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/golden"

	"mnist-tui/ui/view"
)

// Golden renders are regenerated with
//
//	go test ./ui/draw -update
//
// They are drawn with a fake model (fixed answers) and renderers of a fixed
// colour profile, so nothing depends on the engine or the terminal.

func TestGoldenDrawnSeven(t *testing.T) {
	p := newPage(fakeModel{probs: sevenish}, view.Options{NoColor: true})
	drawSeven(p)
	p.Update(keyPress("left")) // the keyboard cursor shows again
	golden.RequireEqual(t, []byte(p.Render(120, 40)))
}

func TestGoldenEmptySmall(t *testing.T) {
	p := newPage(fakeModel{probs: sevenish}, view.Options{NoColor: true})
	golden.RequireEqual(t, []byte(p.Render(minWidth, minHeight)))
}

func TestGoldenColourHalfBlocks(t *testing.T) {
	p := newPage(fakeModel{probs: sevenish}, view.Options{Renderer: colourRenderer()})
	drawSeven(p)
	p.Update(keyPress("up"))
	p.message = "saved /tmp/drawing-1.png"
	golden.RequireEqualEscape(t, []byte(p.Render(100, 24)), true)
}

func TestRenderFillsExactlyTheSizeGiven(t *testing.T) {
	drawn := newPage(fakeModel{probs: sevenish}, view.Options{NoColor: true})
	drawSeven(drawn)
	colour := newPage(fakeModel{probs: sevenish}, view.Options{Renderer: colourRenderer()})
	drawSeven(colour)
	pages := map[string]*Page{
		"empty":  newPage(fakeModel{probs: sevenish}, view.Options{NoColor: true}),
		"drawn":  drawn,
		"colour": colour,
	}
	sizes := [][2]int{{0, 0}, {1, 1}, {5, 3}, {40, 10}, {minWidth - 1, 30}, {minWidth, minHeight - 1},
		{minWidth, minHeight}, {80, 24}, {100, 29}, {100, 30}, {120, 34}, {120, 40}, {250, 80}}
	for name, p := range pages {
		for _, sz := range sizes {
			w, h := sz[0], sz[1]
			t.Run(fmt.Sprintf("%s/%dx%d", name, w, h), func(t *testing.T) {
				out := p.Render(w, h)
				lines := strings.Split(out, "\n")
				if h == 0 {
					if out != "" {
						t.Errorf("height 0: got %q, want nothing", out)
					}
					return
				}
				if len(lines) != h {
					t.Errorf("%d lines, want %d", len(lines), h)
				}
				for i, l := range lines {
					if lw := lipgloss.Width(l); lw > w {
						t.Errorf("line %d is %d cells wide, more than %d: %q", i, lw, w, l)
					}
				}
			})
		}
	}
}

func TestTooSmallSaysWhatItNeeds(t *testing.T) {
	p := newPage(fakeModel{probs: sevenish}, view.Options{NoColor: true})
	out := p.Render(60, 12)
	want := fmt.Sprintf("need %dx%d", minWidth, minHeight)
	if first := strings.Split(out, "\n")[0]; !strings.Contains(first, want) {
		t.Errorf("first line %q does not say %q", first, want)
	}
	// Nothing is under the mouse while the canvas is not shown.
	p.Update(press(5, 5, 0))
	if !p.Canvas().Empty() {
		t.Error("a click painted on a canvas that is not shown")
	}
}

func TestCanvasSwitchesToHalfBlocksBelowThirtyRows(t *testing.T) {
	p := newPage(fakeModel{probs: sevenish}, view.Options{NoColor: true})
	for h, half := range map[int]bool{minHeight: true, fullFrameH - 1: true, fullFrameH: false, 60: false} {
		out := p.Render(120, h)
		if p.at.half != half {
			t.Errorf("height %d: half blocks %v, want %v", h, p.at.half, half)
		}
		// The frame: a full canvas has 28 rows inside it, a half one 14.
		rows := 0
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "│") {
				rows++
			}
		}
		if want := map[bool]int{true: Side / 2, false: Side}[half]; rows != want {
			t.Errorf("height %d: %d canvas rows, want %d", h, rows, want)
		}
	}
}

func TestBarsShowEveryProbability(t *testing.T) {
	p := newPage(fakeModel{probs: sevenish}, view.Options{NoColor: true})
	drawSeven(p)
	bars := p.bars(40)
	if len(bars) != 10 {
		t.Fatalf("%d bars, want 10", len(bars))
	}
	for c, b := range bars {
		if want := fmt.Sprintf("%5.1f%%", 100*sevenish[c]); !strings.HasSuffix(b, want) {
			t.Errorf("bar %d %q does not end with %q", c, b, want)
		}
		if marked := strings.HasPrefix(b, "▸"); marked != (c == 7) {
			t.Errorf("bar %d marked %v, want only the top class (7) marked", c, marked)
		}
	}
	// Longer bars for larger probabilities.
	if strings.Count(bars[7], "█") <= strings.Count(bars[1], "█") {
		t.Errorf("the 83%% bar is not longer than the 9%% one:\n%s\n%s", bars[7], bars[1])
	}
}

func TestBarCells(t *testing.T) {
	for _, tc := range []struct {
		v             float64
		w             int
		filled, track string
	}{
		{0, 4, "", "····"},
		{1, 4, "████", ""},
		{0.5, 4, "██", "··"},
		{0.625, 4, "██▌", "·"}, // half a cell more: a half block
		{2, 3, "███", ""},      // clamped
		{-1, 3, "", "···"},
	} {
		filled, track := barCells(tc.v, tc.w)
		if filled != tc.filled || track != tc.track {
			t.Errorf("barCells(%v, %d) = %q, %q; want %q, %q", tc.v, tc.w, filled, track, tc.filled, tc.track)
		}
	}
}
