package inspect

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"mnist-tui/engine/train"
	"mnist-tui/ui/termdraw"
	"mnist-tui/ui/view"
)

// Confusion is the page of the confusion matrix of the latest test-set
// evaluation: rows are the truth, columns the prediction, and each row ends
// with the accuracy on that class. Enter on a cell lists its test images.
//
//	              predicted →
//	truth ↓     0     1     2  …    acc
//	0         [973]   0     1  …  99.3%
type Confusion struct {
	base
	eval     evalState
	matrix   Matrix
	row, col int // the selected cell: truth, prediction

	listing bool // the selected cell's images are shown
	browse  browser
	drawn   matrixGeometry // as last drawn, for the mouse; zero when not drawn
}

// NewConfusion returns the confusion matrix page.
func NewConfusion(opts view.Options) *Confusion {
	return &Confusion{base: newBase(opts)}
}

// Name is the page's label in the tab bar.
func (c *Confusion) Name() string { return "confusion" }

// SetSnapshot takes the latest evaluation; the matrix (and the open list)
// are recomputed only when the evaluation is new.
func (c *Confusion) SetSnapshot(s train.Snapshot) {
	c.names = namesOf(s)
	if !c.eval.update(s) {
		return
	}
	c.matrix = Matrix{}
	if c.eval.ready() {
		c.matrix = c.eval.results.Confusion()
	}
	c.relist()
}

// relist fills the list with the selected cell's images.
func (c *Confusion) relist() {
	if !c.listing || !c.eval.ready() {
		c.browse.setItems(nil)
		return
	}
	c.browse.setItems(c.eval.results.Cell(c.row, c.col))
}

// Update answers the page's keys.
func (c *Confusion) Update(msg tea.Msg) tea.Cmd {
	if !c.eval.ready() {
		return nil
	}
	if mouse, ok := msg.(tea.MouseMsg); ok {
		c.click(c.mouse(mouse))
		return nil
	}
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	switch {
	case c.listing:
		if !c.browse.update(k, c.keys) && key.Matches(k, c.keys.Back) {
			c.listing = false
			c.relist()
		}
	case key.Matches(k, c.keys.Up):
		c.row = max(0, c.row-1)
	case key.Matches(k, c.keys.Down):
		c.row = min(9, c.row+1)
	case key.Matches(k, c.keys.Left):
		c.col = max(0, c.col-1)
	case key.Matches(k, c.keys.Right):
		c.col = min(9, c.col+1)
	case key.Matches(k, c.keys.Open):
		c.open()
	}
	return nil
}

// open lists the selected cell's images.
func (c *Confusion) open() {
	c.listing = true
	c.browse = browser{grid: imageGrid{zoom: c.browse.grid.zoom}}
	c.relist()
}

// click answers the mouse: in the matrix, a click selects a cell and a
// click on the selected cell opens it; in a list, the list answers.
func (c *Confusion) click(action mouseAction, x, y int) {
	if c.listing {
		c.browse.click(action, x, y)
		return
	}
	if action != mouseClick {
		return
	}
	row, col, ok := c.cellAt(x, y)
	switch {
	case !ok:
	case row == c.row && col == c.col:
		c.open()
	default:
		c.row, c.col = row, col
	}
}

// cellAt is the cell drawn at (x, y) from the page's corner, if any.
func (c *Confusion) cellAt(x, y int) (row, col int, ok bool) {
	g := c.drawn
	x -= g.labelW + 1
	row = y - firstRowLine
	if g.countW == 0 || x < 0 || row < 0 || row > 9 || x/g.cellW() > 9 {
		return 0, 0, false
	}
	return row, x / g.cellW(), true
}

// Keys are the bindings that do something now.
func (c *Confusion) Keys() []key.Binding {
	switch {
	case !c.eval.ready():
		return nil
	case c.listing && !c.browse.detail:
		return append(c.browse.keys(c.keys), withHelp(c.keys.Back, "back to the matrix"))
	case c.listing:
		return c.browse.keys(c.keys)
	}
	return []key.Binding{withHelp(c.keys.Move, "select a cell"), withHelp(c.keys.Open, "show its images"),
		mouseHelp("click", "select a cell (again: its images)")}
}

// CapturesKeys is false: the page leaves the dashboard its keys.
func (c *Confusion) CapturesKeys() bool { return false }

// Nested reports whether esc closes a list or chart rather than leaving
// the page.
func (c *Confusion) Nested() bool { return c.listing }

// Render draws the page in exactly width x height cells.
func (c *Confusion) Render(width, height int) string {
	switch {
	case c.eval.eval == nil:
		return message("the confusion matrix appears after the first epoch", c.st.dim, width, height)
	case c.eval.test == nil:
		return message("loading the data set…", c.st.dim, width, height)
	case c.eval.err != nil:
		return message("cannot show the confusion matrix: "+c.eval.err.Error(), c.st.bad, width, height)
	case c.listing:
		title := fmt.Sprintf("truth %s, predicted %s", c.names.of(c.row), c.names.of(c.col))
		return c.browse.render(&c.base, c.eval.results, c.eval.test, width, height, title)
	}
	return c.renderMatrix(width, height)
}

// The matrix's geometry: the row labels, ten cells, the accuracy column.
const (
	accW          = 7              // " 100.0%"
	firstRowLine  = 1 + 2          // under the title and the two header lines
	matrixLines   = 1 + 2 + 10 + 1 // title, two header lines, ten rows, the selection line
	cornerHeading = "truth ↓"
)

// matrixGeometry is how wide the parts of the matrix are for a width.
type matrixGeometry struct {
	labelW, countW int
}

func (g matrixGeometry) cellW() int { return g.countW + 2 } // the count between brackets or spaces

// geometry sizes the cells for the largest count a cell can hold (a row's
// total), so that the grid keeps its shape from epoch to epoch, and gives
// the row labels what is left up to their natural width.
func (c *Confusion) geometry(width int) matrixGeometry {
	g := matrixGeometry{countW: 1}
	for r := range c.matrix {
		g.countW = max(g.countW, len(strconv.Itoa(c.matrix.RowTotal(r))))
	}
	natural := lipgloss.Width(cornerHeading)
	for r := range c.matrix {
		natural = max(natural, lipgloss.Width(c.rowLabel(r)))
	}
	g.labelW = min(natural, width-1-10*g.cellW()-accW)
	return g
}

// rowLabel names a row: the class number, and its name when it has one.
func (c *Confusion) rowLabel(r int) string {
	if c.names.numeric() {
		return strconv.Itoa(r)
	}
	return strconv.Itoa(r) + " " + c.names.of(r)
}

func (c *Confusion) renderMatrix(width, height int) string {
	g := c.geometry(width)
	c.drawn = matrixGeometry{}
	if g.labelW < 1 || height < matrixLines {
		return needSize(1+1+10*g.cellW()+accW, matrixLines, width, height, c.st)
	}
	m, st := c.matrix, c.st
	lines := []string{st.title.Render("confusion matrix") + st.dim.Render(c.eval.epochLabel()+fmt.Sprintf(
		" · %d of %d test images right (%s)", m.Correct(), m.Total(), percent(m.Correct(), m.Total())))}

	indent := strings.Repeat(" ", g.labelW+1)
	lines = append(lines, indent+st.label.Render("predicted →"))
	var head strings.Builder
	head.WriteString(pad(cornerHeading, g.labelW) + " ")
	for col := range 10 {
		head.WriteString(fmt.Sprintf("%*d ", g.countW+1, col))
	}
	head.WriteString(fmt.Sprintf("%*s", accW, "acc"))
	lines = append(lines, st.label.Render(head.String()))

	maxErr := 0
	for r := range m {
		for p := range m[r] {
			if r != p {
				maxErr = max(maxErr, m[r][p])
			}
		}
	}
	for r := range m {
		var row strings.Builder
		row.WriteString(st.label.Render(pad(c.rowLabel(r), g.labelW)) + " ")
		for p := range m[r] {
			row.WriteString(c.cell(r, p, g, maxErr))
		}
		row.WriteString(fmt.Sprintf("%*s", accW, percent(m[r][r], m.RowTotal(r))))
		lines = append(lines, row.String())
	}
	if height > matrixLines {
		lines = append(lines, "")
	}
	n, total := m[c.row][c.col], m.RowTotal(c.row)
	lines = append(lines, fmt.Sprintf("truth %s, predicted %s: %d of %d images (%s)",
		c.names.of(c.row), c.names.of(c.col), n, total, percent(n, total))+st.dim.Render(" · enter: show them"))
	c.drawn = g
	return block(lines, width, height)
}

// The shades of the cells, darkest (fewest) first: green for the diagonal,
// red for the mistakes.
var (
	rightShades = [...]lipgloss.Color{"22", "28", "34", "40"}
	wrongShades = [...]lipgloss.Color{"52", "88", "124", "160", "196"}
)

// cell draws one count. The selected cell is between brackets, which show
// with or without colours. With colours, the diagonal is shaded green by
// the row's accuracy and the mistakes red by their count, on a log scale
// since a few large confusions would otherwise hide all the small ones.
func (c *Confusion) cell(r, p int, g matrixGeometry, maxErr int) string {
	n := c.matrix[r][p]
	text := fmt.Sprintf(" %*d ", g.countW, n)
	if r == c.row && p == c.col {
		text = fmt.Sprintf("[%*d]", g.countW, n)
	}
	if !c.st.color {
		return text
	}
	style := c.st.dim
	switch {
	case r == p && n > 0:
		style = c.st.dim.Foreground(termdraw.White).Bold(true).
			Background(shade(rightShades[:], float64(n)/float64(c.matrix.RowTotal(r))))
	case n > 0:
		style = c.st.dim.Foreground(termdraw.White).Bold(true).
			Background(shade(wrongShades[:], math.Log1p(float64(n))/math.Log1p(float64(maxErr))))
	}
	return style.Render(text)
}

// shade picks the shade for a fraction f (0-1) of the strongest.
func shade(shades []lipgloss.Color, f float64) lipgloss.Color {
	i := int(math.Ceil(clamp01(f)*float64(len(shades)))) - 1
	return shades[max(0, min(i, len(shades)-1))]
}
