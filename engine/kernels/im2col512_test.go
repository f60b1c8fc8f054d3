package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestIm2colSetsMatchGo holds every kernel set's padCopy, im2colRows and col2imRows to the Go
// reference bit for bit, over every width 1..33 and the shapes that pick the AVX-512 kernels'
// paths: rows that make whole packed groups and rows left over, padded rows up to 16 floats
// wide and wider, col2im rows whose positions fit one ZMM (1..6 of them) and ones that do not,
// and destinations whose rows or images overlap, where adding a row's positions at once would
// change the order of the additions. Everything outside what a kernel writes must keep its
// sentinel.
func TestIm2colSetsMatchGo(t *testing.T) {
	const sentinel = 777
	filled := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = sentinel
		}
		return x
	}
	rng := rand.New(rand.NewPCG(5, 18))
	for _, e := range platformElems() {
		for cols := 1; cols <= 33; cols++ {
			for range 12 {
				images, rows := 1+rng.IntN(3), 1+rng.IntN(13)
				positions := 1 + rng.IntN(8)
				srcStride := cols + rng.IntN(5)
				srcImage := rows*srcStride + rng.IntN(7)
				if rng.IntN(3) == 0 { // the rows of a 1x1 convolution: whole planes
					rows, srcStride, srcImage = 1, cols, cols
				}

				padL, padR := rng.IntN(4), rng.IntN(4)
				if rng.IntN(2) == 0 { // the engine's: one padding for all sides
					padR = padL
				}
				top, bottom := rng.IntN(40), rng.IntN(40)
				per := top + rows*(padL+cols+padR) + bottom
				src := tricky(rng, images*srcImage+rows*srcStride+cols+positions)
				want, got := filled(images*per+20), filled(images*per+20)
				padCopy(goElem, want, src, images, srcImage, srcStride, top, rows, padL, cols, padR, bottom)
				padCopy(e, got, src, images, srcImage, srcStride, top, rows, padL, cols, padR, bottom)
				if !sameBits(got, want) {
					t.Fatalf("%s: padCopy %d images %d+%dx(%d+%d+%d)+%d, strides %d/%d: got %v, want %v",
						e.name, images, top, rows, padL, cols, padR, bottom, srcImage, srcStride, got, want)
				}

				dstPos := images*rows*cols + rng.IntN(5)
				want, got = filled(positions*dstPos+20), filled(positions*dstPos+20)
				im2colRows(goElem, want, src, positions, dstPos, images, srcImage, srcStride, rows, cols)
				im2colRows(e, got, src, positions, dstPos, images, srcImage, srcStride, rows, cols)
				if !sameBits(got, want) {
					t.Fatalf("%s: im2colRows %d positions %d apart, %d images of %dx%d, strides %d/%d: got %v, want %v",
						e.name, positions, dstPos, images, rows, cols, srcImage, srcStride, got, want)
				}

				// col2im: dst's rows hold cols+positions-1 floats, at strides that sometimes
				// make rows (or images) overlap.
				span := cols + positions - 1
				dstStride := span + rng.IntN(4)
				if rng.IntN(4) == 0 {
					dstStride = cols + rng.IntN(positions)
				}
				dstImage := (rows-1)*dstStride + span + rng.IntN(5)
				if rng.IntN(4) == 0 {
					dstImage = rng.IntN(dstImage + 1)
				}
				srcPos := images*srcImage + rng.IntN(5)
				csrc := tricky(rng, positions*srcPos+rows*srcStride+cols)
				acc := tricky(rng, images*dstImage+rows*dstStride+span+20)
				want, got = slices.Clone(acc), slices.Clone(acc)
				col2imRows(goElem, want, csrc, positions, srcPos, images, dstImage, dstStride, srcImage, srcStride, rows, cols)
				col2imRows(e, got, csrc, positions, srcPos, images, dstImage, dstStride, srcImage, srcStride, rows, cols)
				if !sameBits(got, want) {
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s: col2imRows %d positions %d apart, %d images of %dx%d, dst strides %d/%d, src %d/%d: dst[%d] = %g, want %g",
								e.name, positions, srcPos, images, rows, cols, dstImage, dstStride, srcImage, srcStride, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}
