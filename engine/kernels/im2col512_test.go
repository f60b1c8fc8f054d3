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
// and destinations whose rows, images or kernel rows overlap, where adding a row's positions
// at once would change the order of the additions. Kernel rows come as the engine has them
// (one image row further in the images, or its 1x1 convolutions' channels, a plane further
// inside each image), one after another, or anywhere. Everything outside what a kernel writes
// must keep its guard, a NaN no kernel computes.
func TestIm2colSetsMatchGo(t *testing.T) {
	guard := math.Float32frombits(0x7fa0dead)
	filled := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = guard
		}
		return x
	}
	rng := rand.New(rand.NewPCG(5, 18))
	for _, e := range platformElems() {
		for cols := 1; cols <= 33; cols++ {
			for range 16 {
				images, rows := 1+rng.IntN(3), 1+rng.IntN(13)
				positions, kernelRows := 1+rng.IntN(8), 1+rng.IntN(6)
				srcStride := cols + rng.IntN(5)
				plane := rows*srcStride + rng.IntN(7)
				if rng.IntN(3) == 0 { // the rows of a 1x1 convolution: whole planes
					rows, srcStride, plane = 1, cols, cols
				}
				srcImage, srcKernelRow := kernelRowLayout(rng, kernelRows, images, plane, srcStride)

				padL, padR := rng.IntN(4), rng.IntN(4)
				if rng.IntN(2) == 0 { // the engine's: one padding for all sides
					padR = padL
				}
				top, bottom := rng.IntN(40), rng.IntN(40)
				per := top + rows*(padL+cols+padR) + bottom
				src := tricky(rng, kernelRows*srcKernelRow+images*srcImage+rows*srcStride+cols+positions)
				want, got := filled(images*per+20), filled(images*per+20)
				padCopy(goElem, want, src, images, srcImage, srcStride, top, rows, padL, cols, padR, bottom)
				padCopy(e, got, src, images, srcImage, srcStride, top, rows, padL, cols, padR, bottom)
				if !sameBits(got, want) {
					t.Fatalf("%s: padCopy %d images %d+%dx(%d+%d+%d)+%d, strides %d/%d: got %v, want %v",
						e.name, images, top, rows, padL, cols, padR, bottom, srcImage, srcStride, got, want)
				}

				dstPos := images*rows*cols + rng.IntN(5)
				dstKernelRow := positions*dstPos + rng.IntN(5)
				if rng.IntN(4) == 0 { // kernel rows that overwrite each other: the last one wins
					dstKernelRow = rng.IntN(dstKernelRow + 1)
				}
				want, got = filled(kernelRows*dstKernelRow+positions*dstPos+20), filled(kernelRows*dstKernelRow+positions*dstPos+20)
				im2colRows(goElem, want, src, kernelRows, dstKernelRow, srcKernelRow, positions, dstPos, images, srcImage, srcStride, rows, cols)
				im2colRows(e, got, src, kernelRows, dstKernelRow, srcKernelRow, positions, dstPos, images, srcImage, srcStride, rows, cols)
				if !sameBits(got, want) {
					t.Fatalf("%s: im2colRows %d kernel rows %d/%d apart, %d positions %d apart, %d images of %dx%d, strides %d/%d: got %v, want %v",
						e.name, kernelRows, dstKernelRow, srcKernelRow, positions, dstPos, images, rows, cols, srcImage, srcStride, got, want)
				}

				// col2im: dst's rows hold cols+positions-1 floats, at strides that sometimes
				// make rows, images or kernel rows overlap.
				span := cols + positions - 1
				dstStride := span + rng.IntN(4)
				if rng.IntN(4) == 0 {
					dstStride = cols + rng.IntN(positions)
				}
				dstPlane := (rows-1)*dstStride + span + rng.IntN(5)
				dstImage, dstKernelRow := kernelRowLayout(rng, kernelRows, images, dstPlane, dstStride)
				srcPos := images*srcImage + rng.IntN(5)
				srcKernelRow = positions*srcPos + rng.IntN(5)
				csrc := tricky(rng, kernelRows*srcKernelRow+positions*srcPos+rows*srcStride+cols)
				acc := tricky(rng, kernelRows*dstKernelRow+images*dstImage+rows*dstStride+span)
				acc = append(filled(20), append(acc, filled(20)...)...)
				want, got = slices.Clone(acc), slices.Clone(acc)
				col2imRows(goElem, want[20:], csrc, kernelRows, dstKernelRow, srcKernelRow, positions, srcPos, images, dstImage, dstStride, srcImage, srcStride, rows, cols)
				col2imRows(e, got[20:], csrc, kernelRows, dstKernelRow, srcKernelRow, positions, srcPos, images, dstImage, dstStride, srcImage, srcStride, rows, cols)
				if !sameBits(got, want) {
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s: col2imRows %d kernel rows %d/%d apart, %d positions %d apart, %d images of %dx%d, dst strides %d/%d, src %d/%d: dst[%d] = %g, want %g",
								e.name, kernelRows, dstKernelRow, srcKernelRow, positions, srcPos, images, rows, cols, dstImage, dstStride, srcImage, srcStride, i-20, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// kernelRowLayout returns the image and kernel row strides of kernelRows kernel rows of images
// images whose planes take plane floats in rows stride apart: the engine's layouts (kernel
// rows one image row apart, or a 1x1 convolution's channels, each image holding their
// planes), kernel row after kernel row, or anywhere, overlapping images or not.
func kernelRowLayout(rng *rand.Rand, kernelRows, images, plane, stride int) (image, kernelRow int) {
	switch rng.IntN(5) {
	case 0, 1:
		return plane + rng.IntN(5), stride
	case 2:
		kernelRow = plane + rng.IntN(3)
		return kernelRows*kernelRow + rng.IntN(5), kernelRow
	case 3:
		image = plane + rng.IntN(5)
		return image, images*image + rng.IntN(5)
	default:
		return rng.IntN(plane + 2), rng.IntN(2 * plane)
	}
}
