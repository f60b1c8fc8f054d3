// Package augment moves, turns and scales training images on the fly, as
// torchvision's RandomAffine(degrees, translate, scale, interpolation=BILINEAR)
// does on a tensor: the inverse matrix of
// torchvision.transforms.functional._get_inverse_affine_matrix, sampled by
// grid_sample (bilinear, align_corners=False) with fill 0, the background.
//
// Each image's parameters are a pure function of (seed, epoch, image index),
// so a run is the same whatever the batch size, the order images are
// prepared in or the number of goroutines preparing them.
package augment

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Settings are the ranges RandomAffine draws from. The zero value is not
// "off": a scale range of [0, 0] shrinks images to nothing; use Off.
type Settings struct {
	Rotate    float64 // degrees: the angle is uniform in [-Rotate, Rotate], clockwise positive
	Translate float64 // fraction of the side: shifts are uniform in [-Translate*side, Translate*side], rounded to whole pixels
	ScaleMin  float64 // the scale is uniform in [ScaleMin, ScaleMax]
	ScaleMax  float64
}

// Off returns the settings that leave every image as it is.
func Off() Settings { return Settings{ScaleMin: 1, ScaleMax: 1} }

// IsOff reports whether s leaves every image as it is, so that callers can
// skip the resampling (and keep the exact pixels) altogether.
func (s Settings) IsOff() bool {
	return s.Rotate == 0 && s.Translate == 0 && s.ScaleMin == 1 && s.ScaleMax == 1
}

// Params are one image's transform: rotation about the centre, then scale,
// then a shift of whole pixels (x right, y down).
type Params struct {
	Angle  float64 // degrees, clockwise
	TX, TY int
	Scale  float64
}

// streamKey separates the augmentation's random streams from the loader's
// shuffle, which seeds PCG with (seed, epoch).
const streamKey = 0x6175676d656e7421 // "augment!"

// Draw returns the parameters of image index in epoch for a run seeded with
// seed, drawn as RandomAffine.get_params does: angle uniform in
// [-Rotate, Rotate], shifts uniform in [-Translate*cols, Translate*cols]
// (rows for y) rounded half to even as Python's round, scale uniform in
// [ScaleMin, ScaleMax].
func Draw(s Settings, rows, cols int, seed uint64, epoch, index int) Params {
	pcg := rand.NewPCG(seed^streamKey, uint64(uint32(epoch))<<32|uint64(uint32(index)))
	uniform := func(lo, hi float64) float64 {
		u := float64(pcg.Uint64()>>11) * 0x1p-53 // [0, 1)
		return lo + (hi-lo)*u
	}
	maxDX, maxDY := s.Translate*float64(cols), s.Translate*float64(rows)
	return Params{
		Angle: uniform(-s.Rotate, s.Rotate),
		TX:    int(math.RoundToEven(uniform(-maxDX, maxDX))),
		TY:    int(math.RoundToEven(uniform(-maxDY, maxDY))),
		Scale: uniform(s.ScaleMin, s.ScaleMax),
	}
}

// inverseMatrix is torchvision's _get_inverse_affine_matrix without shear,
// about the centre (centre (0, 0) in the centred coordinates of the tensor
// path): it maps an output pixel to where it is read from.
func inverseMatrix(p Params) [6]float64 {
	rot := p.Angle * math.Pi / 180
	a, b := math.Cos(rot), -math.Sin(rot)
	c, d := math.Sin(rot), math.Cos(rot)
	m := [6]float64{d / p.Scale, -b / p.Scale, 0, -c / p.Scale, a / p.Scale, 0}
	tx, ty := float64(p.TX), float64(p.TY)
	m[2] += m[0]*(-tx) + m[1]*(-ty)
	m[5] += m[3]*(-tx) + m[4]*(-ty)
	return m
}

// Apply writes into dst[:rows*cols] image src (rows*cols pixels, row after
// row) transformed by p, as float pixel values on the scale of src (0-255),
// before any rounding. It follows torchvision's float32 arithmetic
// (_gen_affine_grid, then grid_sample's bilinear kernel) so that it matches
// to float32 rounding. Buffers shorter than the image are a programming
// error and panic.
func Apply(dst []float32, src []uint8, rows, cols int, p Params) {
	ApplyInked(dst, src, rows, cols, p, InkBox(src, rows, cols))
}

// ApplyInked is Apply for an image whose InkBox is known: a loader finds the
// boxes of its images once, not every epoch.
func ApplyInked(dst []float32, src []uint8, rows, cols int, p Params, ink Box) {
	n := rows * cols
	if len(src) < n || len(dst) < n {
		panic(fmt.Sprintf("augment.Apply: a %dx%d image needs %d pixels; src has %d, dst %d", rows, cols, n, len(src), len(dst)))
	}
	m := inverseMatrix(p)
	// theta is float32; _gen_affine_grid divides its transpose by (w/2, h/2)
	// to reach grid_sample's [-1, 1] coordinates.
	hw, hh := float32(0.5*float64(cols)), float32(0.5*float64(rows))
	xx, xy, x1 := float32(m[0])/hw, float32(m[1])/hw, float32(m[2])/hw
	yx, yy, y1 := float32(m[3])/hh, float32(m[4])/hh, float32(m[5])/hh
	// grid_sample's unnormalisation with align_corners=False, ((g+1)*size-1)/2,
	// as its vectorised CPU kernel computes it: (g+1)*(size/2) - 0.5.
	// Along a row the read position moves in a straight line: only the
	// stretch of it that passes the ink (give or take a pixel for rounding)
	// can read anything but 0, and is computed pixel by pixel.
	dix, diy := float64(hw)*float64(xx), float64(hh)*float64(yx)
	for i := 0; i < rows; i++ {
		by := float32(i) - hh + 0.5 // linspace(-h/2+0.5, h/2-0.5)
		out := dst[i*cols : (i+1)*cols]
		ix0 := float64(hw)*(float64(0.5-hw)*float64(xx)+float64(by)*float64(xy)+float64(x1)+1) - 0.5
		iy0 := float64(hh)*(float64(0.5-hw)*float64(yx)+float64(by)*float64(yy)+float64(y1)+1) - 0.5
		jlo, jhi := crossing(ix0, dix, float64(ink.x0)-1, float64(ink.x1)+1, cols)
		ylo, yhi := crossing(iy0, diy, float64(ink.y0)-1, float64(ink.y1)+1, cols)
		jlo, jhi = max(jlo, ylo), min(jhi, yhi)
		clear(out)
		rx, ry := float32(by*xy), float32(by*yy) // the row's terms, as torch adds them
		for j := jlo; j < jhi; j++ {
			bx := float32(j) - hw + 0.5
			gx := float32(float32(bx*xx)+rx) + x1
			gy := float32(float32(bx*yx)+ry) + y1
			ix := float32(float32(gx+1)*hw) - 0.5
			iy := float32(float32(gy+1)*hh) - 0.5
			// A read with no inked neighbour is 0 (a sum of zeros times
			// the mask): most of a digit is background.
			if !(ix > ink.x0-1 && ix < ink.x1+1 && iy > ink.y0-1 && iy < ink.y1+1) {
				continue
			}
			// The interior read of sample, written out here: it is most of
			// the work, and a call costs as much again.
			x0, y0 := int(ix), int(iy)
			if ix >= 0 && iy >= 0 && x0+1 < cols && y0+1 < rows { // int truncates to the floor
				p := y0*cols + x0
				q := p + cols
				a, b, c, d := src[p], src[p+1], src[q], src[q+1]
				if a|b|c|d == 0 {
					continue
				}
				we, wn := ix-float32(x0), iy-float32(y0)
				ww, ws := 1-we, 1-wn
				nw, ne, sw, se := ws*ww, ws*we, wn*ww, wn*we
				v := nw * byteFloat[a]
				v += ne * byteFloat[b]
				v += sw * byteFloat[c]
				v += se * byteFloat[d]
				out[j] = v * (nw + ne + sw + se)
				continue
			}
			out[j] = sample(src, rows, cols, ix, iy)
		}
	}
}

// crossing returns the columns [lo, hi) of a row, widened by a pixel each
// side, where start + j*step lies strictly between a and b.
func crossing(start, step, a, b float64, cols int) (lo, hi int) {
	n := float64(cols)
	var from, to float64
	switch {
	case step > 0:
		from, to = (a-start)/step, (b-start)/step
	case step < 0:
		from, to = (b-start)/step, (a-start)/step
	case start > a && start < b:
		return 0, cols
	default:
		return 0, 0
	}
	from = min(max(math.Floor(from)-1, 0), n)
	to = min(max(math.Ceil(to)+2, 0), n)
	return int(from), int(to)
}

// Box is the smallest rectangle holding every non-zero pixel of an image,
// its bounds inclusive; empty (x0 > x1) for a blank image.
type Box struct{ x0, y0, x1, y1 float32 }

// InkBox returns the Box of image src.
func InkBox(src []uint8, rows, cols int) Box {
	x0, y0, x1, y1 := cols, rows, -1, -1
	for y := 0; y < rows; y++ {
		row := src[y*cols : (y+1)*cols]
		for x, v := range row {
			if v != 0 {
				x0, x1 = min(x0, x), max(x1, x)
				y0, y1 = min(y0, y), y
			}
		}
	}
	return Box{float32(x0), float32(y0), float32(x1), float32(y1)}
}

// byteFloat is float32(b) for every byte b: a load instead of a conversion.
var byteFloat = func() (t [256]float32) {
	for b := range t {
		t[b] = float32(b)
	}
	return t
}()

// sample is grid_sample's bilinear read at (ix, iy) with zeros outside,
// times the same read of an all-ones image: torchvision's fill, which with
// fill 0 is img*mask + (1-mask)*0.
func sample(src []uint8, rows, cols int, ix, iy float32) float32 {
	// With no neighbour inside (and for NaN) nothing is read.
	if !(ix > -1 && iy > -1 && ix < float32(cols) && iy < float32(rows)) {
		return 0
	}
	x0, y0 := int(ix), int(iy) // floor, for the range above
	if float32(x0) > ix {
		x0--
	}
	if float32(y0) > iy {
		y0--
	}
	we, wn := ix-float32(x0), iy-float32(y0) // distances from the west and north neighbours
	ww, ws := 1-we, 1-wn
	nw, ne, sw, se := ws*ww, ws*we, wn*ww, wn*we // torch's weights
	if x0 >= 0 && y0 >= 0 && x0+1 < cols && y0+1 < rows {
		p := y0*cols + x0
		q := p + cols
		a, b, c, d := src[p], src[p+1], src[q], src[q+1]
		if a|b|c|d == 0 { // inside the ink's box, yet blank around: often
			return 0
		}
		v := nw * byteFloat[a]
		v += ne * byteFloat[b]
		v += sw * byteFloat[c]
		v += se * byteFloat[d]
		return v * (nw + ne + sw + se)
	}
	// On the border: only the neighbours inside count, in the same order.
	var v, mask float32
	for k, wt := range [4]float32{nw, ne, sw, se} {
		x, y := x0+k&1, y0+k>>1
		if x < 0 || y < 0 || x >= cols || y >= rows {
			continue
		}
		v += wt * float32(src[y*cols+x])
		mask += wt
	}
	return v * mask
}

// ApplyUint8 is Apply rounded back to bytes as torchvision does for a uint8
// tensor (torch.round, half to even, then a cast).
func ApplyUint8(dst, src []uint8, rows, cols int, p Params, scratch []float32) {
	Apply(scratch, src, rows, cols, p)
	for i := range rows * cols {
		dst[i] = uint8(min(max(math.RoundToEven(float64(scratch[i])), 0), 255))
	}
}
