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

func conv1Kernels() {
	for ocs := 1; ocs <= maxRows; ocs++ {
		for vecs := 1; vecs <= maxVecs; vecs++ {
			conv1Kernel(ocs, vecs)
		}
	}
}

// conv1Kernel emits conv1x{ocs}x{8*vecs}: for ocs output channels of a single-channel image x
// (rows W floats long) and a K x K kernel, oh output rows of 8*vecs pixels each,
//
//	dst[oc*dstStride + oy*8*vecs + ox] = sum over kh, kw of w[oc*K*K + kh*K + kw] * x[(oy+kh)*W + ox+kw]
//
// summed in (kh, kw) order with one fused multiply-add each, starting from zero: the same
// operations, in the same order, as the GEMM of the im2col matrix runs for each output, so
// the results are the same bits.
func conv1Kernel(ocs, vecs int) {
	name := fmt.Sprintf("conv1x%dx%d", ocs, 8*vecs)
	TEXT(name, NOSPLIT, "func(dst []float32, dstStride int, x []float32, W int, w []float32, K, oh int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes %d output channels of %d-pixel rows of a single-channel convolution", name, ocs, 8*vecs),
		"(see conv1Kernel in the generator).")

	acc := accumulators(ocs, vecs)
	xvec := []reg.VecPhysical{reg.Y12, reg.Y13, reg.Y14}
	wb := reg.Y15

	dp := gp(Param("dst").Base())
	dstStride := gp(Param("dstStride"))
	SHLQ(U8(2), dstStride)
	xrow := gp(Param("x").Base())
	W4 := gp(Param("W"))
	SHLQ(U8(2), W4)
	K := gp(Param("K"))
	oy := gp(Param("oh"))
	kk := gp(Param("K"))
	IMULQ(kk, kk)
	SHLQ(U8(2), kk) // bytes between two channels' weights
	xp, wp, wp2, kh, kw, dq := GP64(), GP64(), GP64(), GP64(), GP64(), GP64()
	// The channels' weights at the same kernel position: wp, wp+kk, wp2 = wp+2kk, wp2+kk.
	wAt := []Mem{{Base: wp}, {Base: wp, Index: kk, Scale: 1}, {Base: wp2}, {Base: wp2, Index: kk, Scale: 1}}

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
	for v := 0; v < vecs; v++ {
		VMOVUPS(Mem{Base: xp, Disp: 32 * v}, xvec[v])
	}
	for oc := 0; oc < ocs; oc++ {
		VBROADCASTSS(wAt[oc], wb)
		for v := 0; v < vecs; v++ {
			VFMADD231PS(xvec[v], wb, acc[oc][v])
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
		for v := 0; v < vecs; v++ {
			VMOVUPS(acc[oc][v], Mem{Base: dq, Disp: 32 * v})
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
