//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// platformSets lists the assembly kernel sets of this build, best first, each with whether
// this CPU runs it.
func platformSets() []kernelSet {
	return []kernelSet{
		{name: "avx512", kern: avx512Kernel, elem: avx512Elem, runs: hasAVX512(), needs: "AVX-512 (F, DQ, BW and VL)"},
		{name: "avx2", kern: avx2Kernel, elem: avx2Elem, runs: cpu.X86.HasAVX2 && cpu.X86.HasFMA, needs: "AVX2 and FMA"},
	}
}

// avx2Elem runs the elementwise functions on generated AVX2 kernels.
var avx2Elem = elemOps{
	name:            "avx2",
	padCopy:         padCopyAVX2,
	im2colRows:      im2colKernelRowsAVX2,
	col2imRows:      col2imKernelRowsAVX2,
	addBias:         addBiasAVX2,
	addBiasReLU:     addBiasReLUAVX2,
	addBiasSkipReLU: addBiasSkipReLUAVX2,
	copySum:         copySumAVX2,
	reluBackward:    reluBackwardAVX2,
	skipReLUBack:    skipReLUBackwardAVX2,
	reluPool2:       reluPool2AVX2,
	reluPool2Back:   reluPool2BackwardAVX2,
	sgd:             sgdAVX2,
	planeMoments:    bnMomentsAVX2,
	affinePool2:     bnAffinePool2AVX2,
	bnPoolSums:      bnPoolSumsAVX2,
	bnPoolGrad:      bnPoolGradAVX2,
	conv1Rows:       conv1AVX2.rows,
	conv1GradRows:   conv1AVX2.gradRows,
}

// im2colKernelRowsAVX2 runs im2colAVX2, whose arguments im2colRows has checked, once per kernel row.
func im2colKernelRowsAVX2(dst, src []float32, kernelRows, dstKernelRow, srcKernelRow, positions, dstPos, images, srcImage, srcStride, rows, cols int) {
	for c := range kernelRows {
		im2colAVX2(dst[c*dstKernelRow:], src[c*srcKernelRow:], positions, dstPos, images, srcImage, srcStride, rows, cols)
	}
}

// col2imKernelRowsAVX2 runs col2imAVX2, whose arguments col2imRows has checked, once per kernel row.
func col2imKernelRowsAVX2(dst, src []float32, kernelRows, dstKernelRow, srcKernelRow, positions, srcPos, images, dstImage, dstStride, srcImage, srcStride, rows, cols int) {
	for c := range kernelRows {
		col2imAVX2(dst[c*dstKernelRow:], src[c*srcKernelRow:], positions, srcPos, images, dstImage, dstStride, srcImage, srcStride, rows, cols)
	}
}

// avx2Kernel runs Sgemm on the generated AVX2/FMA micro-kernels.
var avx2Kernel = kernel{name: "avx2-fma", nr: nr, kc: kcMax, vec: 8, tile: avx2Tile, tilePack: avx2TilePack, tileCol: avx2TileCol, dot: avx2Dot}

// The wrappers below check the last element each kernel touches: the assembly trusts its
// arguments, and a driver bug must panic here rather than become a wild read or write. They
// call the kernels directly, from a switch: a call through a func value (a table of kernels)
// goes through an ABI wrapper that spills every argument, which on the short k of the
// convolutions' input gradients (k = 10..32) is a visible share of each tile.

func avx2Tile(rows, vecs, kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, next uintptr, nextStride int) {
	_ = a[kc*rows-1]
	_ = b[(kc-1)*bstride+8*vecs-1]
	_ = c[(rows-1)*ldc+8*vecs-1]
	switch rows<<2 | vecs {
	case 1<<2 | 1:
		kern1x8(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 1<<2 | 2:
		kern1x16(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 1<<2 | 3:
		kern1x24(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 2<<2 | 1:
		kern2x8(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 2<<2 | 2:
		kern2x16(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 2<<2 | 3:
		kern2x24(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 3<<2 | 1:
		kern3x8(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 3<<2 | 2:
		kern3x16(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 3<<2 | 3:
		kern3x24(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 4<<2 | 1:
		kern4x8(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 4<<2 | 2:
		kern4x16(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	case 4<<2 | 3:
		kern4x24(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
	default:
		panic("kernels: no tile kernel for this size")
	}
}

func avx2TilePack(rows, vecs, kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, bpack []float32) {
	_ = a[kc*rows-1]
	_ = b[(kc-1)*bstride+8*vecs-1]
	_ = c[(rows-1)*ldc+8*vecs-1]
	_ = bpack[kc*8*vecs-1]
	switch rows<<2 | vecs {
	case 1<<2 | 1:
		kern1x8p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 1<<2 | 2:
		kern1x16p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 1<<2 | 3:
		kern1x24p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 2<<2 | 1:
		kern2x8p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 2<<2 | 2:
		kern2x16p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 2<<2 | 3:
		kern2x24p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 3<<2 | 1:
		kern3x8p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 3<<2 | 2:
		kern3x16p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 3<<2 | 3:
		kern3x24p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 4<<2 | 1:
		kern4x8p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 4<<2 | 2:
		kern4x16p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	case 4<<2 | 3:
		kern4x24p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
	default:
		panic("kernels: no tile kernel for this size")
	}
}

func avx2TileCol(tiles, kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, next uintptr, nextStride, nextRows int) {
	_ = a[tiles*mr*kc-1]
	_ = b[(kc-1)*bstride+nr-1]
	_ = c[(tiles*mr-1)*ldc+nr-1]
	kern4x24col(tiles, kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride, nextRows)
}

func avx2Dot(rows, cols, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32) {
	_ = a[(rows-1)*lda+k-1]
	_ = b[(cols-1)*ldb+k-1]
	_ = c[(rows-1)*ldc+cols-1]
	switch rows<<2 | cols {
	case 1<<2 | 1:
		dot1x1(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 1<<2 | 2:
		dot1x2(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 1<<2 | 3:
		dot1x3(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 2<<2 | 1:
		dot2x1(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 2<<2 | 2:
		dot2x2(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 2<<2 | 3:
		dot2x3(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 3<<2 | 1:
		dot3x1(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 3<<2 | 2:
		dot3x2(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 3<<2 | 3:
		dot3x3(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 4<<2 | 1:
		dot4x1(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 4<<2 | 2:
		dot4x2(k, a, lda, b, ldb, c, ldc, alpha, beta)
	case 4<<2 | 3:
		dot4x3(k, a, lda, b, ldb, c, ldc, alpha, beta)
	default:
		panic("kernels: no dot kernel for this size")
	}
}
