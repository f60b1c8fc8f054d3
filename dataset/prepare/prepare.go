// Package prepare turns any picture of a digit into a 28x28 image prepared
// the way MNIST's were: grey ink bright on a dark background, cropped to the
// ink, the longer side scaled to 20 pixels, and pasted into 28x28 so that the
// centre of mass sits at the centre. predict and the draw view both use it,
// so what the model sees is the same in both.
package prepare

import (
	"errors"
	"fmt"
	"image"
	_ "image/gif" // register the formats predict accepts
	_ "image/jpeg"
	_ "image/png"
	"io"
	"math"
)

// Size is the side of an MNIST image; Box is the side of the box the ink is
// scaled into, leaving a margin for the centre-of-mass shift.
const (
	Size = 28
	Box  = 20
)

// maxPixels bounds the pictures we decode, so a hostile file cannot make us
// allocate gigabytes.
const maxPixels = 50_000_000

// ErrNoInk means the picture holds no digit: every pixel is background.
var ErrNoInk = errors.New("no ink found: the image is blank (or all one colour)")

// Decode reads a PNG, JPEG or GIF, refusing absurdly large ones before
// decoding them.
func Decode(r io.ReadSeeker) (image.Image, error) {
	cfg, format, err := image.DecodeConfig(r)
	if err != nil {
		return nil, fmt.Errorf("not a PNG, JPEG or GIF image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPixels {
		return nil, fmt.Errorf("%s image of %dx%d pixels: too large (at most %d pixels)", format, cfg.Width, cfg.Height, maxPixels)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(r)
	if err != nil {
		return nil, fmt.Errorf("%s image: %w", format, err)
	}
	return img, nil
}

// FromImage prepares a decoded picture of any size and colour.
func FromImage(img image.Image) ([Size * Size]uint8, error) {
	st, err := StepsFromImage(img)
	return st.Image, err
}

// StepsFromImage is FromImage with its stages kept.
func StepsFromImage(img image.Image) (Steps, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return Steps{}, ErrNoInk
	}
	// Luminance in [0,1], transparent pixels counting as white paper.
	grey := make([]float32, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA() // premultiplied, 0..65535
			lum := (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 65535
			lum += 1 - float64(a)/65535 // composite over white
			grey[y*w+x] = float32(min(lum, 1))
		}
	}
	// MNIST's ink is bright on black. Decide the background from the border,
	// where a digit rarely is, and invert a light one.
	if borderMean(grey, w, h) > 0.5 {
		for i, v := range grey {
			grey[i] = 1 - v
		}
	}
	return StepsFromInk(grey, w, h)
}

// FromInk prepares an ink map: w*h values in [0,1], 1 = full ink. The draw
// view's canvas comes in here directly.
func FromInk(ink []float32, w, h int) ([Size * Size]uint8, error) {
	st, err := StepsFromInk(ink, w, h)
	return st.Image, err
}

// Steps are the stages of the preparation one after another, for showing
// what the model is given and why (predict --explain).
type Steps struct {
	// Crop is the ink's bounding box of the cleaned picture (background
	// level taken off, stretched to [0,1]), CropW x CropH, row-major.
	Crop         []float32
	CropW, CropH int
	// Fit is the crop scaled so its longer side is Box pixels, FitW x FitH.
	Fit        []float32
	FitW, FitH int
	// ShiftX, ShiftY are where Fit's top-left corner lands in the 28x28
	// field, so that its centre of mass is at the centre.
	ShiftX, ShiftY int
	// Image is the result, as MNIST's bytes (0 = background).
	Image [Size * Size]uint8
}

// StepsFromInk is FromInk with its stages kept.
func StepsFromInk(ink []float32, w, h int) (Steps, error) {
	var st Steps
	if w <= 0 || h <= 0 || len(ink) != w*h {
		return st, fmt.Errorf("ink map of %d values does not match %dx%d", len(ink), w, h)
	}
	// Paper is rarely pure black: take the background level as the border's
	// and stretch what is above it to [0,1].
	bg := min(borderMean(ink, w, h), 0.9)
	clean := make([]float32, len(ink))
	for i, v := range ink {
		clean[i] = max(0, (v-bg)/(1-bg))
	}
	x0, y0, x1, y1, ok := inkBounds(clean, w, h, 0.1)
	if !ok {
		return st, ErrNoInk
	}
	cw, ch := x1-x0, y1-y0
	st.Crop, st.CropW, st.CropH = resampleArea(clean, w, x0, y0, cw, ch, cw, ch), cw, ch
	scale := float64(Box) / float64(max(cw, ch))
	sw := max(1, int(math.Round(float64(cw)*scale)))
	sh := max(1, int(math.Round(float64(ch)*scale)))
	small := resampleArea(clean, w, x0, y0, cw, ch, sw, sh)
	st.Fit, st.FitW, st.FitH = small, sw, sh

	// Paste so the centre of mass lands on the centre of the 28x28 field.
	cx, cy := centreOfMass(small, sw, sh)
	offX := int(math.Round(float64(Size)/2 - cx))
	offY := int(math.Round(float64(Size)/2 - cy))
	st.ShiftX, st.ShiftY = offX, offY
	for y := 0; y < sh; y++ {
		for x := 0; x < sw; x++ {
			tx, ty := x+offX, y+offY
			if tx < 0 || ty < 0 || tx >= Size || ty >= Size {
				continue // a lopsided digit may lose a sliver at the edge, as in MNIST
			}
			st.Image[ty*Size+tx] = uint8(math.Round(float64(min(small[y*sw+x], 1)) * 255))
		}
	}
	return st, nil
}

func borderMean(v []float32, w, h int) float32 {
	var sum float64
	n := 0
	for x := 0; x < w; x++ {
		sum += float64(v[x]) + float64(v[(h-1)*w+x])
		n += 2
	}
	for y := 1; y < h-1; y++ {
		sum += float64(v[y*w]) + float64(v[y*w+w-1])
		n += 2
	}
	return float32(sum / float64(n))
}

// inkBounds is the bounding box [x0,x1) x [y0,y1) of pixels above threshold.
func inkBounds(v []float32, w, h int, threshold float32) (x0, y0, x1, y1 int, ok bool) {
	x0, y0, x1, y1 = w, h, 0, 0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if v[y*w+x] > threshold {
				x0, y0 = min(x0, x), min(y0, y)
				x1, y1 = max(x1, x+1), max(y1, y+1)
			}
		}
	}
	return x0, y0, x1, y1, x1 > x0 && y1 > y0
}

// resampleArea scales the crop (x0,y0,cw,ch) of src (stride w) to dw x dh,
// each output pixel the average of the source area it covers, fractions of
// pixels included: smooth when shrinking, and exact in total ink.
func resampleArea(src []float32, w, x0, y0, cw, ch, dw, dh int) []float32 {
	dst := make([]float32, dw*dh)
	sx := float64(cw) / float64(dw)
	sy := float64(ch) / float64(dh)
	for dy := 0; dy < dh; dy++ {
		top, bottom := float64(dy)*sy, float64(dy+1)*sy
		for dx := 0; dx < dw; dx++ {
			left, right := float64(dx)*sx, float64(dx+1)*sx
			var sum float64
			for y := int(top); y < int(math.Ceil(bottom)) && y < ch; y++ {
				hy := math.Min(bottom, float64(y+1)) - math.Max(top, float64(y))
				for x := int(left); x < int(math.Ceil(right)) && x < cw; x++ {
					wx := math.Min(right, float64(x+1)) - math.Max(left, float64(x))
					sum += float64(src[(y0+y)*w+x0+x]) * wx * hy
				}
			}
			dst[dy*dw+dx] = float32(sum / (sx * sy))
		}
	}
	return dst
}

// centreOfMass of an ink map, in pixel-centre coordinates (+0.5).
func centreOfMass(v []float32, w, h int) (cx, cy float64) {
	var total float64
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m := float64(v[y*w+x])
			total += m
			cx += m * (float64(x) + 0.5)
			cy += m * (float64(y) + 0.5)
		}
	}
	if total == 0 {
		return float64(w) / 2, float64(h) / 2
	}
	return cx / total, cy / total
}
