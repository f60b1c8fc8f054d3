package draw

import (
	"errors"
	"github.com/charmbracelet/bubbles/key"
	"math"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"mnist-tui/dataset/prepare"
	"mnist-tui/engine/train"
	"mnist-tui/ui/view"
)

func TestMouseStrokePaintsTheCanvas(t *testing.T) {
	p := placed(newPage(fakeModel{probs: sevenish}, view.Options{NoColor: true}))
	// A drag jumps four pixels at once, then turns down; the release ends it.
	for _, m := range []tea.MouseMsg{
		press(5, 5, tea.MouseButtonLeft),
		drag(9, 5, tea.MouseButtonLeft),
		drag(9, 8, tea.MouseButtonLeft),
		release(9, 8),
		drag(20, 20, tea.MouseButtonNone), // moving with no button held draws nothing
	} {
		p.Update(m)
	}
	want := picture(
		"         ",
		" .+++++. ",
		" +@@@@@+ ",
		" .++++@+ ",
		"     +@+ ",
		"     +@+ ",
		"     .+. ",
		"         ",
	)
	if got := art(p.Canvas(), 3, 3, 12, 11); got != want {
		t.Errorf("canvas after the stroke:\n%s\nwant:\n%s", got, want)
	}
	if got := inked(p.Canvas()); got != 30 {
		t.Errorf("%d pixels inked in all, want the 30 above and nothing elsewhere", got)
	}
}

func inked(c *Canvas) int {
	n := 0
	for _, v := range c.img.Pix {
		if v != 0 {
			n++
		}
	}
	return n
}

func TestRightButtonErases(t *testing.T) {
	p := placed(newPage(fakeModel{probs: sevenish}, view.Options{NoColor: true}))
	for x := 4; x < 20; x++ {
		p.Canvas().paint(point{x, 10})
	}
	for _, m := range []tea.MouseMsg{press(8, 10, tea.MouseButtonRight), drag(12, 10, tea.MouseButtonRight), release(12, 10)} {
		p.Update(m)
	}
	for x := 7; x <= 13; x++ {
		if v := p.Canvas().At(x, 10); v != 0 {
			t.Errorf("pixel (%d,10) = %d after erasing from 8 to 12, want 0", x, v)
		}
	}
	if p.Canvas().At(6, 10) != inkCentre || p.Canvas().At(14, 10) != inkCentre {
		t.Error("the eraser went beyond its square")
	}
}

func TestMouseOutsideTheCanvas(t *testing.T) {
	p := placed(newPage(fakeModel{probs: sevenish}, view.Options{NoColor: true}))
	// A press on the panel beside the canvas starts nothing, even dragged in.
	p.Update(tea.MouseMsg{X: 80, Y: 10, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
	if !p.Canvas().Empty() {
		t.Fatal("a press outside the canvas painted")
	}
	// A drag seen first on the canvas (its press was elsewhere) paints from
	// there; leaving the canvas and coming back keeps the inside parts.
	for _, m := range []tea.MouseMsg{
		drag(26, 3, tea.MouseButtonLeft),
		drag(32, 3, tea.MouseButtonLeft), // off the right edge
		drag(26, 6, tea.MouseButtonLeft),
		release(26, 6),
	} {
		p.Update(m)
	}
	for _, px := range []point{{26, 3}, {27, 3}, {26, 6}} {
		if p.Canvas().At(px.x, px.y) != inkCentre {
			t.Errorf("pixel %v not inked by the drag across the edge", px)
		}
	}
	// Mouse events above the page (the dashboard's header) do nothing.
	before := inked(p.Canvas())
	p.Update(tea.MouseMsg{X: 10, Y: 1, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
	p.Update(tea.MouseMsg{X: 12, Y: 2, Action: tea.MouseActionMotion, Button: tea.MouseButtonLeft})
	if inked(p.Canvas()) != before {
		t.Error("a drag above the canvas painted")
	}
}

func TestHalfBlockCellPaintsBothPixelRows(t *testing.T) {
	p := newPage(fakeModel{probs: sevenish}, view.Options{NoColor: true})
	p.SetOrigin(0, 2)
	p.Render(100, 20) // fewer than 30 rows: half blocks
	if !p.at.half {
		t.Fatal("a 20-row page draws the canvas full size, want half blocks")
	}
	// Cell row 3 of the canvas holds pixel rows 6 and 7.
	cell := func(x, row int) (int, int) { return 1 + 2*x, 2 + 1 + row }
	x0, y0 := cell(10, 3)
	x1, y1 := cell(12, 3)
	p.Update(tea.MouseMsg{X: x0, Y: y0, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
	p.Update(tea.MouseMsg{X: x1, Y: y1, Action: tea.MouseActionMotion, Button: tea.MouseButtonLeft})
	p.Update(tea.MouseMsg{X: x1, Y: y1, Action: tea.MouseActionRelease})
	want := picture(
		"       ",
		" .+++. ",
		" +@@@+ ",
		" +@@@+ ",
		" .+++. ",
		"       ",
	)
	if got := art(p.Canvas(), 8, 4, 15, 10); got != want {
		t.Errorf("canvas after a half-block stroke:\n%s\nwant:\n%s", got, want)
	}
}

func TestKeyboardDraws(t *testing.T) {
	p := placed(newPage(fakeModel{probs: sevenish}, view.Options{NoColor: true}))
	// The cursor starts in the middle, at (14,14). Pen down, three steps
	// right, pen up, two steps down (no ink), one dab with space.
	for _, k := range []string{"p", "right", "right", "right", "p", "down", "down", "space"} {
		p.Update(keyPress(k))
	}
	want := picture(
		"        ",
		" .++++. ",
		" +@@@@+ ",
		" .++++. ",
		"    +@+ ",
		"    .+. ",
		"        ",
	)
	if got := art(p.Canvas(), 12, 12, 20, 19); got != want {
		t.Errorf("canvas after the keys:\n%s\nwant:\n%s", got, want)
	}
	// Backspace erases at the cursor; the cursor stops at the edges.
	p.Update(keyPress("backspace"))
	if p.Canvas().At(17, 16) != 0 {
		t.Error("backspace left the ink under the cursor")
	}
	for range 40 {
		p.Update(keyPress("left"))
		p.Update(keyPress("up"))
	}
	p.Update(keyPress("space"))
	if p.Canvas().At(0, 0) != inkCentre {
		t.Error("the cursor did not stop at the top-left pixel")
	}
}

func TestClearEmptiesTheCanvasAndTheAnswer(t *testing.T) {
	p := newPage(fakeModel{probs: sevenish}, view.Options{NoColor: true})
	drawSeven(p)
	if p.guess.state != answered {
		t.Fatalf("after drawing, answer state %d, want answered", p.guess.state)
	}
	p.Update(keyPress("c"))
	if !p.Canvas().Empty() {
		t.Error("c left ink on the canvas")
	}
	if p.guess.state != blank {
		t.Errorf("after c, answer state %d, want blank", p.guess.state)
	}
	if out := p.Render(120, 40); !strings.Contains(out, "draw a digit") {
		t.Errorf("an empty canvas does not say \"draw a digit\":\n%s", out)
	}
}

func TestEveryStrokeIsReadThroughPredictsPreparation(t *testing.T) {
	var seen [784]uint8
	calls := 0
	p := placed(newPage(fakeModel{probs: sevenish, seen: &seen, calls: &calls}, view.Options{NoColor: true}))
	strokes := []tea.MouseMsg{
		press(7, 5, tea.MouseButtonLeft), drag(13, 5, tea.MouseButtonLeft), drag(20, 5, tea.MouseButtonLeft),
		drag(17, 13, tea.MouseButtonLeft), drag(14, 22, tea.MouseButtonLeft), release(14, 22),
	}
	for i, m := range strokes {
		p.Update(m)
		if calls != i+1 {
			t.Fatalf("after %d stroke events the model was asked %d times, want once per event", i+1, calls)
		}
		// predict's path: a picture through prepare.FromImage.
		want, err := prepare.FromImage(p.Canvas().Image())
		if err != nil {
			t.Fatal(err)
		}
		if seen != want {
			t.Fatalf("event %d: the model was shown something else than predict's preparation of the canvas", i+1)
		}
		if p.guess.top() != 7 {
			t.Errorf("event %d: top guess %d, want the model's 7", i+1, p.guess.top())
		}
	}
}

func TestNoAnswerCases(t *testing.T) {
	nan := float32(math.NaN())
	for _, tc := range []struct {
		name  string
		model fakeModel
		state guessState
		says  string
	}{
		{"nan", fakeModel{probs: [10]float32{nan, nan, nan, nan, nan, nan, nan, nan, nan, nan}}, notANumber, "NaN"},
		{"no weights", fakeModel{err: ErrNoWeights}, noWeights, "waiting for the model"},
		{"failure", fakeModel{err: errors.New("model exploded")}, failed, "model exploded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPage(tc.model, view.Options{NoColor: true})
			drawSeven(p)
			if p.guess.state != tc.state {
				t.Errorf("state %d, want %d", p.guess.state, tc.state)
			}
			out := p.Render(120, 40)
			if !strings.Contains(out, tc.says) {
				t.Errorf("page does not say %q:\n%s", tc.says, out)
			}
			if strings.Contains(out, "%") && strings.Contains(out, "sure") {
				t.Errorf("page shows a confidence without an answer:\n%s", out)
			}
		})
	}
}

func TestSnapshotBringsClassNames(t *testing.T) {
	p := newPage(fakeModel{probs: sevenish}, view.Options{NoColor: true})
	p.SetSnapshot(train.Snapshot{}) // still loading: no names yet
	if p.className(9) != "9" {
		t.Errorf("class 9 named %q before the run has names, want 9", p.className(9))
	}
	fashion := [10]string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
	p.SetSnapshot(train.Snapshot{Classes: fashion})
	drawSeven(p)
	out := p.Render(120, 40)
	for _, name := range []string{"Ankle boot", "Sneaker", "T-shirt/top"} {
		if !strings.Contains(out, name) {
			t.Errorf("page does not name class %q:\n%s", name, out)
		}
	}
}

func TestPageContract(t *testing.T) {
	var v view.View = newPage(fakeModel{}, view.Options{NoColor: true})
	if v.Name() != "draw" || v.CapturesKeys() || len(v.Keys()) == 0 {
		t.Errorf("Name %q, CapturesKeys %v, %d keys", v.Name(), v.CapturesKeys(), len(v.Keys()))
	}
	if _, ok := v.(view.Positioned); !ok {
		t.Error("the page does not take its origin (view.Positioned): the mouse cannot work")
	}
	s, ok := v.(view.Shortcut)
	if !ok || s.Shortcut().Keys()[0] != "d" {
		t.Error("the page does not open with d (view.Shortcut)")
	}
	if _, ok := v.(view.Starter); !ok {
		t.Error("the page is not a view.Starter")
	}
	if u, ok := v.(view.MouseUser); !ok || !u.UsesMouse() {
		t.Error("the page does not ask for the mouse (view.MouseUser)")
	}
}

// The page claims its drawing keys and leaves the dashboard its own: the
// page numbers, tab, q and ? work on the draw page as on every page.
func TestPageClaimsOnlyItsDrawingKeys(t *testing.T) {
	p := newPage(fakeModel{probs: sevenish}, view.Options{NoColor: true})
	for _, k := range []string{"up", "down", "left", "right", "space", "p", "backspace", "delete", "c", "x"} {
		if !p.Claims(keyPress(k)) {
			t.Errorf("the page does not claim its drawing key %q", k)
		}
	}
	for _, k := range []string{"1", "2", "7", "q", "?", "s", "a", "r", "esc"} {
		if p.Claims(keyPress(k)) {
			t.Errorf("the page takes the dashboard's key %q", k)
		}
	}
	if p.Claims(tea.KeyMsg{Type: tea.KeyTab}) || p.Claims(tea.KeyMsg{Type: tea.KeyCtrlC}) {
		t.Error("the page takes tab or ctrl+c")
	}
}

// Every key the page answers to is in its help.
func TestHelpListsEveryDrawingKey(t *testing.T) {
	var candidates []tea.KeyMsg
	for r := '!'; r <= '~'; r++ {
		candidates = append(candidates, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	for _, t := range []tea.KeyType{tea.KeySpace, tea.KeyUp, tea.KeyDown, tea.KeyLeft, tea.KeyRight, tea.KeyPgUp,
		tea.KeyPgDown, tea.KeyHome, tea.KeyEnd, tea.KeyEnter, tea.KeyBackspace, tea.KeyDelete} {
		candidates = append(candidates, tea.KeyMsg{Type: t})
	}
	for _, k := range candidates {
		p := newPage(fakeModel{probs: sevenish}, view.Options{NoColor: true})
		drawSeven(p)
		before := p.Render(120, 40)
		cmd := p.Update(k)
		if p.Render(120, 40) == before && cmd == nil {
			continue
		}
		found := false
		for _, b := range p.Keys() {
			found = found || (b.Enabled() && key.Matches(k, b))
		}
		if !found {
			t.Errorf("%q changes the page but is not in its help", k.String())
		}
		if !p.Claims(k) {
			t.Errorf("%q draws but the page does not claim it from the dashboard", k.String())
		}
	}
}

// The mouse is the main way to draw, and its hint beside the canvas is cut
// first on a narrow terminal: the help lists both buttons.
func TestHelpListsTheMouseButtons(t *testing.T) {
	p := newPage(fakeModel{}, view.Options{NoColor: true})
	for _, want := range []string{"left button", "right button"} {
		found := false
		for _, b := range p.Keys() {
			found = found || (b.Enabled() && strings.Contains(b.Help().Key, want))
		}
		if !found {
			t.Errorf("the help has no entry for the mouse's %s", want)
		}
	}
}
