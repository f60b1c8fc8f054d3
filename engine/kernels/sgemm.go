// Package kernels holds the engine's hot loops: a float32 GEMM (Sgemm) that is fast on AVX2/FMA
// and AVX-512 CPUs, beside the pure-Go reference it is tested against (SgemmRef), and the convolutions'
// data movement and activation passes, the optimiser step and a vector add (elementwise.go).
//
// Sgemm follows the Goto/BLIS scheme, shaped for the engine's matrices (few rows, very many
// columns). op(A) is packed into slivers of mr rows; a micro-kernel keeps an mr x nr tile of C
// in registers while it walks a sliver of A and a sliver of op(B) nr columns wide, kcMax k steps
// at a time. The first tile of each B sliver reads B where it lies and packs it into a small
// L1-resident buffer on the way, the others read that copy, and while they do they prefetch the
// next sliver. When only B is transposed (A*B^T: Linear forward, weight gradients), both
// operands run along k and Sgemm uses dot-product kernels instead, with no packing at all.
//
// The micro-kernels and the elementwise loops are Go assembly generated with avo
// (internal/asmgen, a separate module), in kernel sets chosen once at start-up (kernelset.go):
// avx512 or avx2, the best the CPU has, unless EnvVar or Select names another; on other
// architectures, or when built with the purego tag, portable Go versions run instead (under
// the same blocking, for the GEMM).
//
// Everything is single-threaded and safe for concurrent use: callers parallelise by giving each
// goroutine its own part of C. Sgemm borrows its packing buffers from a sync.Pool, so
// steady-state calls do not allocate; a goroutine that multiplies in a hot loop can own its
// buffers instead (NewWorkspace, Workspace.Sgemm) and never touch the pool.
//
// Dimension and length mistakes are programmer errors inside the engine, not bad user input, so
// like gonum's blas these functions panic, with a message naming the argument; they never read
// or write outside the slices they are given.
package kernels

import (
	"fmt"
	"sync"
	"unsafe"
)

// Register tile and cache blocking. The AVX2 and Go tiles are 4 rows x 24 columns (12 YMM
// accumulators): the engine's matrices have few rows (10..32 output channels, batch 32) and very
// many columns, and a 4-row tile wastes nothing on 16, 20, 24 or 32 rows while the smaller edge
// kernels handle 10. The AVX-512 tile, with 32 registers, is 8 x 48 (kernel.mr).
const (
	mr = 4 // rows of the AVX2 and Go register tiles (kernel.rows gives a set's), and of every set's dot tiles
	// mrMax is the tallest register tile of any kernel set: AVX-512's 8 rows.
	mrMax = 8
	nr    = 24 // columns of the AVX2 and Go register tiles: three 8-float vectors
	// nrMax is the widest register tile of any kernel set: AVX-512's three 16-float vectors.
	nrMax = 48
	// kcMax bounds the k extent of a panel so one packed B sliver (kcMax x nr floats, 24 KiB)
	// stays in the 32 KiB L1 cache while every A sliver of the block runs over it. The
	// AVX-512 set's slivers are twice as wide, and it uses panels half as deep (kernel.kc).
	kcMax = 256
	// aBlockFloats bounds a packed block of op(A) (256 KiB) so it stays in the 1 MiB L2 while
	// it is read once per B sliver. The engine's A blocks (m x k up to 20 x 2200) fit whole.
	aBlockFloats = 64 * 1024
	// cBlockFloats bounds the block of C (128 KiB) that the k panels revisit, so it stays in
	// L2 and the B rows of one panel span few enough pages for the TLB.
	cBlockFloats = 32 * 1024

	// inPlaceK is the deepest B sliver the tiles read where it lies instead of packing it.
	inPlaceK = 32

	// The A*B^T path computes dotCols columns of C at a time as dot products along k (a
	// kernel set may use more: kernel.dotCols).
	dotCols = 3
	// kcDot bounds the k extent of one pass, so the dotCols rows of B (12 KiB) stay in L1 while
	// every row block of A runs over them.
	kcDot = 1024
	// mcDot bounds the rows of A per pass (64 x 1024 floats, 256 KiB) so they stay in L2.
	mcDot = 64
)

// Sgemm computes C = alpha*op(A)*op(B) + beta*C with row-major matrices.
// op(A) is m x k (A is m x k, or k x m when transA); op(B) is k x n (B is k x n, or n x k when
// transB); C is m x n. lda/ldb/ldc are row strides. beta == 0 means C is overwritten (NaNs in C
// are not propagated). As in BLAS, alpha == 0 or k == 0 only scales C by beta, without reading A
// or B.
//
// Sgemm is single-threaded, safe for concurrent use on disjoint C, and does not allocate in
// steady state. It panics if a dimension is negative, a stride is smaller than its row, or a
// slice is too short for the matrix it holds.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkSgemm("Sgemm", transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	active.kern.sgemm(nil, false, matrix{a, lda, transA}, matrix{b, ldb, transB}, m, n, k, alpha, beta, c, ldc)
}

// Workspace is the packing memory of Sgemm calls made by one goroutine at a time. Sgemm's shared
// pool is cheap but not free of allocations: after a garbage collection, or when goroutines
// move between threads, a sync.Pool can come up empty and make a new 300 KB buffer. A worker
// that multiplies in a hot loop owns a Workspace instead, which also keeps its buffers in its
// own core's caches. The zero value is ready to use; a Workspace is not safe for concurrent use.
type Workspace struct {
	w workspace
}

// NewWorkspace returns a Workspace for one goroutine's Sgemm calls.
func NewWorkspace() *Workspace { return new(Workspace) }

// Sgemm is the package-level Sgemm, packing into ws instead of a pooled buffer. Results are
// bit-identical to Sgemm's.
func (ws *Workspace) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkSgemm("Workspace.Sgemm", transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	active.kern.sgemm(&ws.w, false, matrix{a, lda, transA}, matrix{b, ldb, transB}, m, n, k, alpha, beta, c, ldc)
}

// SgemmSameA is Workspace.Sgemm for a run of products that share their A, such as a
// convolution's GEMMs over successive groups of images, which all multiply by the same
// weights: with sameA, the caller promises that a holds the same values as in the previous
// call on ws, and that call's packing of op(A) is reused when it held all of op(A) and the
// shape (m, k, lda, transA and the slice) is the same; otherwise A is packed as usual.
// Results are bit-identical to Sgemm's.
func (ws *Workspace) SgemmSameA(sameA, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkSgemm("Workspace.SgemmSameA", transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	active.kern.sgemm(&ws.w, sameA, matrix{a, lda, transA}, matrix{b, ldb, transB}, m, n, k, alpha, beta, c, ldc)
}

// matrix is a row-major operand seen through its transpose flag: at(i, j) is op(M)[i][j].
type matrix struct {
	data   []float32
	stride int
	trans  bool
}

func (x matrix) at(i, j int) float32 {
	if x.trans {
		return x.data[j*x.stride+i]
	}
	return x.data[i*x.stride+j]
}

// tileFunc computes one register tile of C (rows <= the kernel's mr, vec*vecs columns,
// vecs <= nr/vec, for the kernel's vector width vec and tile width nr):
//
//	C[r][j] = alpha * sum_{p<kc} a[p*rows+r] * b[p*bstride+j] + beta * C[r][j]
//
// with C[r][j] at c[r*ldc+j]; beta == 0 writes C without reading it. Meanwhile it may prefetch
// rows of B starting at address next, nextStride floats apart, one per tileUnroll k steps: a
// hint only, which is why it is a bare address.
type tileFunc func(rows, vecs, kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, next uintptr, nextStride int)

// tileUnroll is the k steps per loop iteration of the generated tile kernels, each iteration
// prefetching one row of the next sliver.
const tileUnroll = 4

// tilePackFunc is a tileFunc that also copies the B sliver it reads into bpack (row stride
// vec*vecs), so later tiles of the same column read it contiguously from L1.
type tilePackFunc func(rows, vecs, kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, bpack []float32)

// dotFunc computes a rows x cols tile (rows <= mr, cols <= the kernel's dotCols) of C = alpha*A*B^T + beta*C
// from rows of A and B that are contiguous along k:
//
//	C[r][j] = alpha * sum_{p<k} a[r*lda+p] * b[j*ldb+p] + beta * C[r][j]
type dotFunc func(rows, cols, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32)

// tileColFunc computes tiles full mr x nr tiles (the kernel's mr) down a column of C: tile t is
// a tileFunc tile with A sliver a[t*mr*kc:] and C at c[t*mr*ldc:], all against the same B
// sliver. It prefetches nextRows rows of the next sliver from next on, one per tileUnroll k
// steps across the tiles.
type tileColFunc func(tiles, kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, next uintptr, nextStride, nextRows int)

// kernel is one set of micro-kernels the blocked driver can run on.
type kernel struct {
	name     string
	mr       int // rows of its tallest tile, at most mrMax; 0 means the package's mr
	nr       int // columns of its widest tile
	kc       int // k steps per panel, at most kcMax: a packed B sliver, kc x nr, stays in L1
	vec      int // floats per vector: tiles are vec*vecs columns wide
	tile     tileFunc
	tilePack tilePackFunc // nil: the driver packs each B sliver itself before the first tile
	tileCol  tileColFunc  // nil: the driver calls tile for each tile of a column
	dot      dotFunc
	dotCols  int // columns of dot's widest tile; 0 means the package's dotCols
}

// workspace holds one call's packing buffers: a Workspace's, or one borrowed from the pool.
//
// The packed B sliver comes first, at the start of the allocation (page-aligned, as large
// objects are), and its rows are whole cache lines apart: the AVX-512 tiles load 64 bytes at a
// time, and an unaligned 64-byte load always spans two cache lines.
type workspace struct {
	b      [kcMax * nrMax]float32 // packed sliver of op(B)
	a      [aBlockFloats]float32  // packed block of op(A)
	tile   [mrMax * nrMax]float32 // C tile for slivers whose width is not a multiple of the vector
	packed packedA                // what a holds, when it holds all of an op(A) that may be reused
}

// packedA identifies an op(A) packed whole into a workspace: the zero value, none.
type packedA struct {
	data             *float32
	m, k, ld, kc, mr int
	trans            bool
}

var workspaces = sync.Pool{New: func() any { return new(workspace) }}

// rows is the height of the kernel's tallest tile: the rows of its packed A slivers.
func (kern kernel) rows() int {
	if kern.mr == 0 {
		return mr
	}
	return kern.mr
}

// sgemm is the blocked driver behind Sgemm; the arguments have been validated. It packs into
// ws, or into a buffer borrowed from the pool when ws is nil. sameA is SgemmSameA's promise.
func (kern kernel) sgemm(ws *workspace, sameA bool, a, b matrix, m, n, k int, alpha, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if !a.trans && b.trans {
		// Rows of A and of B both run along k: dot products need no packing at all.
		kern.sgemmDot(a, b, m, n, k, alpha, beta, c, ldc)
		return
	}
	if ws == nil {
		ws = workspaces.Get().(*workspace)
		defer workspaces.Put(ws)
	}

	// An A block spans all of k when it can (it does for every engine shape): A is packed once
	// and each block of C is finished, k panel after k panel, while it is still in L2. Only
	// very deep products cut k into several blocks, with C making a round trip between them.
	mrk := kern.rows()
	kb := min(k, max(kern.kc, aBlockFloats/mrk/kern.kc*kern.kc))
	mcb := min(m, max(mrk, aBlockFloats/kb/mrk*mrk))
	// A packed whole can serve the next call too (Workspace.SgemmSameA): say which A it is.
	key := packedA{}
	if kb == k && mcb == m {
		key = packedA{data: &a.data[0], m: m, k: k, ld: a.stride, kc: kern.kc, mr: mrk, trans: a.trans}
	}
	reuse := sameA && key != packedA{} && ws.packed == key
	ws.packed = key
	for p0 := 0; p0 < k; p0 += kb {
		kbb := min(kb, k-p0)
		// The first k block applies the caller's beta; later ones add onto it.
		betaB := beta
		if p0 > 0 {
			betaB = 1
		}
		for ic := 0; ic < m; ic += mcb {
			rows := min(mcb, m-ic)
			if !reuse {
				packA(ws.a[:], a, ic, rows, p0, kbb, kern.kc, mrk)
			}
			kern.macro(ws, b, n, ic, rows, p0, kbb, alpha, betaB, c, ldc)
		}
	}
}

// macro runs the micro-kernel over one packed A block (rows ic..ic+mcb, k range p0..p0+kb,
// laid out by packA) and all of op(B)'s columns. The columns go in blocks small enough that
// their part of C stays in L2 across the k panels; within a k panel, one sliver of nr columns
// at a time meets every A sliver.
func (kern kernel) macro(ws *workspace, b matrix, n, ic, mcb, p0, kb int, alpha, beta float32, c []float32, ldc int) {
	nc := max(kern.nr, cBlockFloats/mcb/kern.nr*kern.nr)
	for jc := 0; jc < n; jc += nc {
		ncb := min(nc, n-jc)
		for pc := p0; pc < p0+kb; pc += kern.kc {
			kc := min(kern.kc, p0+kb-pc)
			betaP := beta
			if pc > p0 {
				betaP = 1
			}
			panel := ws.a[(pc-p0)*mcb : (pc-p0)*mcb+kc*mcb]
			for j := jc; j < jc+ncb; j += kern.nr {
				kern.sliver(ws, panel, b, jc+ncb-j, ic, mcb, pc, kc, j, alpha, betaP, c, ldc)
			}
		}
	}
}

// sliver runs the micro-kernel down one sliver of op(B) (k panel pc..pc+kc, columns j..j+w
// with w = min(nr, left)) against every A sliver of the packed panel.
func (kern kernel) sliver(ws *workspace, panel []float32, b matrix, left, ic, mcb, pc, kc, j int, alpha, beta float32, c []float32, ldc int) {
	w := min(kern.nr, left)
	vecs := (w + kern.vec - 1) / kern.vec
	padded := kern.vec * vecs
	ragged := w < padded
	packed := ws.b[:kc*padded]

	// The first tile reads B where it lies and packs it on the way; the rest read the packed
	// copy. B's rows are often a multiple of 4 KiB apart, which would make a sliver read in
	// place thrash the cache's sets on every later tile.
	bs, bstride := packed, padded
	packing := !b.trans && !ragged && kern.tilePack != nil
	// A short sliver (the input-gradient products' k = OC rows, or a 5x5 single-channel
	// convolution's 25) stays in L1 read in place, unless its rows are a multiple of 1 KiB
	// apart and so crowd a few cache sets: packing it would cost more than it saves.
	inPlace := !b.trans && !ragged && kc <= inPlaceK && b.stride%256 != 0
	if packing || inPlace {
		bs, bstride = b.data[pc*b.stride+j:], b.stride
		packing = !inPlace
	} else {
		// Transposed or ragged: the ragged one's last vector would run past the row (and
		// past the slice on the last row), so it is packed zero-padded.
		packBSliver(packed, b, pc, kc, j, w, padded)
	}

	// The tiles after the first prefetch the next sliver, kc/tileUnroll rows each, so the
	// next packing tile finds its rows in cache. Without a next sliver to read in place
	// they harmlessly prefetch the packed one.
	next, nextStride := uintptr(unsafe.Pointer(&packed[0])), 0
	if left > kern.nr && !b.trans {
		next, nextStride = uintptr(unsafe.Pointer(&b.data[pc*b.stride+j+kern.nr])), b.stride
	}
	rowsPerTile := kc / tileUnroll

	mrk := kern.rows()
	t := 0 // tiles run so far that prefetch
	for ir := 0; ir < mcb; ir += mrk {
		rows := min(mrk, mcb-ir)
		as := panel[ir*kc : ir*kc+kc*rows]
		ct := c[(ic+ir)*ldc+j:]
		if packing {
			kern.tilePack(rows, vecs, kc, as, bs, bstride, ct, ldc, alpha, beta, packed)
			packing, bs, bstride = false, packed, padded
			continue
		}
		pf, pfStride := next, nextStride
		row := t * rowsPerTile
		if pfStride != 0 {
			if row < kc {
				pf += uintptr(row * pfStride * 4)
			} else {
				pf, pfStride = uintptr(unsafe.Pointer(&packed[0])), 0
			}
		}
		if full := (mcb - ir) / mrk; full > 1 && kern.tileCol != nil && vecs == kern.nr/kern.vec && !ragged {
			// The rest of the column's full tiles in one call: they prefetch what is left
			// of the next sliver, as they would one by one.
			kern.tileCol(full, kc, panel[ir*kc:ir*kc+full*mrk*kc], bs, bstride, ct, ldc, alpha, beta, pf, pfStride, max(kc-row, 1))
			t += full
			ir += (full - 1) * mrk
			continue
		}
		t++
		if !ragged {
			kern.tile(rows, vecs, kc, as, bs, bstride, ct, ldc, alpha, beta, pf, pfStride)
			continue
		}
		// The tile is wider than C here: compute it into scratch, then merge the columns
		// that exist.
		kern.tile(rows, vecs, kc, as, bs, bstride, ws.tile[:], kern.nr, 1, 0, pf, pfStride)
		mergeTile(ws.tile[:], kern.nr, rows, w, alpha, beta, ct, ldc)
	}
}

// mergeTile sets C = alpha*T + beta*C for the rows x w corner of the scratch tile T (row
// stride ldt).
func mergeTile(t []float32, ldt, rows, w int, alpha, beta float32, c []float32, ldc int) {
	for r := 0; r < rows; r++ {
		src := t[r*ldt : r*ldt+w]
		dst := c[r*ldc : r*ldc+w]
		for x, v := range src {
			if beta == 0 {
				dst[x] = alpha * v
			} else {
				dst[x] = alpha*v + beta*dst[x]
			}
		}
	}
}

// sgemmDot computes C = alpha*A*B^T + beta*C, the transB case, with the dot-product kernels.
// A block of mcDot rows of A and a k panel of kcDot
// stay in L2 while dotCols (or kern.dotCols) rows of B, in L1, meet every row of the block.
func (kern kernel) sgemmDot(a, b matrix, m, n, k int, alpha, beta float32, c []float32, ldc int) {
	width := dotCols
	if kern.dotCols > 0 {
		width = kern.dotCols
	}
	for pc := 0; pc < k; pc += kcDot {
		kc := min(kcDot, k-pc)
		betaP := beta
		if pc > 0 {
			betaP = 1
		}
		for ic := 0; ic < m; ic += mcDot {
			mcb := min(mcDot, m-ic)
			for j := 0; j < n; j += width {
				cols := min(width, n-j)
				bs := b.data[j*b.stride+pc:]
				for i := ic; i < ic+mcb; i += mr {
					rows := min(mr, ic+mcb-i)
					kern.dot(rows, cols, kc, a.data[i*a.stride+pc:], a.stride, bs, b.stride, c[i*ldc+j:], ldc, alpha, betaP)
				}
			}
		}
	}
}

// packA copies rows ic..ic+mcb, columns p0..p0+kb of op(A) into dst, k panel by k panel
// (kcp columns each, the last one shorter): panel pc starts at (pc-p0)*mcb and holds slivers
// of rowsPerSliver rows (the kernel set's: 4 or 8; the last one may be shorter), sliver ir at ir*kc within
// it. Within a sliver element (r, p) sits at p*rows+r, so the micro-kernel reads one short
// contiguous column of A per k step.
func packA(dst []float32, a matrix, ic, mcb, p0, kb, kcp, rowsPerSliver int) {
	for pc := p0; pc < p0+kb; pc += kcp {
		kc := min(kcp, p0+kb-pc)
		panel := dst[(pc-p0)*mcb : (pc-p0)*mcb+kc*mcb]
		for ir := 0; ir < mcb; ir += rowsPerSliver {
			rows := min(rowsPerSliver, mcb-ir)
			s := panel[ir*kc : ir*kc+kc*rows]
			if a.trans {
				// op(A) column p is a row of A: each k step is a contiguous run. A full
				// sliver's run is one 16- or 32-byte move, without a call to memmove.
				switch rows {
				case 4:
					for p := 0; p < kc; p++ {
						*(*[4]float32)(s[p*4:]) = *(*[4]float32)(a.data[(pc+p)*a.stride+ic+ir:])
					}
					continue
				case 8:
					for p := 0; p < kc; p++ {
						*(*[8]float32)(s[p*8:]) = *(*[8]float32)(a.data[(pc+p)*a.stride+ic+ir:])
					}
					continue
				}
				for p := 0; p < kc; p++ {
					src := a.data[(pc+p)*a.stride+ic+ir:]
					copy(s[p*rows:p*rows+rows], src[:rows])
				}
				continue
			}
			for r := 0; r < rows; r++ {
				src := a.data[(ic+ir+r)*a.stride+pc:]
				src = src[:kc]
				for p, v := range src {
					s[p*rows+r] = v
				}
			}
		}
	}
}

// packBSliver packs a kc x w block of op(B) at (pc, j) into dst with row stride padded.
func packBSliver(dst []float32, b matrix, pc, kc, j, w, padded int) {
	if b.trans {
		// op(B) column j is a row of B: read it contiguously, write it strided.
		for x := 0; x < w; x++ {
			src := b.data[(j+x)*b.stride+pc:]
			src = src[:kc]
			for p, v := range src {
				dst[p*padded+x] = v
			}
		}
	} else {
		for p := 0; p < kc; p++ {
			src := b.data[(pc+p)*b.stride+j:]
			copy(dst[p*padded:p*padded+w], src[:w])
		}
	}
	if w < padded {
		for p := 0; p < kc; p++ {
			clear(dst[p*padded+w : p*padded+padded])
		}
	}
}

// scaleC sets C = beta*C, writing zeros outright when beta == 0 so NaNs in C do not survive.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// checkSgemm panics with a precise message when the arguments cannot describe the matrices.
func checkSgemm(fn string, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: %s: negative dimension m=%d n=%d k=%d", fn, m, n, k))
	}
	aRows, aCols := m, k
	if transA {
		aRows, aCols = k, m
	}
	bRows, bCols := k, n
	if transB {
		bRows, bCols = n, k
	}
	checkOperand(fn, "A", a, aRows, aCols, lda)
	checkOperand(fn, "B", b, bRows, bCols, ldb)
	checkOperand(fn, "C", c, m, n, ldc)
}

// checkOperand checks that x can hold a rows x cols row-major matrix with row stride ld.
func checkOperand(fn, name string, x []float32, rows, cols, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("kernels: %s: stride of %s is %d, want at least %d (its row length)", fn, name, ld, max(1, cols)))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(x) < need {
		panic(fmt.Sprintf("kernels: %s: %s has %d elements, want at least %d for %d x %d with stride %d", fn, name, len(x), need, rows, cols, ld))
	}
}
