package inspect

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"mnist-tui/engine/train"
	"mnist-tui/ui/view"
)

// Mistakes is the page of misclassified test images, as a paged grid of
// cards (truth, prediction, confidence), most confident mistakes first;
// enter shows the ten class probabilities of the one under the cursor.
type Mistakes struct {
	base
	eval       evalState
	leastFirst bool // o: least confident mistakes first
	browse     browser
	why        why // w: the saliency of the answer, beside the probabilities
}

// NewMistakes returns the mistakes page.
func NewMistakes(opts view.Options) *Mistakes {
	return &Mistakes{base: newBase(opts), why: newWhy()}
}

// SetExplainer gives the page a model to explain its answers with: the
// probability chart then offers `w`, which shows the pixels that made the
// answer.
func (m *Mistakes) SetExplainer(e Explainer) { m.why.explainer = e }

// explainShown asks for the map of the image on screen, when the overlay
// is on.
func (m *Mistakes) explainShown() tea.Cmd {
	if !m.browse.detail || len(m.browse.items) == 0 {
		return nil
	}
	i := m.browse.items[m.browse.grid.cursor]
	return m.why.request(m, i, m.eval.results.Pred(i), m.eval.test.Image(i))
}

// Name is the page's label in the tab bar.
func (m *Mistakes) Name() string { return "mistakes" }

// SetSnapshot takes the latest evaluation; the list is rebuilt only when
// the evaluation is new.
func (m *Mistakes) SetSnapshot(s train.Snapshot) {
	m.names = namesOf(s)
	if m.eval.update(s) {
		m.relist()
	}
}

// relist sorts the mistakes of the current evaluation in the current order.
func (m *Mistakes) relist() {
	if !m.eval.ready() {
		m.browse.setItems(nil)
		return
	}
	m.browse.setItems(m.eval.results.Mistakes(!m.leastFirst))
}

// Update answers the page's keys.
func (m *Mistakes) Update(msg tea.Msg) tea.Cmd {
	if done, ok := msg.(whyMsg); ok && done.page == m {
		m.why.done(done)
		return m.explainShown() // the cursor may have moved meanwhile
	}
	if mouse, ok := msg.(tea.MouseMsg); ok && m.eval.ready() {
		m.browse.click(m.mouse(mouse))
		return m.explainShown()
	}
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	switch {
	case m.browse.detail && m.why.explainer != nil && key.Matches(k, m.why.binding):
		m.why.on = !m.why.on
		return m.explainShown()
	case !m.browse.detail && key.Matches(k, m.keys.Order):
		m.leastFirst = !m.leastFirst
		// The other end of the list: start again at its top.
		m.browse = browser{grid: imageGrid{zoom: m.browse.grid.zoom}}
		m.relist()
	default:
		m.browse.update(k, m.keys)
	}
	return m.explainShown()
}

// Render draws the page in exactly width x height cells.
func (m *Mistakes) Render(width, height int) string {
	switch {
	case m.eval.eval == nil:
		return message("the mistakes appear after the first epoch", m.st.dim, width, height)
	case m.eval.test == nil:
		return message("loading the data set…", m.st.dim, width, height)
	case m.eval.err != nil:
		return message("cannot show the mistakes: "+m.eval.err.Error(), m.st.bad, width, height)
	}
	order := "most confident first"
	if m.leastFirst {
		order = "least confident first"
	}
	n := m.eval.results.Len()
	label, k, share := m.eval.epochLabel(), len(m.browse.items), percent(len(m.browse.items), n)
	titles := []string{ // the longest that fits
		fmt.Sprintf("mistakes%s: %d of %d (%s) · %s", label, k, n, share, order),
		fmt.Sprintf("mistakes%s: %d (%s) · %s", label, k, share, order),
		fmt.Sprintf("mistakes%s: %d · %s", label, k, order),
	}
	if m.why.on && m.browse.detail && len(m.browse.items) > 0 && width > whyW {
		// The map on the left, the probabilities in what is left.
		i := m.browse.items[m.browse.grid.cursor]
		c := m.eval.results.Pred(i)
		detail := strings.Split(m.browse.render(&m.base, m.eval.results, m.eval.test, width-whyW, height, titles...), "\n")
		panel := append([]string{""}, m.why.panel(i, c, m.names.of(c), m.eval.test.Image(i))...)
		return block(besideLines(panel, whyW, detail), width, height)
	}
	return m.browse.render(&m.base, m.eval.results, m.eval.test, width, height, titles...)
}

// Keys are the bindings that do something now.
func (m *Mistakes) Keys() []key.Binding {
	if !m.eval.ready() {
		return nil
	}
	keys := m.browse.keys(m.keys)
	if m.browse.detail && m.why.explainer != nil {
		keys = append(keys, m.why.binding)
	}
	if !m.browse.detail {
		keys = append(keys, withHelp(m.keys.Order, "most/least confident first"))
	}
	return keys
}

// CapturesKeys is false: the page leaves the dashboard its keys.
func (m *Mistakes) CapturesKeys() bool { return false }

// Nested reports whether esc closes the probability chart rather than
// leaving the page.
func (m *Mistakes) Nested() bool { return m.browse.detail }
