package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// wideRows is the height of the AVX-512 set's main register tile. The engine's A matrices have
// few rows (10..32 output channels), so with 4-row tiles every B sliver is walked 3 to 8 times
// from L1, and the tile that reads it from memory (the packing one) waits on its rows: with 8
// rows each B row loaded feeds twice the FMAs, the packing tile does twice the arithmetic per
// row fetched, and a 16-row A needs one walk of the packed copy instead of three. Measured
// against the 4-row tiles on a loaded 2-core Xeon (BenchmarkSgemm, CPU time, medians of 16
// interleaved runs): 1.01-1.16x on the convolutions' products of one group of images (the g-
// shapes, whose B stays in L2 as in the engine), 0.92-1.05x where B streams from memory, and
// 0.87-0.91x on the 1x1 convolutions' k = 10, where no prefetching or C-prefetch variant tried
// won it back.
const wideRows = 8

// tile8Kernels emits the AVX-512 set's tiles of 5 to 8 rows (zkern5x16 .. zkern8x48, with
// their packing variants) and the column kernel zkern8x48col: outerKernel and columnKernel on
// the wide register plan. Tiles of 1 to 4 rows are the ones main emits, which read the packed
// A sliver the same way (rows floats per k step).
func tile8Kernels() {
	for rows := maxRows + 1; rows <= wideRows; rows++ {
		for vecs := 1; vecs <= maxVecs; vecs++ {
			outerKernel(zmm, rows, vecs, false)
			outerKernel(zmm, rows, vecs, true)
		}
	}
	columnKernel(zmm, wideRows)
}

// wideRegisters is the register plan of a wide tile, which uses all 32 ZMM registers (EVEX):
// Z0..Z23 accumulate (row r, vector v in Z(r*vecs+v)), Z24..Z26 hold one k step's B vectors,
// Z27 the broadcast A element, and storeWide keeps alpha and beta in Z28 and Z29.
func wideRegisters(rows, vecs int) tileRegs {
	all := zmmAll()
	acc := make([][]reg.VecPhysical, rows)
	for r := range acc {
		acc[r] = all[r*vecs : (r+1)*vecs]
	}
	return tileRegs{vs: zmm, acc: acc, bvec: all[24:27], abc: all[27], wide: true}
}

// storeWide is storeTile on the wide register plan: C = alpha*acc + beta*C, row r at cp +
// r*ldc, never reading C when beta is 0. The zero beta is compared with lives in X30, clear of
// the accumulators that storeTile's X14 would clobber.
func (w tileRegs) storeWide(name string, cp, ldc reg.Register, pastTile bool, end func(accumulate bool)) {
	alpha, beta := reg.Z28, reg.Z29
	VBROADCASTSS(paramAddr("beta"), beta)
	// The engine's products all have alpha 1, where x*1 is x: on the input gradients' 16 k
	// steps the 24 multiplies would add 6 % to a tile's 384 FMAs.
	Comment("alpha == 1 leaves the sums as they are.")
	CMPL(paramAddr("alpha"), U32(math.Float32bits(1)))
	JE(LabelRef(name + "_scaled"))
	VBROADCASTSS(paramAddr("alpha"), alpha)
	for r := range w.acc {
		for _, z := range w.acc[r] {
			VMULPS(alpha, z, z)
		}
	}
	Label(name + "_scaled")
	Comment("beta == 0 overwrites C without reading it; a NaN beta compares unordered (PF).")
	zeroX := reg.X30
	VPXORD(zeroX, zeroX, zeroX)
	VUCOMISS(beta.AsX(), zeroX)
	JNE(LabelRef(name + "_accumulate"))
	JP(LabelRef(name + "_accumulate"))
	for _, accumulate := range []bool{false, true} {
		if accumulate {
			Label(name + "_accumulate")
		}
		for r := range w.acc {
			for v, z := range w.acc[r] {
				m := Mem{Base: cp, Disp: zmm.bytes() * v}
				if accumulate {
					VFMADD231PS(m, beta, z)
				}
				VMOVUPS(z, m)
			}
			if pastTile || r+1 < len(w.acc) {
				ADDQ(ldc, cp)
			}
		}
		end(accumulate)
	}
}
