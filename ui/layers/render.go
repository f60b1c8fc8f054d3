package layers

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"mnist-tui/engine"
	"mnist-tui/engine/network"
	"mnist-tui/ui/termdraw"
)

// The smallest area the page draws itself in: a heading, a few lines of layers, the footer.
const (
	minWidth  = 40
	minHeight = 8
)

// renderCache keeps the drawn layers of the capture shown, for paging and for frames where
// nothing changed (a page of tiles is thousands of cells).
type renderCache struct {
	got        *captured
	width      int
	side       int
	hiRes      bool
	records    int // health records in the table drawn
	lines      []string
	starts     []int // the first line of each layer
	bodyHeight int   // lines of layers on screen at the last Render
}

// nextStart is the first layer that starts below line top (or top at the last one).
func (c *renderCache) nextStart(top int) int {
	for _, s := range c.starts {
		if s > top {
			return s
		}
	}
	return top
}

// prevStart is the last layer that starts above line top.
func (c *renderCache) prevStart(top int) int {
	prev := 0
	for _, s := range c.starts {
		if s >= top {
			break
		}
		prev = s
	}
	return prev
}

// tileSide is the most pixels a tile has per side: small tiles fit 80x24, larger terminals
// get larger ones.
func tileSide(width, height int) int {
	switch {
	case width >= 160 && height >= 50:
		return 16
	case width >= 110 && height >= 34:
		return 12
	}
	return 8
}

// Render draws the page in exactly width x height cells.
func (p *Page) Render(width, height int) string {
	p.shown = true
	if width < minWidth || height < minHeight {
		msg := fmt.Sprintf("the layers page needs %dx%d; this window is %dx%d: enlarge it", minWidth, minHeight, width, height)
		return termdraw.FitBlock(p.st.bad.Render(ansi.Wordwrap(msg, max(1, width), "")), width, height)
	}
	img, _, what := p.digit()
	g := p.got
	var head string
	switch {
	case img == nil && what == "the drawing":
		head = "nothing drawn yet: draw a digit on the draw page (d)"
		if p.test != nil {
			head += ", or v for the test images"
		}
	case img == nil:
		head = "waiting for the test images (the data set is loading)"
	case g == nil && p.err != nil:
		head = "" // the error below says it
	case g == nil:
		head = "running " + what + " through the network…"
	default:
		head = p.heading(g)
	}
	lines := []string{termdraw.FitWidth(head, width)}
	bodyHeight := height - 2
	p.cache.bodyHeight = bodyHeight
	switch {
	case g == nil && p.err != nil:
		lines = append(lines, p.st.bad.Render(termdraw.FitWidth(p.err.Error(), width)))
	case g != nil:
		c := p.layout(g, width, tileSide(width, height))
		p.top = max(0, min(p.top, len(c.lines)-bodyHeight))
		end := min(len(c.lines), p.top+bodyHeight)
		lines = append(lines, c.lines[p.top:end]...)
		for len(lines) < height-1 {
			lines = append(lines, "")
		}
		lines = append(lines, p.footer(c, end, width))
	}
	return termdraw.FitBlock(strings.Join(lines, "\n"), width, height)
}

// heading says which digit, whose weights, and the answer.
func (p *Page) heading(g *captured) string {
	best := 0
	for i, v := range g.Probs {
		if v > g.Probs[best] {
			best = i
		}
	}
	parts := []string{g.what}
	if g.label >= 0 {
		parts = append(parts, "label "+p.className(g.label))
	}
	weights := g.Model + " · checkpoint"
	if g.Step >= 0 {
		weights = g.Model + " · weights of step " + commas(int(g.Step))
	}
	parts = append(parts, weights, fmt.Sprintf("answer %s (%.1f %%)", p.className(best), 100*g.Probs[best]))
	head := strings.Join(parts, " · ")
	if p.err != nil { // an older capture stays on screen
		head += " · " + p.st.bad.Render(p.err.Error())
	}
	return head
}

func (p *Page) className(i int) string {
	if n := p.classes[i]; n != "" && n != strconv.Itoa(i) {
		return strconv.Itoa(i) + " " + n
	}
	return strconv.Itoa(i)
}

// footer says which layers are on screen and how to see the others.
func (p *Page) footer(c *renderCache, end, width int) string {
	first, last := 0, 0
	for i, s := range c.starts {
		if s <= p.top {
			first = i
		}
		if s < end {
			last = i
		}
	}
	where := fmt.Sprintf("layers %d-%d of %d", first+1, last+1, len(c.starts))
	if end >= len(c.lines) && p.top == 0 {
		where = fmt.Sprintf("all %d layers", len(c.starts))
	}
	keys := "↑↓ layer · pgup/pgdn page"
	if p.test != nil {
		keys += " · ←→ test image"
		if p.drawing != nil {
			keys += " · v drawing"
		}
	}
	return p.st.dim.Render(termdraw.FitWidth(where+" · "+keys, width))
}

// layout draws every layer of the capture, once per capture, width and look.
func (p *Page) layout(g *captured, width, side int) *renderCache {
	c := &p.cache
	records := len(p.health.Snapshot().Health)
	if c.got == g && c.width == width && c.side == side && c.hiRes == p.hiRes && c.records == records {
		return c
	}
	c.got, c.width, c.side, c.hiRes, c.records = g, width, side, p.hiRes, records
	c.lines, c.starts = c.lines[:0], c.starts[:0]
	// add cuts text lines to the width; drawings are laid out to fit it (a tile wider than
	// the page, on a page of a few columns, is cut by Render's FitBlock).
	add := func(depth int, ls ...string) {
		pad := strings.Repeat("  ", depth)
		for _, l := range ls {
			c.lines = append(c.lines, termdraw.FitWidth(pad+l, width))
		}
	}
	draw := func(depth int, ls ...string) {
		pad := strings.Repeat("  ", depth)
		for _, l := range ls {
			c.lines = append(c.lines, pad+l)
		}
	}
	start := func() { c.starts = append(c.starts, len(c.lines)) }

	start()
	add(0, p.st.title.Render("input")+p.st.dim.Render(" 28×28, as the network reads it"))
	in, h, w := shrink(toFloats(g.img), 28, 28, min(28, 2*side))
	draw(0, p.heat.tile(in, h, w, scale{lo: 0, hi: 255}, p.hiRes).lines...)

	firstConv := true
	var walk func(outs []engine.LayerOutput)
	walk = func(outs []engine.LayerOutput) {
		for i := 0; i < len(outs); i++ {
			o := outs[i]
			j := i + 1
			for j < len(outs) && outs[j].Depth > o.Depth {
				j++
			}
			if j > i+1 { // a block: its parts, then its output
				start()
				add(o.Depth, p.st.title.Render(o.Path+" "+describe(o.Layer))+p.st.dim.Render(" "+blockNote(o.Layer)))
				walk(outs[i+1 : j])
			}
			start()
			p.layer(add, draw, o, width-2*o.Depth, side, firstConv && o.Layer.Kind == network.Conv, j > i+1)
			if o.Layer.Kind == network.Conv {
				firstConv = false
			}
			i = j - 1
		}
	}
	walk(g.Outputs)

	start()
	add(0, p.st.title.Render("probabilities"))
	add(0, p.probabilities(g, width)...)

	// The layers' health over the run (the run's, not this digit's: measured on the
	// training batches at every log interval); the health page (h) has the doctor.
	if table := p.health.Table(width); table != "" {
		start()
		add(0, p.st.title.Render("layer health")+p.st.dim.Render(" over the run's training batches · h: the health page and the doctor"))
		add(0, strings.Split(table, "\n")...)
	}
	return c
}

// layer draws one layer's output: tiles for a feature map, bars for features.
func (p *Page) layer(add, draw func(int, ...string), o engine.LayerOutput, width, side int, filters, isBlock bool) {
	l := o.Layer
	title := o.Path + " " + describe(l)
	if isBlock {
		title += " output"
	}
	shape := l.OutShape
	lo, hi := rangeOf(o.Values)
	info := fmt.Sprintf(" → %s · %s…%s", shapeText(shape), num(lo), num(hi))
	switch l.Kind {
	case network.Flatten:
		add(o.Depth, p.st.title.Render(title)+p.st.dim.Render(fmt.Sprintf(" → %d values: the map above in one row", shape.Size())))
		return
	case network.Dropout:
		add(o.Depth, p.st.title.Render(title)+p.st.dim.Render(" → the same values: dropout is off when the network answers"))
		return
	}
	if !shape.IsMap() || shape[1]*shape[2] == 1 {
		note := " · bars: size"
		if p.hiRes {
			note += ", red below 0"
		}
		add(o.Depth, p.st.title.Render(title)+p.st.dim.Render(info+note))
		draw(o.Depth, bars(o.Values, max(1, width), p.hiRes, p.st.negHalves)...)
		return
	}
	C, H, W := shape[0], shape[1], shape[2]
	sc := scale{lo: lo, hi: hi}
	var tiles []block
	if filters && o.Weight != nil {
		note := " · filters beside maps"
		if p.hiRes {
			note += ", blue − amber +"
		}
		add(o.Depth, p.st.title.Render(title)+p.st.dim.Render(info+note))
		ws := filterTiles(o.Weight, l, p.heat, side, p.hiRes)
		for c := range C {
			m, h, w := shrink(o.Values[c*H*W:(c+1)*H*W], H, W, side)
			tiles = append(tiles, joinTiles([]block{ws[c], p.heat.tile(m, h, w, sc, p.hiRes)}, 1))
		}
	} else {
		add(o.Depth, p.st.title.Render(title)+p.st.dim.Render(info))
		for c := range C {
			m, h, w := shrink(o.Values[c*H*W:(c+1)*H*W], H, W, side)
			tiles = append(tiles, p.heat.tile(m, h, w, sc, p.hiRes))
		}
	}
	gap := 1
	if filters {
		gap = 2
	}
	draw(o.Depth, flow(tiles, width, gap)...)
}

// filterTiles draws a convolution's filters, one tile each: the kernel, averaged over the
// input channels when there are several, on a scale symmetric about zero shared by all.
func filterTiles(weight []float32, l *network.Layer, h *heat, side int, hiRes bool) []block {
	out, in, k := l.Out, l.In[0], l.Kernel
	kernels := make([][]float32, out)
	for o := range out {
		kern := make([]float32, k*k)
		for c := range in {
			for i, v := range weight[(o*in+c)*k*k:][:k*k] {
				kern[i] += v / float32(in)
			}
		}
		kernels[o] = kern
	}
	var all []float32
	for _, kern := range kernels {
		all = append(all, kern...)
	}
	sc := signedScale(all)
	tiles := make([]block, out)
	for o, kern := range kernels {
		m, kh, kw := shrink(kern, k, k, side)
		tiles[o] = h.tile(m, kh, kw, sc, hiRes)
	}
	return tiles
}

// joinTiles puts tiles side by side, gap cells apart, top-aligned.
func joinTiles(tiles []block, gap int) block {
	rows, width := 0, 0
	for i, t := range tiles {
		rows = max(rows, len(t.lines))
		if i > 0 {
			width += gap
		}
		width += t.width
	}
	space := strings.Repeat(" ", gap)
	out := make([]string, rows)
	var b strings.Builder
	for r := range rows {
		b.Reset()
		for i, t := range tiles {
			if i > 0 {
				b.WriteString(space)
			}
			if r < len(t.lines) {
				b.WriteString(t.lines[r])
			} else {
				b.WriteString(strings.Repeat(" ", t.width))
			}
		}
		out[r] = b.String()
	}
	return block{lines: out, width: width}
}

// flow lays tiles of one size in rows that fit width, gap cells apart.
func flow(tiles []block, width, gap int) []string {
	if len(tiles) == 0 {
		return nil
	}
	per := max(1, (width+gap)/(tiles[0].width+gap))
	var out []string
	for i := 0; i < len(tiles); i += per {
		out = append(out, joinTiles(tiles[i:min(len(tiles), i+per)], gap).lines...)
	}
	return out
}

// probabilities are the ten classes' bars, in two columns when the width allows.
func (p *Page) probabilities(g *captured, width int) []string {
	cols := 1
	if width >= 60 {
		cols = 2
	}
	colWidth := width/cols - 2
	label := 0
	for i := range g.Probs {
		label = max(label, lipgloss.Width(p.className(i)))
	}
	barWidth := max(4, colWidth-label-9)
	cells := make([]string, len(g.Probs))
	for i, v := range g.Probs {
		n := int(float64(v)*float64(barWidth) + 0.5)
		name := p.className(i)
		cells[i] = name + strings.Repeat(" ", label-lipgloss.Width(name)) + " " +
			strings.Repeat("█", n) + p.st.dim.Render(strings.Repeat("░", barWidth-n)) + fmt.Sprintf(" %5.1f%%", 100*v)
		if !p.hiRes {
			cells[i] = name + strings.Repeat(" ", label-lipgloss.Width(name)) + " " +
				strings.Repeat("#", n) + strings.Repeat(".", barWidth-n) + fmt.Sprintf(" %5.1f%%", 100*v)
		}
	}
	rows := (len(cells) + cols - 1) / cols
	out := make([]string, rows)
	for r := range rows {
		for c := range cols {
			if i := c*rows + r; i < len(cells) {
				if c > 0 {
					out[r] += "   "
				}
				out[r] += cells[i]
			}
		}
	}
	return out
}

// describe names a layer with what sets it apart: "conv 5x5", "maxpool 2", "linear".
func describe(l *network.Layer) string {
	s := string(l.Kind)
	switch l.Kind {
	case network.Conv, network.MaxPool, network.AvgPool:
		s += fmt.Sprintf(" %dx%d", l.Kernel, l.Kernel)
		if l.Stride > 1 && l.Kind == network.Conv || l.Stride != l.Kernel && l.Kind != network.Conv {
			s += fmt.Sprintf(" stride %d", l.Stride)
		}
		if l.Padding > 0 {
			s += fmt.Sprintf(" pad %d", l.Padding)
		}
	case network.Dropout:
		s += fmt.Sprintf(" %g", l.P)
	}
	return s
}

// blockNote says what a block computes, before its parts are shown.
func blockNote(l *network.Layer) string {
	if l.Kind == network.Residual {
		return "(x + its body):"
	}
	return fmt.Sprintf("(%d branches side by side, concatenated on channels):", len(l.Branches))
}

func shapeText(s network.Shape) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, "×")
}

// num writes a value in a few characters.
func num(v float32) string { return strconv.FormatFloat(float64(v), 'g', 2, 32) }

func toFloats(px []uint8) []float32 {
	out := make([]float32, len(px))
	for i, v := range px {
		out[i] = float32(v)
	}
	return out
}

// commas writes n with thousands separators, as the dashboard does.
func commas(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
