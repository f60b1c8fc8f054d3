package draw

import (
	"image"

	"mnist-tui/dataset/prepare"
)

// Side is the canvas's side in pixels: an MNIST image's.
const Side = prepare.Size

// point is a pixel position on the canvas. It may lie outside it: a drag
// that leaves the canvas and comes back still draws the part inside.
type point struct{ x, y int }

func (p point) inside() bool { return p.x >= 0 && p.y >= 0 && p.x < Side && p.y < Side }

// The pen's footprint, 3x3 pixels: full ink at the centre, less on the
// sides and less again on the corners. A pen stroke in MNIST is two or three
// pixels wide with soft edges (the scans were anti-aliased), and this is
// what makes a drawn digit look like the data the model learned from.
const (
	inkCentre = 255
	inkSide   = 160
	inkCorner = 64
)

// footprint is the ink the pen leaves at offset (dx, dy) from its centre.
func footprint(dx, dy int) uint8 {
	switch {
	case dx == 0 && dy == 0:
		return inkCentre
	case dx == 0 || dy == 0:
		return inkSide
	default:
		return inkCorner
	}
}

// Canvas is the drawing: 28x28 grey levels, ink white (255) on black, as in
// MNIST. It is the very picture `x` saves and the model reads.
type Canvas struct {
	img *image.Gray
}

// NewCanvas returns an empty (black) canvas.
func NewCanvas() *Canvas {
	return &Canvas{img: image.NewGray(image.Rect(0, 0, Side, Side))}
}

// At is the ink at pixel (x, y), 0 outside the canvas.
func (c *Canvas) At(x, y int) uint8 {
	if !(point{x, y}).inside() {
		return 0
	}
	return c.img.Pix[y*c.img.Stride+x]
}

// Empty reports whether nothing is drawn.
func (c *Canvas) Empty() bool {
	for _, v := range c.img.Pix {
		if v != 0 {
			return false
		}
	}
	return true
}

// Clear wipes the canvas.
func (c *Canvas) Clear() { clear(c.img.Pix) }

// Image returns a copy of the drawing, for saving or preparing while the
// canvas goes on changing.
func (c *Canvas) Image() *image.Gray {
	cp := *c.img
	cp.Pix = append([]uint8(nil), c.img.Pix...)
	return &cp
}

// paint presses the pen at p. Ink only ever darkens a pixel (the maximum of
// what is there and what the pen leaves), so going over a stroke again does
// not make it wider or blotchier.
func (c *Canvas) paint(p point) {
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			q := point{p.x + dx, p.y + dy}
			if q.inside() {
				i := q.y*c.img.Stride + q.x
				c.img.Pix[i] = max(c.img.Pix[i], footprint(dx, dy))
			}
		}
	}
}

// erase wipes the 3x3 square around p. The eraser is hard, not soft: a
// half-erased pixel would be ink the user cannot see well but the model can.
func (c *Canvas) erase(p point) {
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			if q := (point{p.x + dx, p.y + dy}); q.inside() {
				c.img.Pix[q.y*c.img.Stride+q.x] = 0
			}
		}
	}
}

// line calls tool at every pixel from a to b (Bresenham), both ends
// included. A fast drag reports positions several pixels apart; joining them
// keeps the stroke unbroken.
func line(a, b point, tool func(point)) {
	dx, dy := abs(b.x-a.x), -abs(b.y-a.y)
	sx, sy := sign(b.x-a.x), sign(b.y-a.y)
	err := dx + dy
	for p := a; ; {
		tool(p)
		if p == b {
			return
		}
		e2 := 2 * err
		if e2 >= dy {
			err += dy
			p.x += sx
		}
		if e2 <= dx {
			err += dx
			p.y += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}
