package draw

import "testing"

func TestPenIsSoftLikeAnMNISTStroke(t *testing.T) {
	c := NewCanvas()
	c.paint(point{10, 10})
	want := picture(
		"     ",
		" .+. ",
		" +@+ ",
		" .+. ",
		"     ",
	)
	if got := art(c, 8, 8, 13, 13); got != want {
		t.Errorf("one press of the pen:\n%s\nwant:\n%s", got, want)
	}
	// Soft: the centre full, the neighbours partly, the corners less.
	if !(c.At(10, 10) == 255 && c.At(11, 10) < 255 && c.At(11, 11) < c.At(11, 10) && c.At(11, 11) > 0) {
		t.Errorf("levels centre %d, side %d, corner %d: want 255 > side > corner > 0",
			c.At(10, 10), c.At(11, 10), c.At(11, 11))
	}
	if c.Empty() {
		t.Error("Empty after painting")
	}
}

func TestPenNeverLightensInk(t *testing.T) {
	c := NewCanvas()
	c.paint(point{10, 10})
	c.paint(point{11, 10}) // its corner falls on the first press's side
	want := picture(
		"      ",
		" .++. ",
		" +@@+ ",
		" .++. ",
		"      ",
	)
	if got := art(c, 8, 8, 14, 13); got != want {
		t.Errorf("two presses side by side:\n%s\nwant:\n%s", got, want)
	}
}

func TestPenAtTheEdgeStaysOnTheCanvas(t *testing.T) {
	c := NewCanvas()
	c.paint(point{0, 0})
	c.paint(point{Side - 1, Side - 1})
	c.paint(point{-5, 40}) // far outside: nothing, and no panic
	if c.At(0, 0) != inkCentre || c.At(1, 0) != inkSide || c.At(1, 1) != inkCorner {
		t.Errorf("corner press: got %d %d %d", c.At(0, 0), c.At(1, 0), c.At(1, 1))
	}
	n := 0
	for _, v := range c.img.Pix {
		if v != 0 {
			n++
		}
	}
	if n != 8 {
		t.Errorf("%d pixels inked by two corner presses, want 2 x 4", n)
	}
}

func TestEraserWipesASquare(t *testing.T) {
	c := NewCanvas()
	for x := 5; x < 15; x++ {
		c.paint(point{x, 10})
	}
	c.erase(point{10, 10})
	want := picture(
		"+++   +++.",
		"@@@   @@@+",
		"+++   +++.",
	)
	// The rows around the stroke, x from 6 to 15; the stroke ends at 14.
	if got := art(c, 6, 9, 16, 12); got != want {
		t.Errorf("erased the middle of a stroke:\n%s\nwant:\n%s", got, want)
	}
	c.Clear()
	if !c.Empty() {
		t.Error("not empty after Clear")
	}
}

func TestLineJoinsDistantPointsWithoutGaps(t *testing.T) {
	for _, tc := range []struct{ a, b point }{
		{point{2, 3}, point{20, 11}},
		{point{20, 11}, point{2, 3}},
		{point{5, 5}, point{5, 5}},
		{point{0, 27}, point{27, 0}},
		{point{-3, 4}, point{6, 4}},
	} {
		var got []point
		line(tc.a, tc.b, func(p point) { got = append(got, p) })
		if got[0] != tc.a || got[len(got)-1] != tc.b {
			t.Errorf("line %v-%v runs from %v to %v", tc.a, tc.b, got[0], got[len(got)-1])
		}
		if want := max(abs(tc.b.x-tc.a.x), abs(tc.b.y-tc.a.y)) + 1; len(got) != want {
			t.Errorf("line %v-%v has %d points, want %d", tc.a, tc.b, len(got), want)
		}
		for i := 1; i < len(got); i++ {
			if abs(got[i].x-got[i-1].x) > 1 || abs(got[i].y-got[i-1].y) > 1 {
				t.Errorf("line %v-%v jumps from %v to %v", tc.a, tc.b, got[i-1], got[i])
			}
		}
	}
}

func TestImageIsACopy(t *testing.T) {
	c := NewCanvas()
	c.paint(point{3, 3})
	img := c.Image()
	c.Clear()
	if img.GrayAt(3, 3).Y != inkCentre {
		t.Error("Image changed with the canvas: want a copy")
	}
	if b := img.Bounds(); b.Dx() != Side || b.Dy() != Side {
		t.Errorf("image of %v, want 28x28", b)
	}
}
