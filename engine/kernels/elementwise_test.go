package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// elemsUnderTest is every implementation of the elementwise functions this build can run.
func elemsUnderTest() []elemOps {
	return append([]elemOps{goElem}, platformElems()...)
}

// tricky returns n values that exercise the corner cases: mostly random, with NaNs, both zeros,
// and repeats (ties for max pooling).
func tricky(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		switch rng.IntN(12) {
		case 0:
			x[i] = float32(math.NaN())
		case 1:
			x[i] = float32(math.Copysign(0, -1))
		case 2:
			x[i] = 0
		case 3, 4:
			x[i] = float32(rng.IntN(3) - 1) // -1, 0, 1: ties
		default:
			x[i] = float32(rng.NormFloat64())
		}
	}
	return x
}

// sameBits reports whether a and b hold the same float32 bit patterns.
func sameBits(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

var elemSizes = []int{0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 64, 100, 144, 576}

// TestElementwiseDefinitions holds every implementation of the bias, ReLU and gradient passes
// to their definitions element by element, and their sums to float64 sums; and the
// implementations to each other bit for bit, sums included, as the engine's determinism across
// machines with and without AVX2 needs no more than that but its tests assume it.
func TestElementwiseDefinitions(t *testing.T) {
	for _, n := range elemSizes {
		rng := rand.New(rand.NewPCG(uint64(n), 1))
		src, skip, dy, y := tricky(rng, n), tricky(rng, n), tricky(rng, n), tricky(rng, n)
		dskip0 := tricky(rng, n)
		// NaNs in the gradients would make the sums NaN and hide mistakes in them.
		for i := range dy {
			if dy[i] != dy[i] {
				dy[i] = 0.5
			}
		}
		const bias = 0.25
		type result struct {
			dst  [6][]float32
			sums [3]float32
		}
		var first *result
		for _, e := range elemsUnderTest() {
			var r result
			for i := range r.dst {
				r.dst[i] = make([]float32, n)
			}
			addBias(e, r.dst[0], src, bias)
			addBiasReLU(e, r.dst[1], src, bias)
			addBiasSkipReLU(e, r.dst[2], src, skip, bias)
			r.sums[0] = copySum(e, r.dst[3], dy)
			r.sums[1] = reluBackward(e, r.dst[4], dy, y)
			dskip := slices.Clone(dskip0)
			r.sums[2] = skipReLUBackward(e, r.dst[5], dskip, dy, y)

			for j := range n {
				reluOf := func(v float32) float32 { return max(v, 0) }
				g := dy[j]
				if !(y[j] > 0) {
					g = 0
				}
				want := [6]float32{src[j] + bias, reluOf(src[j] + bias), reluOf(skip[j] + (src[j] + bias)), dy[j], g, g}
				for k, w := range want {
					if got := r.dst[k][j]; math.Float32bits(got) != math.Float32bits(w) {
						t.Fatalf("%s n=%d: pass %d element %d = %g, want %g", e.name, n, k, j, got, w)
					}
				}
				if got, want := dskip[j], dskip0[j]+g; math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("%s n=%d: dskip[%d] = %g, want %g", e.name, n, j, got, want)
				}
			}
			for k, src := range [][]float32{r.dst[3], r.dst[4], r.dst[5]} {
				var want float64
				for _, v := range src {
					want += float64(v)
				}
				if math.Abs(float64(r.sums[k])-want) > 1e-5*(1+math.Abs(want)) {
					t.Errorf("%s n=%d: sum %d = %g, want %g", e.name, n, k, r.sums[k], want)
				}
			}
			if first == nil {
				first = &r
				continue
			}
			for k := range r.dst {
				if !sameBits(r.dst[k], first.dst[k]) {
					t.Errorf("%s n=%d: pass %d differs from %s", e.name, n, k, elemsUnderTest()[0].name)
				}
			}
			if !sameBits(r.sums[:], first.sums[:]) {
				t.Errorf("%s n=%d: sums %v, %s's %v", e.name, n, r.sums, elemsUnderTest()[0].name, first.sums)
			}
		}
	}
}

// TestIm2colCol2imRows checks the row passes on random geometries (odd widths, paddings,
// strides, several images; the widths with unrolled loops often): they write exactly what they
// should and nothing outside it.
func TestIm2colCol2imRows(t *testing.T) {
	const sentinel = 777
	rng := rand.New(rand.NewPCG(2, 3))
	for _, e := range elemsUnderTest() {
		for range 300 {
			images, rows, cols := rng.IntN(4), rng.IntN(6), rng.IntN(40)
			if rng.IntN(2) == 0 {
				cols = 4 * rng.IntN(9)
			}
			padL, padR, top, bottom := rng.IntN(4), rng.IntN(4), rng.IntN(9), rng.IntN(9)
			srcStride := cols + rng.IntN(5)
			srcImage := rows*srcStride + rng.IntN(7)
			width := padL + cols + padR
			per := top + rows*width + bottom
			src := tricky(rng, images*srcImage+rows*srcStride+cols)
			dst := make([]float32, images*per+5)
			for i := range dst {
				dst[i] = sentinel
			}
			padCopy(e, dst, src, images, srcImage, srcStride, top, rows, padL, cols, padR, bottom)
			for i, got := range dst {
				want := float32(sentinel)
				if img, at := i/max(per, 1), i%max(per, 1); per > 0 && img < images {
					want = 0
					if at >= top && at < top+rows*width { // width > 0 here
						if r, c := (at-top)/width, (at-top)%width; c >= padL && c < padL+cols {
							want = src[img*srcImage+r*srcStride+c-padL]
						}
					}
				}
				if math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("%s: padCopy %d images %d+%dx(%d+%d+%d)+%d: dst[%d] = %g, want %g",
						e.name, images, top, rows, padL, cols, padR, bottom, i, got, want)
				}
			}

			// im2colRows: the same rows without padding, back to back, for several kernel
			// positions (the source one float further each time) and kernel rows.
			positions, kernelRows := 1+rng.IntN(4), rng.IntN(4)
			dstPos := images*rows*cols + rng.IntN(5)
			dstKernelRow := positions*dstPos + rng.IntN(5)
			srcKernelRow := images*srcImage + rng.IntN(5)
			src = tricky(rng, kernelRows*srcKernelRow+images*srcImage+rows*srcStride+cols+positions)
			dst = make([]float32, kernelRows*dstKernelRow+5)
			for i := range dst {
				dst[i] = sentinel
			}
			im2colRows(e, dst, src, kernelRows, dstKernelRow, srcKernelRow, positions, dstPos, images, srcImage, srcStride, rows, cols)
			for i, got := range dst {
				want := float32(sentinel)
				kr, inKr := i/max(dstKernelRow, 1), i%max(dstKernelRow, 1)
				if p, at := inKr/max(dstPos, 1), inKr%max(dstPos, 1); kr < kernelRows && p < positions && at < images*rows*cols {
					img, r, c := at/(rows*cols), at/cols%rows, at%cols
					want = src[kr*srcKernelRow+p+img*srcImage+r*srcStride+c]
				}
				if math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("%s: im2colRows %d kernel rows, %d positions, %d images of %dx%d: dst[%d] = %g, want %g", e.name, kernelRows, positions, images, rows, cols, i, got, want)
				}
			}

			// col2imRows, adding those rows back into rows of acc that are dstStride apart.
			dstStride := cols + rng.IntN(5)
			dstImage := rows*dstStride + rng.IntN(7)
			dstKernelRow = images*dstImage + rng.IntN(5)
			srcPos := images*srcImage + rng.IntN(5)
			srcKernelRow = positions*srcPos + rng.IntN(5)
			src = tricky(rng, kernelRows*srcKernelRow+positions*srcPos+rows*srcStride+cols)
			acc := tricky(rng, kernelRows*dstKernelRow+images*dstImage+rows*dstStride+cols+positions)
			before := slices.Clone(acc)
			col2imRows(e, acc, src, kernelRows, dstKernelRow, srcKernelRow, positions, srcPos, images, dstImage, dstStride, srcImage, srcStride, rows, cols)
			want := slices.Clone(before)
			for kr := range kernelRows {
				for p := range positions {
					for img := range images {
						for r := range rows {
							for c := range cols {
								want[kr*dstKernelRow+p+img*dstImage+r*dstStride+c] += src[kr*srcKernelRow+p*srcPos+img*srcImage+r*srcStride+c]
							}
						}
					}
				}
			}
			if !sameBits(acc, want) {
				t.Fatalf("%s: col2imRows %d kernel rows, %d positions, %d images of %dx%d: got %v, want %v", e.name, kernelRows, positions, images, rows, cols, acc, want)
			}
		}
	}
}

// TestReLUPool2 checks pooling and its backward against the rule written out per window, on
// widths around every vector and unit width (the AVX2 kernels' 8 floats, the AVX-512 ones' 32,
// with partial units of 8, 16 and 24), that every set gives the same bits, and that nothing is
// written past the plane.
func TestReLUPool2(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	const guard, sentinel = 40, 777 // floats (and bytes) past each output that must stay untouched
	for _, h := range []int{2, 3, 4, 5, 8, 24} {
		for _, w := range []int{2, 3, 6, 7, 8, 14, 16, 24, 28, 30, 32, 40, 46, 48, 56, 64, 72, 88, 97} {
			src, dy := tricky(rng, h*w), tricky(rng, (h/2)*(w/2))
			for i := range dy {
				if dy[i] != dy[i] {
					dy[i] = -2
				}
			}
			const bias = -0.125
			var firstY, firstDst []float32
			var firstArg []uint8
			var firstSum float32
			for _, e := range elemsUnderTest() {
				name := fmt.Sprintf("%s %dx%d", e.name, h, w)
				n := (h / 2) * (w / 2)
				yBuf, argBuf := make([]float32, n+guard), make([]uint8, n+guard)
				for i := range guard {
					yBuf[n+i], argBuf[n+i] = sentinel, 0xa5
				}
				y, arg := yBuf[:n], argBuf[:n]
				reluPool2(e, y, arg, src, bias, h, w)
				dstBuf := tricky(rng, h*w+guard) // garbage that must be overwritten everywhere
				for i := range guard {
					dstBuf[h*w+i] = sentinel
				}
				dst := dstBuf[:h*w]
				sum := reluPool2Backward(e, dst, dy, y, arg, h, w)
				for i := range guard {
					if yBuf[n+i] != sentinel || argBuf[n+i] != 0xa5 || dstBuf[h*w+i] != sentinel {
						t.Fatalf("%s: wrote past the end of y, arg or dst (%d after it)", name, i)
					}
				}

				want := make([]float32, h*w)
				var wantSum float64
				for py := range h / 2 {
					for px := range w / 2 {
						o := py*(w/2) + px
						at := [4]int{2*py*w + 2*px, 2*py*w + 2*px + 1, (2*py+1)*w + 2*px, (2*py+1)*w + 2*px + 1}
						best, win := src[at[0]]+bias, 0
						for k := 1; k < 4; k++ {
							if v := src[at[k]] + bias; v > best || v != v {
								best, win = v, k
							}
						}
						if math.Float32bits(y[o]) != math.Float32bits(max(best, 0)) || int(arg[o]) != win {
							t.Fatalf("%s: window %d: y %g arg %d, want %g and %d", name, o, y[o], arg[o], max(best, 0), win)
						}
						if y[o] > 0 {
							want[at[win]] = dy[o]
							wantSum += float64(dy[o])
						}
					}
				}
				if !sameBits(dst, want) {
					t.Fatalf("%s: backward wrote %v, want %v", name, dst, want)
				}
				if math.Abs(float64(sum)-wantSum) > 1e-5*(1+math.Abs(wantSum)) {
					t.Errorf("%s: backward sum %g, want %g", name, sum, wantSum)
				}
				if firstY == nil {
					firstY, firstArg, firstDst, firstSum = y, arg, dst, sum
					continue
				}
				if !sameBits(y, firstY) || !slices.Equal(arg, firstArg) || !sameBits(dst, firstDst) || math.Float32bits(sum) != math.Float32bits(firstSum) {
					t.Errorf("%s: differs from %s", name, elemsUnderTest()[0].name)
				}
			}
		}
	}
}

// TestSGDStep holds every implementation to the update written out element by element, for
// each combination of weight decay and first step, on lengths around the vector width.
func TestSGDStep(t *testing.T) {
	for _, n := range elemSizes {
		for _, wd := range []float32{0, 1e-3} {
			for _, first := range []bool{true, false} {
				rng := rand.New(rand.NewPCG(uint64(n), 6))
				value0, grad, buf0 := tricky(rng, n), tricky(rng, n), tricky(rng, n)
				const lr, mom = 0.01, 0.5
				wantV, wantB := slices.Clone(value0), slices.Clone(buf0)
				for j := range n {
					g := grad[j]
					if wd != 0 {
						g += float32(wd * wantV[j])
					}
					if first {
						wantB[j] = g
					} else {
						wantB[j] = float32(mom*wantB[j]) + g
					}
					wantV[j] -= float32(lr * wantB[j])
				}
				for _, e := range elemsUnderTest() {
					value, buf := slices.Clone(value0), slices.Clone(buf0)
					sgdStep(e, value, grad, buf, lr, mom, wd, first)
					if !sameBits(value, wantV) || !sameBits(buf, wantB) {
						t.Errorf("%s n=%d wd=%g first=%v: values %v buffers %v, want %v and %v", e.name, n, wd, first, value, buf, wantV, wantB)
					}
				}
			}
		}
	}
	add := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	Add(add, []float32{1, 1, 1, 1, 1, 1, 1, 1, -9})
	if want := []float32{2, 3, 4, 5, 6, 7, 8, 9, 0}; !slices.Equal(add, want) {
		t.Errorf("Add: %v, want %v", add, want)
	}
}

func TestElementwisePanicsOnShortSlices(t *testing.T) {
	buf := make([]float32, 10)
	for _, c := range []struct {
		name, want string
		call       func()
	}{
		{"PadCopy dst", "dst has 10 elements, want 12", func() { PadCopy(buf, buf, 2, 4, 4, 0, 1, 1, 4, 1, 0) }},
		{"PadCopy src", "src has 10 elements, want at least 12", func() { PadCopy(make([]float32, 20), buf, 2, 8, 4, 0, 1, 0, 4, 0, 0) }},
		{"Im2colRows dst", "dst has 10 elements, want 12", func() { Im2colRows(buf, buf, 1, 0, 0, 1, 0, 3, 4, 4, 1, 4) }},
		{"Im2colRows positions", "dst has 10 elements, want 13", func() { Im2colRows(buf, buf, 1, 0, 0, 2, 9, 1, 4, 4, 1, 4) }},
		{"Im2colRows stride", "bad geometry", func() { Im2colRows(buf, buf, 1, 0, 0, 1, 0, 1, 4, 2, 1, 3) }},
		{"Im2colRows kernel rows dst", "dst has 10 elements, want 12", func() { Im2colRows(buf, make([]float32, 40), 2, 8, 4, 1, 0, 1, 4, 4, 1, 4) }},
		{"Im2colRows kernel rows src", "src has 10 elements, want at least 13", func() { Im2colRows(make([]float32, 40), buf, 3, 4, 5, 2, 4, 1, 4, 4, 1, 2) }},
		{"Im2colRows kernel row stride", "bad geometry", func() { Im2colRows(buf, buf, 2, -1, 0, 1, 0, 1, 4, 4, 1, 4) }},
		{"Col2imRows src", "src has 10 elements", func() { Col2imRows(make([]float32, 20), buf, 1, 0, 0, 1, 0, 2, 8, 4, 8, 4, 2, 3) }},
		{"Col2imRows kernel rows dst", "dst has 10 elements, want at least 11", func() { Col2imRows(buf, make([]float32, 40), 2, 7, 4, 1, 0, 1, 4, 4, 4, 4, 1, 4) }},
		{"Col2imRows kernel rows src", "src has 30 elements, want at least 34", func() { Col2imRows(make([]float32, 40), make([]float32, 40), 2, 8, 30, 2, 10, 1, 4, 4, 4, 4, 1, 4) }},
		{"Col2imRows kernel row stride", "bad geometry", func() { Col2imRows(buf, buf, 2, 0, -4, 1, 0, 1, 4, 4, 4, 4, 1, 4) }},
		{"ReLUPool2 plane", "plane has 10 elements", func() { ReLUPool2(buf, make([]uint8, 4), buf, 0, 4, 4) }},
		{"ReLUPool2Backward y", "y has 1 elements", func() { ReLUPool2Backward(make([]float32, 16), buf, buf[:1], make([]uint8, 4), 4, 4) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if msg := fmt.Sprint(recover()); !strings.Contains(msg, c.want) {
					t.Fatalf("panic %q, want one saying %q", msg, c.want)
				}
			}()
			c.call()
		})
	}
}
