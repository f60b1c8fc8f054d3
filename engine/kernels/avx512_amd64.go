//go:build amd64 && !purego

package kernels

import (
	"fmt"

	"golang.org/x/sys/cpu"
)

// hasAVX512 reports whether the CPU runs the AVX-512 set. Its kernels use AVX512F and (the dot
// kernels' masked row stores) AVX512VL; the set is only offered with DQ and BW too, the level
// every AVX-512 CPU since Skylake server has, so that later kernels of the set may use them
// without another check.
func hasAVX512() bool {
	x := cpu.X86
	return x.HasAVX512F && x.HasAVX512DQ && x.HasAVX512BW && x.HasAVX512VL && x.HasAVX2 && x.HasFMA
}

// avx512Kernel runs Sgemm on the generated AVX-512 micro-kernels: tiles 8 x 48 on all 32 ZMM
// registers (24 accumulators), and for the edges below 8 rows the same code in every height, in
// k panels of 128 so that a packed B sliver (24 KiB) leaves room in L1 for the rest (with 256,
// 48 KiB, the engine's deep products ran 10-30 % slower on a Xeon with a 48 KiB L1). Up to 128
// k steps each element of C is the same chain of fused multiply-adds as in the AVX2 tiles
// (whatever the height of its tile), so the two give the same bits; deeper products add the
// panels' sums at other places, so the bits differ by rounding. The A*B^T products' dot kernels
// compute 4 x 4 tiles (the AVX2 ones 4 x 3), whose 16 accumulators of 16 lanes are summed
// together by one transposing tree, so their bits differ from the AVX2 set's by rounding.
var avx512Kernel = kernel{name: "avx512", mr: 8, nr: 3 * 16, kc: kcMax / 2, vec: 16, tile: avx512Tile, tilePack: avx512TilePack, tileCol: avx512TileCol, dot: avx512Dot, dotCols: 4}

// avx512Elem is the AVX-512 set's elementwise functions: max pooling on ZMM registers for
// wide enough rows, with the AVX2 kernels' bits; the single-channel convolution on ZMM
// registers (a 24-pixel row in a ZMM and a YMM instead of three YMMs), whose forward gives the
// AVX2 set's bits and whose weight gradient sums in 16 lanes instead of 8, so its bits differ
// by rounding; im2col, col2im and the padded copy on ZMM registers with masks, with the AVX2
// kernels' bits (asmgen's im2col512.go); the BatchNorm plane passes (batchnorm.go) on ZMM
// registers with masked row ends, whose bits are the AVX2 and Go ones; and the AVX2 kernels for
// the rest, which are bound by memory more than by the width of the vectors.
var avx512Elem = func() elemOps {
	e := avx2Elem
	e.name = "avx512"
	e.conv1Rows = conv1AVX512.rows
	e.conv1Group = maxConv1Group
	e.conv1GradRows = conv1AVX512.gradRows
	e.conv1GradRow = conv1GradRowAVX512
	e.convGradRows = convGradAVX512
	e.convDirectTile = convDirectAVX512
	e.reluPool2 = reluPool2Wide
	e.reluPool2Back = reluPool2BackwardWide
	e.padCopy = padCopyAVX512
	e.im2colRows = im2colAVX512
	e.shiftPad = shiftPadAVX512
	e.sparseScatter = sparseScatterAVX512
	e.transposeAdd = transposeAdd16
	e.col2imRows = col2imRowsAVX512
	e.reluPool2BackEven = true
	e.planeMoments = bnMomentsAVX512
	e.affinePool2 = bnAffinePool2AVX512
	e.bnPoolSums = bnPoolSumsAVX512
	e.bnPoolGrad = bnPoolGradAVX512
	return e
}()

// sparseScatterAVX512 runs the zscatter kernel for vecs vectors of channels: the one for K
// with each kernel row unrolled if there is one (3x3 and 5x5), the general one otherwise.
func sparseScatterAVX512(vecs int, dxT []float32, W, K, n int, dxoff, woff []int32, val, w []float32) {
	type kernel = func(dxT []float32, W, K, n int, dxoff, woff []int32, val, w []float32)
	kernels := [sparseMaxChannels / 16][3]kernel{
		{zscatter1, zscatter1k3, zscatter1k5}, {zscatter2, zscatter2k3, zscatter2k5}, {zscatter3, zscatter3k3, zscatter3k5},
		{zscatter4, zscatter4k3, zscatter4k5}, {zscatter5, zscatter5k3, zscatter5k5}, {zscatter6, zscatter6k3, zscatter6k5},
	}
	if vecs < 1 || vecs > len(kernels) {
		panic(fmt.Sprintf("kernels: sparseScatterAVX512: %d vectors of channels, want 1-%d", vecs, len(kernels)))
	}
	k := kernels[vecs-1][0]
	switch K {
	case 3:
		k = kernels[vecs-1][1]
	case 5:
		k = kernels[vecs-1][2]
	}
	k(dxT, W, K, n, dxoff, woff, val, w)
}

// col2imRowsAVX512 adds all the kernel positions of a row at once (col2imFusedAVX512) when
// they touch at most 16 floats of dst, and runs the AVX2 kernel, a position at a time,
// otherwise: on wider rows ZMM vectors gained nothing over it (their unaligned loads and
// stores split cache lines more often). The fused kernel gives each element its additions in
// position order only if no other row or image of its kernel row overlaps the floats it loads
// and stores, which the engine's geometries never do; the others go to the AVX2 kernel too.
func col2imRowsAVX512(dst, src []float32, kernelRows, dstKernelRow, srcKernelRow, positions, srcPos, images, dstImage, dstStride, srcImage, srcStride, rows, cols int) {
	span := cols + positions - 1
	if positions <= maxFusedPositions && span <= 16 && dstStride >= span && (images == 1 || dstImage >= (rows-1)*dstStride+span) {
		col2imFusedAVX512(dst, src, kernelRows, dstKernelRow, srcKernelRow, positions, srcPos, images, dstImage, dstStride, srcImage, srcStride, rows, cols)
		return
	}
	col2imKernelRowsAVX2(dst, src, kernelRows, dstKernelRow, srcKernelRow, positions, srcPos, images, dstImage, dstStride, srcImage, srcStride, rows, cols)
}

// reluPool2Wide pools on ZMM registers rows of 16 floats or more, and narrower ones on the
// AVX2 kernel: a ZMM unit's permutes and masks cost more than the two XMM units of an 8-float
// row. The two kernels give the same bits. Measured on 320 planes, the ZMM kernel takes 0.4x
// the AVX2 one's CPU time at w = 24 and 32, 0.5x at 16 and about the same at 8.
func reluPool2Wide(dst []float32, arg []uint8, src []float32, bias float32, rows, w int) {
	if w < 16 {
		reluPool2AVX2(dst, arg, src, bias, rows, w)
		return
	}
	reluPool2AVX512(dst, arg, src, bias, rows, w)
}

// reluPool2BackwardWide is reluPool2Wide's backward, on ZMM registers from rows of 24 floats:
// there its CPU time is 0.75-0.8x the AVX2 kernel's, at w = 16 about the same and at 8 1.2x.
// Its sum must follow the AVX2 kernel's chain of adds, which a unit of few outputs cannot
// shorten. Rows of an even width that is not a multiple of 8 (the AVX2 kernel's unit) run on
// the ZMM kernel, whose last unit is masked: its sum adds in the same four lanes.
func reluPool2BackwardWide(dst, dy, y []float32, arg []uint8, rows, w int) float32 {
	if w < 24 && w%8 == 0 {
		return reluPool2BackwardAVX2(dst, dy, y, arg, rows, w)
	}
	return reluPool2BackwardAVX512(dst, dy, y, arg, rows, w)
}

// maxFusedPositions is the most kernel positions col2imFusedAVX512 takes (asmgen's constant).
const maxFusedPositions = 6

// The wrappers check the last element each kernel touches, as the AVX2 ones do.

func avx512Tile(rows, vecs, kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, next uintptr, nextStride int) {
	_ = a[kc*rows-1]
	_ = b[(kc-1)*bstride+16*vecs-1]
	_ = c[(rows-1)*ldc+16*vecs-1]
	switch rows<<2 | vecs {
	case 1<<2 | 1:
		zkern1x16(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 1<<2 | 2:
		zkern1x32(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 1<<2 | 3:
		zkern1x48(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 2<<2 | 1:
		zkern2x16(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 2<<2 | 2:
		zkern2x32(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 2<<2 | 3:
		zkern2x48(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 3<<2 | 1:
		zkern3x16(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 3<<2 | 2:
		zkern3x32(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 3<<2 | 3:
		zkern3x48(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 4<<2 | 1:
		zkern4x16(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 4<<2 | 2:
		zkern4x32(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 4<<2 | 3:
		zkern4x48(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 5<<2 | 1:
		zkern5x16(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 5<<2 | 2:
		zkern5x32(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 5<<2 | 3:
		zkern5x48(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 6<<2 | 1:
		zkern6x16(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 6<<2 | 2:
		zkern6x32(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 6<<2 | 3:
		zkern6x48(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 7<<2 | 1:
		zkern7x16(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 7<<2 | 2:
		zkern7x32(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 7<<2 | 3:
		zkern7x48(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 8<<2 | 1:
		zkern8x16(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 8<<2 | 2:
		zkern8x32(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 8<<2 | 3:
		zkern8x48(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	default:
		panic("kernels: no AVX-512 tile kernel for this size")
	}
}

func avx512TilePack(rows, vecs, kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, bpack []float32) {
	_ = a[kc*rows-1]
	_ = b[(kc-1)*bstride+16*vecs-1]
	_ = c[(rows-1)*ldc+16*vecs-1]
	_ = bpack[kc*16*vecs-1]
	switch rows<<2 | vecs {
	case 1<<2 | 1:
		zkern1x16p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 1<<2 | 2:
		zkern1x32p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 1<<2 | 3:
		zkern1x48p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 2<<2 | 1:
		zkern2x16p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 2<<2 | 2:
		zkern2x32p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 2<<2 | 3:
		zkern2x48p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 3<<2 | 1:
		zkern3x16p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 3<<2 | 2:
		zkern3x32p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 3<<2 | 3:
		zkern3x48p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 4<<2 | 1:
		zkern4x16p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 4<<2 | 2:
		zkern4x32p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 4<<2 | 3:
		zkern4x48p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 5<<2 | 1:
		zkern5x16p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 5<<2 | 2:
		zkern5x32p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 5<<2 | 3:
		zkern5x48p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 6<<2 | 1:
		zkern6x16p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 6<<2 | 2:
		zkern6x32p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 6<<2 | 3:
		zkern6x48p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 7<<2 | 1:
		zkern7x16p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 7<<2 | 2:
		zkern7x32p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 7<<2 | 3:
		zkern7x48p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 8<<2 | 1:
		zkern8x16p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 8<<2 | 2:
		zkern8x32p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 8<<2 | 3:
		zkern8x48p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	default:
		panic("kernels: no AVX-512 tile kernel for this size")
	}
}

func avx512TileCol(tiles, kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, next uintptr, nextStride, nextRows int) {
	_ = a[tiles*8*kc-1]
	_ = b[(kc-1)*bstride+nrMax-1]
	_ = c[(tiles*8-1)*ldc+nrMax-1]
	zkern8x48col(tiles, kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride, nextRows)
}

func avx512Dot(rows, cols, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32) {
	_ = a[(rows-1)*lda+k-1]
	_ = b[(cols-1)*ldb+k-1]
	_ = c[(rows-1)*ldc+cols-1]
	switch rows<<3 | cols {
	case 1<<3 | 1:
		zdot1x1(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 1<<3 | 2:
		zdot1x2(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 1<<3 | 3:
		zdot1x3(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 1<<3 | 4:
		zdot1x4(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 2<<3 | 1:
		zdot2x1(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 2<<3 | 2:
		zdot2x2(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 2<<3 | 3:
		zdot2x3(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 2<<3 | 4:
		zdot2x4(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 3<<3 | 1:
		zdot3x1(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 3<<3 | 2:
		zdot3x2(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 3<<3 | 3:
		zdot3x3(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 3<<3 | 4:
		zdot3x4(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 4<<3 | 1:
		zdot4x1(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 4<<3 | 2:
		zdot4x2(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 4<<3 | 3:
		zdot4x3(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 4<<3 | 4:
		zdot4x4(k, a, lda, b, ldb, c, ldc, alpha, beta)
	default:
		panic("kernels: no AVX-512 dot kernel for this size")
	}
}
