package draw

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"mnist-tui/ui/view"
)

func TestMain(m *testing.M) {
	// Nothing drawn by the default renderer may probe the terminal.
	lipgloss.SetColorProfile(termenv.Ascii)
	lipgloss.SetHasDarkBackground(true)
	os.Exit(m.Run())
}

var digits = [10]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// fakeModel answers with fixed probabilities and remembers what it was
// shown.
type fakeModel struct {
	probs [10]float32
	err   error
	seen  *[784]uint8 // the last image classified, when not nil
	calls *int
}

func (f fakeModel) Classify(pixels [784]uint8) ([10]float32, error) {
	if f.seen != nil {
		*f.seen = pixels
	}
	if f.calls != nil {
		*f.calls++
	}
	return f.probs, f.err
}

func (f fakeModel) About() string { return "fake cnn from runs/demo/best.safetensors" }

// sevenish is an answer that reads a 7, not quite sure.
var sevenish = [10]float32{0.004, 0.09, 0.021, 0.003, 0.001, 0.002, 0.0005, 0.83, 0.0015, 0.047}

func colourRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI256)
	r.SetHasDarkBackground(true)
	return r
}

// newPage is New with the refresh tick shortened for tests.
func newPage(src Model, opts view.Options) *Page {
	p := New(src, digits, opts)
	p.every = time.Millisecond
	return p
}

// Mouse helpers: the page is rendered at (originX, originY) on the screen;
// a full-size canvas starts one cell in (its frame), two cells per pixel.
const originX, originY = 0, 3

func cellOf(x, y int) (int, int) { return originX + 1 + 2*x, originY + 1 + y }

func press(x, y int, b tea.MouseButton) tea.MouseMsg {
	cx, cy := cellOf(x, y)
	return tea.MouseMsg{X: cx, Y: cy, Action: tea.MouseActionPress, Button: b}
}

func drag(x, y int, b tea.MouseButton) tea.MouseMsg {
	cx, cy := cellOf(x, y)
	return tea.MouseMsg{X: cx, Y: cy, Action: tea.MouseActionMotion, Button: b}
}

func release(x, y int) tea.MouseMsg {
	cx, cy := cellOf(x, y)
	return tea.MouseMsg{X: cx, Y: cy, Action: tea.MouseActionRelease, Button: tea.MouseButtonNone}
}

// placed renders p at a full size with the test origin, as the dashboard
// does before the first mouse event reaches it.
func placed(p *Page) *Page {
	p.SetOrigin(originX, originY)
	p.Render(120, 40)
	return p
}

// drawSeven draws a 7 with the mouse: a bar along the top and a slanted
// stroke down, in two drags.
func drawSeven(p *Page) {
	placed(p)
	for _, m := range []tea.MouseMsg{
		press(7, 5, tea.MouseButtonLeft), drag(13, 5, tea.MouseButtonLeft), drag(20, 5, tea.MouseButtonLeft), release(20, 5),
		press(20, 6, tea.MouseButtonLeft), drag(17, 13, tea.MouseButtonLeft), drag(14, 22, tea.MouseButtonLeft), release(14, 22),
	} {
		p.Update(m)
	}
}

func keyPress(s string) tea.KeyMsg {
	switch s {
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "left":
		return tea.KeyMsg{Type: tea.KeyLeft}
	case "right":
		return tea.KeyMsg{Type: tea.KeyRight}
	case "space":
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

// art draws a region of the canvas with one character per pixel level:
// ' ' none, '.' a corner's ink, '+' a side's, '@' full, '?' anything else.
// Tests compare it with the picture they expect.
func art(c *Canvas, x0, y0, x1, y1 int) string {
	var b strings.Builder
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			switch c.At(x, y) {
			case 0:
				b.WriteByte(' ')
			case inkCorner:
				b.WriteByte('.')
			case inkSide:
				b.WriteByte('+')
			case inkCentre:
				b.WriteByte('@')
			default:
				b.WriteByte('?')
			}
		}
		b.WriteString("|\n")
	}
	return b.String()
}

// picture is art's expected form written in a test: lines without the
// trailing bars, which only keep editors from eating spaces.
func picture(lines ...string) string {
	return strings.Join(lines, "|\n") + "|\n"
}

// runCmd runs a command and everything it batches, feeding each message
// back to the page, as bubbletea would (ticks are not waited for).
func runCmd(t *testing.T, p *Page, cmd tea.Cmd) {
	t.Helper()
	for _, msg := range collect(cmd) {
		if _, tick := msg.(tickMsg); tick {
			continue
		}
		runCmd(t, p, p.Update(msg))
	}
}

// collect runs cmd and returns its messages, unbatched. Pages made by
// newPage tick every millisecond, so running a tick costs nothing.
func collect(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	if batch, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range batch {
			out = append(out, collect(c)...)
		}
		return out
	}
	return []tea.Msg{msg}
}
