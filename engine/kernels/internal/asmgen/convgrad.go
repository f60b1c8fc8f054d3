package main

// The weight gradient of a multi-channel convolution is a GEMM of the output gradient by the
// im2col matrix, K*K times the input's size: for the engine's 5x5 layers on 12x12 images
// (inception's conv2: 88 channels, 2.25 MB for four images) it spills the L2 cache, and its
// dot products run at half the FMA peak. convGradKernel computes the same sums from a much
// smaller copy of the input instead: for one input channel, K copies of its planes shifted by
// one column each and cut to the output's width (kernels.ConvGrad packs them), in which the
// inputs that kernel position (kh, kw) multiplies by the output pixels of an image are one
// contiguous run, as the output gradient's pixels are. A call then is ocs x taps dot products
// along contiguous runs, like the GEMM's dot kernels but with 25 accumulators, not 16, and
// without any im2col matrix.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// maxGradOCs and maxGradTaps bound a zconvdw kernel: 5 x 5 accumulators, 5 input vectors and
// one output-gradient vector take 31 of the 32 ZMM registers. Kernels of up to narrowTaps
// positions (3x3 convolutions) take up to maxNarrowOCs channels instead, 8 x 3 accumulators:
// with 5 channels their 15 accumulators loaded an input or output-gradient vector every two
// multiply-adds.
const (
	maxGradOCs   = 5
	maxGradTaps  = 5
	narrowTaps   = 3
	maxNarrowOCs = 8
)

// gradOCs is the most channels of a zconvdw kernel of taps positions.
func gradOCs(taps int) int {
	if taps <= narrowTaps {
		return maxNarrowOCs
	}
	return maxGradOCs
}

// convGradKernels emits the AVX-512 set's multi-channel weight-gradient kernels.
func convGradKernels() {
	for taps := 1; taps <= maxGradTaps; taps++ {
		idx := gradLaneIndex(taps)
		for ocs := 1; ocs <= gradOCs(taps); ocs++ {
			convGradKernel(ocs, taps, idx)
		}
	}
}

// gradLane is where the reduction trees leave accumulator a's sum among the 32 floats of the
// two trees' results: accumulator m of a tree in float 4*(m%4) + m/4 of that tree's 16.
func gradLane(a int) int {
	m := a % 16
	return a - m + 4*(m%4) + m/4
}

// gradLaneIndex emits the VPERMI2PS indexes that gather, for each output channel oc of a
// kernel of taps positions, its taps sums (accumulators oc*taps + j) into floats 0..taps-1.
func gradLaneIndex(taps int) Mem {
	m := GLOBL(fmt.Sprintf("convdwIdx%d", taps), RODATA|NOPTR)
	for oc := 0; oc < gradOCs(taps); oc++ {
		for j := 0; j < 16; j++ {
			v := 0
			if j < taps {
				v = gradLane(oc*taps + j)
			}
			DATA(64*oc+4*j, U32(v))
		}
	}
	return m
}

// convGradKernel emits zconvdw{ocs}x{taps}: for each of rows kernel rows r,
//
//	dw[oc*ldw + r*rowDW + j] += sum over images i, pixels p < hw of
//	                            dy[oc*dyStride + i*hw + p] * x[j*tapStride + i*imageX + r*rowX + p]
//
// 16 pixels at a time (a last 8 in the lower lanes of YMM loads, which clear the upper ones),
// one lane per pixel modulo 16, the lanes summed at the end of each kernel row by zdotKernel's
// transposing tree (twice, for more than 16 accumulators), each channel's taps sums gathered
// into one vector (VPERMI2PS) and added to dw under a mask. hw must be a multiple of 8.
func convGradKernel(ocs, taps int, idx Mem) {
	name := fmt.Sprintf("zconvdw%dx%d", ocs, taps)
	TEXT(name, NOSPLIT, "func(dw []float32, ldw int, dy []float32, dyStride int, x []float32, tapStride, imageX, hw, images, rows, rowX, rowDW int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s adds the weight gradient of %d output channels at %d kernel positions of a", name, ocs, taps),
		"multi-channel convolution, for rows kernel rows, from packed input planes (see convGradKernel",
		"in the generator).")

	all := zmmAll()
	n := ocs * taps
	acc := make([][]reg.VecPhysical, ocs)
	for oc := range acc {
		acc[oc] = all[oc*taps : (oc+1)*taps]
	}
	xvec := all[25:30]
	dv := all[30]

	ds := gpBytes(Param("dyStride"))
	ts := gpBytes(Param("tapStride"))
	// Bytes from the end of an image's run in x to the next image's.
	imgSkip := gp(Param("imageX"))
	SUBQ(paramAddr("hw"), imgSkip)
	SHLQ(U8(2), imgSkip)
	xrow := gp(Param("x").Base())
	dwrow := gp(Param("dw").Base())
	rows := gp(Param("rows"))

	Label(name + "_kernelRow")
	Comment("Zero the accumulators and the registers the reduction trees sum with them.")
	for _, z := range all[:max(n, 16)] {
		VPXORD(z, z, z)
	}
	// The channels' rows of dy from up to three pointers, three rows apart.
	dyp := gp(Param("dy").Base())
	dyPtrs := []reg.GPVirtual{dyp}
	var dyAt []Mem
	for oc := 0; oc < ocs; oc++ {
		if oc%3 == 0 && oc > 0 {
			q, last := GP64(), dyPtrs[len(dyPtrs)-1]
			LEAQ(Mem{Base: last, Index: ds, Scale: 2}, q)
			ADDQ(ds, q)
			dyPtrs = append(dyPtrs, q)
		}
		p := dyPtrs[oc/3]
		switch oc % 3 {
		case 0:
			dyAt = append(dyAt, Mem{Base: p})
		case 1:
			dyAt = append(dyAt, Mem{Base: p, Index: ds, Scale: 1})
		case 2:
			dyAt = append(dyAt, Mem{Base: p, Index: ds, Scale: 2})
		}
	}
	xp, xp3 := GP64(), GP64()
	MOVQ(xrow, xp)
	xPtrs := []reg.GPVirtual{xp}
	if taps > 3 {
		LEAQ(Mem{Base: xp, Index: ts, Scale: 2}, xp3)
		ADDQ(ts, xp3)
		xPtrs = append(xPtrs, xp3)
	}
	xAt := []Mem{{Base: xp}, {Base: xp, Index: ts, Scale: 1}, {Base: xp, Index: ts, Scale: 2}, {Base: xp3}, {Base: xp3, Index: ts, Scale: 1}}
	images := gp(Param("images"))
	v := GP64()
	step := func(loaded func(reg.VecPhysical) reg.VecPhysical) {
		for j := 0; j < taps; j++ {
			VMOVUPS(xAt[j], loaded(xvec[j]))
		}
		for oc := 0; oc < ocs; oc++ {
			VMOVUPS(dyAt[oc], loaded(dv))
			for j := 0; j < taps; j++ {
				VFMADD231PS(xvec[j], dv, acc[oc][j]) // full width: a YMM load left zeros above
			}
		}
		b := U8(int(loaded(dv).Size()))
		for _, p := range append(append([]reg.GPVirtual(nil), xPtrs...), dyPtrs...) {
			ADDQ(b, p)
		}
	}

	Label(name + "_image")
	Load(Param("hw"), v)
	SHRQ(U8(4), v)
	JE(LabelRef(name + "_half"))
	Label(name + "_vec")
	step(func(r reg.VecPhysical) reg.VecPhysical { return r })
	DECQ(v)
	JNZ(LabelRef(name + "_vec"))
	Label(name + "_half")
	TESTQ(U32(8), paramAddr("hw"))
	JE(LabelRef(name + "_imageEnd"))
	step(func(r reg.VecPhysical) reg.VecPhysical { return r.AsY().(reg.VecPhysical) })
	Label(name + "_imageEnd")
	for _, p := range xPtrs {
		ADDQ(imgSkip, p)
	}
	DECQ(images)
	JNZ(LabelRef(name + "_image"))

	sumTree16(all[:16], all[30], all[31])
	if n > 16 {
		Comment("The second tree: accumulators 16.. and zeros.")
		for _, z := range all[n:] {
			VPXORD(z, z, z)
		}
		sumTree16(all[16:], all[1], all[2])
	}
	Comment("Each channel's sums gathered into its first taps floats and added to its row of dw.")
	t := GP64()
	LEAQ(idx, t)
	mask := GP32()
	MOVL(U32(1<<taps-1), mask)
	KMOVW(mask, reg.K1)
	ldw := gpBytes(Param("ldw"))
	dwp := GP64()
	MOVQ(dwrow, dwp)
	g, d := all[3], all[4]
	for oc := 0; oc < ocs; oc++ {
		VMOVUPS(Mem{Base: t, Disp: 64 * oc}, g)
		VPERMI2PS(all[16], all[0], g)
		VMOVUPS_Z(Mem{Base: dwp}, reg.K1, d)
		VADDPS(g, d, d)
		VMOVUPS(d, reg.K1, Mem{Base: dwp})
		if oc+1 < ocs {
			ADDQ(ldw, dwp)
		}
	}
	Comment("Next kernel row.")
	rx := gpBytes(Param("rowX"))
	ADDQ(rx, xrow)
	rd := gpBytes(Param("rowDW"))
	ADDQ(rd, dwrow)
	DECQ(rows)
	JNZ(LabelRef(name + "_kernelRow"))
	VZEROUPPER()
	RET()
}

// sumTree16 is zdotKernel's reduction: it sums each of the 16 registers z across its lanes,
// into z[0]'s float lane 4*(m%4) + m/4 for z[m], with lo and hi as temporaries.
func sumTree16(z []reg.VecPhysical, lo, hi reg.VecPhysical) {
	Comment("Sum 16 accumulators across their lanes at once (see zdotKernel).")
	for p := 0; p < 8; p++ {
		x, y := z[2*p], z[2*p+1]
		VSHUFF32X4(U8(0x44), y, x, lo)
		VSHUFF32X4(U8(0xee), y, x, hi)
		VADDPS(hi, lo, x)
	}
	for q := 0; q < 4; q++ {
		x, y := z[4*q], z[4*q+2]
		VSHUFF32X4(U8(0x88), y, x, lo)
		VSHUFF32X4(U8(0xdd), y, x, hi)
		VADDPS(hi, lo, z[4*q])
	}
	for h := 0; h < 2; h++ {
		x, y := z[8*h], z[8*h+4]
		VSHUFPS(U8(0x44), y, x, lo)
		VSHUFPS(U8(0xee), y, x, hi)
		VADDPS(hi, lo, z[8*h])
	}
	VSHUFPS(U8(0x88), z[8], z[0], lo)
	VSHUFPS(U8(0xdd), z[8], z[0], hi)
	VADDPS(hi, lo, z[0])
}
