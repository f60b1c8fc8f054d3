// Command asmgen writes the AVX2/FMA and AVX-512 kernels of package kernels with avo: the
// GEMM's micro-kernels (here; the AVX-512 ones are the AVX2 ones on ZMM registers, prefixed z)
// and the convolutions' data movement and activation passes (elementwise.go).
//
// It lives in its own module so that the main module never depends on avo. Run it through
// `go generate ./engine/kernels/` from the main module; the output (asm_amd64.s and the Go
// stubs in asm_amd64.go) is committed, so building the engine never needs this program.
//
// Two families of GEMM kernels are generated, each in every size up to the largest so that the
// edges of C need no padding:
//
//   - kernRxC (and kernRxCp) compute an R x C tile of C from a packed A sliver (R floats per k
//     step) and a B sliver read with a stride: the broadcast-and-FMA "outer product" kernel of
//     BLIS. The p variant also copies the B sliver it reads into a contiguous buffer, so the
//     driver packs B for free while computing the first tile of a column of tiles.
//   - dotRxJ compute an R x J tile of C = A * B^T from rows of A and rows of B, both contiguous
//     along k, as R*J vectorised dot products: it needs no packing at all, which is what makes
//     the engine's transposed-B products (Linear forward, weight gradients) fast.
//
// Every kernel finishes with C = alpha*acc + beta*C, where beta == 0 writes C without reading
// it, so NaNs already in C cannot leak into the result.
package main

import (
	"fmt"
	"math/bits"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Register budget: AVX2 has 16 YMM registers. The outer-product kernel holds rows*vecs
// accumulators, vecs B vectors and one broadcast; the dot kernel rows*cols accumulators,
// cols B vectors and one A vector. 4 x 3 fills all 16 in both.
const (
	maxRows = 4
	maxVecs = 3 // 8-float vectors per tile row in the outer-product kernel
	maxCols = 3 // columns of C per dot kernel
	// maxZCols is the AVX-512 dot kernels' columns: 4 x 4 accumulators of 16 lanes reduce
	// together into one ZMM of 16 sums. With 32 ZMM registers they fit beside 4 B vectors.
	maxZCols = 4
	unroll   = 4 // k steps per loop iteration of the outer-product kernel
)

func main() {
	ConstraintExpr("amd64,!purego") // old-style syntax: the comma is "and"
	for _, vs := range []vecSet{ymm, zmm} {
		for rows := 1; rows <= maxRows; rows++ {
			for vecs := 1; vecs <= maxVecs; vecs++ {
				outerKernel(vs, rows, vecs, false)
				outerKernel(vs, rows, vecs, true)
			}
		}
		columnKernel(vs, maxRows)
	}
	tile8Kernels()
	tailMask := dotTailMask()
	for rows := 1; rows <= maxRows; rows++ {
		for cols := 1; cols <= maxCols; cols++ {
			dotKernel(rows, cols, tailMask)
		}
	}
	zmasks := zdotMasks()
	for rows := 1; rows <= maxRows; rows++ {
		for cols := 1; cols <= maxZCols; cols++ {
			zdotKernel(rows, cols, zmasks)
		}
	}
	elementwiseKernels()
	im2col512Kernels()
	conv1Kernels()
	conv1GradKernels()
	conv1GradRowKernels()
	convGradKernels()
	convDirectKernels()
	sparseKernels()
	bnKernels()
	Generate()
}

// vecSet is the vector width a family of GEMM micro-kernels is generated for: the AVX2 kernels
// on YMM registers, and the AVX-512 ones, the same code on ZMM registers twice as wide. The
// outer-product ZMM kernels use only AVX512F instructions and the first 16 registers, like the
// YMM ones: a wider tile would need a different driver, and 4 rows x 48 columns already keeps
// the two FMA units busy (12 independent accumulators) with fewer loads than FMAs. The ZMM dot
// kernels use all 32 registers and AVX512VL's masked XMM loads and stores (zdotKernel).
type vecSet struct {
	prefix string            // kernel names: prefix + "4x24" and the like
	isa    string            // for the kernels' doc comments
	floats int               // floats per vector register
	regs   []reg.VecPhysical // the first 16 vector registers
}

func (vs vecSet) bytes() int { return 4 * vs.floats }

var (
	ymm = vecSet{prefix: "kern", isa: "AVX2", floats: 8, regs: []reg.VecPhysical{
		reg.Y0, reg.Y1, reg.Y2, reg.Y3, reg.Y4, reg.Y5, reg.Y6, reg.Y7,
		reg.Y8, reg.Y9, reg.Y10, reg.Y11, reg.Y12, reg.Y13, reg.Y14, reg.Y15,
	}}
	zmm = vecSet{prefix: "zkern", isa: "AVX-512", floats: 16, regs: []reg.VecPhysical{
		reg.Z0, reg.Z1, reg.Z2, reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7,
		reg.Z8, reg.Z9, reg.Z10, reg.Z11, reg.Z12, reg.Z13, reg.Z14, reg.Z15,
	}}
)

// tileRegs is a GEMM tile's register plan: acc[r][v] accumulates row r's vector v, bvec holds
// one k step's B vectors, abc the broadcast A element.
type tileRegs struct {
	vs   vecSet
	acc  [][]reg.VecPhysical
	bvec []reg.VecPhysical
	abc  reg.VecPhysical
	wide bool // wideRegisters' plan, stored by storeWide
}

// tile returns the register plan of a rows x vecs tile. Up to maxRows rows, the first 16
// registers: Y0..Y11 (or Z0..Z11) accumulate, Y12..Y14 hold the B vectors of one k step, Y15
// the broadcast A element; taller tiles take wideRegisters' plan of all 32 ZMM registers.
func (vs vecSet) tile(rows, vecs int) tileRegs {
	if rows > maxRows {
		return wideRegisters(rows, vecs)
	}
	return tileRegs{vs: vs, acc: vs.accumulators(rows, vecs), bvec: vs.regs[12:15], abc: vs.regs[15]}
}

// store emits the tile's store: storeTile, or storeWide on the wide plan.
func (t tileRegs) store(name string, cp, ldc reg.Register, pastTile bool, end func(accumulate bool)) {
	if t.wide {
		t.storeWide(name, cp, ldc, pastTile, end)
		return
	}
	storeTile(t.vs, name, t.acc, cp, ldc, pastTile, end)
}

// step emits one k step: load the B vectors at bp (copying them to pp when pp is not nil),
// then for each row broadcast its A element at ap+4*(aOffset+r) and multiply-add. Each
// accumulator gets one FMA per k step in k order, in every tile, so an element of C is the
// same chain of roundings whatever the height of its tile.
func (t tileRegs) step(ap, bp, pp reg.Register, aOffset int) {
	vecs := len(t.acc[0])
	for v := 0; v < vecs; v++ {
		VMOVUPS(Mem{Base: bp, Disp: t.vs.bytes() * v}, t.bvec[v])
		if pp != nil {
			VMOVUPS(t.bvec[v], Mem{Base: pp, Disp: t.vs.bytes() * v})
		}
	}
	for r := range t.acc {
		VBROADCASTSS(Mem{Base: ap, Disp: 4 * (aOffset + r)}, t.abc)
		for v := 0; v < vecs; v++ {
			VFMADD231PS(t.bvec[v], t.abc, t.acc[r][v])
		}
	}
}

// outerKernel emits kernRxC (or kernRxCp with pack) for a tile of rows x vs.floats*vecs floats;
// tiles of more than maxRows rows (AVX-512 only) take the wide register plan of tile8.go.
func outerKernel(vs vecSet, rows, vecs int, pack bool) {
	name := fmt.Sprintf("%s%dx%d", vs.prefix, rows, vs.floats*vecs)
	sig := "func(kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, next uintptr, nextStride int)"
	doc := []string{
		fmt.Sprintf("%s computes a %d x %d tile of C = alpha*A*B + beta*C over kc k steps,", name, rows, vs.floats*vecs),
		fmt.Sprintf("prefetching one row of the next B sliver (rows nextStride floats apart) per %d k steps.", unroll),
	}
	if vs.floats != 8 {
		isa := vs.isa
		if rows > maxRows {
			isa += ", 32 registers"
		}
		doc[0] = fmt.Sprintf("%s computes a %d x %d tile of C = alpha*A*B + beta*C over kc k steps (%s),", name, rows, vs.floats*vecs, isa)
	}
	if pack {
		name += "p"
		sig = "func(kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, bpack []float32)"
		doc = []string{fmt.Sprintf("%s is like %s without prefetching, and copies the B sliver it reads into",
			name, name[:len(name)-1]), fmt.Sprintf("bpack, %d floats per k step.", vs.floats*vecs)}
	}
	TEXT(name, NOSPLIT, sig)
	// The kernel keeps no pointer, so callers' slices need not escape to the heap.
	Pragma("noescape")
	Doc(doc...)

	// Physical registers keep the budget obvious (vecSet.tile).
	tile := vs.tile(rows, vecs)

	k := Load(Param("kc"), GP64())
	ap := Load(Param("a").Base(), GP64())
	bp := Load(Param("b").Base(), GP64())
	bstride := Load(Param("bstride"), GP64())
	SHLQ(U8(2), bstride) // floats to bytes
	var pp, pf reg.GPVirtual
	if pack {
		pp = GP64()
		Load(Param("bpack").Base(), pp)
		// pf runs prefetchDistance rows of B ahead of bp. The rows are usually a page or
		// more apart, where hardware prefetchers stop, so without this every k step of the
		// packing tile would wait for memory. Prefetching past the end of B is harmless.
		pf = GP64()
		IMUL3Q(U32(prefetchDistance), bstride, pf)
		ADDQ(bp, pf)
	}

	var next, nextStride reg.GPVirtual
	if !pack {
		// While the packing tile reads its own sliver, the other tiles of the column warm
		// the cache with the next sliver's rows, so that memory traffic overlaps with
		// arithmetic instead of stalling the packing tile.
		next = GP64()
		Load(Param("next"), next)
		nextStride = GP64()
		Load(Param("nextStride"), nextStride)
		SHLQ(U8(2), nextStride)
	}

	zero(tile.acc)
	step := func(aOffset int) {
		if pack {
			// Touch every cache line the row's bytes can straddle.
			for _, off := range prefetchOffsets(vs.bytes() * vecs) {
				PREFETCHT0(Mem{Base: pf, Disp: off})
			}
		}
		tile.step(ap, bp, pp, aOffset)
		ADDQ(bstride, bp)
		if pack {
			ADDQ(bstride, pf)
			ADDQ(imm(vs.bytes()*vecs), pp)
		}
	}

	kLoop(name, k, ap, rows, func() {
		if !pack {
			for _, off := range prefetchOffsets(vs.bytes() * maxVecs) {
				PREFETCHT0(Mem{Base: next, Disp: off})
			}
			ADDQ(nextStride, next)
		}
	}, step)

	Label(name + "_store")
	cp := Load(Param("c").Base(), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	tile.store(name, cp, ldc, false, func(bool) {
		VZEROUPPER()
		RET()
	})
}

// kLoop emits a tile's loop over its k steps, A at ap (rows floats a step): unroll steps at a
// time while k >= unroll, each group after prefetch, then one at a time; step(aOffset) emits
// one step reading A at ap + 4*aOffset. It ends by jumping to the label name_store, which the
// caller places.
func kLoop(name string, k, ap reg.Register, rows int, prefetch func(), step func(aOffset int)) {
	Label(name + "_unrolled")
	CMPQ(k, U8(unroll))
	JL(LabelRef(name + "_tail"))
	prefetch()
	for u := 0; u < unroll; u++ {
		step(u * rows)
	}
	ADDQ(U32(4*rows*unroll), ap)
	SUBQ(U8(unroll), k)
	JMP(LabelRef(name + "_unrolled"))

	Label(name + "_tail")
	TESTQ(k, k)
	JE(LabelRef(name + "_store"))
	step(0)
	ADDQ(U8(4*rows), ap)
	DECQ(k)
	JMP(LabelRef(name + "_tail"))
}

// storeTile emits the store of a tile's accumulators: C = alpha*acc + beta*C, row r at
// cp + r*ldc (ldc in bytes), with a path that never reads C when beta is 0 (C may hold NaNs
// then). pastTile leaves cp one row below the tile, where the column kernel's next tile
// starts; end emits what follows each of the two paths.
func storeTile(vs vecSet, name string, acc [][]reg.VecPhysical, cp, ldc reg.Register, pastTile bool, end func(accumulate bool)) {
	alpha, beta := vs.regs[12], vs.regs[13]
	VBROADCASTSS(paramAddr("alpha"), alpha)
	VBROADCASTSS(paramAddr("beta"), beta)
	for r := range acc {
		for _, y := range acc[r] {
			VMULPS(alpha, y, y)
		}
	}
	branchOnBeta(name, reg.X13)
	for _, accumulate := range []bool{false, true} {
		if accumulate {
			Label(name + "_accumulate")
		}
		for r := range acc {
			for v, y := range acc[r] {
				m := Mem{Base: cp, Disp: vs.bytes() * v}
				if accumulate {
					VFMADD231PS(m, beta, y)
				}
				VMOVUPS(y, m)
			}
			if pastTile || r+1 < len(acc) {
				ADDQ(ldc, cp)
			}
		}
		end(accumulate)
	}
}

// columnKernel emits kern4x24col (or, for rows, e.g. zkern8x48col): tiles full 4 x 24 tiles
// down one column of C, one B sliver (already packed, or read in place) against consecutive
// slivers of a packed A panel, which lie back to back (rows*kc floats each), with C advancing
// rows rows a tile. It is kern4x24 with
// the driver's loop over the tiles moved inside: on the convolutions' input-gradient products
// (k = 10..32, hundreds of rows) the Go loop and the call per tile cost nearly as much as the
// tile. It prefetches the next sliver's rows as kern4x24 does, one per 4 k steps, continuing
// from tile to tile, until nextRows rows are done; then it keeps touching the last one.
func columnKernel(vs vecSet, rows int) {
	const vecs = maxVecs
	name := fmt.Sprintf("%s%dx%dcol", vs.prefix, rows, vs.floats*vecs)
	TEXT(name, NOSPLIT, "func(tiles, kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, next uintptr, nextStride, nextRows int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes tiles %d x %d tiles of C = alpha*A*B + beta*C down a column, each over", name, rows, vs.floats*vecs),
		fmt.Sprintf("kc k steps, prefetching nextRows rows of the next B sliver (nextStride floats apart), one per %d k steps.", unroll))

	tile := vs.tile(rows, vecs)

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
	zero(tile.acc)
	MOVQ(kc, k)
	MOVQ(b0, bp)
	step := func(aOffset int) {
		tile.step(ap, bp, nil, aOffset)
		ADDQ(bstride, bp)
	}

	kLoop(name, k, ap, rows, func() {
		for _, off := range prefetchOffsets(vs.bytes() * maxVecs) {
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
	tile.store(name, cp, ldc, true, func(accumulate bool) {
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

// dotKernel emits dotRxJ: C[r][j] = alpha * sum_p A[r][p]*B[j][p] + beta*C[r][j] for an R x J
// tile, reading R rows of A and J rows of B (row strides lda, ldb) eight k steps at a time.
// The last k%8 steps are read with masked loads into the same vector accumulators (lanes past
// the end load zeros and touch no memory), so the tail needs no scalar loop. Each column's R
// accumulators are then summed across their lanes together, with three horizontal additions
// for four rows instead of four folds each: on the engine's weight gradients, k is only a few
// hundred, and the per-accumulator folding had been a fifth of the time.
func dotKernel(rows, cols int, tailMask Mem) {
	name := fmt.Sprintf("dot%dx%d", rows, cols)
	TEXT(name, NOSPLIT, "func(k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes a %d x %d tile of C = alpha*A*B^T + beta*C as dot products over k.", name, rows, cols))

	acc := accumulators(rows, cols)
	bvec := []reg.VecPhysical{reg.Y12, reg.Y13, reg.Y14}
	avec := reg.Y15

	// One row pointer per operand row and a shared byte offset along k.
	ar, br, off, blocks, k := dotOperands(rows, cols, 8)

	zero(acc)
	TESTQ(blocks, blocks)
	JE(LabelRef(name + "_tail"))
	Label(name + "_vectors")
	for j := 0; j < cols; j++ {
		VMOVUPS(Mem{Base: br[j], Index: off, Scale: 1}, bvec[j])
	}
	for r := 0; r < rows; r++ {
		VMOVUPS(Mem{Base: ar[r], Index: off, Scale: 1}, avec)
		for j := 0; j < cols; j++ {
			VFMADD231PS(bvec[j], avec, acc[r][j])
		}
	}
	ADDQ(U8(32), off)
	DECQ(blocks)
	JNZ(LabelRef(name + "_vectors"))

	Label(name + "_tail")
	TESTQ(k, k)
	JE(LabelRef(name + "_sum"))
	Comment("The last k%8 steps: the mask's first k%8 lanes are set (tailMask from 8-k%8).")
	maskAt := GP64()
	LEAQ(tailMask, maskAt)
	NEGQ(k)
	LEAQ(Mem{Base: maskAt, Index: k, Scale: 4, Disp: 32}, maskAt)
	mask := Mem{Base: maskAt}
	VMOVDQU(mask, avec)
	for j := 0; j < cols; j++ {
		VMASKMOVPS(Mem{Base: br[j], Index: off, Scale: 1}, avec, bvec[j])
	}
	for r := 0; r < rows; r++ {
		VMOVDQU(mask, avec)
		VMASKMOVPS(Mem{Base: ar[r], Index: off, Scale: 1}, avec, avec)
		for j := 0; j < cols; j++ {
			VFMADD231PS(bvec[j], avec, acc[r][j])
		}
	}

	Label(name + "_sum")
	dotSumStore(name, acc, avec)
}

// dotSumStore emits the end of a dot kernel: the sums across lanes of its rows x cols YMM
// accumulators, and C = alpha*sum + beta*C.
func dotSumStore(name string, acc [][]reg.VecPhysical, avec reg.VecPhysical) {
	rows, cols := len(acc), len(acc[0])
	Comment("Sum each column's accumulators across lanes: lane r of column j's XMM is C[r][j].")
	sums := make([]reg.VecPhysical, cols)
	for j := 0; j < cols; j++ {
		a := func(r int) reg.VecPhysical { return acc[min(r, rows-1)][j] }
		// Pairs of rows, then pairs of pairs: [r0 r1 r2 r3] sums of each 128-bit half.
		VHADDPS(a(1), a(0), a(0))
		if rows > 2 {
			VHADDPS(a(3), a(2), a(2))
			VHADDPS(a(2), a(0), a(0))
		} else {
			VHADDPS(a(0), a(0), a(0))
		}
		VEXTRACTF128(U8(1), a(0), avec.AsX())
		VADDPS(avec.AsX(), a(0).AsX(), a(0).AsX())
		sums[j] = a(0)
	}
	cp := Load(Param("c").Base(), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	alpha, beta := reg.X12, reg.X13
	VBROADCASTSS(paramAddr("alpha"), alpha)
	VMOVSS(paramAddr("beta"), beta)
	for _, y := range sums {
		VMULPS(alpha, y.AsX(), y.AsX())
	}
	branchOnBeta(name, beta)
	for _, accumulate := range []bool{false, true} {
		if accumulate {
			Label(name + "_accumulate")
		}
		for r := 0; r < rows; r++ {
			for j, y := range sums {
				m := Mem{Base: cp, Disp: 4 * j}
				VPERMILPS(U8(r), y.AsX(), avec.AsX()) // lane r to lane 0
				if accumulate {
					VFMADD231SS(m, beta, avec.AsX())
				}
				VMOVSS(avec.AsX(), m)
			}
			if r+1 < rows {
				ADDQ(ldc, cp)
			}
		}
		VZEROUPPER()
		RET()
	}
}

// dotOperands loads a dot kernel's operands: a pointer to each of the rows of A and of B, a
// byte offset along k shared by all of them (0), and k cut into blocks of lanes steps and the
// k%lanes left over (lanes a power of two).
func dotOperands(rows, cols, lanes int) (ar, br []reg.GPVirtual, off, blocks reg.GPVirtual, k reg.Register) {
	rowPointers := func(param string, ld string, n int) []reg.GPVirtual {
		base := GP64()
		Load(Param(param).Base(), base)
		stride := Load(Param(ld), GP64())
		SHLQ(U8(2), stride)
		ptrs := []reg.GPVirtual{base}
		for i := 1; i < n; i++ {
			p := GP64()
			LEAQ(Mem{Base: ptrs[i-1], Index: stride, Scale: 1}, p)
			ptrs = append(ptrs, p)
		}
		return ptrs
	}
	ar = rowPointers("a", "lda", rows)
	br = rowPointers("b", "ldb", cols)
	off = GP64()
	XORQ(off, off)
	k = Load(Param("k"), GP64())
	blocks = GP64()
	MOVQ(k, blocks)
	SHRQ(U8(bits.TrailingZeros(uint(lanes))), blocks)
	ANDQ(U8(lanes-1), k)
	return ar, br, off, blocks, k
}

// zdotKernel emits zdotRxJ, dotRxJ on ZMM registers for tiles up to 4 x 4: 16 k steps at a
// time, the last k%16 read with a mask register (lanes past the end load zeros and touch no
// memory). The 16 accumulators (Z0-Z15, column-major, unused ones zero) are then summed
// across their lanes all at once by a transposing tree of four shuffle-and-add levels, 30
// shuffles for 16 sums where folding each one alone takes four: on the engine's weight
// gradients k is only a few hundred, and the per-accumulator folds and single-float stores
// had been a third of each tile's time. The tree leaves row r of the tile in 128-bit lane r,
// so each row of C is updated by one (masked) vector load and store.
func zdotKernel(rows, cols int, masks Mem) {
	name := fmt.Sprintf("zdot%dx%d", rows, cols)
	TEXT(name, NOSPLIT, "func(k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes a %d x %d tile of C = alpha*A*B^T + beta*C as dot products over k (AVX-512).", name, rows, cols))

	// acc[r][j] is Z(4j+r): the order the reduction tree below needs to end with row r in lane r.
	all := zmmAll()
	acc := make([][]reg.VecPhysical, rows)
	for r := range acc {
		for j := 0; j < cols; j++ {
			acc[r] = append(acc[r], all[4*j+r])
		}
	}
	bvec := all[16:20]
	avec := all[20]

	ar, br, off, blocks, k := dotOperands(rows, cols, 16)

	Comment("Zero the accumulators, the unused ones too: the reduction sums all sixteen.")
	for _, z := range all[:16] {
		VPXORD(z, z, z)
	}
	TESTQ(blocks, blocks)
	JE(LabelRef(name + "_tail"))
	Label(name + "_vectors")
	for j := 0; j < cols; j++ {
		VMOVUPS(Mem{Base: br[j], Index: off, Scale: 1}, bvec[j])
	}
	for r := 0; r < rows; r++ {
		VMOVUPS(Mem{Base: ar[r], Index: off, Scale: 1}, avec)
		for j := 0; j < cols; j++ {
			VFMADD231PS(bvec[j], avec, acc[r][j])
		}
	}
	ADDQ(U8(64), off)
	DECQ(blocks)
	JNZ(LabelRef(name + "_vectors"))

	Label(name + "_tail")
	TESTQ(k, k)
	JE(LabelRef(name + "_sum"))
	Comment("The last k%16 steps, under a mask of their k%16 lanes.")
	maskAt := GP64()
	LEAQ(masks, maskAt)
	KMOVW(Mem{Base: maskAt, Index: k, Scale: 2}, reg.K1)
	for j := 0; j < cols; j++ {
		VMOVUPS_Z(Mem{Base: br[j], Index: off, Scale: 1}, reg.K1, bvec[j])
	}
	for r := 0; r < rows; r++ {
		VMOVUPS_Z(Mem{Base: ar[r], Index: off, Scale: 1}, reg.K1, avec)
		for j := 0; j < cols; j++ {
			VFMADD231PS(bvec[j], avec, acc[r][j])
		}
	}

	Label(name + "_sum")
	lo, hi := all[21], all[22]
	Comment("Pairs: Z(2p) becomes [Z(2p)'s 8 partial sums | Z(2p+1)'s].")
	for p := 0; p < 8; p++ {
		x, y := all[2*p], all[2*p+1]
		VSHUFF32X4(U8(0x44), y, x, lo) // x.q0 x.q1 y.q0 y.q1
		VSHUFF32X4(U8(0xee), y, x, hi) // x.q2 x.q3 y.q2 y.q3
		VADDPS(hi, lo, x)
	}
	Comment("Quads: Z(4q) becomes accumulators 4q..4q+3's 4 partial sums, one per 128-bit lane.")
	for q := 0; q < 4; q++ {
		x, y := all[4*q], all[4*q+2]
		VSHUFF32X4(U8(0x88), y, x, lo)
		VSHUFF32X4(U8(0xdd), y, x, hi)
		VADDPS(hi, lo, all[4*q])
	}
	Comment("Within each 128-bit lane L: [acc L, acc 4+L] then [acc L, 4+L, 8+L, 12+L], summed.")
	for h := 0; h < 2; h++ {
		x, y := all[8*h], all[8*h+4]
		VSHUFPS(U8(0x44), y, x, lo)
		VSHUFPS(U8(0xee), y, x, hi)
		VADDPS(hi, lo, all[8*h])
	}
	sums := all[0]
	VSHUFPS(U8(0x88), all[8], sums, lo)
	VSHUFPS(U8(0xdd), all[8], sums, hi)
	VADDPS(hi, lo, sums)

	cp := Load(Param("c").Base(), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	alpha, beta := all[23], reg.X13
	VBROADCASTSS(paramAddr("alpha"), alpha)
	VMOVSS(paramAddr("beta"), beta)
	VMULPS(alpha, sums, sums)
	Comment("Row r of the tile is in 128-bit lane r; the mask K2 selects its columns.")
	colMask := GP32()
	MOVL(U32(1<<cols-1), colMask)
	KMOVW(colMask, reg.K2)
	// Each row in its own XMM before any is updated: writing X0 clears the rest of Z0.
	rowRegs := []reg.Register{sums.AsX()}
	for r := 1; r < rows; r++ {
		VEXTRACTF32X4(U8(r), sums, all[23+r].AsX())
		rowRegs = append(rowRegs, all[23+r].AsX())
	}
	branchOnBeta(name, beta)
	for _, accumulate := range []bool{false, true} {
		if accumulate {
			Label(name + "_accumulate")
			VBROADCASTSS(beta, beta)
		}
		for r, x := range rowRegs {
			m := Mem{Base: cp}
			if accumulate {
				VMOVUPS_Z(m, reg.K2, all[2].AsX())
				VFMADD231PS(beta, all[2].AsX(), x)
			}
			VMOVUPS(x, reg.K2, m)
			if r+1 < rows {
				ADDQ(ldc, cp)
			}
		}
		VZEROUPPER()
		RET()
	}
}

// zmmAll is Z0-Z31, the registers of the kernels that use all of them.
func zmmAll() []reg.VecPhysical {
	all := append([]reg.VecPhysical(nil), zmm.regs...)
	return append(all,
		reg.Z16, reg.Z17, reg.Z18, reg.Z19, reg.Z20, reg.Z21, reg.Z22, reg.Z23,
		reg.Z24, reg.Z25, reg.Z26, reg.Z27, reg.Z28, reg.Z29, reg.Z30, reg.Z31)
}

// zdotMasks emits the zdot kernels' tail masks: entry n (a 16-bit word) has its n low bits set.
func zdotMasks() Mem {
	m := GLOBL("zdotMasks", RODATA|NOPTR)
	for n := 0; n < 16; n++ {
		DATA(2*n, U16(1<<n-1))
	}
	return m
}

// dotTailMask emits the mask table of the dot kernels' last k%8 steps: eight set lanes, then
// eight clear ones, so that the eight lanes from 8-n have their first n set.
func dotTailMask() Mem {
	m := GLOBL("dotTailMask", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		v := uint32(0)
		if i < 8 {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}
	return m
}

// prefetchDistance is how many k steps ahead the packing kernels prefetch their own B rows.
const prefetchDistance = 24

// prefetchOffsets returns byte offsets that hit every 64-byte line a run of n bytes can
// straddle, whatever its alignment: with offsets at most 64 bytes apart, no line between the
// first and the last byte can be skipped.
func prefetchOffsets(n int) []int {
	last := n - 1
	offs := []int{0}
	for o := 64; o < last; o += 64 {
		offs = append(offs, o)
	}
	return append(offs, last)
}

// branchOnBeta jumps to name_accumulate unless beta (lane 0) is zero. A NaN beta is not zero:
// the comparison is then unordered, which sets PF.
func branchOnBeta(name string, beta reg.Register) {
	Comment("beta == 0 overwrites C without reading it.")
	zero := reg.X14
	VXORPS(zero, zero, zero)
	VUCOMISS(beta, zero)
	JNE(LabelRef(name + "_accumulate"))
	JP(LabelRef(name + "_accumulate"))
}

// accumulators assigns Y0, Y1, ... to a rows x cols grid of accumulators.
func accumulators(rows, cols int) [][]reg.VecPhysical { return ymm.accumulators(rows, cols) }

// accumulators assigns the set's registers 0, 1, ... (at most 12) to a rows x cols grid.
func (vs vecSet) accumulators(rows, cols int) [][]reg.VecPhysical {
	all := vs.regs[:12]
	acc := make([][]reg.VecPhysical, rows)
	for r := range acc {
		acc[r] = all[r*cols : (r+1)*cols]
	}
	return acc
}

func zero(acc [][]reg.VecPhysical) {
	Comment("Zero the accumulators.")
	for r := range acc {
		for _, y := range acc[r] {
			if y.Size() == 64 {
				VPXORD(y, y, y) // VXORPS on ZMM would need AVX512DQ
				continue
			}
			VXORPS(y, y, y)
		}
	}
}

// imm is an immediate for an add of n bytes: 8 bits when they hold it, as the AVX2 kernels
// have always used, else 32.
func imm(n int) Op {
	if n < 128 {
		return U8(n)
	}
	return U32(n)
}

// paramAddr is the stack address of a scalar parameter, for instructions that read memory.
func paramAddr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(fmt.Sprintf("asmgen: parameter %s: %v", name, err))
	}
	return b.Addr
}
