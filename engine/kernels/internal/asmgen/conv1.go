package main

// The first layers' convolutions have one input channel (the image), so their im2col matrix is
// only K*K rows deep, 25 for a 5x5 kernel: building it costs as much as the GEMM, and the GEMM
// of 10 output channels wastes half of its last 4-row tile. conv1Kernel computes such a
// convolution directly from the image instead, one output row (8*vecs pixels) for up to four
// output channels at a time.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// maxWideConv1 is the most output channels of a ZMM conv1 kernel: five, so that the 10
// channels of the cnn's and inception's first layers run in two calls, not 4+4+2. A call's
// taps are a chain of dependent multiply-adds per accumulator, so a call of two channels
// (four accumulators) takes as long per tap as one of four; five take 10 of the 16 registers.
const maxWideConv1 = 5

func conv1Kernels() {
	for _, wide := range []bool{false, true} {
		most := maxRows
		if wide {
			most = maxWideConv1
		}
		for ocs := 1; ocs <= most; ocs++ {
			for vecs := 1; vecs <= maxVecs; vecs++ {
				conv1Kernel(ocs, vecs, wide)
			}
		}
	}
}

// rowVectors splits a row of 8*vecs floats into the vector registers that hold it: YMM
// registers of 8, or with wide (AVX-512) ZMM registers of 16 and a YMM for an odd 8 (a row of
// 24 in two registers instead of three). regs gives register i of the row's count.
func rowVectors(vecs int, wide bool, regs func(i int) reg.VecPhysical) []reg.VecPhysical {
	var vs []reg.VecPhysical
	for left := vecs; left > 0; {
		r := regs(len(vs))
		if wide && left >= 2 {
			vs = append(vs, r)
			left -= 2
			continue
		}
		vs = append(vs, r.AsY().(reg.VecPhysical))
		left--
	}
	return vs
}

// conv1Kernel emits conv1x{ocs}x{8*vecs}: for ocs output channels of a single-channel image x
// (rows W floats long) and a K x K kernel, oh output rows of 8*vecs pixels each,
//
//	dst[oc*dstStride + oy*8*vecs + ox] = sum over kh, kw of w[oc*K*K + kh*K + kw] * x[(oy+kh)*W + ox+kw]
//
// summed in (kh, kw) order with one fused multiply-add each, starting from zero: the same
// operations, in the same order, as the GEMM of the im2col matrix runs for each output, so
// the results are the same bits. With wide it emits zconv1x..., the same on ZMM registers
// (rowVectors), for the AVX-512 set: each output's arithmetic, hence its bits, is unchanged.
func conv1Kernel(ocs, vecs int, wide bool) {
	name := fmt.Sprintf("conv1x%dx%d", ocs, 8*vecs)
	if wide {
		name = "z" + name
	}
	TEXT(name, NOSPLIT, "func(dst []float32, dstStride int, x []float32, W int, w []float32, K, oh int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes %d output channels of %d-pixel rows of a single-channel convolution", name, ocs, 8*vecs),
		"(see conv1Kernel in the generator).")

	n := len(rowVectors(vecs, wide, func(i int) reg.VecPhysical { return zmm.regs[i] }))
	acc := make([][]reg.VecPhysical, ocs)
	for oc := range acc {
		acc[oc] = rowVectors(vecs, wide, func(i int) reg.VecPhysical { return zmm.regs[oc*n+i] })
	}
	xvec := rowVectors(vecs, wide, func(i int) reg.VecPhysical { return zmm.regs[12+i] })
	wb := reg.VecPhysical(reg.Y15)
	if wide {
		wb = reg.Z15
	}

	dp := gp(Param("dst").Base())
	dstStride := gpBytes(Param("dstStride"))
	xrow := gp(Param("x").Base())
	W4 := gpBytes(Param("W"))
	K := gp(Param("K"))
	oy := gp(Param("oh"))
	kk := gp(Param("K"))
	IMULQ(kk, kk)
	SHLQ(U8(2), kk) // bytes between two channels' weights
	xp, wp, wp2, kh, kw, dq := GP64(), GP64(), GP64(), GP64(), GP64(), GP64()
	// The channels' weights at the same kernel position: wp, wp+kk, wp2 = wp+2kk, wp2+kk,
	// wp2+2kk.
	wAt := []Mem{{Base: wp}, {Base: wp, Index: kk, Scale: 1}, {Base: wp2}, {Base: wp2, Index: kk, Scale: 1}, {Base: wp2, Index: kk, Scale: 2}}

	Label(name + "_row")
	TESTQ(oy, oy)
	JE(LabelRef(name + "_done"))
	zero(acc)
	Load(Param("w").Base(), wp)
	LEAQ(Mem{Base: wp, Index: kk, Scale: 2}, wp2)
	MOVQ(xrow, xp)
	MOVQ(K, kh)
	Label(name + "_kh")
	MOVQ(K, kw)
	Label(name + "_kw")
	for v, at := range vectorOffsets(xvec) {
		VMOVUPS(Mem{Base: xp, Disp: at}, xvec[v])
	}
	for oc := 0; oc < ocs; oc++ {
		VBROADCASTSS(wAt[oc], wb)
		for v, x := range xvec {
			b := wb
			if x.Size() < wb.Size() {
				b = wb.AsY().(reg.VecPhysical)
			}
			VFMADD231PS(x, b, acc[oc][v])
		}
	}
	ADDQ(U8(4), xp)
	ADDQ(U8(4), wp)
	ADDQ(U8(4), wp2)
	DECQ(kw)
	JNZ(LabelRef(name + "_kw"))
	// Next kernel row: back K floats, down one image row.
	MOVQ(K, kw)
	SHLQ(U8(2), kw)
	SUBQ(kw, xp)
	ADDQ(W4, xp)
	DECQ(kh)
	JNZ(LabelRef(name + "_kh"))

	MOVQ(dp, dq)
	for oc := 0; oc < ocs; oc++ {
		for v, at := range vectorOffsets(acc[oc]) {
			VMOVUPS(acc[oc][v], Mem{Base: dq, Disp: at})
		}
		if oc+1 < ocs {
			ADDQ(dstStride, dq)
		}
	}
	ADDQ(U8(32*vecs), dp)
	ADDQ(W4, xrow)
	DECQ(oy)
	JMP(LabelRef(name + "_row"))

	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// vectorOffsets returns the byte offset of each of a row's vectors from the row's start.
func vectorOffsets(vs []reg.VecPhysical) []int {
	at := make([]int, len(vs))
	for i := 1; i < len(vs); i++ {
		at[i] = at[i-1] + int(vs[i-1].Size())
	}
	return at
}

// conv1GradKernels emits the weight-gradient kernels of the single-channel convolutions.
func conv1GradKernels() {
	for _, wide := range []bool{false, true} {
		for ocs := 1; ocs <= maxRows; ocs++ {
			for taps := 1; taps <= maxCols; taps++ {
				conv1GradKernel(ocs, taps, wide)
			}
		}
	}
}

// conv1GradKernel emits conv1dw{ocs}x{taps}: the weight gradient of a single-channel
// convolution for ocs output channels and taps kernel positions, straight from the images
// instead of from their im2col matrix:
//
//	dw[oc*ldw + j] += sum over images i, rows oy, columns ox of
//	                  dy[oc*dyStride + (i*oh + oy)*ow + ox] * x[i*imageX + oy*W + ox + off_j]
//
// with ow = 8*vecs, off_j the offset kh*W + kw of kernel position j. It is the dot kernel's
// arithmetic (a lane per column of eight, summed across lanes at the end) over all the pixels
// at once. With wide it emits zconv1dw..., for the AVX-512 set: 16 lanes, a lane per column
// modulo 16, a row's odd 8 columns in the lower lanes (loaded into YMM registers, which clears
// the upper ones, so those add zeros); the lanes' halves are added before the sum across them.
func conv1GradKernel(ocs, taps int, wide bool) {
	name := fmt.Sprintf("conv1dw%dx%d", ocs, taps)
	vs := ymm
	if wide {
		name = "z" + name
		vs = zmm
	}
	TEXT(name, NOSPLIT, "func(dw []float32, ldw int, dy []float32, dyStride int, x []float32, imageX, W, images, oh, vecs, off0, off1, off2 int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s adds the weight gradient of %d output channels at %d kernel positions of a", name, ocs, taps),
		"single-channel convolution (see conv1GradKernel in the generator).")

	acc := vs.accumulators(ocs, taps)
	xvec := vs.regs[12:15]
	dv := vs.regs[15]

	off := make([]reg.GPVirtual, taps)
	for j := range off {
		off[j] = gp(Param(fmt.Sprintf("off%d", j)))
		SHLQ(U8(2), off[j])
	}
	dyp := gp(Param("dy").Base())
	ds := gpBytes(Param("dyStride"))
	dyp2 := GP64()
	LEAQ(Mem{Base: dyp, Index: ds, Scale: 2}, dyp2)
	dyAt := []Mem{{Base: dyp}, {Base: dyp, Index: ds, Scale: 1}, {Base: dyp2}, {Base: dyp2, Index: ds, Scale: 1}}
	xp := gp(Param("x").Base())
	// Bytes from the end of a row of outputs to the next row's start in x, and from the end of
	// an image's rows to the next image's.
	rowSkip := gp(Param("W"))
	t := gp(Param("vecs"))
	SHLQ(U8(3), t)
	SUBQ(t, rowSkip)
	SHLQ(U8(2), rowSkip)
	imgSkip := gp(Param("imageX"))
	Load(Param("W"), t)
	IMULQ(paramAddr("oh"), t)
	SUBQ(t, imgSkip)
	SHLQ(U8(2), imgSkip)
	images := gp(Param("images"))
	oy, v := GP64(), GP64()
	// step multiplies the next loaded-width vectors of dy by those of x at each tap.
	step := func(loaded func(reg.VecPhysical) reg.VecPhysical) {
		for j := 0; j < taps; j++ {
			VMOVUPS(Mem{Base: xp, Index: off[j], Scale: 1}, loaded(xvec[j]))
		}
		for oc := 0; oc < ocs; oc++ {
			VMOVUPS(dyAt[oc], loaded(dv))
			for j := 0; j < taps; j++ {
				VFMADD231PS(xvec[j], dv, acc[oc][j])
			}
		}
		n := U8(int(loaded(dv).Size()))
		ADDQ(n, xp)
		ADDQ(n, dyp)
		ADDQ(n, dyp2)
	}
	whole := func(r reg.VecPhysical) reg.VecPhysical { return r }

	zero(acc)
	Label(name + "_image")
	Load(Param("oh"), oy)
	Label(name + "_row")
	Load(Param("vecs"), v)
	if wide {
		SHRQ(U8(1), v) // pairs of 8 columns
		JE(LabelRef(name + "_odd"))
	}
	Label(name + "_vec")
	step(whole)
	DECQ(v)
	JNZ(LabelRef(name + "_vec"))
	if wide {
		Label(name + "_odd")
		TESTQ(U32(1), paramAddr("vecs"))
		JE(LabelRef(name + "_rowEnd"))
		step(func(r reg.VecPhysical) reg.VecPhysical { return r.AsY().(reg.VecPhysical) })
		Label(name + "_rowEnd")
	}
	ADDQ(rowSkip, xp)
	DECQ(oy)
	JNZ(LabelRef(name + "_row"))
	ADDQ(imgSkip, xp)
	DECQ(images)
	JNZ(LabelRef(name + "_image"))

	if wide {
		Comment("Add each accumulator's upper half to its lower one.")
		half := accumulators(ocs, taps)
		for oc := range acc {
			for j, z := range acc[oc] {
				VEXTRACTF64X4(U8(1), z, dv.AsY())
				VADDPS(dv.AsY(), half[oc][j], half[oc][j])
			}
		}
		acc, dv = half, reg.Y15
	}
	Comment("Sum each kernel position's accumulators across lanes: lane oc is channel oc's.")
	sums := make([]reg.VecPhysical, taps)
	for j := 0; j < taps; j++ {
		a := func(r int) reg.VecPhysical { return acc[min(r, ocs-1)][j] }
		VHADDPS(a(1), a(0), a(0))
		if ocs > 2 {
			VHADDPS(a(3), a(2), a(2))
			VHADDPS(a(2), a(0), a(0))
		} else {
			VHADDPS(a(0), a(0), a(0))
		}
		VEXTRACTF128(U8(1), a(0), dv.AsX())
		VADDPS(dv.AsX(), a(0).AsX(), a(0).AsX())
		sums[j] = a(0)
	}
	dwp := gp(Param("dw").Base())
	ldw := gpBytes(Param("ldw"))
	for oc := 0; oc < ocs; oc++ {
		for j, y := range sums {
			m := Mem{Base: dwp, Disp: 4 * j}
			VPERMILPS(U8(oc), y.AsX(), dv.AsX())
			VADDSS(m, dv.AsX(), dv.AsX())
			VMOVSS(dv.AsX(), m)
		}
		if oc+1 < ocs {
			ADDQ(ldw, dwp)
		}
	}
	VZEROUPPER()
	RET()
}

// maxRowTaps is the widest kernel whose rows zconv1dwRow kernels take whole: 5x5.
const maxRowTaps = 5

// conv1GradRowKernels emits the AVX-512 set's weight-gradient kernels that take one kernel
// row at a time.
func conv1GradRowKernels() {
	for ocs := 1; ocs <= maxWideConv1; ocs++ {
		for taps := 1; taps <= maxRowTaps; taps++ {
			conv1GradRowKernel(ocs, taps)
		}
	}
}

// conv1GradRowKernel emits zconv1dwRow{ocs}x{taps}, conv1GradKernel's arithmetic for the
// AVX-512 set over a whole kernel row: taps adjacent kernel positions (off, off+1, ...) and up
// to five channels, in up to 25 of the 32 ZMM registers. Every call streams the channels' dy
// and the images' rows through the registers once, so the fewer the calls the less is loaded:
// a 5x5 kernel of 10 channels takes 10 calls instead of conv1dw's 27 (4+4+2 channels by 3+...+3+1
// positions), and the x vectors of adjacent positions are one load apart in the same cache
// lines. Each accumulator is summed across its lanes on its own at the end.
func conv1GradRowKernel(ocs, taps int) {
	name := fmt.Sprintf("zconv1dwRow%dx%d", ocs, taps)
	TEXT(name, NOSPLIT, "func(dw []float32, ldw int, dy []float32, dyStride int, x []float32, imageX, W, images, oh, vecs, off int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s adds the weight gradient of %d output channels at %d adjacent kernel positions of", name, ocs, taps),
		"a single-channel convolution (see conv1GradRowKernel in the generator).")

	all := zmmAll()
	acc := make([][]reg.VecPhysical, ocs)
	for oc := range acc {
		acc[oc] = all[oc*taps : (oc+1)*taps]
	}
	xvec := all[25:30]
	dv := all[30]

	off := gpBytes(Param("off"))
	dyp := gp(Param("dy").Base())
	ds := gpBytes(Param("dyStride"))
	dyp2 := GP64()
	LEAQ(Mem{Base: dyp, Index: ds, Scale: 2}, dyp2)
	dyAt := []Mem{{Base: dyp}, {Base: dyp, Index: ds, Scale: 1}, {Base: dyp2}, {Base: dyp2, Index: ds, Scale: 1}, {Base: dyp2, Index: ds, Scale: 2}}
	xp := gp(Param("x").Base())
	ADDQ(off, xp)
	rowSkip := gp(Param("W"))
	t := gp(Param("vecs"))
	SHLQ(U8(3), t)
	SUBQ(t, rowSkip)
	SHLQ(U8(2), rowSkip)
	imgSkip := gp(Param("imageX"))
	Load(Param("W"), t)
	IMULQ(paramAddr("oh"), t)
	SUBQ(t, imgSkip)
	SHLQ(U8(2), imgSkip)
	images := gp(Param("images"))
	oy, v := GP64(), GP64()
	step := func(loaded func(reg.VecPhysical) reg.VecPhysical) {
		for j := 0; j < taps; j++ {
			VMOVUPS(Mem{Base: xp, Disp: 4 * j}, loaded(xvec[j]))
		}
		for oc := 0; oc < ocs; oc++ {
			VMOVUPS(dyAt[oc], loaded(dv))
			for j := 0; j < taps; j++ {
				VFMADD231PS(xvec[j], dv, acc[oc][j])
			}
		}
		n := U8(int(loaded(dv).Size()))
		ADDQ(n, xp)
		ADDQ(n, dyp)
		ADDQ(n, dyp2)
	}

	Comment("Zero the accumulators.")
	for oc := range acc {
		for _, z := range acc[oc] {
			VPXORD(z, z, z)
		}
	}
	Label(name + "_image")
	Load(Param("oh"), oy)
	Label(name + "_row")
	Load(Param("vecs"), v)
	SHRQ(U8(1), v) // pairs of 8 columns
	JE(LabelRef(name + "_odd"))
	Label(name + "_vec")
	step(func(r reg.VecPhysical) reg.VecPhysical { return r })
	DECQ(v)
	JNZ(LabelRef(name + "_vec"))
	Label(name + "_odd")
	TESTQ(U32(1), paramAddr("vecs"))
	JE(LabelRef(name + "_rowEnd"))
	// The odd 8 columns in the lower lanes: a YMM load clears the upper ones, so they add zeros.
	step(func(r reg.VecPhysical) reg.VecPhysical { return r.AsY().(reg.VecPhysical) })
	Label(name + "_rowEnd")
	ADDQ(rowSkip, xp)
	DECQ(oy)
	JNZ(LabelRef(name + "_row"))
	ADDQ(imgSkip, xp)
	DECQ(images)
	JNZ(LabelRef(name + "_image"))

	Comment("Sum each accumulator across its lanes (halves, quarters, pairs, then the two left) and add it to dw.")
	dwp := gp(Param("dw").Base())
	ldw := gpBytes(Param("ldw"))
	tmp := all[31]
	for oc := 0; oc < ocs; oc++ {
		for j, z := range acc[oc] {
			VEXTRACTF64X4(U8(1), z, tmp.AsY())
			VADDPS(tmp.AsY(), z.AsY(), z.AsY())
			VEXTRACTF32X4(U8(1), z.AsY(), tmp.AsX())
			VADDPS(tmp.AsX(), z.AsX(), z.AsX())
			VPERMILPS(U8(0x4e), z.AsX(), tmp.AsX()) // swap the 64-bit halves
			VADDPS(tmp.AsX(), z.AsX(), z.AsX())
			VPERMILPS(U8(0xb1), z.AsX(), tmp.AsX()) // swap within them
			VADDPS(tmp.AsX(), z.AsX(), z.AsX())
			m := Mem{Base: dwp, Disp: 4 * j}
			VADDSS(m, z.AsX(), z.AsX())
			VMOVSS(z.AsX(), m)
		}
		if oc+1 < ocs {
			ADDQ(ldw, dwp)
		}
	}
	VZEROUPPER()
	RET()
}
