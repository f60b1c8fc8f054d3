//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// active is the kernel set Sgemm runs and activeElem the one the elementwise functions run,
// chosen once from what the CPU supports.
var (
	active     kernel
	activeElem elemOps
)

func init() {
	active, activeElem = goKernel, goElem
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		active, activeElem = avx2Kernel, avx2Elem
	}
}

// avx2Elem runs the elementwise functions on generated AVX2 kernels.
var avx2Elem = elemOps{
	name:            "avx2",
	padCopy:         padCopyAVX2,
	im2colRows:      im2colAVX2,
	col2imRows:      col2imAVX2,
	addBias:         addBiasAVX2,
	addBiasReLU:     addBiasReLUAVX2,
	addBiasSkipReLU: addBiasSkipReLUAVX2,
	copySum:         copySumAVX2,
	reluBackward:    reluBackwardAVX2,
	skipReLUBack:    skipReLUBackwardAVX2,
	reluPool2:       reluPool2AVX2,
	reluPool2Back:   reluPool2BackwardAVX2,
	sgd:             sgdAVX2,
}

// avx2Kernel runs Sgemm on the generated AVX2/FMA micro-kernels.
var avx2Kernel = kernel{name: "avx2-fma", tile: avx2Tile, tilePack: avx2TilePack, dot: avx2Dot}

// The generated kernels, indexed by [rows-1][vecs-1] or [rows-1][cols-1].
var (
	avx2Tiles = [mr][nr / 8]func(kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, next uintptr, nextStride int){
		{kern1x8, kern1x16, kern1x24},
		{kern2x8, kern2x16, kern2x24},
		{kern3x8, kern3x16, kern3x24},
		{kern4x8, kern4x16, kern4x24},
	}
	avx2TilesPack = [mr][nr / 8]func(kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, bpack []float32){
		{kern1x8p, kern1x16p, kern1x24p},
		{kern2x8p, kern2x16p, kern2x24p},
		{kern3x8p, kern3x16p, kern3x24p},
		{kern4x8p, kern4x16p, kern4x24p},
	}
	avx2Dots = [mr][dotCols]func(k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32){
		{dot1x1, dot1x2, dot1x3},
		{dot2x1, dot2x2, dot2x3},
		{dot3x1, dot3x2, dot3x3},
		{dot4x1, dot4x2, dot4x3},
	}
)

// The wrappers below check the last element each kernel touches: the assembly trusts its
// arguments, and a driver bug must panic here rather than become a wild read or write.

func avx2Tile(rows, vecs, kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, next uintptr, nextStride int) {
	_ = a[kc*rows-1]
	_ = b[(kc-1)*bstride+8*vecs-1]
	_ = c[(rows-1)*ldc+8*vecs-1]
	if rows == mr && vecs == nr/8 {
		// The full tile, most of every product, is called directly: through the table, the
		// call to an assembly function goes through a func value and an ABI wrapper, which
		// on short k (the convolutions' input gradients have k = 10..32) is a cost to see.
		kern4x24(kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
		return
	}
	avx2Tiles[rows-1][vecs-1](kc, a, b, bstride, c, ldc, alpha, beta, next, nextStride)
}

func avx2TilePack(rows, vecs, kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, bpack []float32) {
	_ = a[kc*rows-1]
	_ = b[(kc-1)*bstride+8*vecs-1]
	_ = c[(rows-1)*ldc+8*vecs-1]
	_ = bpack[kc*8*vecs-1]
	if rows == mr && vecs == nr/8 { // see avx2Tile
		kern4x24p(kc, a, b, bstride, c, ldc, alpha, beta, bpack)
		return
	}
	avx2TilesPack[rows-1][vecs-1](kc, a, b, bstride, c, ldc, alpha, beta, bpack)
}

func avx2Dot(rows, cols, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32) {
	_ = a[(rows-1)*lda+k-1]
	_ = b[(cols-1)*ldb+k-1]
	_ = c[(rows-1)*ldc+cols-1]
	if rows == mr && cols == dotCols { // see avx2Tile
		dot4x3(k, a, lda, b, ldb, c, ldc, alpha, beta)
		return
	}
	avx2Dots[rows-1][cols-1](k, a, lda, b, ldb, c, ldc, alpha, beta)
}
