package draw

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"mnist-tui/engine/saliency"
)

// Layout. A pixel is two cells wide: cells are about twice as tall as they
// are wide, so pixels come out square. The canvas is framed; with fewer than
// fullFrameH rows it is drawn with half blocks, two pixel rows per cell.
const (
	cellsPerPixel = 2
	canvasCols    = Side * cellsPerPixel // 56
	frameW        = canvasCols + 2       // 58
	fullFrameH    = Side + 2             // 30
	halfFrameH    = Side/2 + 2           // 16
	gap           = 2                    // columns between the canvas and the panel
	minPanelW     = 20                   // a bar chart still readable
	minWidth      = frameW + gap + minPanelW
	minHeight     = halfFrameH
	previewW      = Side + 2 // the framed "model sees" image, half blocks
	maxBarW       = 40
)

// canvasPlace is where the last Render put the canvas: the cell of pixel
// (0,0) relative to the page, and whether a cell holds two pixel rows.
type canvasPlace struct {
	valid bool // false: not drawn (never rendered, or the page was too small)
	x, y  int
	half  bool
}

// pixelAt maps a cell of the page to the pixel under it, which may be
// outside the canvas. With half blocks it is the upper of the cell's two
// pixels; the caller paints both.
func (c canvasPlace) pixelAt(col, row int) (point, bool) {
	if !c.valid {
		return point{}, false
	}
	x := floorDiv(col-c.x, cellsPerPixel)
	y := row - c.y
	if c.half {
		y *= 2
	}
	return point{x, y}, true
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Render draws the page in exactly width x height cells and remembers where
// the canvas went, for the mouse.
func (p *Page) Render(width, height int) string {
	p.shown = true
	if width < minWidth || height < minHeight {
		p.at = canvasPlace{}
		msg := p.st.bad.Render(fmt.Sprintf("draw: need %dx%d, have %dx%d", minWidth, minHeight, width, height))
		return block([]string{msg}, width, height)
	}
	half := height < fullFrameH
	p.at = canvasPlace{valid: true, x: 1, y: 1, half: half}
	left := p.frame(half)
	panelW := width - frameW - gap
	right := p.panel(panelW, height)
	lines := make([]string, max(len(left), len(right)))
	pad := strings.Repeat(" ", frameW+gap)
	for i := range lines {
		l := pad
		if i < len(left) {
			l = left[i] + strings.Repeat(" ", gap)
		}
		if i < len(right) {
			l += right[i]
		}
		lines[i] = l
	}
	return block(lines, width, height)
}

// block returns exactly height lines, each cut to width cells.
func block(lines []string, width, height int) string {
	out := make([]string, max(height, 0))
	for i := range out {
		if i < len(lines) {
			out[i] = fitWidth(lines[i], width)
		}
	}
	return strings.Join(out, "\n")
}

// fitWidth cuts s, which may hold colour codes, to at most w cells.
func fitWidth(s string, w int) string {
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, max(w, 0), "…")
}

// frame is the canvas in its frame, frameW cells wide.
func (p *Page) frame(half bool) []string {
	rows := p.canvasRows(half)
	edge := strings.Repeat("─", canvasCols)
	lines := make([]string, 0, len(rows)+2)
	lines = append(lines, p.st.dim.Render("╭"+edge+"╮"))
	side := p.st.dim.Render("│")
	for _, r := range rows {
		lines = append(lines, side+r+side)
	}
	return append(lines, p.st.dim.Render("╰"+edge+"╯"))
}

// asciiRamp goes from background to full ink, for terminals without colour.
const asciiRamp = " .:-=+*#%@"

func rampChar(v uint8) byte { return asciiRamp[(int(v)*(len(asciiRamp)-1)+127)/255] }

// halfInk is the level from which a pixel counts as ink in the
// colourless half-block drawing (which has only on and off): the pen's
// centre and sides, not its faint corners.
const halfInk = 100

// canvasRows draws the canvas, canvasCols cells wide: a cell pair per
// pixel, a row per pixel row (or two with half blocks). The keyboard
// cursor shows as [] (in colour with half blocks, as an amber half).
func (p *Page) canvasRows(half bool) []string {
	c, st := p.canvas, p.st
	cursorAt := func(x, y int) bool { return p.showCursor && p.cursor == (point{x, y}) }
	var w rowWriter
	var rows []string
	if !half {
		for y := range Side {
			for x := range Side {
				v := c.At(x, y)
				switch {
				case cursorAt(x, y):
					w.add("[]", st.fgCursor, st.bgGrey[v])
				case st.colour:
					w.add("  ", "", st.bgGrey[v])
				default:
					ch := string(rampChar(v))
					w.add(ch+ch, "", "")
				}
			}
			rows = append(rows, w.line())
		}
		return rows
	}
	for r := range Side / 2 {
		for x := range Side {
			upper, lower := c.At(x, 2*r), c.At(x, 2*r+1)
			switch {
			case st.colour:
				fg, bg := st.fgGrey[upper], st.bgGrey[lower]
				if cursorAt(x, 2*r) {
					fg = st.fgCursor
				}
				if cursorAt(x, 2*r+1) {
					bg = st.bgCursor
				}
				w.add("▀▀", fg, bg)
			case cursorAt(x, 2*r) || cursorAt(x, 2*r+1):
				w.add("[]", "", "")
			default:
				ch := halfBlockChar(upper >= halfInk, lower >= halfInk)
				w.add(ch+ch, "", "")
			}
		}
		rows = append(rows, w.line())
	}
	return rows
}

// rowWriter builds a line of coloured cells with one SGR sequence per run
// of cells of the same colours, not one per cell.
type rowWriter struct {
	b, run strings.Builder
	fg, bg string
}

func (w *rowWriter) add(text, fg, bg string) {
	if fg != w.fg || bg != w.bg {
		w.flush()
		w.fg, w.bg = fg, bg
	}
	w.run.WriteString(text)
}

func (w *rowWriter) flush() {
	if w.run.Len() > 0 {
		cell(&w.b, w.run.String(), w.fg, w.bg)
		w.run.Reset()
	}
}

// line returns the line written so far and starts a new one.
func (w *rowWriter) line() string {
	w.flush()
	s := w.b.String()
	w.b.Reset()
	return s
}

// halfBlockChar draws two pixels, one above the other, each on or off.
func halfBlockChar(upper, lower bool) string {
	switch {
	case upper && lower:
		return "█"
	case upper:
		return "▀"
	case lower:
		return "▄"
	}
	return " "
}

// panel is everything beside the canvas, at most w cells wide and h rows
// tall: the answer and the probabilities always, then, as room allows, a
// status line, a caption, the answer in large, what the model sees and a
// hint. What the model sees goes beside the bars when the panel is wide.
func (p *Page) panel(w, h int) []string {
	st := p.st
	sideBySide := w >= minPanelW+gap+previewW
	colW := w
	if sideBySide {
		colW = w - gap - previewW
	}
	// Add the optional parts, most useful first, while they fit.
	var f panelParts
	for _, add := range []func(*panelParts) *bool{
		func(f *panelParts) *bool { return &f.status },
		func(f *panelParts) *bool { return &f.caption },
		func(f *panelParts) *bool { return &f.big },
		func(f *panelParts) *bool { return &f.preview },
		func(f *panelParts) *bool { return &f.hint },
	} {
		on := add(&f)
		*on = true
		if f.height(sideBySide) > h {
			*on = false
		}
	}
	if !(f.preview && sideBySide) {
		colW = w
	}

	var out []string
	if f.caption {
		out = append(out, st.section.Render("draw")+st.dim.Render(" · "+p.model.About()), "")
	}
	var main []string
	if f.big {
		main = append(p.guessLines(colW), "")
	} else {
		main = []string{p.guessLine()}
	}
	main = append(main, p.bars(colW)...)
	switch {
	case f.preview && sideBySide:
		main = joinColumns(main, colW+gap, p.preview())
	case f.preview:
		main = append(append(main, ""), p.preview()...)
	case p.why:
		f.hint = false
		main = p.whyInsteadOfBars(w, h-len(out)-boolInt(f.status))
		if len(out)+len(main)+boolInt(f.status) > h {
			out = out[:0] // the caption makes way for the map
		}
	}
	out = append(out, main...)
	if f.hint {
		out = append(out, "", st.dim.Render("left button draws · right erases · keyboard: arrows, space"))
	}
	if f.status {
		out = append(out, p.status())
	}
	return out
}

// whyInsteadOfBars is the panel's middle when w asked for the map and the
// answer, the bars and the map do not all fit: the answer's line and the
// map, the bars left out (the map is what w asked for), the map's frame
// dropped when even that is too tall. Too narrow for the map, a line says so.
func (p *Page) whyInsteadOfBars(w, h int) []string {
	if w < previewW {
		lines := []string{p.guessLine(), ""}
		msg := fmt.Sprintf("why: the map needs %d columns here; widen the window", previewW)
		for _, l := range strings.Split(ansi.Wrap(msg, max(w, 1), " "), "\n") {
			lines = append(lines, p.st.dim.Render(l))
		}
		return lines
	}
	pv := p.preview()    // title, frame top, Side/2 rows, frame bottom
	if 1+len(pv) > h-2 { // room for the caption too, if it can
		pv = append([]string{pv[0]}, pv[2:len(pv)-1]...)
	}
	return append([]string{p.guessLine()}, pv...)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// panelParts are the optional parts of the panel.
type panelParts struct{ status, caption, big, preview, hint bool }

// previewH is the height of what the model sees: a title and a framed
// half-block image.
const previewH = 1 + Side/2 + 2

// height is the panel's height with these parts.
func (f panelParts) height(sideBySide bool) int {
	main := 1 + 10 // the answer in one line, the bars
	if f.big {
		main = glyphRows + 1 + 10
	}
	switch {
	case f.preview && sideBySide:
		main = max(main, previewH)
	case f.preview:
		main += 1 + previewH
	}
	h := main
	if f.caption {
		h += 2
	}
	if f.hint {
		h += 2
	}
	if f.status {
		h++
	}
	return h
}

// joinColumns puts right beside left, left padded to leftW cells.
func joinColumns(left []string, leftW int, right []string) []string {
	out := make([]string, max(len(left), len(right)))
	for i := range out {
		l := ""
		if i < len(left) {
			l = fitWidth(left[i], leftW)
		}
		l += strings.Repeat(" ", max(0, leftW-ansi.StringWidth(l)))
		if i < len(right) {
			l += right[i]
		}
		out[i] = strings.TrimRight(l, " ")
	}
	return out
}

// className is a class's name from the data set, or its number.
func (p *Page) className(c int) string {
	if name := strings.TrimSpace(p.classes[c]); name != "" {
		return name
	}
	return strconv.Itoa(c)
}

// guessLine is the answer in one line.
func (p *Page) guessLine() string {
	st, g := p.st, p.guess
	if g.state != answered {
		n := p.noAnswer()[0]
		return n.style.Render(n.text)
	}
	c := g.top()
	return st.label.Render("guess ") + st.top.Render(p.className(c)) + st.label.Render(fmt.Sprintf(" · %.1f %%", 100*g.probs[c]))
}

// guessLines is the answer in large, glyphRows lines at most w cells wide:
// the class number drawn in blocks, its name and probability beside it.
func (p *Page) guessLines(w int) []string {
	st, g := p.st, p.guess
	lines := make([]string, glyphRows)
	if g.state != answered {
		// Why there is none, wrapped below an empty first line.
		var text []string
		for _, n := range p.noAnswer() {
			for _, l := range strings.Split(ansi.Wrap(n.text, max(w, 1), " "), "\n") {
				text = append(text, n.style.Render(l))
			}
		}
		copy(lines[1:], text)
		return lines
	}
	c := g.top()
	text := []string{
		st.label.Render("the model reads"),
		st.top.Render(p.className(c)),
		st.value.Render(fmt.Sprintf("%.1f %%", 100*g.probs[c])) + st.label.Render(" sure"),
	}
	for i, row := range glyph(c) {
		lines[i] = st.top.Render(row)
		if i < len(text) {
			lines[i] += "   " + text[i]
		}
	}
	return lines
}

// note is a line of text and its style.
type note struct {
	text  string
	style lipgloss.Style
}

// noAnswer says why there is no answer.
func (p *Page) noAnswer() []note {
	st, g := p.st, p.guess
	switch g.state {
	case blank:
		return []note{{"draw a digit", st.value}, {"with the mouse, or the arrows and space", st.dim}}
	case noWeights:
		return []note{{"waiting for the model's weights…", st.warn}}
	case notANumber:
		return []note{{"no answer: the model outputs NaN", st.bad}, {"(its weights have diverged)", st.dim}}
	default:
		return []note{{fmt.Sprint(g.err), st.bad}}
	}
}

// bars is the probability of every class as a bar, the top one marked.
func (p *Page) bars(w int) []string {
	st, g := p.st, p.guess
	nameW := 1
	for c := range 10 {
		nameW = max(nameW, ansi.StringWidth(p.className(c)))
	}
	// marker, name, space, bar, space, "100.0%"
	const fixed = 1 + 1 + 1 + 6
	nameW = max(1, min(nameW, 12, w-fixed-5))
	barW := max(1, min(maxBarW, w-fixed-nameW))
	top := -1
	if g.state == answered {
		top = g.top()
	}
	lines := make([]string, 10)
	for c := range lines {
		name := fitWidth(p.className(c), nameW)
		name += strings.Repeat(" ", nameW-ansi.StringWidth(name))
		v := float64(g.probs[c])
		if g.state != answered || math.IsNaN(v) {
			v = 0
		}
		filled, track := barCells(v, barW)
		pct := "     –"
		if g.state == answered {
			pct = fmt.Sprintf("%5.1f%%", 100*g.probs[c])
		}
		style, marker := st.bar, " "
		if c == top {
			style, marker = st.top, "▸"
		}
		lines[c] = style.Render(marker+name+" "+filled) + st.dim.Render(track) + " " + style.Render(pct)
	}
	return lines
}

// eighths are the partial blocks, so a bar moves smoothly.
var eighths = [...]string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}

// barCells draws v in [0,1] as w cells: the filled part and the track.
func barCells(v float64, w int) (filled, track string) {
	n := int(math.Round(min(max(v, 0), 1) * float64(w*8)))
	filled = strings.Repeat("█", n/8) + eighths[n%8]
	used := n / 8
	if n%8 != 0 {
		used++
	}
	return filled, strings.Repeat("·", w-used)
}

// preview is the prepared image, what the model is given, in a frame.
func (p *Page) preview() []string {
	st := p.st
	var pixels [784]uint8
	if p.guess.state != blank && p.guess.state != failed {
		pixels = p.guess.pixels
	}
	title := "what the model sees"
	var sal *saliency.Map
	_, canExplain := p.model.(Explainer)
	switch {
	case p.why && !canExplain:
		title = "why: this model cannot say"
	case p.why && p.whyCurrent() && p.whyMap.err != nil:
		title = "why: " + p.whyMap.err.Error()
	case p.why && p.whyCurrent():
		sal = scaledMap(p.whyMap.res)
		title = "why " + p.className(p.whyMap.class) + ": " + whyLegend(st.colour)
	case p.why && p.guess.state == answered:
		title = "why: working it out…"
	case p.why:
		title = "why: draw a digit first"
	}
	lines := []string{st.label.Render(fitWidth(title, Side+2))}
	edge := strings.Repeat("─", Side)
	lines = append(lines, st.dim.Render("╭"+edge+"╮"))
	side := st.dim.Render("│")
	var w rowWriter
	for r := range Side / 2 {
		for x := range Side {
			iu, il := 2*r*Side+x, (2*r+1)*Side+x
			upper, lower := pixels[iu], pixels[il]
			switch {
			case sal != nil && st.colour:
				w.add("▀", st.whyFg(upper, sal[iu]), st.whyBg(lower, sal[il]))
			case sal != nil:
				w.add(string(whyChar((sal[iu]+sal[il])/2, uint8((int(upper)+int(lower))/2))), "", "")
			case st.colour:
				w.add("▀", st.fgGrey[upper], st.bgGrey[lower])
			default:
				w.add(string(rampChar(uint8((int(upper)+int(lower))/2))), "", "")
			}
		}
		lines = append(lines, side+w.line()+side)
	}
	return append(lines, st.dim.Render("╰"+edge+"╯"))
}

// status is the last thing done, or why the weights are not fresh.
func (p *Page) status() string {
	st := p.st
	switch {
	case p.message != "":
		return st.label.Render(p.message)
	case p.refreshErr != nil:
		return st.warn.Render("weights: " + p.refreshErr.Error())
	case p.penDown:
		return st.warn.Render("pen down: the arrows draw (p lifts it)")
	}
	return ""
}
