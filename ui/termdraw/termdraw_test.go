package termdraw

import (
	"io"
	"strings"
	"testing"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

func TestFitBlockIsExactlyTheSize(t *testing.T) {
	for _, in := range []string{"", "short", strings.Repeat("a very long line indeed\n", 30), "\x1b[31mred text that runs on\x1b[0m"} {
		out := FitBlock(in, 10, 4)
		lines := strings.Split(out, "\n")
		if len(lines) != 4 {
			t.Errorf("%q: %d lines, want 4", in, len(lines))
		}
		for _, l := range lines {
			if w := lipgloss.Width(l); w > 10 {
				t.Errorf("%q: line %q is %d wide", in, l, w)
			}
		}
	}
}

func TestCanvasViewMatchesTheCanvasText(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI256)
	c := canvas.New(6, 2)
	c.SetCell(canvas.Point{X: 1, Y: 0}, canvas.NewCellWithStyle('x', r.NewStyle().Foreground(lipgloss.Color("1"))))
	c.SetCell(canvas.Point{X: 2, Y: 0}, canvas.NewCellWithStyle('y', r.NewStyle().Foreground(lipgloss.Color("1"))))
	c.SetCell(canvas.Point{X: 4, Y: 1}, canvas.NewCellWithStyle('z', r.NewStyle().Bold(true)))
	got := CanvasView(&c)
	if plain := ansi.Strip(got); plain != " xy   \n    z " {
		t.Errorf("text %q", plain)
	}
	if n := strings.Count(got, "\x1b[31m"); n != 1 {
		t.Errorf("a run of equal cells should be styled once, found %d colour codes in %q", n, got)
	}
}
