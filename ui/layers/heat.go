package layers

import (
	"fmt"
	"math"
	"strings"

	"github.com/muesli/termenv"
)

// asciiRamp goes from the lowest value to the highest, as the other pages draw digits.
const asciiRamp = " .:-=+*#%@"

// halfBlock is drawn with the upper pixel as foreground and the lower one as background: two
// pixels in one cell, so a tile is as tall as it is wide on screen.
const halfBlock = "▀"

// heat draws grids of values as tiles of text: half blocks in colours, or the ASCII ramp. The
// escape sequences of its 256 levels are made once: a page of tiles has thousands of cells.
type heat struct {
	colour bool
	grey   [256][2]string // SGR parameters of each level as foreground, background: activations
	signed [256][2]string // blue (negative) through black to amber (positive): weights
}

func newHeat(profile termenv.Profile) *heat {
	h := &heat{colour: profile != termenv.Ascii}
	if !h.colour {
		return h
	}
	for v := range 256 {
		g := profile.Color(fmt.Sprintf("#%02x%02x%02x", v, v, v))
		h.grey[v] = [2]string{g.Sequence(false), g.Sequence(true)}
		// Level 128 is zero; the further from it, the brighter the hue.
		t := math.Abs(float64(v)-127.5) / 127.5
		r, gr, b := 0.35, 0.6, 1.0 // blue
		if v >= 128 {
			r, gr, b = 1.0, 0.65, 0.2 // amber
		}
		c := profile.Color(fmt.Sprintf("#%02x%02x%02x", int(255*t*r), int(255*t*gr), int(255*t*b)))
		h.signed[v] = [2]string{c.Sequence(false), c.Sequence(true)}
	}
	return h
}

// scale maps values to the 256 levels: lo..hi onto 0..255, or, signed, -m..m (m the largest
// magnitude) so that zero is the middle level.
type scale struct {
	lo, hi float32
	signed bool
}

func rangeOf(vs []float32) (lo, hi float32) {
	if len(vs) == 0 {
		return 0, 0
	}
	lo, hi = vs[0], vs[0]
	for _, v := range vs {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

func signedScale(vs []float32) scale {
	lo, hi := rangeOf(vs)
	m := max(-lo, hi)
	return scale{lo: -m, hi: m, signed: true}
}

func (s scale) level(v float32) uint8 {
	if !(s.hi > s.lo) || math.IsNaN(float64(v)) {
		if s.signed {
			return 128
		}
		return 0
	}
	t := (v - s.lo) / (s.hi - s.lo)
	return uint8(max(0, min(255, t*255+0.5)))
}

// shrink averages blocks of a h x w grid into at most side x side pixels; it returns the
// result and its size. Blocks at the edges average what they hold.
func shrink(vs []float32, h, w, side int) (out []float32, oh, ow int) {
	f := max(1, (max(h, w)+side-1)/side)
	if f == 1 {
		return vs, h, w
	}
	oh, ow = (h+f-1)/f, (w+f-1)/f
	out = make([]float32, oh*ow)
	for y := range oh {
		for x := range ow {
			var sum float32
			n := 0
			for yy := y * f; yy < min(h, (y+1)*f); yy++ {
				for xx := x * f; xx < min(w, (x+1)*f); xx++ {
					sum += vs[yy*w+xx]
					n++
				}
			}
			out[y*ow+x] = sum / float32(n)
		}
	}
	return out, oh, ow
}

// block is a drawing whose lines are all width cells wide (escape sequences aside), so that
// blocks are laid side by side without measuring them.
type block struct {
	lines []string
	width int
}

// tile draws a h x w grid (already small enough) as ceil(h/2) lines of w cells.
func (t *heat) tile(vs []float32, h, w int, s scale, hiRes bool) block {
	lines := make([]string, (h+1)/2)
	var b strings.Builder
	for row := range lines {
		b.Reset()
		b.Grow(w * 32)
		for x := range w {
			up := s.level(vs[2*row*w+x])
			lowV, hasLow := float32(0), 2*row+1 < h
			if hasLow {
				lowV = vs[(2*row+1)*w+x]
			}
			if hiRes && t.colour {
				pal := &t.grey
				if s.signed {
					pal = &t.signed
				}
				// What termenv's Style.Styled writes, without its allocations: CSI fg;bg m ▀ CSI 0 m.
				b.WriteString(termenv.CSI)
				b.WriteString(pal[up][0])
				if hasLow { // else an odd last row: the lower half is the terminal's background
					b.WriteByte(';')
					b.WriteString(pal[s.level(lowV)][1])
				}
				b.WriteString("m" + halfBlock + termenv.CSI + termenv.ResetSeq + "m")
				continue
			}
			lv := int(up)
			if hasLow {
				lv = (lv + int(s.level(lowV))) / 2
			}
			b.WriteByte(asciiRamp[(lv*(len(asciiRamp)-1)+127)/255])
		}
		lines[row] = b.String()
	}
	return block{lines: lines, width: w}
}

// barRunes are a bar's heights in eighths of a cell.
var barRunes = []rune(" ▁▂▃▄▅▆▇█")

// bars draws values as a row of vertical bars, one cell each, wrapped at width: the height is
// the magnitude against the largest; negative ones are wrapped in neg's two halves (a colour's
// escape sequences, empty without colours). ASCII bars are the ramp's characters.
func bars(vs []float32, width int, hiRes bool, neg [2]string) []string {
	var m float32
	for _, v := range vs {
		m = max(m, float32(math.Abs(float64(v))))
	}
	var lines []string
	var b strings.Builder
	for i, v := range vs {
		if i > 0 && i%width == 0 {
			lines = append(lines, b.String())
			b.Reset()
		}
		t := float32(0)
		if m > 0 {
			t = float32(math.Abs(float64(v))) / m
		}
		var cell string
		if hiRes {
			cell = string(barRunes[int(t*8+0.5)])
		} else {
			cell = string(asciiRamp[int(t*float32(len(asciiRamp)-1)+0.5)])
		}
		if v < 0 {
			cell = neg[0] + cell + neg[1]
		}
		b.WriteString(cell)
	}
	if b.Len() > 0 || len(lines) == 0 {
		lines = append(lines, b.String())
	}
	return lines
}
