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
// before any rounding: torchvision's transform, read where its
// _gen_affine_grid reads, bilinearly as grid_sample does, to float32
// rounding (see resample). Buffers shorter than the image are a programming
// error and panic.
func Apply(dst []float32, src []uint8, rows, cols int, p Params) {
	ApplyInked(dst, src, rows, cols, p, InkBox(src, rows, cols))
}

// ApplyInked is Apply for an image whose InkBox is known: a loader finds the
// boxes of its images once, not every epoch.
func ApplyInked(dst []float32, src []uint8, rows, cols int, p Params, ink Box) {
	resample(dst, src, rows, cols, p, ink, Levels{Scale: 1})
}

// Prefetch asks the memory for image src, which a following Apply will
// read, and returns at once: a loader that goes through its images in a
// shuffled order finds few of them in the cache, and would otherwise wait
// for each.
func Prefetch(src []uint8) { prefetch(src) }

// Levels is the affine map v*Scale + Offset that ApplyNormalized writes for
// each resampled value v.
type Levels struct{ Scale, Offset float32 }

// Normalization is the Levels of the normalised images a network trains on,
// (v/255 - mean)/std as a product and a sum: the background, v = 0, is
// exactly -mean/std, the value the plain images' table holds.
func Normalization(mean, std float32) Levels {
	return Levels{Scale: 1 / (255 * std), Offset: -mean / std}
}

func (l Levels) of(v float32) float32 { return float32(v*l.Scale) + l.Offset }

// ApplyNormalized is ApplyInked followed by levels, applied to the pixels
// the transform reaches only: the rest is the background, levels.Offset,
// and a second pass over the image would cost a third of the resampling.
func ApplyNormalized(dst []float32, src []uint8, rows, cols int, p Params, ink Box, levels Levels) {
	resample(dst, src, rows, cols, p, ink, levels)
}

// maxSide bounds the side of the zero-padded copy of an image's ink that
// resample keeps on the stack: a 28x28 image's is at most 32 pixels.
// Larger images have theirs allocated.
const maxSide = 32

// smallBox is the size of the smaller copy on the stack.
const smallBox = 24 * 24

// byteFloat is float32(b) for every byte b: a load instead of a conversion.
var byteFloat = func() (t [256]float32) {
	for b := range t {
		t[b] = float32(b)
	}
	return t
}()

// padding is how many pixels of zeros surround the ink in resample's copy:
// a read more than a pixel away from the ink reads none of it, and the
// slack for rounding on top stays well within two.
const padding = 2

// slack is how far, in pixels, torch's float32 reads may stray from the
// float64 line resample finds its runs on: some 1e-5 at most, kept with a
// wide margin.
const slack = 1e-3

// resample is Apply with the output mapped by levels.
//
// Where an output pixel reads from follows torch's float32 arithmetic term
// by term, since a pixel's read moved by float32 rounding (some 1e-6 pixel)
// moves its value by as much as 5e-4 on the 0-255 scale. The interpolation
// is a lerp across then down rather than torch's four weighted terms times
// the all-ones image's read (1 within a rounding inside the image): that
// moves values by up to four float32 steps, 6e-5 near 255.
//
// Only output pixels that read within a pixel of the ink can be anything
// but the background: along each row they are one run, as the read moves
// in a straight line through the ink's box, found from that line in
// float64, then sampled without a branch from a copy of the ink's box
// surrounded by zeros, where every read of the run has all four
// neighbours.
func resample(dst []float32, src []uint8, rows, cols int, p Params, ink Box, levels Levels) {
	resampleWith(dst, src, rows, cols, p, ink, levels, haveAVX2)
}

// resampleWith is resample, eight pixels at a time with vector (AVX2).
func resampleWith(dst []float32, src []uint8, rows, cols int, p Params, ink Box, levels Levels, vector bool) {
	n := rows * cols
	if len(src) < n || len(dst) < n {
		panic(fmt.Sprintf("augment.Apply: a %dx%d image needs %d pixels; src has %d, dst %d", rows, cols, n, len(src), len(dst)))
	}
	fill(dst[:n], levels.Offset) // the background, the value of 0
	g := newGrid(rows, cols, p)
	if ink.x0 > ink.x1 || !g.finite() { // a blank image, or no transform at all
		return
	}
	box := paddedBox{x0: int(ink.x0) - padding, y0: int(ink.y0) - padding}
	box.w, box.h = int(ink.x1)+padding+1-box.x0, int(ink.y1)+padding+1-box.y0
	// The copy of the ink within its padding of zeros, on the stack: a
	// digit's box (20 pixels high, rarely as wide) fits the smaller array,
	// which is quicker to clear.
	var value []float32
	var inXOnStack, inYOnStack [maxSide]float32
	inX, inY := inXOnStack[:], inYOnStack[:]
	switch size := box.w * box.h; {
	case size <= smallBox:
		var onStack [smallBox]float32
		value = onStack[:size]
	case box.w <= maxSide && box.h <= maxSide:
		var onStack [maxSide * maxSide]float32
		value = onStack[:size]
	default:
		value, inX, inY = make([]float32, size), make([]float32, box.w), make([]float32, box.h)
	}
	for y := int(ink.y0); y <= int(ink.y1); y++ {
		row := src[y*cols+int(ink.x0) : y*cols+int(ink.x1)+1]
		padded := value[(y-box.y0)*box.w+padding:][:len(row)]
		for k, v := range row {
			padded[k] = byteFloat[v]
		}
	}
	// The reads of a run have their neighbours in the box: all in the
	// image unless the box passes its edge.
	edge := box.x0 < 0 || box.y0 < 0 || box.x0+box.w > cols || box.y0+box.h > rows
	// Which of the box's columns and rows are in the image: a read with a
	// neighbour outside is weighed by the read of an all-ones image
	// (torchvision's fill), and on such an image, 1 inside and 0 outside,
	// the bilinear read is the product of the reads across and down.
	for x := range box.w {
		if c := box.x0 + x; edge && c >= 0 && c < cols {
			inX[x] = 1
		}
	}
	for y := range box.h {
		if r := box.y0 + y; edge && r >= 0 && r < rows {
			inY[y] = 1
		}
	}
	// Along a row's float64 line of reads: the columns where it passes
	// within a pixel of the ink, give or take slack (and within the
	// padding, by far), and among them those whose reads have all four
	// neighbours in the image.
	fw, fh := float64(g.hw), float64(g.hh)
	bx, by0 := float64(0.5-g.hw), float64(0.5-g.hh) // column 0's and row 0's grid points
	lineX := line{
		start: fw*(bx*float64(g.xx)+by0*float64(g.xy)+float64(g.x1)+1) - 0.5,
		d:     fw * float64(g.xx), rowD: fw * float64(g.xy),
	}
	lineY := line{
		start: fh*(bx*float64(g.yx)+by0*float64(g.yy)+float64(g.y1)+1) - 0.5,
		d:     fh * float64(g.yx), rowD: fh * float64(g.yy),
	}
	inkX := lineX.band(float64(ink.x0)-1-slack, float64(ink.x1)+1+slack)
	inkY := lineY.band(float64(ink.y0)-1-slack, float64(ink.y1)+1+slack)
	insideX, insideY := lineX.band(slack, float64(cols-1)-slack), lineY.band(slack, float64(rows-1)-slack)
	args := runArgs{xx: g.xx, yx: g.yx, x1: g.x1, y1: g.y1, hw: g.hw, hh: g.hh, wBytes: int64(4 * box.w)}
	origin := -box.y0*box.w - box.x0 // the box's index of pixel (0, 0)
	for k := range 8 {
		args.scale[k], args.offset[k] = levels.Scale, levels.Offset
		args.w[k], args.origin[k] = float32(box.w), float32(origin)
		args.maxIndex[k] = int32(box.w*box.h - box.w - 2)
	}
	for i := 0; i < rows; i++ {
		by := float32(i) - g.hh + 0.5
		jlo, jhi := inkX.at(i, cols)
		ylo, yhi := inkY.at(i, cols)
		jlo, jhi = max(jlo, ylo), min(jhi, yhi)
		if jlo >= jhi {
			continue
		}
		alo, ahi := jlo, jhi // the run's reads whose neighbours are all in the image
		if edge {
			alo, ahi = insideX.at(i, cols)
			ylo, yhi = insideY.at(i, cols)
			alo, ahi = max(alo, ylo, jlo), min(ahi, yhi, jhi)
			if alo >= ahi {
				alo, ahi = jlo, jlo
			}
		}
		out := dst[i*cols : (i+1)*cols]
		args.bx, args.rowX, args.rowY = float32(alo)-g.hw+0.5, float32(by*g.xy), float32(by*g.yy)
		sampleRun(out[alo:ahi], value, &args, box.w, origin, vector)
		if edge {
			for _, j := range [2][2]int{{jlo, alo}, {ahi, jhi}} {
				run := out[j[0]:j[1]]
				g.sampleRunMasked(run, j[0], by, value, box, inX, inY)
				for k, v := range run {
					run[k] = levels.of(v)
				}
			}
		}
	}
}

// grid is theta in float32 as torch holds it, divided by the half sides as
// _gen_affine_grid divides it.
type grid struct {
	hw, hh     float32 // half width and height
	xx, xy, x1 float32
	yx, yy, y1 float32
}

func newGrid(rows, cols int, p Params) grid {
	m := inverseMatrix(p)
	hw, hh := float32(0.5*float64(cols)), float32(0.5*float64(rows))
	return grid{
		hw: hw, hh: hh,
		xx: float32(m[0]) / hw, xy: float32(m[1]) / hw, x1: float32(m[2]) / hw,
		yx: float32(m[3]) / hh, yy: float32(m[4]) / hh, y1: float32(m[5]) / hh,
	}
}

// finite reports whether every factor is a number: a scale of 0 or an
// overflowing angle gives none, and then no read either.
func (g grid) finite() bool {
	for _, f := range [...]float32{g.xx, g.xy, g.x1, g.yx, g.yy, g.y1} {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return false
		}
	}
	return true
}

// read returns where the output pixel at grid point (bx, by) reads from,
// in pixels of the image, as torch computes it: the grid point,
// linspace(-w/2+0.5, w/2-0.5) by row and column, times theta term by term
// in float32, then grid_sample's unnormalisation with align_corners=False,
// ((g+1)*size-1)/2, as its vectorised CPU kernel computes it:
// (g+1)*(size/2) - 0.5. The conversions keep every product rounded, never
// fused with a sum.
func (g *grid) read(bx, by float32) (ix, iy float32) {
	gx := float32(float32(float32(bx*g.xx)+float32(by*g.xy)) + g.x1)
	gy := float32(float32(float32(bx*g.yx)+float32(by*g.yy)) + g.y1)
	return float32(float32(gx+1)*g.hw) - 0.5, float32(float32(gy+1)*g.hh) - 0.5
}

// paddedBox is the ink's box of an image grown by padding on every side,
// which may pass the image's edge: its top-left pixel (x0, y0) and size.
type paddedBox struct{ x0, y0, w, h int }

// cell returns the box's column and row of the north-west neighbour of
// read (ix, iy), which lies at least a pixel inside the box, and the
// read's distances from the west and north neighbours.
func (b paddedBox) cell(ix, iy float32) (x, y int, we, wn float32) {
	// floor: int truncates toward 0, and math.Floor is a call.
	x, y = int(ix), int(iy)
	if float32(x) > ix {
		x--
	}
	if float32(y) > iy {
		y--
	}
	return x - b.x0, y - b.y0, ix - float32(x), iy - float32(y)
}

// lerp is the bilinear read of the box's values around index k (the
// north-west neighbour) of a box w wide.
func lerp(value []float32, w, k int, we, wn float32) float32 {
	north, south := value[k:k+2:k+2], value[k+w:k+w+2:k+w+2]
	top := north[0] + float32(we*(north[1]-north[0]))
	bottom := south[0] + float32(we*(south[1]-south[0]))
	return top + float32(wn*(bottom-top))
}

// runArgs is what sampleRun needs of a row, and sampleRunAVX2 reads it at
// the offsets sample_amd64.s names (a test checks them).
type runArgs struct {
	bx         float32 // the grid point of the run's first column; exact, and so is every step
	rowX, rowY float32 // the row's terms, float32(by*xy) and float32(by*yy)
	xx, yx     float32
	x1, y1     float32
	hw, hh     float32
	_          [3]float32
	w, origin  [8]float32 // the box's width, the box's index of pixel (0, 0)
	maxIndex   [8]int32   // the largest north-west index whose neighbours are in the box
	wBytes     int64      // the box's width in bytes
	scale      [8]float32 // the Levels the run's values are written in
	offset     [8]float32
}

// sampleRun writes into run the reads of the output pixels from a.bx on,
// in the row a holds, from the padded box value of width w, in a's
// levels; with vector, eight at a time where AVX2 can.
func sampleRun(run, value []float32, a *runArgs, w, origin int, vector bool) {
	if vector && len(run) >= 8 {
		sampleRunAVX2(run, value, a)
		if rest := len(run) % 8; rest != 0 { // the last eight again, the same values
			a.bx += float32(len(run) - 8)
			sampleRunAVX2(run[len(run)-8:], value, a)
		}
		return
	}
	sampleRunGo(run, value, a, w, origin)
}

// sampleRunGo is sampleRun one pixel at a time.
func sampleRunGo(run, value []float32, a *runArgs, w, origin int) {
	bx := a.bx
	for j := range run {
		ix := float32(float32(float32(float32(float32(bx*a.xx)+a.rowX)+a.x1)+1)*a.hw) - 0.5
		iy := float32(float32(float32(float32(float32(bx*a.yx)+a.rowY)+a.y1)+1)*a.hh) - 0.5
		// floor: int truncates toward 0, and math.Floor is a call.
		x, y := int(ix), int(iy)
		if float32(x) > ix {
			x--
		}
		if float32(y) > iy {
			y--
		}
		v := lerp(value, w, y*w+x+origin, ix-float32(x), iy-float32(y))
		run[j] = float32(v*a.scale[0]) + a.offset[0] // as Levels.of
		bx++
	}
}

// sampleRunMasked is sampleRun for reads with a neighbour outside the
// image, times the read of the all-ones image as torchvision's fill does:
// the neighbours outside count 0 in both.
func (g *grid) sampleRunMasked(run []float32, jlo int, by float32, value []float32, box paddedBox, inX, inY []float32) {
	bx := float32(jlo) - g.hw + 0.5
	for j := range run {
		ix, iy := g.read(bx, by)
		x, y, we, wn := box.cell(ix, iy)
		across := inX[x] + float32(we*(inX[x+1]-inX[x]))
		down := inY[y] + float32(wn*(inY[y+1]-inY[y]))
		run[j] = lerp(value, box.w, y*box.w+x, we, wn) * float32(across*down)
		bx++
	}
}

// fill sets every value of s to v.
func fill(s []float32, v float32) {
	if v == 0 {
		clear(s)
		return
	}
	if len(s) == 0 {
		return
	}
	s[0] = v
	for k := 1; k < len(s); k *= 2 { // doubling copies run at memmove's speed
		copy(s[k:], s[:k])
	}
}

// line is where a coordinate of the reads lies along the rows, in float64:
// start + j*d at column j of row 0, moving by rowD a row.
type line struct{ start, d, rowD float64 }

// band returns the columns of each row where the line lies strictly
// between a and b, give or take rounding (callers keep a margin).
func (l line) band(a, b float64) band {
	if math.Abs(l.d) < 1e-9 { // a row's reads do not move along it: all of them or none
		return band{still: true, line: l, a: a, b: b}
	}
	inv := 1 / l.d
	from, to := (a-l.start)*inv, (b-l.start)*inv
	if l.d < 0 {
		from, to = to, from
	}
	return band{from: from, to: to, rowD: -l.rowD * inv}
}

// band is the columns of row i where a line lies between two values:
// from < j <= to, with from and to moving by rowD a row.
type band struct {
	from, to, rowD float64
	still          bool // the line does not move along a row, see a and b
	line           line
	a, b           float64
}

// at returns the columns [lo, hi) of row i in the band.
func (b *band) at(i, cols int) (lo, hi int) {
	if b.still {
		if v := b.line.start + float64(i)*b.line.rowD; v > b.a && v < b.b {
			return 0, cols
		}
		return 0, 0
	}
	// Clamped first so that int, which truncates, floors (compared by
	// hand: min and max on floats mind NaNs, which cannot come here, and
	// cost as much again).
	n, move := float64(cols), float64(i)*b.rowD
	from, to := b.from+move, b.to+move
	if from < -1 {
		from = -1
	} else if from > n {
		from = n
	}
	if to < -1 {
		to = -1
	} else if to > n {
		to = n
	}
	return min(int(from+1), cols), min(int(to+1), cols)
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

// ApplyUint8 is Apply rounded back to bytes as torchvision does for a uint8
// tensor (torch.round, half to even, then a cast).
func ApplyUint8(dst, src []uint8, rows, cols int, p Params, scratch []float32) {
	Apply(scratch, src, rows, cols, p)
	for i := range rows * cols {
		dst[i] = uint8(min(max(math.RoundToEven(float64(scratch[i])), 0), 255))
	}
}
