package inspect

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// A grid shows a list of images as cards: the digit, and under it a caption
// (its label, or truth, prediction and confidence). Every card sits in a
// slot one column wider on each side, where the cursor draws its frame:
//
//	┌digit──┐ digit    digit
//	│caption│ caption  caption
const slotMargin = 1

// minLargeCards: with fewer large cards than this on a screen the digits
// are drawn small, so that a short window still shows a useful number.
const minLargeCards = 4

// card is one image of a grid and the words under it.
type card struct {
	image   []uint8
	caption []string       // words, packed into the caption's lines
	style   lipgloss.Style // the caption's colour
}

// gridLayout is how the cards of a grid fit in an area.
type gridLayout struct {
	size         digitSize
	captionLines int
	cols, rows   int
}

func (l gridLayout) cardW() int   { return l.size.cols() }
func (l gridLayout) cardH() int   { return l.size.rows() + l.captionLines }
func (l gridLayout) perPage() int { return l.cols * l.rows }

// layoutAt fits cards of size in width x height. worst is the longest
// caption any card can have; every card gets as many caption lines as it
// needs, so that all cards are the same height and pages never reflow.
func layoutAt(size digitSize, worst []string, width, height int) gridLayout {
	l := gridLayout{size: size, captionLines: max(1, len(packWords(worst, size.cols())))}
	l.cols = max(0, width/(l.cardW()+2*slotMargin))
	l.rows = max(0, height/l.cardH())
	return l
}

// chooseLayout picks the digit size: zoom when the user chose one and at
// least a card fits, else large digits when enough of them fit, else small.
// It reports false when not even one small card fits.
func chooseLayout(zoom *digitSize, worst []string, width, height int) (gridLayout, bool) {
	big, little := layoutAt(large, worst, width, height), layoutAt(small, worst, width, height)
	switch {
	case zoom != nil && *zoom == large && big.perPage() > 0:
		return big, true
	case zoom != nil && *zoom == small && little.perPage() > 0:
		return little, true
	case zoom == nil && big.perPage() >= minLargeCards:
		return big, true
	case little.perPage() > 0:
		return little, true
	}
	return gridLayout{}, false
}

// minGridSize is the least area in which a grid of small cards fits.
func minGridSize(worst []string) (width, height int) {
	l := layoutAt(small, worst, 0, 0)
	return l.cardW() + 2*slotMargin, l.cardH()
}

// imageGrid is the state of a paged grid: which item the cursor is on, and
// the layout it was last drawn with, which the keys move by (a page down
// moves by what a page holds on this screen).
type imageGrid struct {
	count  int // items in the list
	cursor int // the item under the cursor; 0 when the list is empty
	// browse: no cursor, the keys turn whole pages (the data page); the
	// cursor is then the first item of the page.
	browse bool
	zoom   *digitSize // the size chosen with the zoom key; nil: automatic
	drawn  gridLayout // as last drawn; its perPage is 0 before the first draw
}

// setCount changes the number of items, keeping the cursor in the list.
func (g *imageGrid) setCount(n int) {
	g.count = n
	g.cursor = max(0, min(g.cursor, n-1))
}

// perPage and cols are the drawn layout's, or a guess before the first
// draw, so that keys always move somewhere.
func (g *imageGrid) perPage() int { return max(1, g.drawn.perPage()) }
func (g *imageGrid) cols() int    { return max(1, g.drawn.cols) }

// first is the first item of the page the cursor is on.
func (g *imageGrid) first() int { return g.cursor - g.cursor%g.perPage() }

// move takes the cursor delta items on, staying in the list.
func (g *imageGrid) move(delta int) {
	g.cursor = max(0, min(g.cursor+delta, g.count-1))
	if g.browse {
		g.cursor = g.first()
	}
}

// The moves the keys make.
func (g *imageGrid) left()     { g.step(-1) }
func (g *imageGrid) right()    { g.step(1) }
func (g *imageGrid) up()       { g.move(-g.cols()) }
func (g *imageGrid) down()     { g.move(g.cols()) }
func (g *imageGrid) pageUp()   { g.move(-g.perPage()) }
func (g *imageGrid) pageDown() { g.move(g.perPage()) }
func (g *imageGrid) home()     { g.move(-g.count) }
func (g *imageGrid) end()      { g.move(g.count) }

// step is a left or right arrow: one item, or a page without a cursor.
func (g *imageGrid) step(dir int) {
	if g.browse {
		g.move(dir * g.perPage())
		return
	}
	g.move(dir)
}

// toggleZoom switches between large and small digits.
func (g *imageGrid) toggleZoom() {
	next := large
	if g.drawn.size == large && g.drawn.perPage() > 0 {
		next = small
	}
	g.zoom = &next
}

// at is the item drawn x cells right and y lines down from the grid's
// top-left corner, if any: where a mouse click landed.
func (g *imageGrid) at(x, y int) (int, bool) {
	l := g.drawn
	if l.perPage() == 0 || x < 0 || y < 0 {
		return 0, false
	}
	col, row := x/(l.cardW()+2*slotMargin), y/l.cardH()
	if col >= l.cols || row >= l.rows {
		return 0, false
	}
	i := g.first() + row*l.cols + col
	return i, i < g.count
}

// position says where the page is in the list: "9-16 of 147 · page 2/19".
func (g *imageGrid) position() string {
	if g.count == 0 {
		return "none"
	}
	per := g.perPage()
	first := g.first()
	last := min(first+per, g.count)
	return fmt.Sprintf("%d-%d of %d · page %d/%d", first+1, last, g.count, first/per+1, (g.count+per-1)/per)
}

// render draws the page of cards the cursor is on in width x height and
// remembers the layout. cardAt gives the card of item i; worst is the
// longest caption; it reports false when not even one card fits.
func (g *imageGrid) render(cardAt func(i int) card, worst []string, dd *digitDrawer, hiRes bool,
	st theme, width, height int) ([]string, bool) {
	l, ok := chooseLayout(g.zoom, worst, width, height)
	if !ok {
		return nil, false
	}
	g.drawn = l
	var lines []string
	first := g.first()
	for row := range l.rows {
		start := first + row*l.cols
		if start >= g.count {
			break
		}
		slots := make([][]string, 0, l.cols)
		for i := start; i < min(start+l.cols, g.count); i++ {
			slots = append(slots, g.slot(cardAt(i), l, i == g.cursor && !g.browse, dd, hiRes, st))
		}
		for y := range l.cardH() {
			var b strings.Builder
			for _, s := range slots {
				b.WriteString(s[y])
			}
			lines = append(lines, b.String())
		}
	}
	return lines, true
}

// slot draws one card with its margins: a frame when it is under the cursor.
func (g *imageGrid) slot(c card, l gridLayout, selected bool, dd *digitDrawer, hiRes bool, st theme) []string {
	w := l.cardW()
	// The drawer's lines are exactly w cells wide; measuring them again
	// (escape sequences and all) would be most of the cost of a page.
	digit, err := dd.draw(c.image, l.size, hiRes)
	if err != nil {
		// A malformed image must not break the page: say so where the
		// digit would have been.
		digit = packWords(strings.Fields(err.Error()), w)
		for i := range digit {
			digit[i] = pad(digit[i], w)
		}
	}
	caption := packWords(c.caption, w)
	lines := make([]string, l.cardH())
	for y := range lines {
		var text string
		switch {
		case y < l.size.rows():
			if y < len(digit) {
				text = digit[y]
			} else {
				text = strings.Repeat(" ", w)
			}
		case y-l.size.rows() < len(caption):
			text = caption[y-l.size.rows()]
			if selected && st.color {
				text = st.selected.Render(pad(text, w))
			} else {
				text = c.style.Render(pad(text, w))
			}
		default:
			text = strings.Repeat(" ", w)
		}
		left, right := " ", " "
		if selected {
			left, right = frameLeft(y, len(lines)), frameRight(y, len(lines))
		}
		lines[y] = left + text + right
	}
	return lines
}

// The cursor's frame: corners at the top and bottom, bars between. It is
// drawn in characters, so it shows with and without colours.
func frameLeft(y, h int) string {
	switch y {
	case 0:
		return "┌"
	case h - 1:
		return "└"
	}
	return "│"
}

func frameRight(y, h int) string {
	switch y {
	case 0:
		return "┐"
	case h - 1:
		return "┘"
	}
	return "│"
}

// packWords fills lines of at most width cells with words, greedily; a word
// longer than a line is cut with an ellipsis.
func packWords(words []string, width int) []string {
	var lines []string
	cur := ""
	for _, w := range words {
		w = fit(w, width)
		switch {
		case cur == "":
			cur = w
		case lipgloss.Width(cur)+1+lipgloss.Width(w) <= width:
			cur += " " + w
		default:
			lines = append(lines, cur)
			cur = w
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}
