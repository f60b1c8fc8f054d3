package inspect

import (
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

func TestLayoutPicksTheDigitSize(t *testing.T) {
	caption := []string{"7", "→2", "100.0%"} // one line even on a small card
	bigger, smaller := large, small
	for _, tc := range []struct {
		name          string
		zoom          *digitSize
		width, height int
		want          gridLayout
		ok            bool
	}{
		// 120/30 = 4 slots, 39/15 = 2 rows: 8 large cards, enough.
		{"roomy", nil, 120, 39, gridLayout{size: large, captionLines: 1, cols: 4, rows: 2}, true},
		// 80/30 = 2 slots, 16/15 = 1 row: too few large cards, so
		// small ones: 80/16 = 5 slots, 16/8 = 2 rows.
		{"short", nil, 80, 16, gridLayout{size: small, captionLines: 1, cols: 5, rows: 2}, true},
		{"short, large asked for", &bigger, 80, 16, gridLayout{size: large, captionLines: 1, cols: 2, rows: 1}, true},
		{"roomy, small asked for", &smaller, 120, 39, gridLayout{size: small, captionLines: 1, cols: 7, rows: 4}, true},
		{"large asked for, none fits", &bigger, 20, 10, gridLayout{size: small, captionLines: 1, cols: 1, rows: 1}, true},
		{"nothing fits", nil, 15, 20, gridLayout{}, false},
	} {
		got, ok := chooseLayout(tc.zoom, caption, tc.width, tc.height)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %+v %v, want %+v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCaptionLinesFollowTheLongestCaption(t *testing.T) {
	// Fashion-MNIST's longest names do not fit a small card's 14 columns
	// on one line: truth, prediction and confidence get a line each.
	worst := []string{"T-shirt/top", "→T-shirt/top", "100.0%"}
	if l := layoutAt(small, worst, 80, 40); l.captionLines != 3 {
		t.Errorf("small card: %d caption lines, want 3", l.captionLines)
	}
	if l := layoutAt(large, worst, 80, 40); l.captionLines != 2 {
		t.Errorf("large card: %d caption lines, want 2", l.captionLines)
	}
}

func TestPackWords(t *testing.T) {
	for _, tc := range []struct {
		words []string
		width int
		want  []string
	}{
		{[]string{"7", "→2", "91.0%"}, 14, []string{"7 →2 91.0%"}},
		{[]string{"Pullover", "→Sneaker", "91.0%"}, 14, []string{"Pullover", "→Sneaker 91.0%"}},
		{[]string{"T-shirt/top"}, 5, []string{"T-sh…"}},
		{nil, 10, nil},
	} {
		if got := packWords(tc.words, tc.width); !slices.Equal(got, tc.want) {
			t.Errorf("packWords(%q, %d) = %q, want %q", tc.words, tc.width, got, tc.want)
		}
	}
}

func TestGridCursorMoves(t *testing.T) {
	// 14 items, 3 columns x 2 rows a page.
	g := imageGrid{drawn: gridLayout{size: small, captionLines: 1, cols: 3, rows: 2}}
	g.setCount(14)
	for _, tc := range []struct {
		move   func()
		cursor int
		where  string
	}{
		{g.right, 1, "1-6 of 14 · page 1/3"},
		{g.down, 4, "1-6 of 14 · page 1/3"},
		{g.right, 5, "1-6 of 14 · page 1/3"},
		{g.right, 6, "7-12 of 14 · page 2/3"}, // off the page's end: the next page
		{g.up, 3, "1-6 of 14 · page 1/3"},
		{g.pageDown, 9, "7-12 of 14 · page 2/3"},
		{g.pageDown, 13, "13-14 of 14 · page 3/3"}, // clamped to the last item
		{g.down, 13, "13-14 of 14 · page 3/3"},
		{g.home, 0, "1-6 of 14 · page 1/3"},
		{g.left, 0, "1-6 of 14 · page 1/3"},
		{g.end, 13, "13-14 of 14 · page 3/3"},
	} {
		tc.move()
		if g.cursor != tc.cursor || g.position() != tc.where {
			t.Fatalf("cursor %d at %q, want %d at %q", g.cursor, g.position(), tc.cursor, tc.where)
		}
	}
	g.setCount(4) // a new evaluation with fewer items
	if g.cursor != 3 {
		t.Errorf("cursor %d after the list shrank to 4, want 3", g.cursor)
	}
	g.setCount(0)
	if g.cursor != 0 || g.position() != "none" {
		t.Errorf("empty list: cursor %d, position %q", g.cursor, g.position())
	}
}

func click(x, y int) tea.MouseMsg {
	return tea.MouseMsg{X: x, Y: y, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress}
}

func TestMouseOnTheMistakes(t *testing.T) {
	m := NewMistakes(noColor())
	m.SetSnapshot(handSnapshot(mnistInfo(t)))
	m.SetOrigin(0, 5) // the page starts on the screen's sixth line
	m.Render(120, 40)
	// The second card (image 11) is in the slot at columns 30-59, its
	// digit from the grid's first line, the page's second.
	m.Update(click(45, 5+1+3))
	m.Update(click(45, 5+1+3))
	out := m.Render(120, 40)
	if !m.Nested() || !strings.Contains(out, "test image #11") {
		t.Fatalf("two clicks on the second card should open image 11:\n%s", out)
	}
	m.Update(tea.MouseMsg{Button: tea.MouseButtonWheelDown, Action: tea.MouseActionPress})
	if out := m.Render(120, 40); !strings.Contains(out, "test image #2") {
		t.Errorf("the wheel in the chart should show the next image, 2:\n%s", out)
	}
	send(m, "esc")
	m.Render(120, 40)
	m.Update(click(200, 5+1+3)) // right of the cards
	m.Update(click(5, 2))       // above the page
	if m.browse.grid.cursor != 2 || m.Nested() {
		t.Errorf("clicks outside the cards moved the cursor to %d", m.browse.grid.cursor)
	}
}

func TestMouseOnTheConfusionMatrix(t *testing.T) {
	c := NewConfusion(noColor())
	c.SetSnapshot(handSnapshot(mnistInfo(t)))
	c.SetOrigin(2, 3)
	c.Render(100, 20)
	// MNIST's rows: labels 7 wide ("truth ↓"), a space, cells 3 wide. Row
	// 2 is the page's line 5; column 7 starts at 8 + 7*3 = 29.
	at := func(row, col int) tea.MouseMsg { return click(2+8+3*col+1, 3+3+row) }
	c.Update(at(2, 7))
	if out := c.Render(100, 20); !strings.Contains(out, "truth 2, predicted 7: 1 of 4 images") {
		t.Fatalf("a click on [2][7] should select it:\n%s", out)
	}
	c.Update(at(2, 7))
	if out := c.Render(100, 20); !c.Nested() || !strings.Contains(out, "truth 2, predicted 7 · 1-1 of 1") {
		t.Errorf("a second click should list the cell's images:\n%s", out)
	}
}
