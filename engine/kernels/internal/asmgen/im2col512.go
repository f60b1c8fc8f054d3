package main

// The AVX-512 set's data movement of the convolutions: im2col, col2im and the padded copy.
// The engine's rows are narrow (4, 8, 12 or 24 floats), where the AVX2 kernels spend a YMM, an
// XMM and their loop on each row. Here:
//
//   - im2col fills whole ZMM stores from several source rows at once: a kernel position's rows
//     lie back to back in the destination, so a row of 12 floats and the first 4 of the next
//     make one store (4 rows of 12 in 3 stores), each row piece a masked load at an offset
//     that puts it in its lanes (a half of 8 floats: a YMM load or VINSERTF32X8, which read
//     only those 32 bytes). Loads are cheaper than stores, and the masked-off lanes of a load
//     touch no memory. Where the destination is in L2 rather than L1 (the engine's larger
//     im2col matrices), the writes' cache traffic bounds both kernels, and this one gains
//     little over the AVX2 one on rows of 12 or more.
//   - col2im adds all the kernel positions of a destination row at once when the row they
//     touch fits one ZMM: the row is loaded once, each position's source row added under the
//     mask of its lanes (shifted one lane per position) and stored once, where the AVX2 kernel
//     loads and stores the row once per position. Each element gets the same additions in the
//     same order (position by position), so the bits are the AVX2 kernel's. Its stores are
//     pieces of the row's exact width (storeRow), not masked ZMM stores, which would make the
//     next row's load wait.
//   - the padded copy writes a padded row of up to 16 floats with one store of a masked load
//     that has the zeros of the padding in its masked-off lanes, and the zero rows with whole
//     ZMM stores, where the AVX2 kernel writes the padding one float at a time.
//
// im2col and col2im take a kernel's rows at once: the engine calls them once per channel (or,
// for a 1x1 kernel, once for all channels) rather than once per kernel row, each call moving
// as little as 1,280 floats in the inception net's conv2, so that the checks and the set-up
// (the width's dispatch, the masks) run once per channel. The kernel rows run one after
// another, each as a call of its own would, and what stays in memory between them (their
// bases and count) lives in the frame.
//
// Copies are exact and the additions are the reference's, so all three give the Go
// reference's bits.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// maxFusedPositions is the most kernel positions col2imFusedAVX512 adds per row: the
// engine's kernels are 1, 3 and 5 wide.
const maxFusedPositions = 6

func im2col512Kernels() {
	padCopy512Kernel()
	shiftPad512Kernel()
	im2col512Kernel()
	col2imFused512Kernel()
}

// lowMask sets k to the mask of the low n lanes; n (kept) is 0..16.
func lowMask(n reg.GPVirtual, k Op) {
	t := GP32()
	MOVL(U32(0xffff), t)
	BZHIL(n.As32(), t, t)
	KMOVW(t, k)
}

// constMask sets k to the constant lane mask m.
func constMask(m uint16, k Op) {
	t := GP32()
	MOVL(U32(uint32(m)), t)
	KMOVW(t, k)
}

// kernelRowLoop is a kernel's loop over kernel rows: the bases of the current one in dst and
// src, and how many are left, in the frame.
type kernelRowLoop struct {
	dst, src, left Mem
}

// newKernelRows starts a kernel that takes kernel rows: it puts the first one's bases (dst's
// and src's) and the count of kernel rows in the frame, and ends the kernel (at name_done) if
// there are none.
func newKernelRows(name string) kernelRowLoop {
	c := kernelRowLoop{dst: AllocLocal(8), src: AllocLocal(8), left: AllocLocal(8)}
	t := GP64()
	Load(Param("kernelRows"), t)
	TESTQ(t, t)
	JE(LabelRef(name + "_done"))
	MOVQ(t, c.left)
	Load(Param("dst").Base(), t)
	MOVQ(t, c.dst)
	Load(Param("src").Base(), t)
	MOVQ(t, c.src)
	return c
}

// next moves the bases on to the next kernel row (t is scratch) and jumps to again if any is left.
func (c kernelRowLoop) next(t reg.GPVirtual, again string) {
	Load(Param("dstKernelRow"), t)
	SHLQ(U8(2), t)
	ADDQ(t, c.dst)
	Load(Param("srcKernelRow"), t)
	SHLQ(U8(2), t)
	ADDQ(t, c.src)
	DECQ(c.left)
	JNZ(LabelRef(again))
}

// rowOp512 runs op over k floats at p and q: whole ZMM vectors, then op(true) for the last
// k%16, whose mask is tail. It advances p and q past the whole vectors and leaves k at k%16;
// what op(true) advances is up to it.
func rowOp512(name string, p, q, k reg.GPVirtual, tail Op, op func(masked bool)) {
	Label(name + "_vec")
	CMPQ(k, U8(16))
	JL(LabelRef(name + "_tail"))
	op(false)
	ADDQ(U8(64), p)
	ADDQ(U8(64), q)
	SUBQ(U8(16), k)
	JMP(LabelRef(name + "_vec"))
	Label(name + "_tail")
	TESTQ(k, k)
	JE(LabelRef(name + "_end"))
	op(true)
	Label(name + "_end")
}

// copyVec512 copies a ZMM of floats from src to dst through v; masked, only the lanes of tail
// (the load touches no memory past them).
func copyVec512(src, dst Mem, v reg.VecPhysical, tail Op, masked bool) {
	if masked {
		VMOVUPS_Z(src, tail, v)
		VMOVUPS(v, tail, dst)
		return
	}
	VMOVUPS(src, v)
	VMOVUPS(v, dst)
}

// zeros512 writes n (kept) zero floats at p and advances p past them; tail holds the mask of
// the n%16 low lanes, zero the zero ZMM, k is scratch.
func zeros512(name string, p, n, k reg.GPVirtual, tail Op, zero reg.VecPhysical) {
	MOVQ(n, k)
	Label(name + "_vec")
	CMPQ(k, U8(16))
	JL(LabelRef(name + "_tail"))
	VMOVUPS(zero, Mem{Base: p})
	ADDQ(U8(64), p)
	SUBQ(U8(16), k)
	JMP(LabelRef(name + "_vec"))
	Label(name + "_tail")
	VMOVUPS(zero, tail, Mem{Base: p}) // no lanes when k is 0
	LEAQ(Mem{Base: p, Index: k, Scale: 4}, p)
}

// padCopy512Kernel emits padCopyAVX512, padCopyAVX2 on ZMM registers.
func padCopy512Kernel() {
	name := "padCopyAVX512"
	TEXT(name, NOSPLIT, "func(dst, src []float32, images, srcImage, srcStride, top, rows, padL, cols, padR, bottom int)")
	Pragma("noescape")
	Doc(name+" copies images into padded ones: for each of images images, top zeros, rows",
		"rows of padL zeros, cols floats of src and padR zeros, and bottom zeros. Image i's rows",
		"start srcImage*i floats into src, srcStride floats apart.")
	d := gp(Param("dst").Base())
	img := gp(Param("src").Base())
	images := gp(Param("images"))
	srcStride := gpBytes(Param("srcStride"))
	padL, cols, padR := gp(Param("padL")), gp(Param("cols")), gp(Param("padR"))
	width, q, r, k, t := GP64(), GP64(), GP64(), GP64(), GP64()
	zero := reg.Z0
	VPXORD(zero, zero, zero)
	// K1: top%16 lanes, K2: bottom%16, K3: width%16, K4: cols%16.
	Load(Param("top"), t)
	ANDQ(U8(15), t)
	lowMask(t, reg.K1)
	Load(Param("bottom"), t)
	ANDQ(U8(15), t)
	lowMask(t, reg.K2)
	MOVQ(padL, width)
	ADDQ(cols, width)
	ADDQ(padR, width)
	MOVQ(width, t)
	ANDQ(U8(15), t)
	lowMask(t, reg.K3)
	MOVQ(cols, t)
	ANDQ(U8(15), t)
	lowMask(t, reg.K4)
	// A narrow row is one masked load, from padL floats before the row so that the row lands
	// in lanes padL.., with the padding's lanes masked off (K5), and one store of width lanes
	// (K3, as width < 16).
	narrow := GP64()
	XORQ(narrow, narrow)
	CMPQ(width, U8(16))
	JGE(LabelRef(name + "_image"))
	MOVQ(U32(1), narrow)
	MOVL(U32(0xffff), t.As32())
	BZHIL(cols.As32(), t.As32(), t.As32())
	SHLXL(padL.As32(), t.As32(), t.As32())
	KMOVW(t.As32(), reg.K5)

	Label(name + "_image")
	TESTQ(images, images)
	JE(LabelRef(name + "_done"))
	Load(Param("top"), r)
	zeros512(name+"_top", d, r, k, reg.K1, zero)
	MOVQ(img, q)
	Load(Param("rows"), r)
	TESTQ(narrow, narrow)
	JE(LabelRef(name + "_row"))

	Label(name + "_nrow")
	TESTQ(r, r)
	JE(LabelRef(name + "_bottom"))
	MOVQ(padL, t)
	SHLQ(U8(2), t)
	NEGQ(t)
	VMOVUPS_Z(Mem{Base: q, Index: t, Scale: 1}, reg.K5, reg.Z1)
	VMOVUPS(reg.Z1, reg.K3, Mem{Base: d})
	LEAQ(Mem{Base: d, Index: width, Scale: 4}, d)
	ADDQ(srcStride, q)
	DECQ(r)
	JMP(LabelRef(name + "_nrow"))

	Label(name + "_row")
	TESTQ(r, r)
	JE(LabelRef(name + "_bottom"))
	// Zeros over the whole row, then the copy over them.
	MOVQ(d, t)
	zeros512(name+"_clear", t, width, k, reg.K3, zero)
	LEAQ(Mem{Base: d, Index: padL, Scale: 4}, d)
	MOVQ(q, t)
	MOVQ(cols, k)
	rowOp512(name+"_copy", d, t, k, reg.K4, func(masked bool) {
		copyVec512(Mem{Base: t}, Mem{Base: d}, reg.Z1, reg.K4, masked)
	})
	// rowOp512 left d past the whole vectors of the copy: on past its tail and padR.
	LEAQ(Mem{Base: d, Index: k, Scale: 4}, d)
	LEAQ(Mem{Base: d, Index: padR, Scale: 4}, d)
	ADDQ(srcStride, q)
	DECQ(r)
	JMP(LabelRef(name + "_row"))

	Label(name + "_bottom")
	Load(Param("bottom"), r)
	zeros512(name+"_bottomzeros", d, r, k, reg.K2, zero)
	Load(Param("srcImage"), t)
	LEAQ(Mem{Base: img, Index: t, Scale: 4}, img)
	DECQ(images)
	JMP(LabelRef(name + "_image"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// shiftPad512Kernel emits shiftPadAVX512: one kernel column's shifted copy of padded planes
// (shiftedPlanesDirect in package kernels), straight from the unpadded images. Each row is one
// masked load whose masked-off lanes are the padding's zeros and one store of the output's
// width, which with padCopy and im2col took a padded copy, written and then read back row by
// row with loads that straddle its stores.
func shiftPad512Kernel() {
	name := "shiftPadAVX512"
	TEXT(name, NOSPLIT, "func(dst, src []float32, images, srcImage, H, W, pad, ow, shift int, lanes uint16)")
	Pragma("noescape")
	Doc(name+" writes, for each of images images (image i's H rows of W floats from",
		"srcImage*i on), pad rows of ow zeros, then H rows of ow floats, lane j of row y holding",
		"src[y*W + j + shift] where lanes has bit j set and 0 elsewhere, then pad rows of zeros,",
		"all back to back into dst. ow is at most 16; lanes may name only floats inside the row.")
	d := gp(Param("dst").Base())
	img := gp(Param("src").Base())
	images := gp(Param("images"))
	srcImage := gpBytes(Param("srcImage"))
	rowBytes := gpBytes(Param("W"))
	pad, ow := gp(Param("pad")), gp(Param("ow"))
	outBytes := GP64()
	MOVQ(ow, outBytes)
	SHLQ(U8(2), outBytes)
	shift := gpBytes(Param("shift"))
	t, q, r := GP64(), GP64(), GP64()
	// K1: the lanes loaded, K2: the output's width.
	Load(Param("lanes"), t.As16())
	KMOVW(t.As32(), reg.K1)
	lowMask(ow, reg.K2)
	zero := reg.Z0
	VPXORD(zero, zero, zero)

	zeroRows := func(label string) {
		MOVQ(pad, r)
		Label(label)
		TESTQ(r, r)
		JE(LabelRef(label + "_end"))
		VMOVUPS(zero, reg.K2, Mem{Base: d})
		ADDQ(outBytes, d)
		DECQ(r)
		JMP(LabelRef(label))
		Label(label + "_end")
	}
	Label(name + "_image")
	TESTQ(images, images)
	JE(LabelRef(name + "_done"))
	zeroRows(name + "_top")
	LEAQ(Mem{Base: img, Index: shift, Scale: 1}, q)
	Load(Param("H"), r)
	Label(name + "_row")
	VMOVUPS_Z(Mem{Base: q}, reg.K1, reg.Z1)
	VMOVUPS(reg.Z1, reg.K2, Mem{Base: d})
	ADDQ(outBytes, d)
	ADDQ(rowBytes, q)
	DECQ(r)
	JNZ(LabelRef(name + "_row"))
	zeroRows(name + "_bottom")
	ADDQ(srcImage, img)
	DECQ(images)
	JMP(LabelRef(name + "_image"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// packWidths are the row widths im2colAVX512 packs into whole ZMM stores: the engine's output
// widths (4, 8, 12, 24) and the other multiples of 4 up to 32.
var packWidths = []int{4, 8, 12, 16, 20, 24, 28, 32}

// piece is the part of one source row that goes into one ZMM of a packed group: lanes lo..hi-1,
// loaded from the row's float at, minus lo (the lanes before lo are masked off).
type piece struct {
	row, lo, hi, from int
}

// packGroup splits a group of rows of w floats, back to back, into the pieces of each of its
// ZMM stores. A group is the fewest rows that fill whole ZMMs: 16/gcd(w, 16).
func packGroup(w int) (rows int, zmms [][]piece) {
	rows = 1
	for rows*w%16 != 0 {
		rows++
	}
	zmms = make([][]piece, rows*w/16)
	for j := range zmms {
		for r := range rows {
			lo, hi := max(r*w, 16*j), min((r+1)*w, 16*j+16)
			if lo < hi {
				zmms[j] = append(zmms[j], piece{row: r, lo: lo - 16*j, hi: hi - 16*j, from: 16*j - r*w})
			}
		}
	}
	return rows, zmms
}

// im2col512Kernel emits im2colAVX512, im2colAVX2 on ZMM registers, with the rows of a width in
// packWidths packed into whole stores.
func im2col512Kernel() {
	name := "im2colAVX512"
	TEXT(name, NOSPLIT, "func(dst, src []float32, kernelRows, dstKernelRow, srcKernelRow, positions, dstPos, images, srcImage, srcStride, rows, cols int)")
	Pragma("noescape")
	Doc(name+" copies, for each of kernelRows kernel rows (dst dstKernelRow and src srcKernelRow",
		"floats further each), for each of positions kernel positions (src one float further, dst dstPos",
		"floats further each time) and each of images images, rows rows of cols floats of src",
		"(srcStride floats apart, image i's from srcImage*i on) back to back into dst. rows must be",
		"at least 1.")
	kr := newKernelRows(name)
	dPos, sPos, positions := GP64(), GP64(), GP64()
	stride := gpBytes(Param("srcStride"))
	cols := gp(Param("cols"))
	d, img, images, q, r, k := GP64(), GP64(), GP64(), GP64(), GP64(), GP64()
	for _, w := range packWidths {
		CMPQ(cols, U8(w))
		JE(LabelRef(fmt.Sprintf("%s_w%d", name, w)))
	}
	// loops emits the kernel row, position and image loops around image, which copies one image's
	// rows from q to d and leaves d past them.
	loops := func(label string, image func()) {
		Label(label + "_kernelrow")
		MOVQ(kr.dst, dPos)
		MOVQ(kr.src, sPos)
		Load(Param("positions"), positions)
		Label(label)
		TESTQ(positions, positions)
		JE(LabelRef(label + "_kernelrowdone"))
		MOVQ(dPos, d)
		MOVQ(sPos, img)
		Load(Param("images"), images)
		Label(label + "_image")
		TESTQ(images, images)
		JE(LabelRef(label + "_next"))
		MOVQ(img, q)
		image()
		Load(Param("srcImage"), k)
		LEAQ(Mem{Base: img, Index: k, Scale: 4}, img)
		DECQ(images)
		JMP(LabelRef(label + "_image"))
		Label(label + "_next")
		Load(Param("dstPos"), k)
		LEAQ(Mem{Base: dPos, Index: k, Scale: 4}, dPos)
		ADDQ(U8(4), sPos)
		DECQ(positions)
		JMP(LabelRef(label))
		Label(label + "_kernelrowdone")
		kr.next(k, label+"_kernelrow")
		JMP(LabelRef(name + "_done"))
	}
	// oneRow copies a row of cols floats from q to d, advancing d past it; tail is the mask
	// of cols%16 lanes. q is kept.
	t := GP64()
	oneRow := func(label string, tail Op) {
		MOVQ(q, t)
		MOVQ(cols, k)
		rowOp512(label, d, t, k, tail, func(masked bool) {
			copyVec512(Mem{Base: t}, Mem{Base: d}, reg.Z0, tail, masked)
		})
		LEAQ(Mem{Base: d, Index: k, Scale: 4}, d)
	}

	// Any width: row by row.
	Label(name + "_any")
	MOVQ(cols, t)
	ANDQ(U8(15), t)
	lowMask(t, reg.K7)
	loops(name+"_anyrows", func() {
		Load(Param("rows"), r)
		Label(name + "_anyrow")
		oneRow(name+"_anycopy", reg.K7)
		ADDQ(stride, q)
		DECQ(r)
		JNZ(LabelRef(name + "_anyrow"))
	})

	stride3 := GP64()
	for _, w := range packWidths {
		label := fmt.Sprintf("%s_w%d", name, w)
		group, zmms := packGroup(w)
		Label(label)
		// The lane masks of the pieces, K1.. in order of first use, and K7 that of a single
		// row's last partial ZMM.
		masks := map[[2]int]reg.OpmaskPhysical{}
		next := []reg.OpmaskPhysical{reg.K1, reg.K2, reg.K3, reg.K4, reg.K5, reg.K6}
		for _, z := range zmms {
			for _, p := range z {
				if _, ok := masks[[2]int{p.lo, p.hi}]; ok || p.hi-p.lo == 16 {
					continue
				}
				if len(next) == 0 {
					panic(fmt.Sprintf("im2col512: too many masks for width %d", w))
				}
				masks[[2]int{p.lo, p.hi}] = next[0]
				constMask(uint16((1<<p.hi)-(1<<p.lo)), next[0])
				next = next[1:]
			}
		}
		constMask(uint16(1<<(w%16)-1), reg.K7)
		LEAQ(Mem{Base: stride, Index: stride, Scale: 2}, stride3)
		// rowAt is row r of the group at byte offset disp.
		rowAt := func(r, disp int) Mem {
			switch r {
			case 0:
				return Mem{Base: q, Disp: disp}
			case 1, 2:
				return Mem{Base: q, Index: stride, Scale: uint8(r), Disp: disp}
			case 3:
				return Mem{Base: q, Index: stride3, Scale: 1, Disp: disp}
			}
			panic("im2col512: a group has at most 4 rows")
		}
		loops(label+"_rows", func() {
			Load(Param("rows"), r)
			Label(label + "_group")
			CMPQ(r, U8(group))
			JL(LabelRef(label + "_single"))
			for j, z := range zmms {
				v := reg.Z0
				if j%2 == 1 {
					v = reg.Z1
				}
				for i, p := range z {
					at := rowAt(p.row, 4*(p.from))
					switch {
					case p.hi-p.lo == 16:
						VMOVUPS(at, v)
					case p.lo == 0 && p.hi == 8: // a whole YMM, zeroing the upper half
						VMOVUPS(at, v.AsY())
					case i > 0 && p.lo == 8 && p.hi == 16:
						at.Disp += 32
						VINSERTF32X8(U8(1), at, v, v)
					case i == 0:
						VMOVUPS_Z(at, masks[[2]int{p.lo, p.hi}], v)
					default:
						VMOVUPS(at, masks[[2]int{p.lo, p.hi}], v)
					}
				}
				VMOVUPS(v, Mem{Base: d, Disp: 64 * j})
			}
			ADDQ(U32(4*group*w), d)
			switch group {
			case 1:
				ADDQ(stride, q)
			case 2:
				LEAQ(Mem{Base: q, Index: stride, Scale: 2}, q)
			case 4:
				LEAQ(Mem{Base: q, Index: stride, Scale: 4}, q)
			}
			SUBQ(U8(group), r)
			JMP(LabelRef(label + "_group"))
			// The rows that do not make a whole group.
			Label(label + "_single")
			TESTQ(r, r)
			JE(LabelRef(label + "_imagedone"))
			oneRow(label+"_copy", reg.K7)
			ADDQ(stride, q)
			DECQ(r)
			JMP(LabelRef(label + "_single"))
			Label(label + "_imagedone")
		})
	}
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// col2imFused512Kernel emits col2imFusedAVX512, which adds every kernel position of a row at
// once: for rows whose positions touch at most 16 floats of dst.
//
// A masked store covers its vector's whole width whatever its mask, and a load that overlaps
// a store still in the store buffer waits until the store has left it: storing a row of 12
// floats under the mask of a ZMM and then loading the next row, 48 bytes on, would wait on
// every row (the AVX2 kernel's exact stores do not). So each row's dst is loaded before the
// previous row is stored, and the vectors are the narrowest that hold a row (a YMM up to 8
// floats, an XMM up to 4), so that a store's range never reaches the row after next.
func col2imFused512Kernel() {
	name := "col2imFusedAVX512"
	TEXT(name, NOSPLIT, "func(dst, src []float32, kernelRows, dstKernelRow, srcKernelRow, positions, srcPos, images, dstImage, dstStride, srcImage, srcStride, rows, cols int)")
	Pragma("noescape")
	Doc(name+" adds, for each of kernelRows kernel rows (dst dstKernelRow and src srcKernelRow",
		"floats further each), for each of positions kernel positions (dst one float further, src srcPos",
		"floats further each time) and each of images images, rows rows of cols floats of src into",
		"dst, all the positions of a row at once. Image i's rows start dstImage*i floats into dst,",
		"dstStride apart, and srcImage*i floats into src, srcStride apart. rows must be at least 1,",
		fmt.Sprintf("positions 1..%d, cols+positions-1 at most 16 and at most dstStride, and a", maxFusedPositions),
		"kernel row's images must not overlap. Each element of dst gets its additions in kernel",
		"row and position order.")
	kr := newKernelRows(name)
	positions := gp(Param("positions"))
	for n := 1; n <= maxFusedPositions; n++ {
		CMPQ(positions, U8(n))
		JE(LabelRef(fmt.Sprintf("%s_p%d", name, n)))
	}
	JMP(LabelRef(name + "_done"))
	kp := []reg.OpmaskPhysical{reg.K1, reg.K2, reg.K3, reg.K4, reg.K5, reg.K6}
	for n := 1; n <= maxFusedPositions; n++ {
		pl := fmt.Sprintf("%s_p%d", name, n)
		Label(pl)
		// K1..Kn: position i's lanes, cols of them from lane i. K7: the row's, cols+n-1.
		span := GP64()
		Load(Param("cols"), span)
		lowMask(span, reg.K1)
		for i := 1; i < n; i++ {
			KSHIFTLW(U8(i), reg.K1, kp[i])
		}
		ADDQ(U8(n-1), span)
		lowMask(span, reg.K7)
		CMPQ(span, U8(8))
		JG(LabelRef(pl + "_zmm"))
		CMPQ(span, U8(4))
		JG(LabelRef(pl + "_ymm"))
		JMP(LabelRef(pl + "_xmm"))
		for _, vw := range []struct {
			label  string
			v0, v1 reg.VecPhysical
		}{{"_zmm", reg.Z0, reg.Z1}, {"_ymm", reg.Y0, reg.Y1}, {"_xmm", reg.X0, reg.X1}} {
			label := pl + vw.label
			Label(label)
			// Each path loads its registers afresh: avo's allocator sees them as one program.
			dImg, sImg := GP64(), GP64()
			dstStride, srcStride := gp(Param("dstStride")), gp(Param("srcStride"))
			SHLQ(U8(2), dstStride)
			SHLQ(U8(2), srcStride)
			images, p, q, q3, r, k, step := GP64(), GP64(), GP64(), GP64(), GP64(), GP64(), GP64()
			// Position i's row is srcPos*i floats further in src, read from i floats before
			// it so that it lands in lanes i..: step is srcPos-1 floats in bytes, and position
			// i reads at q + i*step (from q3 = q + 3*step for i >= 3).
			Load(Param("srcPos"), step)
			DECQ(step)
			SHLQ(U8(2), step)
			srcAt := func(i int) Mem {
				switch i {
				case 0:
					return Mem{Base: q}
				case 1, 2:
					return Mem{Base: q, Index: step, Scale: uint8(i)}
				case 3:
					return Mem{Base: q3}
				default:
					return Mem{Base: q3, Index: step, Scale: uint8(i - 3)}
				}
			}
			// addStore adds the positions' rows into v and stores its row.
			addStore := func(v reg.VecPhysical) {
				for i := range n {
					VADDPS(srcAt(i), v, kp[i], v)
				}
				VMOVUPS(v, reg.K7, Mem{Base: p})
			}
			// newImage points p, q and q3 at the first rows of the image at dImg and sImg.
			newImage := func() {
				MOVQ(dImg, p)
				MOVQ(sImg, q)
				if n > 3 {
					LEAQ(Mem{Base: step, Index: step, Scale: 2}, q3)
					ADDQ(q, q3)
				}
				Load(Param("rows"), r)
			}
			// A kernel row's rows are all stored before the next one's are loaded, which
			// overlap them.
			Label(label + "_kernelrow")
			MOVQ(kr.dst, dImg)
			MOVQ(kr.src, sImg)
			Load(Param("images"), images)
			newImage()
			VMOVUPS_Z(Mem{Base: p}, reg.K7, vw.v1)
			Label(label + "_row")
			DECQ(r)
			JZ(LabelRef(label + "_last"))
			VMOVAPS(vw.v1, vw.v0)
			VMOVUPS_Z(Mem{Base: p, Index: dstStride, Scale: 1}, reg.K7, vw.v1)
			addStore(vw.v0)
			ADDQ(dstStride, p)
			ADDQ(srcStride, q)
			if n > 3 {
				ADDQ(srcStride, q3)
			}
			JMP(LabelRef(label + "_row"))
			// An image's last row: the next image's first is loaded before it is stored too.
			Label(label + "_last")
			DECQ(images)
			JZ(LabelRef(label + "_final"))
			Load(Param("dstImage"), k)
			LEAQ(Mem{Base: dImg, Index: k, Scale: 4}, dImg)
			Load(Param("srcImage"), k)
			LEAQ(Mem{Base: sImg, Index: k, Scale: 4}, sImg)
			VMOVAPS(vw.v1, vw.v0)
			VMOVUPS_Z(Mem{Base: dImg}, reg.K7, vw.v1)
			addStore(vw.v0)
			newImage()
			JMP(LabelRef(label + "_row"))
			Label(label + "_final")
			addStore(vw.v1)
			kr.next(k, label+"_kernelrow")
			JMP(LabelRef(name + "_done"))
		}
	}
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
