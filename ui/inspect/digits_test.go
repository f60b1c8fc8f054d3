package inspect

import (
	"strings"
	"testing"

	"github.com/muesli/termenv"
)

// verticalBar is a 28x28 image with full ink in columns from..to-1.
func verticalBar(from, to int) []uint8 {
	img := make([]uint8, imagePixel)
	for y := range imageSide {
		for x := from; x < to; x++ {
			img[y*imageSide+x] = 255
		}
	}
	return img
}

func TestLargeASCIIDigitKeepsEveryColumn(t *testing.T) {
	got, err := newDigitDrawer(termenv.Ascii).draw(verticalBar(14, 15), large, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 14 {
		t.Fatalf("%d lines, want 14", len(got))
	}
	want := strings.Repeat(" ", 14) + "@" + strings.Repeat(" ", 13)
	for i, l := range got {
		if l != want {
			t.Errorf("line %d = %q, want %q", i, l, want)
		}
	}
}

func TestSmallDigitAveragesTwoByTwoBlocks(t *testing.T) {
	// A two-column bar on an even column fills whole 2x2 blocks: full ink.
	// A one-column bar fills half of each block: a middle shade.
	got, err := newDigitDrawer(termenv.Ascii).draw(verticalBar(4, 6), small, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 7 || len(got[0]) != 14 {
		t.Fatalf("%d lines of %d, want 7 of 14", len(got), len(got[0]))
	}
	if want := "  @" + strings.Repeat(" ", 11); got[3] != want {
		t.Errorf("full blocks: %q, want %q", got[3], want)
	}
	half, _ := newDigitDrawer(termenv.Ascii).draw(verticalBar(5, 6), small, false)
	if c := half[3][2]; c == ' ' || c == '@' {
		t.Errorf("half-inked block drawn as %q, want a middle shade", c)
	}
}

func TestHiResDigitsNeedColours(t *testing.T) {
	img := verticalBar(3, 4)
	lines, err := newDigitDrawer(termenv.ANSI256).draw(img, large, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(lines[0], halfBlock) || !strings.Contains(lines[0], "\x1b[") {
		t.Errorf("hi-res line has no coloured half blocks: %q", lines[0])
	}
	// Without colours half blocks would all look the same: ASCII instead.
	plain, _ := newDigitDrawer(termenv.Ascii).draw(img, large, true)
	ascii, _ := newDigitDrawer(termenv.Ascii).draw(img, large, false)
	if plain[0] != ascii[0] {
		t.Errorf("hi-res without colours = %q, want the ASCII %q", plain[0], ascii[0])
	}
}

func TestBadImageIsAnError(t *testing.T) {
	if _, err := newDigitDrawer(termenv.Ascii).draw(make([]uint8, 10), large, false); err == nil {
		t.Error("a 10-pixel image drew without error")
	}
}

func TestBarLengthIsTheProbability(t *testing.T) {
	for _, tc := range []struct {
		p     float64
		width int
		want  string
	}{
		{0, 10, ""},
		{0.5, 10, "█████"},
		{1, 4, "████"},
		{0.0625, 10, "▋"}, // 0.625 of a cell: five eighths
		{1.7, 3, "███"},   // out of range: clamped, never longer than the room
	} {
		if got := bar(tc.p, tc.width); got != tc.want {
			t.Errorf("bar(%v, %d) = %q, want %q", tc.p, tc.width, got, tc.want)
		}
	}
}
