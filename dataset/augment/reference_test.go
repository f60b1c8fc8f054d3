package augment

import (
	"math"
	"math/rand/v2"
	"testing"
)

// referenceApply is Apply as torchvision computes it, pixel by pixel and
// in float32 throughout: the grid point times theta, term by term, then
// grid_sample's unnormalisation and its four weighted neighbours, times the
// same read of an all-ones image. Apply reads from float64 positions and
// lerps; this is what it is compared with, over many more transforms than
// the fixtures hold.
func referenceApply(dst []float32, src []uint8, rows, cols int, p Params) {
	m := inverseMatrix(p)
	hw, hh := float32(0.5*float64(cols)), float32(0.5*float64(rows))
	xx, xy, x1 := float32(m[0])/hw, float32(m[1])/hw, float32(m[2])/hw
	yx, yy, y1 := float32(m[3])/hh, float32(m[4])/hh, float32(m[5])/hh
	for i := range rows {
		by := float32(i) - hh + 0.5
		for j := range cols {
			bx := float32(j) - hw + 0.5
			gx := float32(float32(float32(bx*xx)+float32(by*xy)) + x1)
			gy := float32(float32(float32(bx*yx)+float32(by*yy)) + y1)
			ix := float32(float32(gx+1)*hw) - 0.5
			iy := float32(float32(gy+1)*hh) - 0.5
			dst[i*cols+j] = referenceSample(src, rows, cols, ix, iy)
		}
	}
}

func referenceSample(src []uint8, rows, cols int, ix, iy float32) float32 {
	if !(ix > -1 && iy > -1 && ix < float32(cols) && iy < float32(rows)) {
		return 0
	}
	x0 := int(math.Floor(float64(ix)))
	y0 := int(math.Floor(float64(iy)))
	we, wn := ix-float32(x0), iy-float32(y0)
	ww, ws := 1-we, 1-wn
	var v, mask float32
	for k, wt := range [4]float32{ws * ww, ws * we, wn * ww, wn * we} { // nw, ne, sw, se
		x, y := x0+k&1, y0+k>>1
		if x < 0 || y < 0 || x >= cols || y >= rows {
			continue
		}
		v = float32(v + float32(wt*float32(src[y*cols+x])))
		mask += wt
	}
	return v * mask
}

// testImages are the fixture's digits and pattern and the cases that test
// the edges of resample: ink at every border and corner, a single pixel,
// a blank image, and a 40x40 image (too large for the copy on the stack).
func testImages(t testing.TB) (images [][]uint8, sides []int) {
	f := readFixture(t)
	for _, img := range f.Images {
		images, sides = append(images, img), append(sides, 28)
	}
	border := make([]uint8, 28*28)
	for k := range 28 {
		border[k], border[27*28+k], border[k*28], border[k*28+27] = 200, 90, 255, 30
	}
	single := make([]uint8, 28*28)
	single[13*28+14] = 255
	corner := make([]uint8, 28*28)
	corner[0], corner[1], corner[28], corner[28*28-1] = 255, 128, 64, 255
	large := make([]uint8, 40*40)
	for k := range large {
		if r, c := k/40, k%40; (r-20)*(r-20)+(c-18)*(c-18) < 225 { // 31 pixels wide: the box, padded, is larger than maxSide
			large[k] = uint8(40 + (r*7+c*3)%200)
		}
	}
	images = append(images, border, single, corner, make([]uint8, 28*28), large)
	sides = append(sides, 28, 28, 28, 28, 40)
	return images, sides
}

// testParams are n transforms over wider ranges than training uses:
// any angle, scales from 0.5 to 2, shifts up to 10 pixels.
func testParams(n int) []Params {
	rng := rand.New(rand.NewPCG(1, 2))
	ps := []Params{{Scale: 1}, {Angle: 90, Scale: 1}, {Angle: -180, TX: 3, Scale: 1}, {TX: -27, TY: 27, Scale: 1}}
	for len(ps) < n {
		ps = append(ps, Params{
			Angle: rng.Float64()*360 - 180,
			TX:    rng.IntN(21) - 10,
			TY:    rng.IntN(21) - 10,
			Scale: 0.5 + 1.5*rng.Float64(),
		})
	}
	return ps
}

// referenceTolerance is on the 0-255 scale: Apply lerps where torch sums
// four weighted terms and leaves out the all-ones image's read inside the
// image (1 within a rounding); the largest difference measured over
// testImages and testParams was 6.1e-5, four float32 steps near 255, kept
// with a margin of 2.5.
const referenceTolerance = 1.5e-4

// TestApplyMatchesReference compares Apply with referenceApply over many
// transforms and images, the edge cases of its runs and padding included:
// equal within referenceTolerance, and exactly the background where the
// reference reads no ink.
func TestApplyMatchesReference(t *testing.T) {
	images, sides := testImages(t)
	worst := 0.0
	for _, p := range testParams(400) {
		for n, img := range images {
			side := sides[n]
			got, want := make([]float32, side*side), make([]float32, side*side)
			Apply(got, img, side, side, p)
			referenceApply(want, img, side, side, p)
			for k := range want {
				d := math.Abs(float64(got[k] - want[k]))
				worst = max(worst, d)
				if d > referenceTolerance || (want[k] == 0) != (got[k] == 0) {
					t.Fatalf("%+v image %d pixel (%d,%d): %v, reference %v", p, n, k%side, k/side, got[k], want[k])
				}
			}
		}
	}
	t.Logf("largest difference from the reference: %.3g (0-255 scale)", worst)
}
