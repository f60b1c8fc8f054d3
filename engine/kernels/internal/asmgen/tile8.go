package main

import (
	"fmt"
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
// their packing variants) and the column kernel zkern8x48col. Tiles of 1 to 4 rows are the
// ones main emits, which read the packed A sliver the same way (rows floats per k step).
func tile8Kernels() {
	for rows := maxRows + 1; rows <= wideRows; rows++ {
		for vecs := 1; vecs <= maxVecs; vecs++ {
			wideOuterKernel(rows, vecs, false)
			wideOuterKernel(rows, vecs, true)
		}
	}
	wideColumnKernel()
}

// wideRegs is the register plan of a wide tile, which uses all 32 ZMM registers (EVEX):
// Z0..Z23 accumulate (row r, vector v in Z(r*vecs+v)), Z24..Z26 hold one k step's B vectors,
// Z27 the broadcast A element, and the store keeps alpha and beta in Z28 and Z29.
type wideRegs struct {
	tileRegs
	alpha, beta reg.VecPhysical
}

func wideRegisters(rows, vecs int) wideRegs {
	all := zmmAll()
	acc := make([][]reg.VecPhysical, rows)
	for r := range acc {
		acc[r] = all[r*vecs : (r+1)*vecs]
	}
	return wideRegs{tileRegs: tileRegs{vs: zmm, acc: acc, bvec: all[24:27], abc: all[27]}, alpha: all[28], beta: all[29]}
}

// wideOuterKernel emits zkernRxC (or zkernRxCp with pack) for rows of 5 to 8: outerKernel's
// code on the wide register plan.
func wideOuterKernel(rows, vecs int, pack bool) {
	cols := zmm.floats * vecs
	name := fmt.Sprintf("%s%dx%d", zmm.prefix, rows, cols)
	sig := "func(kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, next uintptr, nextStride int)"
	doc := []string{
		fmt.Sprintf("%s computes a %d x %d tile of C = alpha*A*B + beta*C over kc k steps (AVX-512, 32 registers),", name, rows, cols),
		fmt.Sprintf("prefetching one row of the next B sliver (rows nextStride floats apart) per %d k steps.", unroll),
	}
	if pack {
		name += "p"
		sig = "func(kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, bpack []float32)"
		doc = []string{fmt.Sprintf("%s is like %s without prefetching, and copies the B sliver it reads into",
			name, name[:len(name)-1]), fmt.Sprintf("bpack, %d floats per k step.", cols)}
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(doc...)

	w := wideRegisters(rows, vecs)
	k := Load(Param("kc"), GP64())
	ap := Load(Param("a").Base(), GP64())
	bp := Load(Param("b").Base(), GP64())
	bstride := Load(Param("bstride"), GP64())
	SHLQ(U8(2), bstride)
	var pp, pf, next, nextStride reg.Register
	if pack {
		pp = Load(Param("bpack").Base(), GP64())
		// As in outerKernel: B's rows are usually pages apart, beyond the hardware
		// prefetchers, so the packing tile fetches its own rows prefetchDistance ahead.
		pfv := GP64()
		IMUL3Q(U32(prefetchDistance), bstride, pfv)
		ADDQ(bp, pfv)
		pf = pfv
	} else {
		next = Load(Param("next"), GP64())
		nextStride = Load(Param("nextStride"), GP64())
		SHLQ(U8(2), nextStride)
	}

	zero(w.acc)
	step := func(aOffset int) {
		if pack {
			for _, off := range prefetchOffsets(zmm.bytes() * vecs) {
				PREFETCHT0(Mem{Base: pf, Disp: off})
			}
		}
		w.step(ap, bp, pp, aOffset)
		ADDQ(bstride, bp)
		if pack {
			ADDQ(bstride, pf)
			ADDQ(imm(zmm.bytes()*vecs), pp)
		}
	}

	kLoop(name, k, ap, rows, func() {
		if !pack {
			for _, off := range prefetchOffsets(zmm.bytes() * maxVecs) {
				PREFETCHT0(Mem{Base: next, Disp: off})
			}
			ADDQ(nextStride, next)
		}
	}, step)

	Label(name + "_store")
	cp := Load(Param("c").Base(), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	w.store(name, cp, ldc, false, func(bool) {
		VZEROUPPER()
		RET()
	})
}

// store is storeTile on the wide register plan: C = alpha*acc + beta*C, row r at cp + r*ldc,
// never reading C when beta is 0. The zero beta is compared with lives in X30, clear of the
// accumulators that storeTile's X14 would clobber.
func (w wideRegs) store(name string, cp, ldc reg.Register, pastTile bool, end func(accumulate bool)) {
	VBROADCASTSS(paramAddr("beta"), w.beta)
	// The engine's products all have alpha 1, where x*1 is x: on the input gradients' 16 k
	// steps the 24 multiplies would add 6 % to a tile's 384 FMAs.
	Comment("alpha == 1 leaves the sums as they are.")
	CMPL(paramAddr("alpha"), U32(math.Float32bits(1)))
	JE(LabelRef(name + "_scaled"))
	VBROADCASTSS(paramAddr("alpha"), w.alpha)
	for r := range w.acc {
		for _, z := range w.acc[r] {
			VMULPS(w.alpha, z, z)
		}
	}
	Label(name + "_scaled")
	Comment("beta == 0 overwrites C without reading it; a NaN beta compares unordered (PF).")
	zeroX := reg.X30
	VPXORD(zeroX, zeroX, zeroX)
	VUCOMISS(w.beta.AsX(), zeroX)
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
					VFMADD231PS(m, w.beta, z)
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

// wideColumnKernel emits zkern8x48col, columnKernel's loop over the full tiles of a column of
// C for the 8 x 48 tile: A slivers of 8*kc floats back to back, C advancing 8 rows a tile.
func wideColumnKernel() {
	const rows, vecs = wideRows, maxVecs
	name := fmt.Sprintf("%s%dx%dcol", zmm.prefix, rows, zmm.floats*vecs)
	TEXT(name, NOSPLIT, "func(tiles, kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, next uintptr, nextStride, nextRows int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes tiles %d x %d tiles of C = alpha*A*B + beta*C down a column, each over", name, rows, zmm.floats*vecs),
		fmt.Sprintf("kc k steps, prefetching nextRows rows of the next B sliver (nextStride floats apart), one per %d k steps.", unroll))

	w := wideRegisters(rows, vecs)
	tiles := Load(Param("tiles"), GP64())
	kc := Load(Param("kc"), GP64())
	ap := Load(Param("a").Base(), GP64())
	b0 := Load(Param("b").Base(), GP64())
	bstride := Load(Param("bstride"), GP64())
	SHLQ(U8(2), bstride)
	cp := Load(Param("c").Base(), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	next := Load(Param("next"), GP64())
	nextStride := Load(Param("nextStride"), GP64())
	SHLQ(U8(2), nextStride)
	nextRows := Load(Param("nextRows"), GP64())
	k, bp := GP64(), GP64()

	Label(name + "_tile")
	zero(w.acc)
	MOVQ(kc, k)
	MOVQ(b0, bp)
	step := func(aOffset int) {
		w.step(ap, bp, nil, aOffset)
		ADDQ(bstride, bp)
	}

	kLoop(name, k, ap, rows, func() {
		for _, off := range prefetchOffsets(zmm.bytes() * maxVecs) {
			PREFETCHT0(Mem{Base: next, Disp: off})
		}
		ADDQ(nextStride, next)
		DECQ(nextRows)
		JNZ(LabelRef(name + "_steps"))
		XORQ(nextStride, nextStride) // the next sliver is all prefetched: stay on its last row
		Label(name + "_steps")
	}, step)

	// ap has reached the next A sliver; cp moves to the next tile's rows after the store.
	Label(name + "_store")
	w.store(name, cp, ldc, true, func(accumulate bool) {
		if !accumulate {
			JMP(LabelRef(name + "_next"))
		}
	})
	Label(name + "_next")
	DECQ(tiles)
	JNZ(LabelRef(name + "_tile"))
	VZEROUPPER()
	RET()
}
