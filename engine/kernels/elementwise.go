package kernels

import (
	"fmt"
	"math"
)

// The convolutions' other hot loops: im2col and col2im, a row at a time, and the passes that
// apply a convolution's bias and activation to its GEMM output (forward) or undo them on the
// gradient (backward). In Go they compile to scalar loops with data-dependent branches, slower
// than the GEMM they surround; on AVX2 machines generated assembly runs them eight floats at a
// time (or four, for max pooling) without branches.
//
// Functions that return a sum add in a fixed order, the same in Go and assembly: eight
// partial sums s0..s7 (element j of the first len&^7 goes to s[j%8]), reduced as
// ((s0+s4)+(s1+s5)) + ((s2+s6)+(s3+s7)), then the remaining elements one by one. Max pooling's
// backward uses four partial sums, reduced as (s0+s1)+(s2+s3).
//
// Like Sgemm, they panic when the slices are too short for the shapes they are given. Where a
// function writes dst from another slice of the same length (AddBias, AddBiasReLU, ReLUBackward
// and the like), dst may be that slice itself; slices that overlap otherwise are not allowed.

// elemOps is one implementation of the whole-vector parts of these functions.
type elemOps struct {
	name            string
	padCopy         func(dst, src []float32, images, srcImage, srcStride, top, rows, padL, cols, padR, bottom int)
	im2colRows      func(dst, src []float32, kernelRows, dstKernelRow, srcKernelRow, positions, dstPos, images, srcImage, srcStride, rows, cols int)
	col2imRows      func(dst, src []float32, kernelRows, dstKernelRow, srcKernelRow, positions, srcPos, images, dstImage, dstStride, srcImage, srcStride, rows, cols int)
	addBias         func(dst, src []float32, bias float32)
	addBiasReLU     func(dst, src []float32, bias float32)
	addBiasSkipReLU func(dst, src, skip []float32, bias float32)
	copySum         func(dst, dy []float32) float32
	reluBackward    func(dst, dy, y []float32) float32
	skipReLUBack    func(dst, dskip, dy, y []float32) float32
	reluPool2       func(dst []float32, arg []uint8, src []float32, bias float32, rows, w int)
	reluPool2Back   func(dst, dy, y []float32, arg []uint8, rows, w int) float32
	// reluPool2BackEven: reluPool2Back takes every even w, not only multiples of 8.
	reluPool2BackEven bool
	sgd               func(value, grad, buf []float32, lr, momentum, wd float32, first bool)
	// shiftPad, if set, writes one kernel column's shifted copy of padded planes for
	// shiftedPlanes, rows of up to 16 floats; nil: a padded copy and im2colRows.
	shiftPad func(dst, src []float32, images, srcImage, H, W, pad, ow, shift int, lanes uint16)
	// sparseScatter and transposeAdd, if set, run SparseInputGrad's sum for vecs vectors of
	// 16 channels and add its result, transposed, into the planes; nil: Go.
	sparseScatter func(vecs int, dxT []float32, W, K, n int, dxoff, woff []int32, val, w []float32)
	transposeAdd  func(dx []float32, ldx int, src []float32, lds, pixels, channels int)
	// The BatchNorm passes (batchnorm.go); nil: the Go reference.
	planeMoments func(x []float32) (pm float32, d, q float64)
	affinePool2  func(dst []float32, arg []uint8, src []float32, scale, bias float32, rows, w int)
	bnPoolSums   func(x, dy, y []float32, arg []uint8, mu float64, rows, w int) (sd, sdx float64)
	bnPoolGrad   func(dst, x, dy, y []float32, arg []uint8, a, nb, mu, e float32, h, w int) float32
	// conv1Rows runs Conv1 for ocs <= 4 output channels (weights w [ocs,K,K]) of rows 8*vecs
	// wide; nil: Conv1 runs in Go.
	conv1Rows func(dst []float32, dstStride int, x []float32, W int, w []float32, ocs, vecs, K, oh int)
	// conv1Group is the most channels conv1Rows takes (0: mr).
	conv1Group int
	// conv1GradRows runs Conv1Grad for ocs <= 4 output channels and taps <= 3 kernel
	// positions, at offsets off0.. into an image; set when conv1Rows is.
	conv1GradRows func(dw []float32, ldw int, dy []float32, dyStride int, x []float32, imageX, W, images, oh, vecs, ocs, taps, off0, off1, off2 int)
	// conv1GradRow, if set, runs Conv1Grad for ocs <= conv1Group output channels over a whole
	// kernel row of taps <= maxRowTaps positions starting at offset off into an image; it
	// replaces conv1GradRows for kernels up to that wide.
	conv1GradRow func(dw []float32, ldw int, dy []float32, dyStride int, x []float32, imageX, W, images, oh, vecs, ocs, taps, off int)
	// convGradRows, if set, runs ConvGrad for ocs <= gradOCs output channels (gradNarrowOCs for
	// taps <= gradNarrowTaps), taps <= gradTaps kernel positions and rows kernel rows
	// (convgrad.go); nil: ConvGrad runs in Go.
	convGradRows func(dw []float32, ldw int, dy []float32, dyStride int, x []float32, tapStride, imageX, hw, images, ocs, taps, rows, rowX, rowDW int)
	// convDirectTile, if set, runs ConvDirect's tile of rows <= 8 output channels and vecs <= 3
	// vectors of 16 pixels (convdirect.go); nil: ConvDirect runs in Go.
	convDirectTile func(groups, taps int, a, x []float32, xAt [3]int, tapStride, rowStride int, c []float32, ldc int, rows, vecs int)
}

// PadCopy copies images (or image planes) into zero-padded ones. Each image's part of dst is
// contiguous: top zeros, rows rows of padL zeros, cols floats copied from src and padR zeros,
// then bottom zeros. Image i's rows start srcImage*i floats into src, srcStride floats apart.
func PadCopy(dst, src []float32, images, srcImage, srcStride, top, rows, padL, cols, padR, bottom int) {
	padCopy(active.elem, dst, src, images, srcImage, srcStride, top, rows, padL, cols, padR, bottom)
}

func padCopy(e elemOps, dst, src []float32, images, srcImage, srcStride, top, rows, padL, cols, padR, bottom int) {
	if min(images, srcImage, srcStride, top, rows, padL, cols, padR, bottom) < 0 || srcStride < cols {
		panic(fmt.Sprintf("kernels: PadCopy: bad geometry: %d images, %d+%dx(%d+%d+%d)+%d floats each, source strides %d and %d",
			images, top, rows, padL, cols, padR, bottom, srcImage, srcStride))
	}
	if need := images * (top + rows*(padL+cols+padR) + bottom); len(dst) < need {
		panic(fmt.Sprintf("kernels: PadCopy: dst has %d elements, want %d", len(dst), need))
	}
	checkSource("PadCopy", "src", src, 1, 0, images, srcImage, srcStride, rows, cols)
	e.padCopy(dst, src, images, srcImage, srcStride, top, rows, padL, cols, padR, bottom)
}

// Im2colRows writes rows of an im2col matrix, the kernel rows of one channel of unpadded
// images: for each of kernelRows kernel rows (dst dstKernelRow and src srcKernelRow floats
// further each), for each of positions kernel positions along the row (src one float further
// and dst dstPos floats further each time), for each of images images, rows rows of cols
// floats of src back to back. Image i's rows start srcImage*i floats into src, srcStride
// floats apart. One call covers a channel's whole kernel, checked once (a call per kernel row
// made 440 calls a group in the inception net's conv2, each moving 1,280 floats).
func Im2colRows(dst, src []float32, kernelRows, dstKernelRow, srcKernelRow, positions, dstPos, images, srcImage, srcStride, rows, cols int) {
	im2colRows(active.elem, dst, src, kernelRows, dstKernelRow, srcKernelRow, positions, dstPos, images, srcImage, srcStride, rows, cols)
}

func im2colRows(e elemOps, dst, src []float32, kernelRows, dstKernelRow, srcKernelRow, positions, dstPos, images, srcImage, srcStride, rows, cols int) {
	if min(kernelRows, dstKernelRow, srcKernelRow, positions, dstPos, images, srcImage, srcStride, rows, cols) < 0 || srcStride < cols {
		panic(fmt.Sprintf("kernels: Im2colRows: bad geometry: %d kernel rows %d/%d apart (dst/src), %d positions %d apart, %d images of %dx%d, source strides %d and %d",
			kernelRows, dstKernelRow, srcKernelRow, positions, dstPos, images, rows, cols, srcImage, srcStride))
	}
	if kernelRows == 0 || positions == 0 || images == 0 || rows == 0 || cols == 0 {
		return
	}
	if need := (kernelRows-1)*dstKernelRow + (positions-1)*dstPos + images*rows*cols; len(dst) < need {
		panic(fmt.Sprintf("kernels: Im2colRows: dst has %d elements, want %d", len(dst), need))
	}
	checkSource("Im2colRows", "src", src, kernelRows, srcKernelRow, images, srcImage, srcStride, rows, cols+positions-1)
	e.im2colRows(dst, src, kernelRows, dstKernelRow, srcKernelRow, positions, dstPos, images, srcImage, srcStride, rows, cols)
}

// checkSource checks that x holds blocks blocks of images images of rows rows of cols floats,
// at the strides given.
func checkSource(fn, name string, x []float32, blocks, blockStride, images, imageStride, stride, rows, cols int) {
	if blocks == 0 || images == 0 || rows == 0 || cols == 0 {
		return
	}
	if need := (blocks-1)*blockStride + (images-1)*imageStride + (rows-1)*stride + cols; len(x) < need {
		panic(fmt.Sprintf("kernels: %s: %s has %d elements, want at least %d", fn, name, len(x), need))
	}
}

// Col2imRows is Im2colRows' adjoint, less the padding: for each of kernelRows kernel rows (dst
// dstKernelRow and src srcKernelRow floats further each), for each of positions kernel
// positions (dst one float further and src srcPos floats further each time), for each of
// images images, rows rows of cols floats of src are added into rows of dst. Image i's rows
// start dstImage*i floats into dst, dstStride floats apart, and srcImage*i floats into src,
// srcStride apart. Where rows of dst overlap (those of a channel's kernel rows do), each
// element gets its additions in that order.
func Col2imRows(dst, src []float32, kernelRows, dstKernelRow, srcKernelRow, positions, srcPos, images, dstImage, dstStride, srcImage, srcStride, rows, cols int) {
	col2imRows(active.elem, dst, src, kernelRows, dstKernelRow, srcKernelRow, positions, srcPos, images, dstImage, dstStride, srcImage, srcStride, rows, cols)
}

func col2imRows(e elemOps, dst, src []float32, kernelRows, dstKernelRow, srcKernelRow, positions, srcPos, images, dstImage, dstStride, srcImage, srcStride, rows, cols int) {
	if min(kernelRows, dstKernelRow, srcKernelRow, positions, srcPos, images, dstImage, dstStride, srcImage, srcStride, rows, cols) < 0 || dstStride < cols || srcStride < cols {
		panic(fmt.Sprintf("kernels: Col2imRows: bad geometry: %d kernel rows %d/%d apart (dst/src), %d positions %d apart, %d images of %dx%d, strides %d/%d (dst) and %d/%d (src)",
			kernelRows, dstKernelRow, srcKernelRow, positions, srcPos, images, rows, cols, dstImage, dstStride, srcImage, srcStride))
	}
	if kernelRows == 0 || positions == 0 || images == 0 || rows == 0 || cols == 0 {
		return
	}
	checkSource("Col2imRows", "dst", dst, kernelRows, dstKernelRow, images, dstImage, dstStride, rows, cols+positions-1)
	checkSource("Col2imRows", "src", src[(positions-1)*srcPos:], kernelRows, srcKernelRow, images, srcImage, srcStride, rows, cols)
	e.col2imRows(dst, src, kernelRows, dstKernelRow, srcKernelRow, positions, srcPos, images, dstImage, dstStride, srcImage, srcStride, rows, cols)
}

// Add sets dst += src, over len(src) floats.
func Add(dst, src []float32) {
	col2imRows(active.elem, dst, src, 1, 0, 0, 1, 0, 1, 0, len(src), 0, len(src), 1, len(src))
}

// SGDStep is one step of torch.optim.SGD with momentum (dampening 0, no Nesterov) over value,
// its gradient grad and its momentum buffer buf, all of one length:
//
//	g = grad + wd*value   (when wd != 0)
//	buf = g on the first step, else momentum*buf + g
//	value -= lr*buf
//
// Each operation rounds to float32 on its own, as separate PyTorch tensor operations do.
func SGDStep(value, grad, buf []float32, lr, momentum, wd float32, first bool) {
	sgdStep(active.elem, value, grad, buf, lr, momentum, wd, first)
}

func sgdStep(e elemOps, value, grad, buf []float32, lr, momentum, wd float32, first bool) {
	if len(grad) != len(value) || len(buf) != len(value) {
		panic(fmt.Sprintf("kernels: SGDStep: %d values, %d gradients and %d buffers: want one length", len(value), len(grad), len(buf)))
	}
	e.sgd(value, grad, buf, lr, momentum, wd, first)
	n := len(value) &^ 7
	goSGDRange(value[n:], grad[n:], buf[n:], lr, momentum, wd, first)
}

// AddBias sets dst = src + bias.
func AddBias(dst, src []float32, bias float32) { addBias(active.elem, dst, src, bias) }

func addBias(e elemOps, dst, src []float32, bias float32) {
	dst = dst[:len(src)]
	e.addBias(dst, src, bias)
	for j := len(src) &^ 7; j < len(src); j++ {
		dst[j] = src[j] + bias
	}
}

// AddBiasReLU sets dst = max(src + bias, 0), with Go's max: a NaN stays NaN.
func AddBiasReLU(dst, src []float32, bias float32) { addBiasReLU(active.elem, dst, src, bias) }

func addBiasReLU(e elemOps, dst, src []float32, bias float32) {
	dst = dst[:len(src)]
	e.addBiasReLU(dst, src, bias)
	for j := len(src) &^ 7; j < len(src); j++ {
		dst[j] = max(src[j]+bias, 0)
	}
}

// AddBiasSkipReLU sets dst = max(skip + (src + bias), 0): a convolution's output, its bias, and
// a residual connection around it, then ReLU.
func AddBiasSkipReLU(dst, src, skip []float32, bias float32) {
	addBiasSkipReLU(active.elem, dst, src, skip, bias)
}

func addBiasSkipReLU(e elemOps, dst, src, skip []float32, bias float32) {
	dst, skip = dst[:len(src)], skip[:len(src)]
	e.addBiasSkipReLU(dst, src, skip, bias)
	for j := len(src) &^ 7; j < len(src); j++ {
		dst[j] = max(skip[j]+(src[j]+bias), 0)
	}
}

// CopySum sets dst = dy and returns the sum of dy (see the order above).
func CopySum(dst, dy []float32) float32 { return copySum(active.elem, dst, dy) }

func copySum(e elemOps, dst, dy []float32) float32 {
	dst = dst[:len(dy)]
	sum := e.copySum(dst, dy)
	for j := len(dy) &^ 7; j < len(dy); j++ {
		dst[j] = dy[j]
		sum += dy[j]
	}
	return sum
}

// ReLUBackward sets dst = dy where the ReLU's output y > 0 and 0 elsewhere, and returns the sum
// of dst: the gradient of a ReLU's input, and of the bias before it.
func ReLUBackward(dst, dy, y []float32) float32 { return reluBackward(active.elem, dst, dy, y) }

func reluBackward(e elemOps, dst, dy, y []float32) float32 {
	dst, y = dst[:len(dy)], y[:len(dy)]
	sum := e.reluBackward(dst, dy, y)
	for j := len(dy) &^ 7; j < len(dy); j++ {
		g := reluGrad(dy[j], y[j])
		dst[j] = g
		sum += g
	}
	return sum
}

// SkipReLUBackward is ReLUBackward for AddBiasSkipReLU's output y: it also adds dst into dskip,
// the gradient of the residual connection's input.
func SkipReLUBackward(dst, dskip, dy, y []float32) float32 {
	return skipReLUBackward(active.elem, dst, dskip, dy, y)
}

func skipReLUBackward(e elemOps, dst, dskip, dy, y []float32) float32 {
	dst, dskip, y = dst[:len(dy)], dskip[:len(dy)], y[:len(dy)]
	sum := e.skipReLUBack(dst, dskip, dy, y)
	for j := len(dy) &^ 7; j < len(dy); j++ {
		g := reluGrad(dy[j], y[j])
		dst[j] = g
		dskip[j] += g
		sum += g
	}
	return sum
}

func reluGrad(dy, y float32) float32 {
	if y > 0 {
		return dy
	}
	return 0
}

// ReLUPool2 is a convolution's bias, ReLU and 2x2 max pooling in one pass over one output plane
// src [h,w]: dst [h/2,w/2] is max(v, 0) of each window's maximum v of src + bias, and arg the
// window position (0-3, row-major) of v. On ties the first element wins and a NaN wins (the
// last NaN, if several): PyTorch's rule, v > best || isnan(v). An odd last row or column is
// dropped, as PyTorch's floor mode does.
func ReLUPool2(dst []float32, arg []uint8, src []float32, bias float32, h, w int) {
	reluPool2(active.elem, dst, arg, src, bias, h, w)
}

func reluPool2(e elemOps, dst []float32, arg []uint8, src []float32, bias float32, h, w int) {
	oh := h / 2
	checkPlane("ReLUPool2", src, dst, arg, h, w)
	if w%8 == 0 {
		e.reluPool2(dst, arg, src, bias, oh, w)
		return
	}
	goReLUPool2(dst, arg, src, bias, oh, w)
}

// ReLUPool2Backward is ReLUPool2's backward: dst [h,w] gets each pooled gradient dy [h/2,w/2] at
// its window's winner where the pooled output y is positive, and zeros everywhere else. Returns
// the sum of the gradients passed on, in four partial sums (see the order above).
func ReLUPool2Backward(dst, dy, y []float32, arg []uint8, h, w int) float32 {
	return reluPool2Backward(active.elem, dst, dy, y, arg, h, w)
}

func reluPool2Backward(e elemOps, dst, dy, y []float32, arg []uint8, h, w int) float32 {
	oh, ow := h/2, w/2
	checkPlane("ReLUPool2Backward", dst, dy, arg, h, w)
	if len(y) < oh*ow {
		panic(fmt.Sprintf("kernels: ReLUPool2Backward: y has %d elements, want %d", len(y), oh*ow))
	}
	if w%8 == 0 || w%2 == 0 && e.reluPool2BackEven {
		sum := e.reluPool2Back(dst, dy, y, arg, oh, w)
		if h%2 != 0 {
			clear(dst[(h-1)*w : h*w])
		}
		return sum
	}
	sum := goReLUPool2Back(dst, dy, y, arg, oh, w)
	if w%2 != 0 {
		for r := range 2 * oh {
			dst[r*w+w-1] = 0 // the last column belongs to no window
		}
	}
	if h%2 != 0 {
		clear(dst[(h-1)*w : h*w])
	}
	return sum
}

// checkPlane checks a plane [h,w] against its pooled [h/2,w/2] values and winners.
func checkPlane(fn string, plane, pooled []float32, arg []uint8, h, w int) {
	if h < 0 || w < 0 {
		panic(fmt.Sprintf("kernels: %s: negative size %dx%d", fn, h, w))
	}
	if len(plane) < h*w {
		panic(fmt.Sprintf("kernels: %s: plane has %d elements, want %dx%d", fn, len(plane), h, w))
	}
	if n := (h / 2) * (w / 2); len(pooled) < n || len(arg) < n {
		panic(fmt.Sprintf("kernels: %s: %d pooled values and %d winners, want %d", fn, len(pooled), len(arg), n))
	}
}

// checkRows checks that x can hold rows rows of cols floats, stride floats apart.
func checkRows(fn, name string, x []float32, stride, rows, cols int) {
	if rows < 0 || cols < 0 || stride < cols {
		panic(fmt.Sprintf("kernels: %s: %s: %d rows of %d with stride %d", fn, name, rows, cols, stride))
	}
	if need := (rows-1)*stride + cols; len(x) < need {
		panic(fmt.Sprintf("kernels: %s: %s has %d elements, want at least %d", fn, name, len(x), need))
	}
}

// goElem is the portable implementation, also the reference the assembly is tested against.
var goElem = elemOps{
	name:            "go",
	padCopy:         goPadCopy,
	im2colRows:      goIm2colRows,
	col2imRows:      goCol2imRows,
	addBias:         goAddBias,
	addBiasReLU:     goAddBiasReLU,
	addBiasSkipReLU: goAddBiasSkipReLU,
	copySum:         goCopySum,
	reluBackward:    goReLUBackward,
	skipReLUBack:    goSkipReLUBackward,
	reluPool2:       goReLUPool2,
	reluPool2Back:   goReLUPool2Back,
	sgd:             goSGD,
}

func goIm2colRows(dst, src []float32, kernelRows, dstKernelRow, srcKernelRow, positions, dstPos, images, srcImage, srcStride, rows, cols int) {
	for c := range kernelRows {
		for p := range positions {
			for i := range images {
				for r := range rows {
					copy(dst[c*dstKernelRow+p*dstPos+(i*rows+r)*cols:][:cols], src[c*srcKernelRow+p+i*srcImage+r*srcStride:][:cols])
				}
			}
		}
	}
}

func goPadCopy(dst, src []float32, images, srcImage, srcStride, top, rows, padL, cols, padR, bottom int) {
	width := padL + cols + padR
	for i := range images {
		d := dst[i*(top+rows*width+bottom):][:top+rows*width+bottom]
		clear(d[:top])
		for r := range rows {
			row := d[top+r*width:][:width]
			clear(row[:padL])
			copy(row[padL:padL+cols], src[i*srcImage+r*srcStride:][:cols])
			clear(row[padL+cols:])
		}
		clear(d[top+rows*width:])
	}
}

func goCol2imRows(dst, src []float32, kernelRows, dstKernelRow, srcKernelRow, positions, srcPos, images, dstImage, dstStride, srcImage, srcStride, rows, cols int) {
	for c := range kernelRows {
		for p := range positions {
			for i := range images {
				for r := range rows {
					d := dst[c*dstKernelRow+p+i*dstImage+r*dstStride:][:cols]
					s := src[c*srcKernelRow+p*srcPos+i*srcImage+r*srcStride:][:cols]
					for j, v := range s {
						d[j] += v
					}
				}
			}
		}
	}
}

// The whole-vector parts: each handles the first len&^7 elements.

func goAddBias(dst, src []float32, bias float32) {
	for j := range len(src) &^ 7 {
		dst[j] = src[j] + bias
	}
}

func goAddBiasReLU(dst, src []float32, bias float32) {
	for j := range len(src) &^ 7 {
		dst[j] = max(src[j]+bias, 0)
	}
}

func goAddBiasSkipReLU(dst, src, skip []float32, bias float32) {
	for j := range len(src) &^ 7 {
		dst[j] = max(skip[j]+(src[j]+bias), 0)
	}
}

// lanes are the eight partial sums of the summing functions.
type lanes [8]float32

func (s *lanes) sum() float32 {
	return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]))
}

func goCopySum(dst, dy []float32) float32 {
	var s lanes
	for j := range len(dy) &^ 7 {
		dst[j] = dy[j]
		s[j%8] += dy[j]
	}
	return s.sum()
}

func goReLUBackward(dst, dy, y []float32) float32 {
	var s lanes
	for j := range len(dy) &^ 7 {
		g := reluGrad(dy[j], y[j])
		dst[j] = g
		s[j%8] += g
	}
	return s.sum()
}

func goSkipReLUBackward(dst, dskip, dy, y []float32) float32 {
	var s lanes
	for j := range len(dy) &^ 7 {
		g := reluGrad(dy[j], y[j])
		dst[j] = g
		dskip[j] += g
		s[j%8] += g
	}
	return s.sum()
}

// goReLUPool2 pools rows pairs of rows of width w (any width; an odd last column is dropped).
func goReLUPool2(dst []float32, arg []uint8, src []float32, bias float32, rows, w int) {
	ow := w / 2
	for py := range rows {
		r0, r1 := src[2*py*w:][:2*ow], src[(2*py+1)*w:][:2*ow]
		d, a := dst[py*ow:][:ow], arg[py*ow:][:ow]
		for px := range d {
			best, at := r0[2*px]+bias, uint8(0)
			if v := r0[2*px+1] + bias; v > best || v != v {
				best, at = v, 1
			}
			if v := r1[2*px] + bias; v > best || v != v {
				best, at = v, 2
			}
			if v := r1[2*px+1] + bias; v > best || v != v {
				best, at = v, 3
			}
			d[px], a[px] = max(best, 0), at
		}
	}
}

// goReLUPool2Back writes the 2*rows rows of w floats of dst that windows cover (all but an odd
// last column), summing what it passes on in four partial sums, by pooled column mod 4.
func goReLUPool2Back(dst, dy, y []float32, arg []uint8, rows, w int) float32 {
	ow := w / 2
	var s [4]float32
	for py := range rows {
		r0, r1 := dst[2*py*w:][:2*ow], dst[(2*py+1)*w:][:2*ow]
		g, yy, a := dy[py*ow:][:ow], y[py*ow:][:ow], arg[py*ow:][:ow]
		for px := range g {
			// Masked by its bits, without a branch: a ReLU's output is positive at random.
			v := math.Float32frombits(math.Float32bits(g[px]) & positiveMask(yy[px]))
			s[px%4] += v
			var q [4]float32
			q[a[px]&3] = v
			r0[2*px], r0[2*px+1], r1[2*px], r1[2*px+1] = q[0], q[1], q[2], q[3]
		}
	}
	return (s[0] + s[1]) + (s[2] + s[3])
}

func goSGD(value, grad, buf []float32, lr, momentum, wd float32, first bool) {
	n := len(value) &^ 7
	goSGDRange(value[:n], grad[:n], buf[:n], lr, momentum, wd, first)
}

func goSGDRange(value, grad, buf []float32, lr, momentum, wd float32, first bool) {
	grad, buf = grad[:len(value)], buf[:len(value)]
	// The conversions round each product on its own: without them the compiler may fuse a
	// multiply and an add (it does with GOAMD64=v3), and the results would depend on that.
	for j, g := range grad {
		if wd != 0 {
			g += float32(wd * value[j])
		}
		if first {
			buf[j] = g
		} else {
			buf[j] = float32(momentum*buf[j]) + g
		}
		value[j] -= float32(lr * buf[j])
	}
}
