package inspect

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"mnist-tui/dataset"
	"mnist-tui/engine/saliency"
)

// Explainer says which pixels of an image made a model give class (the
// mistakes page's `w`). It may wait for the trainer's weights, so the page
// calls it from a command, never from Update.
type Explainer interface {
	Explain(ctx context.Context, pixels [dataset.ImageSize]uint8, class int) (saliency.Result, error)
}

// explainTimeout bounds one explanation: the end of an epoch can hold the
// trainer's weights for seconds.
const explainTimeout = 30 * time.Second

// why is the saliency overlay of a page's detail view: on or off, the map
// shown (for which test image and class), and whether one is coming.
type why struct {
	explainer Explainer
	on        bool
	index     int // test image of res, -1 before any
	class     int
	res       saliency.Result
	err       error
	working   bool
	binding   key.Binding
}

func newWhy() why {
	return why{index: -1, binding: key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "why: which pixels made the answer (on/off)"))}
}

// whyMsg is an explanation's result; it carries its page, since the
// dashboard hands such messages to every page.
type whyMsg struct {
	page         any
	index, class int
	res          saliency.Result
	err          error
}

// current: the map shown is the one of image i and class c.
func (w *why) current(i, c int) bool { return w.index == i && w.class == c && !w.working }

// request starts explaining image i (pixels) as class c, unless the
// overlay is off, the map is already that one, or one is being computed
// (its result asks again).
func (w *why) request(page any, i, c int, pixels []uint8) tea.Cmd {
	if w.explainer == nil || !w.on || w.working || (w.index == i && w.class == c) {
		return nil
	}
	w.working = true
	var img [dataset.ImageSize]uint8
	copy(img[:], pixels)
	e := w.explainer
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), explainTimeout)
		defer cancel()
		res, err := e.Explain(ctx, img, c)
		return whyMsg{page: page, index: i, class: c, res: res, err: err}
	}
}

// done takes a result in.
func (w *why) done(m whyMsg) {
	w.working = false
	w.index, w.class, w.res, w.err = m.index, m.class, m.res, m.err
}

// whyW is the width of the overlay panel: 28 cells and a gap.
const whyW = saliency.Side + 3

// panel draws the map of image i, class c (named name): 14 rows of
// characters, two pixel rows a cell; # and + for the answer, = and -
// against it, the ink as . where it hardly mattered.
func (w *why) panel(i, c int, name string, img []uint8) []string {
	switch {
	case w.err != nil && w.index == i:
		return []string{fitText("why: "+w.err.Error(), whyW-1)}
	case !w.current(i, c):
		return []string{"why: working it out…"}
	}
	lines := []string{fitText("why "+name+": # + for, = - against", whyW-1)}
	scale := w.res.Max
	for r := range saliency.Side / 2 {
		var b strings.Builder
		for x := range saliency.Side {
			a, bl := 2*r*saliency.Side+x, (2*r+1)*saliency.Side+x
			v := float32(0)
			if scale > 0 {
				v = (w.res.Map[a] + w.res.Map[bl]) / 2 / scale
			}
			ink := (int(img[a]) + int(img[bl])) / 2
			b.WriteByte(whyChar(v, ink))
		}
		lines = append(lines, b.String())
	}
	return lines
}

func fitText(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// whyChar is a scaled saliency (-1 to 1) as a character.
func whyChar(v float32, ink int) byte {
	switch {
	case v > 0.5:
		return '#'
	case v > 0.1:
		return '+'
	case v < -0.5:
		return '='
	case v < -0.1:
		return '-'
	case ink > 64:
		return '.'
	}
	return ' '
}

// besideLines puts right beside left (each line of left padded to leftW
// cells).
func besideLines(left []string, leftW int, right []string) []string {
	out := make([]string, max(len(left), len(right)))
	for i := range out {
		l := ""
		if i < len(left) {
			l = left[i]
		}
		l = fmt.Sprintf("%-*s", leftW, l)
		if i < len(right) {
			l += right[i]
		}
		out[i] = l
	}
	return out
}
