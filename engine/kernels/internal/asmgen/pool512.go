package main

// The AVX-512 set's 2x2 max pooling, forward and backward: sixteen pooled outputs per
// iteration where the AVX2 kernels do four. The AVX2 kernels spend most of their instructions
// on XMM shuffles and blends; here two-source permutes split a row's 32 floats into even and
// odd columns (and interleave them back), and compares into mask registers replace the
// blends. A row whose w/2 pooled outputs are not a multiple of 16 ends with one unit under
// masks (loads past the row touch no memory). Both kernels give the AVX2 ones' bits: the
// forward is the same comparisons in the same order, and the backward adds its outputs into
// the same four partial sums one XMM quarter at a time.

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// pool512Tables emits the kernels' constants: the permutes' indices (16 dwords each) and
// the masks of n low bits for n = 0..16 (16-bit words).
type pool512Tables struct {
	even, odd, interLo, interHi, masks Mem
}

func emitPool512Tables() pool512Tables {
	perm := func(name string, f func(i int) int) Mem { return dwordTable(name, 16, f) }
	t := pool512Tables{
		even:    perm("poolEvenIdx", func(i int) int { return 2 * i }),
		odd:     perm("poolOddIdx", func(i int) int { return 2*i + 1 }),
		interLo: perm("poolInterLoIdx", func(i int) int { return i/2 + 16*(i%2) }),
		interHi: perm("poolInterHiIdx", func(i int) int { return 8 + i/2 + 16*(i%2) }),
	}
	t.masks = lowBitMasks("poolMasks")
	return t
}

// poolTail loads the masks of a row's last, partial unit from w: t = w%32 floats of each
// source row, n = t/2 pooled outputs. K1 and K2 cover the row's floats in the unit's first
// and second 16, K3 its outputs. It returns t, or a zero register when every unit is full.
func poolTail(w reg.GPVirtual, masks Mem) reg.GPVirtual {
	t, lo, hi, table := GP64(), GP64(), GP64(), GP64()
	LEAQ(masks, table)
	MOVQ(w, t)
	ANDQ(U8(31), t)
	MOVQ(U32(16), lo)
	CMPQ(t, U8(16))
	CMOVQLT(t, lo) // min(t, 16)
	MOVQ(t, hi)
	SUBQ(lo, hi) // max(t-16, 0)
	KMOVW(Mem{Base: table, Index: lo, Scale: 2}, reg.K1)
	KMOVW(Mem{Base: table, Index: hi, Scale: 2}, reg.K2)
	MOVQ(t, lo)
	SHRQ(U8(1), lo)
	KMOVW(Mem{Base: table, Index: lo, Scale: 2}, reg.K3)
	return t
}

// windowPositions broadcasts the window positions 1-3 as int32 into k[1:] (k[0], position 0,
// is the zero register).
func windowPositions(k []reg.VecPhysical) {
	one := GP64()
	for i := 1; i <= 3; i++ {
		MOVL(U32(i), one.As32())
		if k[i].Size() == 64 {
			VPBROADCASTD(one.As32(), k[i]) // AVX-512 broadcasts from a general register
			continue
		}
		VMOVD(one.As32(), k[i].AsX())
		VPBROADCASTD(k[i].AsX(), k[i])
	}
}

// windowMax512 is windowMax with mask registers (it sets K4 and K5).
func windowMax512(c, k []reg.VecPhysical, at reg.VecPhysical) {
	best := c[0]
	VPXORD(at, at, at)
	for i := 1; i <= 3; i++ {
		VCMPPS(U8(cmpGTOQ), best, c[i], reg.K4) // candidate > best
		VCMPPS(U8(cmpUnordQ), c[i], c[i], reg.K5)
		KORW(reg.K5, reg.K4, reg.K4)
		VMOVAPS(c[i], reg.K4, best)
		VMOVDQA32(k[i], reg.K4, at)
	}
}

// reluPool512Kernel emits reluPool2AVX512, reluPool2AVX2 sixteen outputs at a time.
func reluPool512Kernel(tab pool512Tables) {
	name := "reluPool2AVX512"
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
	t := poolTail(w, tab.masks)
	units := GP64()

	bias, zero := reg.Z15, reg.Z14
	VBROADCASTSS(paramAddr("bias"), bias)
	VPXORD(zero, zero, zero)
	k := []reg.VecPhysical{zero, reg.Z13, reg.Z12, reg.Z11} // the window positions 0-3 as int32
	windowPositions(k)
	even, odd := reg.Z10, reg.Z9
	VMOVDQU32(tab.even, even)
	VMOVDQU32(tab.odd, odd)

	s1 := GP64()
	unit := func(label string, masked bool) {
		Label(label)
		// The window candidates in row-major order: even and odd columns of the two rows.
		c := []reg.VecPhysical{reg.Z0, reg.Z1, reg.Z2, reg.Z3}
		for r, base := range []reg.GPVirtual{s, s1} {
			loadPair(Mem{Base: base}, masked, reg.Z6, reg.Z7, c[2*r], c[2*r+1], even, odd)
		}
		for _, v := range c {
			VADDPS(bias, v, v)
		}
		best, at := c[0], reg.Z4
		windowMax512(c, k, at)
		reluInPlace(best, zero)
		storePooled(best, at, Mem{Base: d}, Mem{Base: a}, masked)
		if masked {
			return
		}
		ADDQ(U8(128), s)
		ADDQ(U8(128), s1)
		ADDQ(U8(64), d)
		ADDQ(U8(16), a)
		DECQ(units)
		JNZ(LabelRef(label))
	}

	rowLoop(name, rows, func() {
		MOVQ(s, s1)
		ADDQ(wb, s1)
		MOVQ(w, units)
		SHRQ(U8(5), units)
		JZ(LabelRef(name + "_tail"))
		unit(name+"_unit", false)
		Label(name + "_tail")
		TESTQ(t, t)
		JZ(LabelRef(name + "_next"))
		unit(name+"_masked", true)
		// Past the partial unit: t floats of each source row, t/2 outputs.
		step := GP64()
		LEAQ(Mem{Base: s1, Index: t, Scale: 4}, s1)
		LEAQ(Mem{Base: d, Index: t, Scale: 2}, d)
		MOVQ(t, step)
		SHRQ(U8(1), step)
		ADDQ(step, a)
		Label(name + "_next")
		MOVQ(s1, s) // past the second row of the pair
	})
	VZEROUPPER()
	RET()
}

// reluPool512BackwardKernel emits reluPool2BackwardAVX512, reluPool2BackwardAVX2 sixteen
// outputs at a time. Its sum adds each unit's four XMM quarters into one XMM in order, so
// each lane gets the same additions in the same order as the AVX2 kernel's.
func reluPool512BackwardKernel(tab pool512Tables) {
	name := "reluPool2BackwardAVX512"
	TEXT(name, NOSPLIT, "func(dst, dy, y []float32, arg []uint8, rows, w int) float32")
	Pragma("noescape")
	Doc(name+" writes 2*rows rows of w floats of dst from rows rows of w/2 pooled gradients",
		"dy, outputs y and winners arg, and returns the sum of the gradients it passed on; w must",
		"be even (the last unit of a row runs under a mask).")
	d := gp(Param("dst").Base())
	g := gp(Param("dy").Base())
	y := gp(Param("y").Base())
	a := gp(Param("arg").Base())
	rows := gp(Param("rows"))
	w := gp(Param("w"))
	wb := GP64()
	MOVQ(w, wb)
	SHLQ(U8(2), wb)
	tl := poolTail(w, tab.masks)
	units, d1 := GP64(), GP64()

	acc, zero := reg.X15, reg.Z14
	VXORPS(acc, acc, acc)
	VPXORD(zero, zero, zero)
	k := []reg.VecPhysical{zero, reg.Z13, reg.Z12, reg.Z11}
	windowPositions(k)
	interLo, interHi := reg.Z10, reg.Z9
	VMOVDQU32(tab.interLo, interLo)
	VMOVDQU32(tab.interHi, interHi)

	unit := func(label string, masked bool) {
		Label(label)
		gv, av, q := reg.Z0, reg.Z1, reg.X2
		if masked {
			VMOVUPS_Z(Mem{Base: y}, reg.K3, gv)
		} else {
			VMOVUPS(Mem{Base: y}, gv)
		}
		VCMPPS(U8(cmpGTOQ), zero, gv, reg.K4) // y > 0, false for NaN and past the row
		VMOVUPS_Z(Mem{Base: g}, reg.K4, gv)
		VADDPS(gv.AsX(), acc, acc)
		for i := 1; i < 4; i++ {
			if masked {
				// Only the quarters that hold outputs: adding the zeros of the others
				// would leave the sums as they are, but lengthen their chain of adds.
				CMPQ(tl, U8(8*i))
				JLE(LabelRef(label + "_summed"))
			}
			VEXTRACTF32X4(U8(i), gv, q)
			VADDPS(q, acc, acc)
		}
		if masked {
			Label(label + "_summed")
		}
		if masked {
			VPMOVZXBD_Z(Mem{Base: a}, reg.K3, av)
		} else {
			VPMOVZXBD(Mem{Base: a}, av)
		}
		v := []reg.VecPhysical{reg.Z3, reg.Z4, reg.Z5, reg.Z6}
		for i := range v {
			VPCMPEQD(k[i], av, reg.K5)
			VMOVAPS_Z(gv, reg.K5, v[i])
		}
		lo, hi := reg.Z7, reg.Z8
		for r, base := range []reg.GPVirtual{d, d1} {
			VMOVDQA32(interLo, lo)
			VPERMI2PS(v[2*r+1], v[2*r], lo)
			VMOVDQA32(interHi, hi)
			VPERMI2PS(v[2*r+1], v[2*r], hi)
			storeUnit(lo, hi, Mem{Base: base}, masked)
		}
		if masked {
			return
		}
		ADDQ(U8(64), g)
		ADDQ(U8(64), y)
		ADDQ(U8(16), a)
		ADDQ(U8(128), d)
		ADDQ(U8(128), d1)
		DECQ(units)
		JNZ(LabelRef(label))
	}

	rowLoop(name, rows, func() {
		MOVQ(d, d1)
		ADDQ(wb, d1)
		MOVQ(w, units)
		SHRQ(U8(5), units)
		JZ(LabelRef(name + "_tail"))
		unit(name+"_unit", false)
		Label(name + "_tail")
		TESTQ(tl, tl)
		JZ(LabelRef(name + "_next"))
		unit(name+"_masked", true)
		// Past the partial unit: t floats of each dst row, t/2 pooled values.
		step := GP64()
		LEAQ(Mem{Base: d1, Index: tl, Scale: 4}, d1)
		LEAQ(Mem{Base: g, Index: tl, Scale: 2}, g)
		LEAQ(Mem{Base: y, Index: tl, Scale: 2}, y)
		MOVQ(tl, step)
		SHRQ(U8(1), step)
		ADDQ(step, a)
		Label(name + "_next")
		MOVQ(d1, d) // past the second row of the pair
	})
	VHADDPS(acc, acc, acc)
	VHADDPS(acc, acc, acc)
	Store(acc, ReturnIndex(0))
	VZEROUPPER()
	RET()
}
