package inspect

import (
	"fmt"
	"strings"

	"github.com/muesli/termenv"
)

// An image is 28x28 grey pixels, 0 the background and 255 full ink.
const (
	imageSide  = 28
	imagePixel = imageSide * imageSide
)

// asciiRamp goes from background to full ink.
const asciiRamp = " .:-=+*#%@"

// halfBlock is drawn with the upper pixel as foreground and the lower one as
// background: two pixels in one cell.
const halfBlock = "▀"

// digitSize is how big a digit is drawn. Terminal cells are about twice as
// tall as wide, so a text row always holds two pixel rows:
//
//	large: every pixel, 28 columns x 14 rows;
//	small: 2x2 pixel blocks averaged, 14 columns x 7 rows, four times as
//	       many digits on a screen and still recognisable.
type digitSize int

const (
	large digitSize = iota
	small
)

// scale is how many pixels of the image one drawn pixel stands for, per side.
func (d digitSize) scale() int {
	if d == small {
		return 2
	}
	return 1
}

func (d digitSize) cols() int { return imageSide / d.scale() }
func (d digitSize) rows() int { return imageSide / d.scale() / 2 }

// digitDrawer draws images as text, with the ASCII ramp or, when its profile
// has colours, with half blocks in grey colours. The escape sequences of the
// 256 greys are made once: a screen of digits has thousands of cells, and
// styling each through termenv or lipgloss would cost milliseconds a frame.
type digitDrawer struct {
	profile termenv.Profile
	fg, bg  [256]string // SGR parameters of each grey as foreground, background
}

func newDigitDrawer(profile termenv.Profile) *digitDrawer {
	d := &digitDrawer{profile: profile}
	for v := range 256 {
		c := profile.Color(fmt.Sprintf("#%02x%02x%02x", v, v, v))
		if c == nil {
			continue // the ASCII profile has no colours
		}
		d.fg[v], d.bg[v] = c.Sequence(false), c.Sequence(true)
	}
	return d
}

// canHiRes reports whether half blocks show anything: they are nothing but
// colours.
func (d *digitDrawer) canHiRes() bool { return d.profile != termenv.Ascii }

// draw returns the image as size.rows() lines of size.cols() cells, or an
// error when img is not a 28x28 image. hiRes asks for half blocks; without
// colours the ASCII ramp is used anyway.
func (d *digitDrawer) draw(img []uint8, size digitSize, hiRes bool) ([]string, error) {
	if len(img) != imagePixel {
		return nil, fmt.Errorf("image has %d pixels, want 28x28=%d", len(img), imagePixel)
	}
	hiRes = hiRes && d.canHiRes()
	px := shrink(img, size.scale())
	side := imageSide / size.scale()
	lines := make([]string, side/2)
	var b strings.Builder
	for row := range lines {
		b.Reset()
		upper, lower := px[2*row*side:], px[(2*row+1)*side:]
		for col := range side {
			if hiRes {
				// What termenv's Style.Styled writes, without its
				// allocations: CSI fg;bg m ▀ CSI 0 m.
				b.WriteString(termenv.CSI + d.fg[upper[col]] + ";" + d.bg[lower[col]] + "m" +
					halfBlock + termenv.CSI + termenv.ResetSeq + "m")
				continue
			}
			b.WriteByte(asciiRamp[rampIndex((int(upper[col])+int(lower[col]))/2)])
		}
		lines[row] = b.String()
	}
	return lines, nil
}

// shrink averages scale x scale blocks of a 28x28 image into one pixel.
func shrink(img []uint8, scale int) []uint8 {
	if scale == 1 {
		return img
	}
	side := imageSide / scale
	out := make([]uint8, side*side)
	for y := range side {
		for x := range side {
			sum := 0
			for dy := range scale {
				for dx := range scale {
					sum += int(img[(y*scale+dy)*imageSide+x*scale+dx])
				}
			}
			out[y*side+x] = uint8(sum / (scale * scale))
		}
	}
	return out
}

// rampIndex maps a 0..255 grey level to the nearest ramp character.
func rampIndex(grey int) int {
	last := len(asciiRamp) - 1
	return (grey*last + 127) / 255
}
