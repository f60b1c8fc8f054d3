// Package termdraw holds the small drawing helpers every dashboard page
// needs: fast rendering of ntcharts canvases, and fitting a drawing into an
// exact number of cells.
package termdraw

import (
	"strings"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/canvas/runes"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// CanvasView draws a canvas like canvas.Model.View, only much cheaper: that
// one passes every cell through lipgloss, which was most of the time of a
// redraw. Here blank cells are plain spaces (no chart here gives them a
// background), and each run of cells with the same look is rendered with
// one lipgloss call.
func CanvasView(c *canvas.Model) string {
	var b strings.Builder
	var run []rune
	var runStyle lipgloss.Style
	var runLook look
	flush := func() {
		if len(run) > 0 {
			b.WriteString(runStyle.Render(string(run)))
			run = run[:0]
		}
	}
	for y := range c.Height() {
		if y > 0 {
			b.WriteByte('\n')
		}
		for x := range c.Width() {
			cell := c.Cell(canvas.Point{X: x, Y: y})
			if cell.Rune == runes.Null {
				flush()
				b.WriteByte(' ')
				continue
			}
			if l := lookOf(cell.Style); len(run) == 0 || l != runLook {
				flush()
				runStyle, runLook = cell.Style, l
			}
			run = append(run, cell.Rune)
		}
		flush()
	}
	return b.String()
}

// look is what of a style shows on a chart cell (lipgloss.Style itself
// cannot be compared).
type look struct {
	fg, bg lipgloss.TerminalColor
	bold   bool
}

func lookOf(s lipgloss.Style) look {
	return look{fg: s.GetForeground(), bg: s.GetBackground(), bold: s.GetBold()}
}

// FitWidth cuts s to w cells, marking the cut with an ellipsis.
func FitWidth(s string, w int) string { return ansi.Truncate(s, max(w, 0), "…") }

// FitBlock makes a drawing exactly width x height: long lines are cut,
// missing lines added, so a page cannot break the frame around it.
func FitBlock(s string, width, height int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > height {
		lines = lines[:height]
	}
	for i, l := range lines {
		if lipgloss.Width(l) > width {
			lines[i] = ansi.Truncate(l, width, "")
		}
	}
	for len(lines) < height {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}
