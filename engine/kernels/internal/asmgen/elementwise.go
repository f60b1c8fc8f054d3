package main

// The convolution's data movement and activation kernels: im2col's and col2im's row copies, and
// the passes that apply bias, ReLU, a residual addition or 2x2 max pooling to a GEMM's output
// (and undo them on the gradient). They are memory-bound loops that Go compiles to scalar
// code with data-dependent branches; here they run eight floats at a time without branches.
//
// Kernels that return a sum keep eight partial sums, one per vector lane, over the whole
// vectors only; the Go wrappers add the last n%8 elements themselves. The pure-Go versions
// in package kernels follow the same order, so both give the same bits.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/gotypes"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

func elementwiseKernels() {
	padCopyKernel()
	im2colKernel()
	col2imKernel()
	biasKernel("addBiasAVX2", "dst = src + bias", false, false)
	biasKernel("addBiasReLUAVX2", "dst = max(src + bias, 0)", true, false)
	biasKernel("addBiasSkipReLUAVX2", "dst = max(skip + (src + bias), 0)", true, true)
	gradKernel("copySumAVX2", "dst = dy", false, false)
	gradKernel("reluBackwardAVX2", "dst = dy where y > 0, else 0", true, false)
	gradKernel("skipReLUBackwardAVX2", "dst = dy where y > 0, else 0, and dskip += dst", true, true)
	reluPoolKernel()
	reluPoolBackwardKernel()
	sgdKernel()
	pool := emitPool512Tables()
	reluPool512Kernel(pool)
	reluPool512BackwardKernel(pool)
}

// padCopyKernel emits padCopyAVX2, which copies images (or planes) into zero-padded ones. Image
// i's part of dst is contiguous: top zeros, rows rows of padL zeros, cols floats copied from
// src and padR zeros, then bottom zeros; the next image's part follows. Image i reads rows
// srcStride floats apart from srcImage*i floats into src.
func padCopyKernel() {
	name := "padCopyAVX2"
	TEXT(name, NOSPLIT, "func(dst, src []float32, images, srcImage, srcStride, top, rows, padL, cols, padR, bottom int)")
	Pragma("noescape")
	Doc(name+" copies images into padded ones: for each of images images, top zeros, rows",
		"rows of padL zeros, cols floats of src and padR zeros, and bottom zeros. Image i's rows",
		"start srcImage*i floats into src, srcStride floats apart.")
	d := gp(Param("dst").Base())
	img := gp(Param("src").Base())
	images := gp(Param("images"))
	srcImage := gpBytes(Param("srcImage"))
	srcStride := gpBytes(Param("srcStride"))
	padL, cols, padR := gp(Param("padL")), gp(Param("cols")), gp(Param("padR"))
	q, r, k := GP64(), GP64(), GP64()

	Label(name + "_image")
	TESTQ(images, images)
	JE(LabelRef(name + "_done"))
	Load(Param("top"), r)
	zeros(name+"_top", d, r, k)
	MOVQ(img, q)
	Load(Param("rows"), r)
	Label(name + "_row")
	TESTQ(r, r)
	JE(LabelRef(name + "_bottom"))
	zeros(name+"_left", d, padL, k)
	MOVQ(cols, k)
	rowOp(name+"_copy", d, q, k, func(w width) {
		w.move(Mem{Base: q}, w.x(0))
		w.move(w.x(0), Mem{Base: d})
	})
	// rowOp left q at the end of the run: back to the row's start, then on to the next row.
	MOVQ(cols, k)
	SHLQ(U8(2), k)
	SUBQ(k, q)
	ADDQ(srcStride, q)
	zeros(name+"_right", d, padR, k)
	DECQ(r)
	JMP(LabelRef(name + "_row"))
	Label(name + "_bottom")
	Load(Param("bottom"), r)
	zeros(name+"_bottomzeros", d, r, k)
	ADDQ(srcImage, img)
	DECQ(images)
	JMP(LabelRef(name + "_image"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// rowWidths are the row lengths (in floats) that im2colAVX2 and col2imAVX2 have unrolled loops
// for: every output width of the engine's convolutions (4, 8, 12, 24) and the ones between.
var rowWidths = []int{4, 8, 12, 16, 20, 24, 28, 32}

// im2colKernel emits im2colAVX2, rows of an im2col matrix: for each of positions kernel
// positions along a kernel row (the source shifted one float further each, the destination
// dstPos floats further), for each of images images, rows rows of cols floats (srcStride
// apart; the image srcImage floats after the last) copied back to back. Rows of a width in
// rowWidths run an unrolled loop; others go a vector at a time.
func im2colKernel() {
	name := "im2colAVX2"
	TEXT(name, NOSPLIT, "func(dst, src []float32, positions, dstPos, images, srcImage, srcStride, rows, cols int)")
	Pragma("noescape")
	Doc(name+" copies, for each of positions kernel positions (src one float further, dst dstPos",
		"floats further each time) and each of images images, rows rows of cols floats of src",
		"(srcStride floats apart, image i's from srcImage*i on) back to back into dst. rows must be",
		"at least 1.")
	dPos := gp(Param("dst").Base())
	sPos := gp(Param("src").Base())
	positions := gp(Param("positions"))
	dstPos := gpBytes(Param("dstPos"))
	srcImage := gpBytes(Param("srcImage"))
	srcStride := gpBytes(Param("srcStride"))
	cols := gp(Param("cols"))
	d, img, images, q, r, k := GP64(), GP64(), GP64(), GP64(), GP64(), GP64()
	for _, w := range rowWidths {
		CMPQ(cols, U8(w))
		JE(LabelRef(fmt.Sprintf("%s_w%d", name, w)))
	}
	// loops emits the position, image and row loops around row, which copies one row from q
	// to d and leaves q at its start and d past it.
	loops := func(label string, row func()) {
		Label(label)
		TESTQ(positions, positions)
		JE(LabelRef(name + "_done"))
		MOVQ(dPos, d)
		MOVQ(sPos, img)
		Load(Param("images"), images)
		Label(label + "_image")
		TESTQ(images, images)
		JE(LabelRef(label + "_next"))
		MOVQ(img, q)
		Load(Param("rows"), r)
		Label(label + "_row")
		row()
		ADDQ(srcStride, q)
		DECQ(r)
		JNZ(LabelRef(label + "_row"))
		ADDQ(srcImage, img)
		DECQ(images)
		JMP(LabelRef(label + "_image"))
		Label(label + "_next")
		ADDQ(dstPos, dPos)
		ADDQ(U8(4), sPos)
		DECQ(positions)
		JMP(LabelRef(label))
	}
	// The general case: any width, with rowOp.
	loops(name+"_any", func() {
		MOVQ(cols, k)
		rowOp(name+"_copy", d, q, k, func(w width) {
			w.move(Mem{Base: q}, w.x(0))
			w.move(w.x(0), Mem{Base: d})
		})
		MOVQ(cols, k)
		SHLQ(U8(2), k)
		SUBQ(k, q)
	})
	for _, w := range rowWidths {
		loops(fmt.Sprintf("%s_w%d", name, w), func() {
			for _, v := range vectors(w) {
				v.width.move(Mem{Base: q, Disp: 4 * v.at}, v.width.x(v.reg))
				v.width.move(v.width.x(v.reg), Mem{Base: d, Disp: 4 * v.at})
			}
			ADDQ(U8(4*w), d)
		})
	}
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// vector is one load or store of a row of a width in rowWidths: width floats at float offset
// at, through register reg.
type vector struct {
	width   width
	at, reg int
}

// vectors splits a row of w floats (a multiple of 4, at most 32) into YMM vectors and at most
// one XMM vector.
func vectors(w int) []vector {
	var vs []vector
	for at := 0; at < w; {
		wd := width(8)
		if w-at < 8 {
			wd = 4
		}
		vs = append(vs, vector{width: wd, at: at, reg: len(vs)})
		at += int(wd)
	}
	return vs
}

// col2imKernel emits col2imAVX2, im2colAVX2's adjoint with strides on both sides: for each of
// positions kernel positions (dst one float further, src srcPos floats further each time), for
// each of images images, rows rows of cols floats of src (srcStride apart, the image's part
// srcImage floats after the last's) are added into rows of dst (dstStride apart, dstImage
// after the last's). Rows of a width in rowWidths run an unrolled loop.
func col2imKernel() {
	name := "col2imAVX2"
	TEXT(name, NOSPLIT, "func(dst, src []float32, positions, srcPos, images, dstImage, dstStride, srcImage, srcStride, rows, cols int)")
	Pragma("noescape")
	Doc(name+" adds, for each of positions kernel positions (dst one float further, src srcPos",
		"floats further each time) and each of images images, rows rows of cols floats of src into",
		"dst. Image i's rows start dstImage*i floats into dst, dstStride apart, and srcImage*i",
		"floats into src, srcStride apart. rows must be at least 1.")
	dPos := gp(Param("dst").Base())
	sPos := gp(Param("src").Base())
	positions := gp(Param("positions"))
	srcPos := gp(Param("srcPos"))
	dstStride, srcStride := gp(Param("dstStride")), gp(Param("srcStride"))
	for _, x := range []reg.GPVirtual{srcPos, dstStride, srcStride} {
		SHLQ(U8(2), x)
	}
	cols := gp(Param("cols"))
	dImg, sImg, images, p, q, r := GP64(), GP64(), GP64(), GP64(), GP64(), GP64()
	for _, w := range rowWidths {
		CMPQ(cols, U8(w))
		JE(LabelRef(fmt.Sprintf("%s_w%d", name, w)))
	}
	// loops emits the position, image and row loops around row, which adds one row of q into
	// p and leaves both at the row's start. The image strides come from memory: there are not
	// registers enough for them.
	loops := func(label string, row func()) {
		Label(label)
		TESTQ(positions, positions)
		JE(LabelRef(name + "_done"))
		MOVQ(dPos, dImg)
		MOVQ(sPos, sImg)
		Load(Param("images"), images)
		Label(label + "_image")
		TESTQ(images, images)
		JE(LabelRef(label + "_next"))
		MOVQ(dImg, p)
		MOVQ(sImg, q)
		Load(Param("rows"), r)
		Label(label + "_row")
		row()
		ADDQ(dstStride, p)
		ADDQ(srcStride, q)
		DECQ(r)
		JNZ(LabelRef(label + "_row"))
		Load(Param("dstImage"), r)
		SHLQ(U8(2), r)
		ADDQ(r, dImg)
		Load(Param("srcImage"), r)
		SHLQ(U8(2), r)
		ADDQ(r, sImg)
		DECQ(images)
		JMP(LabelRef(label + "_image"))
		Label(label + "_next")
		ADDQ(U8(4), dPos)
		ADDQ(srcPos, sPos)
		DECQ(positions)
		JMP(LabelRef(label))
	}
	k := GP64()
	loops(name+"_any", func() {
		MOVQ(cols, k)
		rowOp(name+"_add", p, q, k, func(w width) {
			w.move(Mem{Base: p}, w.x(0))
			w.move(Mem{Base: q}, w.x(1))
			w.add(w.x(1), w.x(0))
			w.move(w.x(0), Mem{Base: p})
		})
		MOVQ(cols, k)
		SHLQ(U8(2), k)
		SUBQ(k, p)
		SUBQ(k, q)
	})
	for _, w := range rowWidths {
		loops(fmt.Sprintf("%s_w%d", name, w), func() {
			for _, v := range vectors(w) {
				x := v.width.x(v.reg)
				v.width.move(Mem{Base: p, Disp: 4 * v.at}, x)
				VADDPS(Mem{Base: q, Disp: 4 * v.at}, x, x)
				v.width.move(x, Mem{Base: p, Disp: 4 * v.at})
			}
		})
	}
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// gp loads a parameter into a new general-purpose register.
func gp(c gotypes.Component) reg.GPVirtual {
	r := GP64()
	Load(c, r)
	return r
}

// gpBytes loads a count of floats from c into a new register as a count of bytes.
func gpBytes(c gotypes.Component) reg.GPVirtual {
	r := gp(c)
	SHLQ(U8(2), r)
	return r
}

// width is one of the four element counts rowOp works in: 8 (a YMM vector), 4 (XMM), 2, 1.
type width int

func (w width) bytes() int { return 4 * int(w) }

// x returns vector register i in the size of w.
func (w width) x(i int) reg.Register {
	y := []reg.VecPhysical{reg.Y0, reg.Y1, reg.Y2, reg.Y3}[i]
	if w == 8 {
		return y
	}
	return y.AsX()
}

// move copies w floats between memory and a register (either direction).
func (w width) move(src, dst Op) {
	switch w {
	case 8, 4:
		VMOVUPS(src, dst)
	case 2:
		VMOVSD(src, dst)
	case 1:
		VMOVSS(src, dst)
	}
}

// add: dst += src, on whole registers (lanes past w hold zeros or junk that is never stored).
func (w width) add(src, dst reg.Register) {
	VADDPS(src, dst, dst)
}

// rowOp runs op over k floats (k is clobbered): whole YMM vectors, then at most one piece of
// 4, 2 and 1 floats, advancing p and q past what it did.
func rowOp(name string, p, q, k reg.GPVirtual, op func(width)) {
	Label(name + "_vec")
	CMPQ(k, U8(8))
	JL(LabelRef(name + "_tail"))
	op(8)
	ADDQ(U8(32), p)
	ADDQ(U8(32), q)
	SUBQ(U8(8), k)
	JMP(LabelRef(name + "_vec"))
	Label(name + "_tail")
	for _, w := range []width{4, 2, 1} {
		skip := fmt.Sprintf("%s_no%d", name, w)
		TESTQ(U32(int(w)), k)
		JE(LabelRef(skip))
		op(w)
		ADDQ(U8(w.bytes()), p)
		ADDQ(U8(w.bytes()), q)
		Label(skip)
	}
}

// zeros writes n (kept) zero floats at p, advancing p; k is scratch.
func zeros(name string, p, n, k reg.GPVirtual) {
	MOVQ(n, k)
	Label(name)
	TESTQ(k, k)
	JE(LabelRef(name + "_end"))
	MOVL(U32(0), Mem{Base: p})
	ADDQ(U8(4), p)
	DECQ(k)
	JMP(LabelRef(name))
	Label(name + "_end")
}

// biasKernel emits a forward epilogue over n = len(src) &^ 7 floats: dst = src + bias, then
// with relu max(·, 0) (NaN stays NaN, -0 becomes +0, as Go's max does), and with skip the skip
// connection added before the ReLU.
func biasKernel(name, what string, relu, skip bool) {
	sig := "func(dst, src []float32, bias float32)"
	if skip {
		sig = "func(dst, src, skip []float32, bias float32)"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets %s for the first len(src)&^7 floats.", name, what))
	d := gp(Param("dst").Base())
	s := gp(Param("src").Base())
	var sk reg.GPVirtual
	if skip {
		sk = gp(Param("skip").Base())
	}
	n := gp(Param("src").Len())
	SHRQ(U8(3), n)
	bias, zero := reg.Y15, reg.Y14
	VBROADCASTSS(paramAddr("bias"), bias)
	VXORPS(zero, zero, zero)

	Label(name + "_loop")
	TESTQ(n, n)
	JE(LabelRef(name + "_done"))
	VADDPS(Mem{Base: s}, bias, reg.Y0)
	if skip {
		VADDPS(Mem{Base: sk}, reg.Y0, reg.Y0)
		ADDQ(U8(32), sk)
	}
	if relu {
		reluInPlace(reg.Y0, zero)
	}
	VMOVUPS(reg.Y0, Mem{Base: d})
	ADDQ(U8(32), s)
	ADDQ(U8(32), d)
	DECQ(n)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// windowMax leaves in c[0] the maximum of a 2x2 window's candidates c (row-major) by
// PyTorch's rule, a later one wins if greater or NaN, and in at the winner's position from k
// (the positions 0-3 as int32 lanes). m and nan are scratch.
func windowMax(c, k []reg.VecPhysical, at, m, nan reg.VecPhysical) {
	best := c[0]
	VXORPS(at, at, at)
	for i := 1; i <= 3; i++ {
		VCMPPS(U8(cmpGTOQ), best, c[i], m) // candidate > best
		VCMPPS(U8(cmpUnordQ), c[i], c[i], nan)
		VORPS(nan, m, m)
		VBLENDVPS(m, c[i], best, best)
		VBLENDVPS(m, k[i], at, at)
	}
}

// rowLoop emits the loop name_row that runs body rows times (counting rows down to 0, none
// when it is 0) and the label name_done after it.
func rowLoop(name string, rows reg.GPVirtual, body func()) {
	Label(name + "_row")
	TESTQ(rows, rows)
	JE(LabelRef(name + "_done"))
	body()
	DECQ(rows)
	JMP(LabelRef(name + "_row"))
	Label(name + "_done")
}

// reluInPlace sets v = max(v, 0) as Go's builtin max does: a NaN stays NaN and -0 becomes +0.
// MAXPS returns its second source when either is NaN or both are zeros, so v goes second, and
// adding +0 turns a -0 into +0 while leaving every other value alone.
func reluInPlace(v, zero reg.VecPhysical) {
	VMAXPS(v, zero, v)
	VADDPS(zero, v, v)
}

// gradKernel emits a backward prologue over n = len(dy) &^ 7 floats that writes dst and
// returns the sum of what it wrote, in eight lanes reduced as laneSum describes: dst = dy, or
// with relu dy masked to where y > 0, and with skip dskip += dst as well.
func gradKernel(name, what string, relu, skip bool) {
	sig := "func(dst, dy []float32) float32"
	switch {
	case skip:
		sig = "func(dst, dskip, dy, y []float32) float32"
	case relu:
		sig = "func(dst, dy, y []float32) float32"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets %s for the first len(dy)&^7 floats", name, what),
		"and returns their sum, lane by lane.")
	d := gp(Param("dst").Base())
	g := gp(Param("dy").Base())
	var y, sk reg.GPVirtual
	if relu {
		y = gp(Param("y").Base())
	}
	if skip {
		sk = gp(Param("dskip").Base())
	}
	n := gp(Param("dy").Len())
	SHRQ(U8(3), n)
	acc, zero := reg.Y15, reg.Y14
	VXORPS(acc, acc, acc)
	VXORPS(zero, zero, zero)

	Label(name + "_loop")
	TESTQ(n, n)
	JE(LabelRef(name + "_done"))
	VMOVUPS(Mem{Base: g}, reg.Y0)
	if relu {
		VMOVUPS(Mem{Base: y}, reg.Y1)
		VCMPPS(U8(cmpGTOQ), zero, reg.Y1, reg.Y1) // y > 0, false for NaN
		VANDPS(reg.Y1, reg.Y0, reg.Y0)
		ADDQ(U8(32), y)
	}
	VMOVUPS(reg.Y0, Mem{Base: d})
	VADDPS(reg.Y0, acc, acc)
	if skip {
		VADDPS(Mem{Base: sk}, reg.Y0, reg.Y0)
		VMOVUPS(reg.Y0, Mem{Base: sk})
		ADDQ(U8(32), sk)
	}
	ADDQ(U8(32), g)
	ADDQ(U8(32), d)
	DECQ(n)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	laneSum(acc)
	Store(acc.AsX(), ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// laneSum reduces the eight lanes s0..s7 of acc into its lane 0 as
// ((s0+s4) + (s1+s5)) + ((s2+s6) + (s3+s7)).
func laneSum(acc reg.VecPhysical) {
	hi := reg.X13
	VEXTRACTF128(U8(1), acc, hi)
	VADDPS(hi, acc.AsX(), acc.AsX())
	VHADDPS(acc.AsX(), acc.AsX(), acc.AsX())
	VHADDPS(acc.AsX(), acc.AsX(), acc.AsX())
}

// VCMPPS predicates.
const (
	cmpUnordQ  = 0x03
	cmpGTOQ    = 0x1e
	shufEven   = 0x88 // VSHUFPS: elements 0 and 2 of each source
	shufOdd    = 0xdd // VSHUFPS: elements 1 and 3 of each source
	packBytes  = 0x808080800c080400
	poolUnroll = 4 // pooled outputs per iteration (one XMM vector)
)

// reluPoolKernel emits reluPool2AVX2, the fused bias + 2x2 max pooling + ReLU over rows pooled
// rows of an input w floats wide (w a multiple of 8): each output is max(v, 0) of the window
// maximum v, found with PyTorch's rule (a later element wins if greater, or if it is NaN), and
// arg records which element (0-3, row-major) won.
func reluPoolKernel() {
	name := "reluPool2AVX2"
	TEXT(name, NOSPLIT, "func(dst []float32, arg []uint8, src []float32, bias float32, rows, w int)")
	Pragma("noescape")
	Doc(name+" writes rows rows of w/2 pooled outputs into dst and arg from 2*rows rows of w",
		"floats of src plus bias; w must be a multiple of 8.")
	d := gp(Param("dst").Base())
	a := gp(Param("arg").Base())
	s := gp(Param("src").Base())
	rows := gp(Param("rows"))
	w := gp(Param("w"))
	wb := GP64()
	MOVQ(w, wb)
	SHLQ(U8(2), wb) // a row in bytes
	units := GP64()

	bias, zero := reg.X15, reg.X14
	VBROADCASTSS(paramAddr("bias"), bias)
	VXORPS(zero, zero, zero)
	k := []reg.VecPhysical{zero, reg.X13, reg.X12, reg.X11} // the window positions 0-3 as int32
	t := GP64()
	for i := 1; i <= 3; i++ {
		MOVQ(U32(i), t)
		VMOVQ(t, k[i])
		VPBROADCASTD(k[i], k[i])
	}
	pack := reg.X10 // VPSHUFB control: the low byte of each int32 into the low 4 bytes
	MOVQ(U64(packBytes), t)
	VMOVQ(t, pack)

	s1 := GP64()
	rowLoop(name, rows, func() {
		MOVQ(s, s1)
		ADDQ(wb, s1)
		MOVQ(w, units)
		SHRQ(U8(3), units)
		Label(name + "_unit")
		// The window candidates in row-major order: even and odd elements of the two rows.
		c := []reg.VecPhysical{reg.X0, reg.X1, reg.X2, reg.X3}
		VMOVUPS(Mem{Base: s}, c[0])
		VSHUFPS(U8(shufOdd), Mem{Base: s, Disp: 16}, c[0], c[1])
		VSHUFPS(U8(shufEven), Mem{Base: s, Disp: 16}, c[0], c[0])
		VMOVUPS(Mem{Base: s1}, c[2])
		VSHUFPS(U8(shufOdd), Mem{Base: s1, Disp: 16}, c[2], c[3])
		VSHUFPS(U8(shufEven), Mem{Base: s1, Disp: 16}, c[2], c[2])
		for _, v := range c {
			VADDPS(bias, v, v)
		}
		best, at := c[0], reg.X4
		windowMax(c, k, at, reg.X5, reg.X6)
		reluInPlace(best, zero)
		VMOVUPS(best, Mem{Base: d})
		VPSHUFB(pack, at, at)
		VMOVD(at, t.As32())
		MOVL(t.As32(), Mem{Base: a})
		ADDQ(U8(32), s)
		ADDQ(U8(32), s1)
		ADDQ(U8(16), d)
		ADDQ(U8(poolUnroll), a)
		DECQ(units)
		JNZ(LabelRef(name + "_unit"))
		MOVQ(s1, s) // past the second row of the pair
	})
	RET()
}

// reluPoolBackwardKernel emits reluPool2BackwardAVX2, reluPool2AVX2's backward: each pooled
// gradient dy goes to the element of its window that won when the pooled output y is positive;
// everything else in the 2*rows rows of w floats of dst becomes 0. Returns the sum of the
// gradients passed on, in four lanes added as (s0+s1) + (s2+s3).
func reluPoolBackwardKernel() {
	name := "reluPool2BackwardAVX2"
	TEXT(name, NOSPLIT, "func(dst, dy, y []float32, arg []uint8, rows, w int) float32")
	Pragma("noescape")
	Doc(name+" writes 2*rows rows of w floats of dst from rows rows of w/2 pooled gradients",
		"dy, outputs y and winners arg, and returns the sum of the gradients it passed on; w must",
		"be a multiple of 8.")
	d := gp(Param("dst").Base())
	g := gp(Param("dy").Base())
	y := gp(Param("y").Base())
	a := gp(Param("arg").Base())
	rows := gp(Param("rows"))
	w := gp(Param("w"))
	wb := GP64()
	MOVQ(w, wb)
	SHLQ(U8(2), wb)
	units, d1, t := GP64(), GP64(), GP64()

	acc, zero := reg.X15, reg.X14
	VXORPS(acc, acc, acc)
	VXORPS(zero, zero, zero)
	k := []reg.VecPhysical{zero, reg.X13, reg.X12, reg.X11}
	for i := 1; i <= 3; i++ {
		MOVQ(U32(i), t)
		VMOVQ(t, k[i])
		VPBROADCASTD(k[i], k[i])
	}

	rowLoop(name, rows, func() {
		MOVQ(d, d1)
		ADDQ(wb, d1)
		MOVQ(w, units)
		SHRQ(U8(3), units)
		Label(name + "_unit")
		gv, m, av := reg.X0, reg.X1, reg.X2
		VMOVUPS(Mem{Base: y}, m)
		VCMPPS(U8(cmpGTOQ), zero, m, m) // y > 0
		VANDPS(Mem{Base: g}, m, gv)
		VADDPS(gv, acc, acc)
		VPMOVZXBD(Mem{Base: a}, av)
		v := []reg.VecPhysical{reg.X3, reg.X4, reg.X5, reg.X6}
		for i := range v {
			VPCMPEQD(k[i], av, v[i])
			VANDPS(gv, v[i], v[i])
		}
		lo, hi := reg.X7, reg.X8
		for r, base := range []reg.GPVirtual{d, d1} {
			VUNPCKLPS(v[2*r+1], v[2*r], lo)
			VUNPCKHPS(v[2*r+1], v[2*r], hi)
			VMOVUPS(lo, Mem{Base: base})
			VMOVUPS(hi, Mem{Base: base, Disp: 16})
		}
		ADDQ(U8(16), g)
		ADDQ(U8(16), y)
		ADDQ(U8(poolUnroll), a)
		ADDQ(U8(32), d)
		ADDQ(U8(32), d1)
		DECQ(units)
		JNZ(LabelRef(name + "_unit"))
		MOVQ(d1, d) // past the second row of the pair
	})
	VHADDPS(acc, acc, acc)
	VHADDPS(acc, acc, acc)
	Store(acc, ReturnIndex(0))
	RET()
}

// sgdKernel emits sgdAVX2, torch.optim.SGD's update (dampening 0, no Nesterov) over the first
// len(value)&^7 parameters, with the same float32 operations in the same order as the Go
// version (no fused multiply-adds), so both give the same bits:
//
//	g = grad + wd*value   (only when wd != 0)
//	buf = g on the first step, else momentum*buf + g
//	value -= lr*buf
//
// Each combination of "wd != 0" and "first" has its own loop.
func sgdKernel() {
	name := "sgdAVX2"
	TEXT(name, NOSPLIT, "func(value, grad, buf []float32, lr, momentum, wd float32, first bool)")
	Pragma("noescape")
	Doc(name + " applies one SGD step with momentum to the first len(value)&^7 parameters.")
	v := gp(Param("value").Base())
	g := gp(Param("grad").Base())
	b := gp(Param("buf").Base())
	n := gp(Param("value").Len())
	SHRQ(U8(3), n)
	lr, mom, wd := reg.Y15, reg.Y14, reg.Y13
	VBROADCASTSS(paramAddr("lr"), lr)
	VBROADCASTSS(paramAddr("momentum"), mom)
	VBROADCASTSS(paramAddr("wd"), wd)
	first := GP8()
	Load(Param("first"), first)

	// Pick the loop: weight decay or not (wd == 0 skips the term, as the Go code does: 0*inf
	// would be NaN), first step or not.
	zero := reg.X12
	VXORPS(zero, zero, zero)
	VUCOMISS(wd.AsX(), zero)
	decay := GP8()
	SETNE(decay)
	parity := GP8()
	SETPS(parity) // a NaN weight decay is not zero either
	ORB(parity, decay)
	for _, withDecay := range []bool{false, true} {
		for _, isFirst := range []bool{false, true} {
			label := fmt.Sprintf("%s_decay%v_first%v", name, withDecay, isFirst)
			next := label + "_skip"
			CMPB(decay, U8(b2i(withDecay)))
			JNE(LabelRef(next))
			CMPB(first, U8(b2i(isFirst)))
			JNE(LabelRef(next))
			Label(label)
			TESTQ(n, n)
			JE(LabelRef(name + "_done"))
			val, grd, buf, t := reg.Y0, reg.Y1, reg.Y2, reg.Y3
			VMOVUPS(Mem{Base: g}, grd)
			VMOVUPS(Mem{Base: v}, val)
			if withDecay {
				VMULPS(val, wd, t)
				VADDPS(t, grd, grd)
			}
			if isFirst {
				VMOVAPS(grd, buf)
			} else {
				VMULPS(Mem{Base: b}, mom, buf)
				VADDPS(grd, buf, buf)
			}
			VMOVUPS(buf, Mem{Base: b})
			VMULPS(buf, lr, t)
			VSUBPS(t, val, val)
			VMOVUPS(val, Mem{Base: v})
			ADDQ(U8(32), v)
			ADDQ(U8(32), g)
			ADDQ(U8(32), b)
			DECQ(n)
			JMP(LabelRef(label))
			Label(next)
		}
	}
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
