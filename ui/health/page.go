// Package health is the dashboard's health page: every layer's weight
// norm, gradient norm and update-to-weight ratio at the latest log
// interval, its activations (mean, spread, dead ReLUs), their history as
// sparklines, and the training doctor's notes below, whose fix (a change
// of the learning rate) one key applies and another undoes, each as an
// edit made on the config page (view.EditMsg): written back to the config
// file, applied from the next step, recorded in the run with its reason.
package health

import (
	"fmt"
	"math"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"mnist-tui/engine/config"
	"mnist-tui/engine/doctor"
	"mnist-tui/engine/network"
	"mnist-tui/engine/runs"
	"mnist-tui/engine/train"
	"mnist-tui/ui/termdraw"
	"mnist-tui/ui/view"
)

// Page is the health page. Create it with New.
type Page struct {
	snap train.Snapshot
	keys keyMap
	st   styles

	// fixed is the fix applied last, to undo: the learning rate before
	// and after it; asked is the fix or undo sent to the config page and
	// not answered yet. Both are forgotten when the run changes.
	fixed *fix
	asked *fix
	run   string
	note  string // the outcome of the last key: "applied ...", "nothing to undo"
}

type fix struct {
	note     runs.Note
	from, to float64
	undo     bool
	why      string
}

type keyMap struct {
	Fix, Undo key.Binding
}

type styles struct {
	title, dim, warn, good lipgloss.Style
}

// New makes the page.
func New(opts view.Options) *Page {
	r := opts.Renderer
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	st := styles{title: r.NewStyle().Bold(true), dim: r.NewStyle(), warn: r.NewStyle(), good: r.NewStyle()}
	if !opts.NoColor {
		st.dim = st.dim.Foreground(lipgloss.Color("8"))
		st.warn = st.warn.Foreground(lipgloss.Color("3")).Bold(true)
		st.good = st.good.Foreground(lipgloss.Color("2"))
	}
	return &Page{
		st: st,
		keys: keyMap{
			Fix:  key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "apply the doctor's fix")),
			Undo: key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "undo the fix")),
		},
	}
}

// Name is the page's tab label.
func (p *Page) Name() string { return "health" }

// Shortcut opens the page from any other page.
func (p *Page) Shortcut() key.Binding {
	return key.NewBinding(key.WithKeys("h"), key.WithHelp("h", "layer health and the doctor"))
}

// CapturesKeys is false: the page has two keys of its own.
func (p *Page) CapturesKeys() bool { return false }

// SetSnapshot takes the newest snapshot; a new run forgets the fix of the
// old one.
func (p *Page) SetSnapshot(s train.Snapshot) {
	if s.RunID != p.run {
		p.run, p.fixed, p.asked, p.note = s.RunID, nil, nil, ""
	}
	p.snap = s
}

// Snapshot is the snapshot the page shows.
func (p *Page) Snapshot() train.Snapshot { return p.snap }

// pending is the newest note with a fix, unless that fix is the one
// applied last.
func (p *Page) pending() (runs.Note, bool) {
	for i := len(p.snap.Notes) - 1; i >= 0; i-- {
		n := p.snap.Notes[i]
		if n.FixKey == doctor.LearningRate && n.FixFactor > 0 {
			if p.fixed != nil && p.fixed.note == n {
				return runs.Note{}, false
			}
			return n, true
		}
	}
	return runs.Note{}, false
}

// canUndo: a fix was applied and the learning rate is still what it set.
func (p *Page) canUndo() bool { return p.fixed != nil && p.snap.Config.LearningRate == p.fixed.to }

// running: the trainer takes commands (a finished run does not).
func (p *Page) running() bool { return p.snap.State == train.Running || p.snap.State == train.Paused }

// Keys are the page's keys that do something now.
func (p *Page) Keys() []key.Binding {
	if p.asked != nil {
		return nil // until the config page answers
	}
	var out []key.Binding
	if _, ok := p.pending(); ok && p.running() {
		out = append(out, p.keys.Fix)
	}
	if p.canUndo() && p.running() {
		out = append(out, p.keys.Undo)
	}
	return out
}

// Update applies or undoes the doctor's fix, through the config page.
func (p *Page) Update(msg tea.Msg) tea.Cmd {
	if e, ok := msg.(view.EditedMsg); ok {
		p.edited(e)
		return nil
	}
	k, ok := msg.(tea.KeyMsg)
	if !ok || !p.running() || p.asked != nil {
		return nil
	}
	switch {
	case key.Matches(k, p.keys.Fix):
		n, ok := p.pending()
		if !ok {
			return nil
		}
		// The rate the note judged, not one a schedule has moved since.
		lr := doctor.FixedValue(n, p.snap.Config.LearningRate)
		why := fmt.Sprintf("doctor: %s at step %d, %s", n.Rule, n.Step, doctor.FixText(n, p.snap.Config.LearningRate))
		p.asked = &fix{note: n, from: p.snap.Config.LearningRate, to: lr, why: why}
		p.note = "applying " + doctor.FixText(n, p.snap.Config.LearningRate) + "…"
		return edit(lr, why)
	case key.Matches(k, p.keys.Undo):
		if !p.canUndo() {
			return nil
		}
		undo := *p.fixed
		undo.undo, undo.why = true, fmt.Sprintf("undo of the doctor's fix (%s at step %d)", undo.note.Rule, undo.note.Step)
		p.asked = &undo
		p.note = fmt.Sprintf("putting the learning rate back to %g…", undo.from)
		return edit(undo.from, undo.why)
	}
	return nil
}

// edit asks the config page to set the learning rate, as typed there.
func edit(lr float64, why string) tea.Cmd {
	return func() tea.Msg {
		return view.EditMsg{Values: map[string]any{doctor.LearningRate: lr}, Why: why}
	}
}

// edited takes the config page's answer to the fix or undo asked for.
func (p *Page) edited(e view.EditedMsg) {
	a := p.asked
	if a == nil || e.Why != a.why {
		return
	}
	p.asked = nil
	if !e.Applied {
		p.note = e.Status
		return
	}
	if a.undo {
		// The note stays fixed-and-undone: f does not offer it again.
		p.fixed.to = math.NaN()
		p.note = fmt.Sprintf("learning rate back to %g (%s)", a.from, e.Status)
		return
	}
	p.fixed = a
	p.note = fmt.Sprintf("learning rate %g → %g (%s; u undoes)", a.from, a.to, e.Status)
}

// Render draws the layer table and the doctor's notes.
func (p *Page) Render(width, height int) string {
	var b strings.Builder
	latest := len(p.snap.Health) - 1
	if latest < 0 {
		b.WriteString(p.st.title.Render("layer health") + "\n")
		b.WriteString("Measured at every log interval (" + fmt.Sprint(p.snap.Config.LogInterval) + " steps): nothing yet.\n")
	} else {
		h := p.snap.Health[latest]
		b.WriteString(p.st.title.Render("layer health") +
			fmt.Sprintf(" · step %d (epoch %d, batch %d) · lr %g · %d %s", h.Step, h.Epoch, h.Batch, h.LR, len(p.snap.Health), plural(len(p.snap.Health), "record")) + "\n")
		b.WriteString(p.table(width) + "\n")
		b.WriteString(p.st.dim.Render("update = lr x |grad| / |weight|, the relative change of one step: about 1e-3 is healthy; the doctor speaks below 1e-5 or above 1e-1. "+
			"act, act sd: the layer's output over the batch (after its ReLU); dead: its ReLUs that gave 0 for every image (the doctor speaks above 50 %). Sparklines: log scale, oldest left.") + "\n")
	}
	b.WriteString("\n" + p.doctorText(width))
	return termdraw.FitBlock(wrapLines(b.String(), width), width, height)
}

// Table is the layer table alone, for another page (the layers page ends
// with it): "" until the run has a health record.
func (p *Page) Table(width int) string {
	if len(p.snap.Health) == 0 {
		return ""
	}
	return p.table(width)
}

// table is one row per layer: the latest numbers and their history.
func (p *Page) table(width int) string {
	hist := p.snap.Health
	last := hist[len(hist)-1]
	kinds := layerKinds(p.snap.Config)
	names := make([]string, len(last.Layers))
	nameW := len("layer")
	for i, l := range last.Layers {
		names[i] = l.Name
		if k, ok := kinds[l.Name]; ok {
			names[i] += " " + k
		}
		nameW = max(nameW, len(names[i]))
	}
	const numW, actW, deadW = 8, 7, 4
	fixed := nameW + 3*(numW+1) + 2*(actW+1) + deadW + 1
	// The history columns share what is left, each showing as many of the
	// latest records as it has cells: both when they fit, else the update
	// ratio's alone (an 80-column terminal).
	cols := 2
	colW := min(maxHistory, max(0, (width-fixed)/2-2))
	if colW < len("update history") {
		cols, colW = 1, min(maxHistory, max(0, width-fixed-2))
	}
	if colW < len("update history") {
		cols, colW = 0, 0
	}
	spark := min(colW, len(hist))
	var b strings.Builder
	head := fmt.Sprintf("%-*s %*s %*s %*s %*s %*s %*s", nameW, "layer", numW, "|weight|", numW, "|grad|", numW, "update",
		actW, "act", actW, "act sd", deadW, "dead")
	switch cols {
	case 2:
		head += "  " + pad("|grad| history", colW) + " " + pad("update history", colW)
	case 1:
		head += "  " + pad("update history", colW)
	}
	b.WriteString(p.st.title.Render(head))
	for i, l := range last.Layers {
		row := fmt.Sprintf("%-*s %*s %*s ", nameW, names[i], numW, num(l.WeightNorm), numW, num(l.GradNorm))
		ratio := fmt.Sprintf("%*s", numW, num(l.UpdateRatio))
		if l.UpdateRatio < doctor.RatioLow || l.UpdateRatio > doctor.RatioHigh {
			ratio = p.st.warn.Render(ratio)
		}
		row += ratio + " " + p.activations(l.Act, actW, deadW)
		if spark > 0 {
			grads, ratios := series(hist, i, spark)
			if cols == 2 {
				row += "  " + pad(sparkline(grads), colW) + " " + sparkline(ratios)
			} else {
				row += "  " + sparkline(ratios)
			}
		}
		b.WriteString("\n" + row)
	}
	return b.String()
}

// plural is word for n of them: "1 record", "2 records".
func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// layerKinds are a custom network's layers by index path ("0": "conv"): their parameters
// are named by the path alone, which does not say which layer "4" is. Nil for a built-in
// model, whose names (conv1.0, fc.1) say it.
func layerKinds(c config.Config) map[string]string {
	if c.Model != config.Custom || c.Network == nil {
		return nil
	}
	kinds := map[string]string{}
	for _, r := range network.Summarize(c.Name, c.Network, 1).Rows {
		kinds[r.Path] = string(r.Layer.Kind)
	}
	return kinds
}

// activations are a layer's activation columns: mean, standard deviation
// and the share of its ReLUs dead ("-" without ReLUs, blanks when not
// measured), the share marked when the doctor would speak of it.
func (p *Page) activations(a *runs.Activations, actW, deadW int) string {
	if a == nil {
		return fmt.Sprintf("%*s %*s %*s", actW, "", actW, "", deadW, "")
	}
	dead := fmt.Sprintf("%*s", deadW, "-")
	if a.ReLUs > 0 {
		dead = fmt.Sprintf("%*s", deadW, fmt.Sprintf("%.0f%%", 100*a.Dead))
		if a.Dead > doctor.DeadShare {
			dead = p.st.warn.Render(dead)
		}
	}
	return fmt.Sprintf("%*s %*s %s", actW, short(a.Mean), actW, short(a.Std), dead)
}

// short writes an activation statistic in 7 cells at most.
func short(v float64) string {
	if v != 0 && (math.Abs(v) < 0.01 || math.Abs(v) >= 1e4) && !math.IsInf(v, 0) && !math.IsNaN(v) {
		return fmt.Sprintf("%.0e", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// maxHistory is the most records a sparkline shows: enough for ten
// epochs of the tutorial (three a epoch), few enough to read.
const maxHistory = 60

// pad fills s (single-width runes) to w cells.
func pad(s string, w int) string {
	n := len([]rune(s))
	if n > w {
		return string([]rune(s)[:w])
	}
	return s + strings.Repeat(" ", w-n)
}

// series is layer i's gradient norms and update ratios over the last n
// records (layers are matched by position and name: a record of another
// model's layers is left out).
func series(hist []runs.Health, i, n int) (grads, ratios []float64) {
	name := hist[len(hist)-1].Layers[i].Name
	for _, h := range hist[len(hist)-n:] {
		if i < len(h.Layers) && h.Layers[i].Name == name {
			grads = append(grads, h.Layers[i].GradNorm)
			ratios = append(ratios, h.Layers[i].UpdateRatio)
		}
	}
	return grads, ratios
}

// num writes a norm or ratio in 8 cells at most.
func num(v float64) string {
	switch {
	case math.IsInf(v, 0) || math.IsNaN(v):
		return fmt.Sprint(v)
	case v == 0:
		return "0"
	case v >= 0.01 && v < 1e4:
		return fmt.Sprintf("%.3g", v)
	}
	return fmt.Sprintf("%.1e", v)
}

var bars = []rune("▁▂▃▄▅▆▇█")

// sparkline draws xs on a log scale, one cell each; zeros and
// non-numbers are blanks.
func sparkline(xs []float64) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		if x > 0 && !math.IsInf(x, 0) {
			lo, hi = min(lo, math.Log10(x)), max(hi, math.Log10(x))
		}
	}
	out := make([]rune, len(xs))
	for i, x := range xs {
		switch {
		case !(x > 0) || math.IsInf(x, 0):
			out[i] = ' '
		case hi-lo < 1e-9:
			out[i] = bars[len(bars)/2]
		default:
			out[i] = bars[int(math.Round((math.Log10(x)-lo)/(hi-lo)*float64(len(bars)-1)))]
		}
	}
	return string(out)
}

// doctorText is the doctor's notes, newest first, with the fix on offer.
func (p *Page) doctorText(width int) string {
	var b strings.Builder
	b.WriteString(p.st.title.Render("training doctor"))
	notes := p.snap.Notes
	if len(notes) == 0 {
		b.WriteString(" · " + p.st.good.Render("nothing to report") +
			p.st.dim.Render(": it watches for a loss stuck at 2.30 or rising, exploding or vanishing gradients, dead ReLUs, steps far too small or large, and overfitting."))
		return b.String()
	}
	b.WriteString(fmt.Sprintf(" · %d note(s), newest first", len(notes)))
	if pending, ok := p.pending(); ok && p.running() {
		b.WriteString(" · " + p.st.warn.Render("f: "+doctor.FixText(pending, p.snap.Config.LearningRate)))
	}
	if p.canUndo() && p.running() {
		b.WriteString(" · u: undo (back to " + fmt.Sprint(p.fixed.from) + ")")
	}
	if p.note != "" {
		b.WriteString("\n" + p.st.good.Render(p.note))
	}
	for i := len(notes) - 1; i >= 0; i-- {
		n := notes[i]
		where := fmt.Sprintf("epoch %d", n.Epoch)
		if n.Step > 0 {
			where = fmt.Sprintf("step %d", n.Step)
		}
		b.WriteString("\n" + p.st.warn.Render(where+" · "+n.Rule) + ": " + n.Text)
	}
	return b.String()
}

// wrapLines wraps each line to width, so long notes stay readable.
func wrapLines(s string, width int) string {
	if width < 10 {
		return s
	}
	return lipgloss.NewStyle().Width(width).Render(s)
}
