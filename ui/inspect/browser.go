package inspect

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"mnist-tui/dataset"
)

// browser shows a list of test images as a grid of cards, each with its
// truth, the prediction and its confidence; enter shows the ten class
// probabilities of the image under the cursor.
type browser struct {
	items  []int // test-set indices
	grid   imageGrid
	detail bool // the probability chart is open
	// chosen: the user moved the cursor to an image, which it then
	// follows when a new evaluation reorders the list; until then it
	// stays at the top.
	chosen bool
}

// setItems replaces the list, keeping the cursor on the image the user
// chose when it is still there (a new evaluation reorders the mistakes),
// else at the top of the list.
func (b *browser) setItems(items []int) {
	keep := -1
	if b.chosen && b.grid.cursor < len(b.items) {
		keep = b.items[b.grid.cursor]
	}
	b.grid.cursor = 0
	b.items = items
	b.grid.setCount(len(items))
	if i := slices.Index(items, keep); keep >= 0 && i >= 0 {
		b.grid.cursor = i
	}
	if len(items) == 0 {
		b.detail = false
	}
}

// update answers a key, reporting whether it was one of the browser's.
func (b *browser) update(msg tea.KeyMsg, k keyMap) bool {
	if b.detail {
		switch {
		case key.Matches(msg, k.Back), key.Matches(msg, k.Open):
			b.detail = false
		case key.Matches(msg, k.Left):
			b.grid.left()
		case key.Matches(msg, k.Right):
			b.grid.right()
		default:
			return false
		}
		return true
	}
	switch {
	case key.Matches(msg, k.Open):
		b.detail = len(b.items) > 0
		b.chosen = b.chosen || b.detail
	case key.Matches(msg, k.Zoom):
		b.grid.toggleZoom()
	default:
		moved := k.moveGrid(msg, &b.grid)
		b.chosen = b.chosen || moved
		return moved
	}
	return true
}

// gridTop is the line the grid starts on, under the page's title.
const gridTop = 1

// click answers a mouse action at (x, y) from the page's corner: a click
// on a card puts the cursor there, a click on the card under the cursor
// opens its probabilities, the wheel turns pages (or images, in the chart).
func (b *browser) click(action mouseAction, x, y int) {
	switch {
	case action == mouseWheelUp && b.detail:
		b.grid.left()
	case action == mouseWheelDown && b.detail:
		b.grid.right()
	case action == mouseWheelUp:
		b.grid.pageUp()
	case action == mouseWheelDown:
		b.grid.pageDown()
	case action == mouseClick && !b.detail:
		i, ok := b.grid.at(x, y-gridTop)
		if !ok {
			return
		}
		if i == b.grid.cursor {
			b.detail = true
		}
		b.grid.cursor, b.chosen = i, true
	}
}

// keys are the bindings that do something now, for the help.
func (b *browser) keys(k keyMap) []key.Binding {
	if b.detail {
		back := key.NewBinding(key.WithKeys("esc", "enter"), key.WithHelp("esc/enter", "back to the images"))
		return []key.Binding{k.Next, back, mouseHelp("wheel", "previous/next image")}
	}
	return []key.Binding{k.Move, k.Page, k.Ends, withHelp(k.Open, "probabilities"), k.Zoom,
		mouseHelp("click", "pick an image (again: its probabilities)"), mouseHelp("wheel", "turn pages")}
}

// caption is the words under a test image's card.
func testCaption(r Results, i int, names classNames) []string {
	return []string{names.of(r.Label(i)), "→" + names.of(r.Pred(i)), fmt.Sprintf("%.1f%%", 100*clamp01(float64(r.Conf(i))))}
}

// worstTestCaption is the longest caption a test card can have.
func worstTestCaption(names classNames) []string {
	widest := strings.Repeat("W", names.widest())
	return []string{widest, "→" + widest, "100.0%"}
}

// render draws the grid (under a title) or the chart of the image under the
// cursor, in width x height. titles go from the fullest to the shortest: the
// first that fits beside the grid's position is used, so that a narrow
// screen loses words of the title rather than where the user is.
func (b *browser) render(p *base, r Results, test *dataset.Set, width, height int, titles ...string) string {
	if b.detail && len(b.items) > 0 {
		return b.renderDetail(p, r, test, width, height)
	}
	cardAt := func(k int) card {
		i := b.items[k]
		style := p.st.bad
		if r.Label(i) == r.Pred(i) {
			style = p.st.good
		}
		return card{image: test.Image(i), caption: testCaption(r, i, p.names), style: style}
	}
	worst := worstTestCaption(p.names)
	grid, ok := b.grid.render(cardAt, worst, p.dd, p.hiRes, p.st, width, height-gridTop)
	if !ok {
		w, h := minGridSize(worst)
		return needSize(w, h+1, width, height, p.st)
	}
	position := p.st.dim.Render(" · " + b.grid.position())
	title := ""
	for _, title = range titles {
		if lipgloss.Width(title)+lipgloss.Width(position) <= width {
			break
		}
	}
	head := p.st.title.Render(title) + position
	if len(b.items) == 0 {
		grid = []string{p.st.dim.Render("no images here")}
	}
	return block(append([]string{head}, grid...), width, height)
}

// renderDetail draws the probability chart of the image under the cursor.
func (b *browser) renderDetail(p *base, r Results, test *dataset.Set, width, height int) string {
	i := b.items[b.grid.cursor]
	verdict := p.st.bad
	if r.Label(i) == r.Pred(i) {
		verdict = p.st.good
	}
	head := p.st.title.Render(fmt.Sprintf("test image #%d", i)) + " " +
		verdict.Render(fmt.Sprintf("truth %s, predicted %s with %.1f%%",
			p.names.of(r.Label(i)), p.names.of(r.Pred(i)), 100*clamp01(float64(r.Conf(i))))) +
		p.st.dim.Render(fmt.Sprintf(" · %d of %d", b.grid.cursor+1, len(b.items)))
	chart, ok := probsChart(test.Image(i), r.Probs(i), r.Label(i), r.Pred(i), p.names, p.dd, p.hiRes, p.st, width, height-1)
	if !ok {
		w, h := probsMinSize(p.names)
		return needSize(w, h+1, width, height, p.st)
	}
	return block(append([]string{head}, chart...), width, height)
}
