package main

// The AVX-512 set's BatchNorm passes (package kernels' batchnorm.go): a plane's moments, the
// 2x2 max pooling of x·scale + bias, and the backward sums and input gradient through a fused
// ReLU and pooling. Rows of any width: a row's last unit runs under masks (masked loads touch
// no memory past them), so no plane is copied into padded rows. Each kernel walks rows by an
// index from the row's start, which keeps odd widths simple. Sums add lane by lane in a fixed
// assignment (element j of a row's unit to lane j) and reduce by halves, as batchnorm.go's Go
// references do, so the two give the same bits.

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

type bnTables struct {
	masks, even, odd, dupLo, dupHi, parity0, parity1 Mem
}

func emitBNTables() bnTables {
	perm := func(name string, f func(i int) int) Mem { return dwordTable(name, 16, f) }
	t := bnTables{
		even:    perm("bnEvenIdx", func(i int) int { return 2 * i }),
		odd:     perm("bnOddIdx", func(i int) int { return 2*i + 1 }),
		dupLo:   perm("bnDupLoIdx", func(i int) int { return i / 2 }),
		dupHi:   perm("bnDupHiIdx", func(i int) int { return 8 + i/2 }),
		parity0: perm("bnParity0", func(i int) int { return i % 2 }),
		parity1: perm("bnParity1", func(i int) int { return 2 + i%2 }),
	}
	t.masks = lowBitMasks("bnMasks")
	return t
}

// dwordTable emits the table name of n dwords, f(i) at i.
func dwordTable(name string, n int, f func(i int) int) Mem {
	m := GLOBL(name, RODATA|NOPTR)
	for i := 0; i < n; i++ {
		DATA(4*i, U32(f(i)))
	}
	return m
}

// lowBitMasks emits the table name of 17 words, entry n the mask of n low bits (a KMOVW's
// mask of the first n of 16 lanes).
func lowBitMasks(name string) Mem {
	m := GLOBL(name, RODATA|NOPTR)
	for n := 0; n <= 16; n++ {
		DATA(2*n, U16(1<<n-1))
	}
	return m
}

func bnKernels() {
	t := emitBNTables()
	bnMomentsKernel(t)
	bnAffinePoolKernel(t)
	bnPoolSumsKernel(t)
	bnPoolGradKernel(t)
	y := emitBNYTables()
	bnMomentsAVX2Kernel(y)
	bnAffinePoolAVX2Kernel(y)
	bnPoolSumsAVX2Kernel(y)
	bnPoolGradAVX2Kernel(y)
}

// splitMasks loads into lo and hi the masks of the first n of 32 floats (n in 0..31): lo the
// first 16, hi the next 16, from the table of masks at table.
func splitMasks(n, table reg.GPVirtual, lo, hi reg.Register) {
	a, b := GP64(), GP64()
	MOVQ(U32(16), a)
	CMPQ(n, U8(16))
	CMOVQLT(n, a) // min(n, 16)
	MOVQ(n, b)
	SUBQ(a, b) // max(n-16, 0)
	KMOVW(Mem{Base: table, Index: a, Scale: 2}, lo)
	KMOVW(Mem{Base: table, Index: b, Scale: 2}, hi)
}

// sum32Lanes reduces 32 float32 lanes (a: lanes 0-15, b: 16-31) into the low lane of a's XMM:
// a+b, then halves: lane i + lane i+8, i+4, i+2, i+1.
func sum32Lanes(a, b reg.VecPhysical) {
	VADDPS(b, a, a)
	VEXTRACTF64X4(U8(1), a, b.AsY())
	VADDPS(b.AsY(), a.AsY(), a.AsY())
	sum8Lanes(a, b)
}

// sum8Lanes reduces the 8 float32 lanes of a's YMM into its low lane, b scratch: lane i +
// lane i+4, i+2, i+1.
func sum8Lanes(a, b reg.VecPhysical) {
	VEXTRACTF128(U8(1), a.AsY(), b.AsX())
	VADDPS(b.AsX(), a.AsX(), a.AsX())
	VMOVHLPS(a.AsX(), b.AsX(), b.AsX())
	VADDPS(b.AsX(), a.AsX(), a.AsX())
	VMOVSHDUP(a.AsX(), b.AsX())
	VADDSS(b.AsX(), a.AsX(), a.AsX())
}

// sum16Lanes64 reduces 16 float64 lanes (a: lanes 0-7, b: 8-15) into the low lane of a's XMM
// the same way: a+b, then lane i + lane i+4, i+2, i+1.
func sum16Lanes64(a, b reg.VecPhysical) {
	VADDPD(b, a, a)
	VEXTRACTF64X4(U8(1), a, b.AsY())
	VADDPD(b.AsY(), a.AsY(), a.AsY())
	sum4Lanes64(a, b)
}

// sum4Lanes64 reduces the 4 float64 lanes of a's YMM into its low lane, b scratch: lane i +
// lane i+2, i+1.
func sum4Lanes64(a, b reg.VecPhysical) {
	VEXTRACTF128(U8(1), a.AsY(), b.AsX())
	VADDPD(b.AsX(), a.AsX(), a.AsX())
	VUNPCKHPD(a.AsX(), a.AsX(), b.AsX())
	VADDSD(b.AsX(), a.AsX(), a.AsX())
}

// toFloat64 widens the 16 floats of v into lo (lanes 0-7) and hi (8-15).
func toFloat64(v, lo, hi reg.VecPhysical) {
	VEXTRACTF64X4(U8(1), v, hi.AsY())
	VCVTPS2PD(v.AsY(), lo)
	VCVTPS2PD(hi.AsY(), hi)
}

// bnMomentsKernel emits bnMomentsAVX512: pm, the mean in float32 of x (a sum in 32 lanes
// divided by len(x)), then Σe and Σe² in float64 over e = float64(x−pm) in 16 lanes.
func bnMomentsKernel(t bnTables) {
	name := "bnMomentsAVX512"
	TEXT(name, NOSPLIT, "func(x []float32) (pm float32, d, q float64)")
	Pragma("noescape")
	Doc(name+" returns the float32 mean pm of x (len(x) > 0) and the float64 sums of the",
		"deviations x−pm and of their squares.")
	x := gp(Param("x").Base())
	n := gp(Param("x").Len())
	i, rest := GP64(), GP64()
	s0, s1, v0, v1 := reg.Z0, reg.Z1, reg.Z2, reg.Z3
	VPXORD(s0, s0, s0)
	VPXORD(s1, s1, s1)
	XORQ(i, i)
	MOVQ(n, rest)
	SHRQ(U8(5), rest)
	SHLQ(U8(5), rest) // the floats in whole units of 32
	unitLoop(name+"_sum", name+"_sumTail", i, rest, 32, func() {
		VADDPS(Mem{Base: x, Index: i, Scale: 4}, s0, s0)
		VADDPS(Mem{Base: x, Index: i, Scale: 4, Disp: 64}, s1, s1)
	})
	tail, table := GP64(), GP64()
	LEAQ(t.masks, table)
	MOVQ(n, tail)
	SUBQ(i, tail)
	splitMasks(tail, table, reg.K1, reg.K2)
	VMOVUPS_Z(Mem{Base: x, Index: i, Scale: 4}, reg.K1, v0)
	VMOVUPS_Z(Mem{Base: x, Index: i, Scale: 4, Disp: 64}, reg.K2, v1)
	VADDPS(v0, s0, reg.K1, s0)
	VADDPS(v1, s1, reg.K2, s1)
	sum32Lanes(s0, s1)
	pm := reg.Z4
	VCVTSI2SSQ(n, reg.X5, reg.X5)
	VDIVSS(reg.X5, s0.AsX(), pm.AsX())
	Store(pm.AsX(), Return("pm"))
	VBROADCASTSS(pm.AsX(), pm)

	d0, d1, q0, q1 := reg.Z6, reg.Z7, reg.Z8, reg.Z9
	for _, r := range []reg.VecPhysical{d0, d1, q0, q1} {
		VPXORD(r, r, r)
	}
	e0, e1, p0, p1 := reg.Z10, reg.Z11, reg.Z12, reg.Z13
	dev := func(k reg.Register) {
		VSUBPS(pm, v0, v0)
		toFloat64(v0, e0, e1)
		VMULPD(e0, e0, p0)
		VMULPD(e1, e1, p1)
		if k == nil {
			VADDPD(e0, d0, d0)
			VADDPD(e1, d1, d1)
			VADDPD(p0, q0, q0)
			VADDPD(p1, q1, q1)
			return
		}
		KSHIFTRW(U8(8), reg.K1, reg.K2)
		VADDPD(e0, d0, reg.K1, d0)
		VADDPD(e1, d1, reg.K2, d1)
		VADDPD(p0, q0, reg.K1, q0)
		VADDPD(p1, q1, reg.K2, q1)
	}
	XORQ(i, i)
	MOVQ(n, rest)
	SHRQ(U8(4), rest)
	SHLQ(U8(4), rest)
	unitLoop(name+"_dev", name+"_devTail", i, rest, 16, func() {
		VMOVUPS(Mem{Base: x, Index: i, Scale: 4}, v0)
		dev(nil)
	})
	MOVQ(n, tail)
	SUBQ(i, tail)
	splitMasks(tail, table, reg.K1, reg.K2)
	VMOVUPS_Z(Mem{Base: x, Index: i, Scale: 4}, reg.K1, v0)
	dev(reg.K1)
	sum16Lanes64(d0, d1)
	sum16Lanes64(q0, q1)
	Store(d0.AsX(), Return("d"))
	Store(q0.AsX(), Return("q"))
	VZEROUPPER()
	RET()
}

// unitLoop emits a loop over a row's whole units: body for i, then i += step, while i < full
// (i starts where the caller set it), then the label tail, where i is past the whole units.
func unitLoop(loop, tail string, i, full reg.GPVirtual, step int, body func()) {
	Label(loop)
	CMPQ(i, full)
	JGE(LabelRef(tail))
	body()
	ADDQ(U8(step), i)
	JMP(LabelRef(loop))
	Label(tail)
}

// poolWalk emits the loop over a unit of 16 pooled columns (32 columns of a row pair) at a
// time for pooled rows of ow columns: body(masked) runs with j the unit's first pooled column
// and, when masked, K1/K2 the masks of its 2*n row floats and K3 of its n pooled columns.
func poolWalk(name string, ow, j reg.GPVirtual, masks Mem, body func(masked bool)) {
	full, n := GP64(), GP64()
	MOVQ(ow, full)
	SHRQ(U8(4), full)
	SHLQ(U8(4), full)
	XORQ(j, j)
	unitLoop(name+"_unit", name+"_tail", j, full, 16, func() {
		body(false)
	})
	MOVQ(ow, n)
	SUBQ(j, n)
	JZ(LabelRef(name + "_rowDone"))
	table := GP64()
	LEAQ(masks, table)
	KMOVW(Mem{Base: table, Index: n, Scale: 2}, reg.K3)
	SHLQ(U8(1), n)
	splitMasks(n, table, reg.K1, reg.K2)
	body(true)
	Label(name + "_rowDone")
}

// loadUnit loads a unit's 32 floats at p into lo and hi; masked (a row's last unit), by K1 and
// K2, with zeros past them.
func loadUnit(p Mem, masked bool, lo, hi reg.VecPhysical) {
	q := p
	q.Disp += 64
	if masked {
		VMOVUPS_Z(p, reg.K1, lo)
		VMOVUPS_Z(q, reg.K2, hi)
		return
	}
	VMOVUPS(p, lo)
	VMOVUPS(q, hi)
}

// storeUnit stores lo and hi as a unit's 32 floats at p; masked, only the lanes of K1 and K2.
func storeUnit(lo, hi reg.VecPhysical, p Mem, masked bool) {
	q := p
	q.Disp += 64
	if masked {
		VMOVUPS(lo, reg.K1, p)
		VMOVUPS(hi, reg.K2, q)
		return
	}
	VMOVUPS(lo, p)
	VMOVUPS(hi, q)
}

// storePooled stores a unit's 16 pooled outputs best at d and their winners at as bytes at a;
// masked, only the lanes of K3.
func storePooled(best, at reg.VecPhysical, d, a Mem, masked bool) {
	if masked {
		VMOVUPS(best, reg.K3, d)
		VPMOVDB(at, reg.K3, a)
		return
	}
	VMOVUPS(best, d)
	VPMOVDB(at, a)
}

// loadPair loads a unit's 32 floats at p (masked: by K1 and K2) into lo and hi and splits them
// into even and odd columns.
func loadPair(p Mem, masked bool, lo, hi, even, odd, evenIdx, oddIdx reg.VecPhysical) {
	loadUnit(p, masked, lo, hi)
	VMOVDQA32(evenIdx, even)
	VPERMI2PS(hi, lo, even)
	VMOVDQA32(oddIdx, odd)
	VPERMI2PS(hi, lo, odd)
}

// bnAffinePoolKernel emits bnAffinePool2AVX512: ReLUPool2 of src·scale + bias (each element
// x*scale, then + bias), the same comparisons as reluPool2AVX512.
func bnAffinePoolKernel(t bnTables) {
	name := "bnAffinePool2AVX512"
	TEXT(name, NOSPLIT, "func(dst []float32, arg []uint8, src []float32, scale, bias float32, rows, w int)")
	Pragma("noescape")
	Doc(name+" writes rows rows of w/2 pooled outputs into dst and arg from 2*rows rows of w",
		"floats of src, each times scale plus bias; w >= 2.")
	d := gp(Param("dst").Base())
	a := gp(Param("arg").Base())
	s := gp(Param("src").Base())
	rows := gp(Param("rows"))
	w := gp(Param("w"))
	ow, s1, j := GP64(), GP64(), GP64()
	MOVQ(w, ow)
	SHRQ(U8(1), ow)

	scale, bias, zero := reg.Z16, reg.Z15, reg.Z14
	VBROADCASTSS(paramAddr("scale"), scale)
	VBROADCASTSS(paramAddr("bias"), bias)
	VPXORD(zero, zero, zero)
	k := []reg.VecPhysical{zero, reg.Z13, reg.Z12, reg.Z11}
	windowPositions(k)
	evenIdx, oddIdx := reg.Z10, reg.Z9
	VMOVDQU32(t.even, evenIdx)
	VMOVDQU32(t.odd, oddIdx)

	body := func(masked bool) {
		c := []reg.VecPhysical{reg.Z0, reg.Z1, reg.Z2, reg.Z3}
		for r, base := range []reg.GPVirtual{s, s1} {
			loadPair(Mem{Base: base, Index: j, Scale: 8}, masked, reg.Z6, reg.Z7, c[2*r], c[2*r+1], evenIdx, oddIdx)
		}
		for _, v := range c {
			VMULPS(scale, v, v)
			VADDPS(bias, v, v)
		}
		best, at := c[0], reg.Z4
		windowMax512(c, k, at)
		reluInPlace(best, zero)
		storePooled(best, at, Mem{Base: d, Index: j, Scale: 4}, Mem{Base: a, Index: j, Scale: 1}, masked)
	}

	rowLoop(name, rows, func() {
		LEAQ(Mem{Base: s, Index: w, Scale: 4}, s1)
		poolWalk(name, ow, j, t.masks, body)
		LEAQ(Mem{Base: s1, Index: w, Scale: 4}, s) // the next pair of rows
		LEAQ(Mem{Base: d, Index: ow, Scale: 4}, d)
		ADDQ(ow, a)
	})
	VZEROUPPER()
	RET()
}

// loadWinners loads a unit's pooled gradient dy where y > 0 (else 0) into g and its winners
// as int32 into av (all ones past the row, which match no window position).
func loadWinners(dy, y, arg reg.GPVirtual, j reg.GPVirtual, masked bool, g, av, zero reg.VecPhysical) {
	yv := Mem{Base: y, Index: j, Scale: 4}
	if masked {
		VMOVUPS_Z(yv, reg.K3, g)
	} else {
		VMOVUPS(yv, g)
	}
	VCMPPS(U8(cmpGTOQ), zero, g, reg.K4) // y > 0, false for NaN and past the row
	VMOVUPS_Z(Mem{Base: dy, Index: j, Scale: 4}, reg.K4, g)
	am := Mem{Base: arg, Index: j, Scale: 1}
	if masked {
		VPTERNLOGD(U8(0xff), av, av, av)
		VPMOVZXBD(am, reg.K3, av)
	} else {
		VPMOVZXBD(am, av)
	}
}

// bnPoolSumsKernel emits bnPoolSumsAVX512: Σg and Σg·(x−mu) in float64 over the windows of
// 2*rows rows of w floats of x, g the pooled gradient where the pooled output is positive and
// x the window's winner, pooled column j of a row to lane j%16.
func bnPoolSumsKernel(t bnTables) {
	name := "bnPoolSumsAVX512"
	TEXT(name, NOSPLIT, "func(x, dy, y []float32, arg []uint8, mu float64, rows, w int) (sd, sdx float64)")
	Pragma("noescape")
	Doc(name+" returns Σg and Σg·(x−mu) over rows rows of w/2 pooled gradients, as",
		"batchnorm.go's poolSums; w >= 2.")
	x := gp(Param("x").Base())
	dy := gp(Param("dy").Base())
	y := gp(Param("y").Base())
	a := gp(Param("arg").Base())
	rows := gp(Param("rows"))
	w := gp(Param("w"))
	ow, x1, j := GP64(), GP64(), GP64()
	MOVQ(w, ow)
	SHRQ(U8(1), ow)

	mu, zero := reg.Z31, reg.Z30
	VBROADCASTSD(paramAddr("mu"), mu)
	VPXORD(zero, zero, zero)
	k := []reg.VecPhysical{zero, reg.Z29, reg.Z28, reg.Z27} // the window positions 0-3 as int32
	windowPositions(k)
	evenIdx, oddIdx := reg.Z26, reg.Z25
	VMOVDQU32(t.even, evenIdx)
	VMOVDQU32(t.odd, oddIdx)
	sd0, sd1, sx0, sx1 := reg.Z20, reg.Z21, reg.Z22, reg.Z23
	for _, r := range []reg.VecPhysical{sd0, sd1, sx0, sx1} {
		VPXORD(r, r, r)
	}

	body := func(masked bool) {
		c := []reg.VecPhysical{reg.Z0, reg.Z1, reg.Z2, reg.Z3}
		for r, base := range []reg.GPVirtual{x, x1} {
			loadPair(Mem{Base: base, Index: j, Scale: 8}, masked, reg.Z6, reg.Z7, c[2*r], c[2*r+1], evenIdx, oddIdx)
		}
		g, av := reg.Z4, reg.Z5
		loadWinners(dy, y, a, j, masked, g, av, zero)
		win := c[0]
		for i := 1; i <= 3; i++ {
			VPCMPEQD(k[i], av, reg.K4)
			VMOVAPS(c[i], reg.K4, win)
		}
		g0, g1, x0, xh := reg.Z8, reg.Z9, reg.Z10, reg.Z11
		toFloat64(g, g0, g1)
		toFloat64(win, x0, xh)
		VSUBPD(mu, x0, x0)
		VSUBPD(mu, xh, xh)
		VMULPD(g0, x0, x0)
		VMULPD(g1, xh, xh)
		if masked {
			KSHIFTRW(U8(8), reg.K3, reg.K5)
			VADDPD(g0, sd0, reg.K3, sd0)
			VADDPD(g1, sd1, reg.K5, sd1)
			VADDPD(x0, sx0, reg.K3, sx0)
			VADDPD(xh, sx1, reg.K5, sx1)
			return
		}
		VADDPD(g0, sd0, sd0)
		VADDPD(g1, sd1, sd1)
		VADDPD(x0, sx0, sx0)
		VADDPD(xh, sx1, sx1)
	}

	rowLoop(name, rows, func() {
		LEAQ(Mem{Base: x, Index: w, Scale: 4}, x1)
		poolWalk(name, ow, j, t.masks, body)
		LEAQ(Mem{Base: x1, Index: w, Scale: 4}, x)
		LEAQ(Mem{Base: dy, Index: ow, Scale: 4}, dy)
		LEAQ(Mem{Base: y, Index: ow, Scale: 4}, y)
		ADDQ(ow, a)
	})
	// The reductions' VEX instructions reach only the first 16 registers.
	for i, r := range []reg.VecPhysical{sd0, sd1, sx0, sx1} {
		VMOVAPD(r, []reg.VecPhysical{reg.Z0, reg.Z1, reg.Z2, reg.Z3}[i])
	}
	sum16Lanes64(reg.Z0, reg.Z1)
	sum16Lanes64(reg.Z2, reg.Z3)
	Store(reg.X0, Return("sd"))
	Store(reg.X2, Return("sdx"))
	VZEROUPPER()
	RET()
}

// bnPoolGradKernel emits bnPoolGradAVX512: dst [h,w] = −b − (x−mu)·e, plus a·g at each
// window's winner (g the pooled gradient where the pooled output is positive), and the sum
// of dst in 32 lanes, column j of a row to lane j%32.
func bnPoolGradKernel(t bnTables) {
	name := "bnPoolGradAVX512"
	TEXT(name, NOSPLIT, "func(dst, x, dy, y []float32, arg []uint8, a, nb, mu, e float32, h, w int) float32")
	Pragma("noescape")
	Doc(name+" writes the BatchNorm input gradient dst [h,w] as batchnorm.go's poolGrad and",
		"returns its sum; w >= 2.")
	dst := gp(Param("dst").Base())
	x := gp(Param("x").Base())
	dy := gp(Param("dy").Base())
	y := gp(Param("y").Base())
	ar := gp(Param("arg").Base())
	w := gp(Param("w"))
	j, full, n, pairs := GP64(), GP64(), GP64(), GP64()
	Load(Param("h"), pairs)
	SHRQ(U8(1), pairs)

	av, negb, mu, e, zero := reg.Z31, reg.Z30, reg.Z29, reg.Z28, reg.Z27
	VBROADCASTSS(paramAddr("a"), av)
	VBROADCASTSS(paramAddr("nb"), negb)
	VBROADCASTSS(paramAddr("mu"), mu)
	VBROADCASTSS(paramAddr("e"), e)
	VPXORD(zero, zero, zero)
	dupLo, dupHi, par0, par1 := reg.Z26, reg.Z25, reg.Z24, reg.Z23
	VMOVDQU32(t.dupLo, dupLo)
	VMOVDQU32(t.dupHi, dupHi)
	VMOVDQU32(t.parity0, par0)
	VMOVDQU32(t.parity1, par1)
	s0, s1 := reg.Z20, reg.Z21
	VPXORD(s0, s0, s0)
	VPXORD(s1, s1, s1)

	// unit: 32 columns at column 2*j of the row (masked by K1/K2), the winners of parity par
	// (nil: a row of no window) from the unit's 16 pooled columns at j (masked by K3).
	unit := func(masked bool, par reg.VecPhysical) {
		lo, hi := reg.Z0, reg.Z1
		loadUnit(Mem{Base: x, Index: j, Scale: 8}, masked, lo, hi)
		for _, v := range []reg.VecPhysical{lo, hi} {
			VSUBPS(mu, v, v)
			VMULPS(e, v, v)
			VSUBPS(v, negb, v)
		}
		if par != nil {
			g, aw := reg.Z4, reg.Z5
			loadWinners(dy, y, ar, j, masked, g, aw, zero)
			VMULPS(av, g, g)
			gl, gh, al, ah := reg.Z6, reg.Z7, reg.Z8, reg.Z9
			VPERMPS(g, dupLo, gl)
			VPERMPS(g, dupHi, gh)
			VPERMD(aw, dupLo, al)
			VPERMD(aw, dupHi, ah)
			VPCMPEQD(par, al, reg.K4)
			VPCMPEQD(par, ah, reg.K5)
			VADDPS(gl, lo, reg.K4, lo)
			VADDPS(gh, hi, reg.K5, hi)
		}
		storeUnit(lo, hi, Mem{Base: dst, Index: j, Scale: 8}, masked)
		if masked {
			VADDPS(lo, s0, reg.K1, s0)
			VADDPS(hi, s1, reg.K2, s1)
			return
		}
		VADDPS(lo, s0, s0)
		VADDPS(hi, s1, s1)
	}
	// row walks one row of w floats in units of 32; j counts pooled columns (16 a unit), so
	// the row's floats are at 8*j bytes. An odd last column is in the masked unit: n = w−2j
	// floats, and its pooled mask n/2 leaves it out of every window.
	row := func(label string, par reg.VecPhysical) {
		MOVQ(w, full)
		SHRQ(U8(5), full)
		SHLQ(U8(4), full) // whole units, in pooled columns
		XORQ(j, j)
		unitLoop(label+"_unit", label+"_tail", j, full, 16, func() {
			unit(false, par)
		})
		MOVQ(w, n)
		SUBQ(j, n)
		SUBQ(j, n) // floats left in the row
		JZ(LabelRef(label + "_done"))
		table := GP64()
		LEAQ(t.masks, table)
		splitMasks(n, table, reg.K1, reg.K2)
		SHRQ(U8(1), n)
		KMOVW(Mem{Base: table, Index: n, Scale: 2}, reg.K3)
		unit(true, par)
		Label(label + "_done")
		LEAQ(Mem{Base: x, Index: w, Scale: 4}, x)
		LEAQ(Mem{Base: dst, Index: w, Scale: 4}, dst)
	}

	gradRows(name, pairs, w, dy, y, ar, func(label string, parity int) {
		row(label, []reg.VecPhysical{par0, par1, nil}[parity])
	})
	VMOVAPS(s0, reg.Z0) // the reduction's VEX instructions reach only the first 16 registers
	VMOVAPS(s1, reg.Z1)
	sum32Lanes(reg.Z0, reg.Z1)
	Store(reg.X0, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// gradRows emits the walk of a poolGrad kernel over its h rows of w floats: pairs of rows
// (pairs of them), each pair against one row of the pooled values at dy, y and ar, then a
// last row when h is odd, in no window. row(label, parity) emits one row: parity 0 the even
// row of a pair, 1 the odd one, 2 the lone last row. It ends at the label name_sum.
func gradRows(name string, pairs, w, dy, y, ar reg.GPVirtual, row func(label string, parity int)) {
	Label(name + "_pair")
	TESTQ(pairs, pairs)
	JE(LabelRef(name + "_last"))
	row(name+"_even", 0)
	row(name+"_odd", 1)
	ow := GP64()
	MOVQ(w, ow)
	SHRQ(U8(1), ow)
	LEAQ(Mem{Base: dy, Index: ow, Scale: 4}, dy)
	LEAQ(Mem{Base: y, Index: ow, Scale: 4}, y)
	ADDQ(ow, ar)
	DECQ(pairs)
	JMP(LabelRef(name + "_pair"))
	Label(name + "_last")
	h := gp(Param("h"))
	TESTQ(U32(1), h)
	JE(LabelRef(name + "_sum"))
	row(name+"_lone", 2)
	Label(name + "_sum")
}

// The AVX2 kernels give the AVX-512 ones' bits: the same lanes (four YMM accumulators for 32
// float32 lanes, four for 16 float64 lanes), reduced in the same tree. Without mask
// registers, the last unit of a row is loaded by VMASKMOVPS (zeros past the row), its winners'
// bytes by a blend (yWinners), and lanes past the row add +0, which leaves a lane's sum as it
// is (a sum that starts at +0 is never −0). bnPoolSumsAVX2 adds (0−mu)·0 past the row, so
// only a mean mu that is not finite (a plane holding infinities) could tell the sets apart.

type bnYTables struct {
	masks, dupLo, dupHi, parity0, parity1 Mem
}

func emitBNYTables() bnYTables {
	perm := func(name string, f func(i int) int) Mem { return dwordTable(name, 8, f) }
	t := bnYTables{
		dupLo:   perm("bnYDupLoIdx", func(i int) int { return i / 2 }),
		dupHi:   perm("bnYDupHiIdx", func(i int) int { return 4 + i/2 }),
		parity0: perm("bnYParity0", func(i int) int { return i % 2 }),
		parity1: perm("bnYParity1", func(i int) int { return 2 + i%2 }),
	}
	// masks: entry n (0..8) is 8 dwords, the first n all ones.
	t.masks = GLOBL("bnYMasks", RODATA|NOPTR)
	for n := 0; n <= 8; n++ {
		for i := 0; i < 8; i++ {
			v := 0
			if i < n {
				v = -1
			}
			DATA(32*n+4*i, U32(uint32(int32(v))))
		}
	}
	return t
}

// yMask loads into m the VMASKMOVPS mask of the first clamp(n−off, 0, 8) floats.
func yMask(table, n reg.GPVirtual, off int, m reg.VecPhysical) {
	c, z, eight := GP64(), GP64(), GP64()
	MOVQ(n, c)
	if off != 0 {
		SUBQ(U32(off), c)
	}
	XORQ(z, z)
	CMPQ(c, z)
	CMOVQLT(z, c)
	MOVQ(U32(8), eight)
	CMPQ(c, eight)
	CMOVQGT(eight, c)
	SHLQ(U8(5), c)
	VMOVDQU(Mem{Base: table, Index: c, Scale: 1}, m)
}

// yTail is the masks of a row's last, partial unit, the same for every row of a plane, kept on
// the stack so that each row loads them in one instruction: lo and hi cover its first and
// second 8 floats of a row, pooled its pooled columns, whose count is in count.
type yTail struct{ lo, hi, pooled, count Mem }

// newYTail computes a yTail for fl floats and pc pooled columns.
func newYTail(table, fl, pc reg.GPVirtual, scratch reg.VecPhysical) yTail {
	t := yTail{lo: AllocLocal(32), hi: AllocLocal(32), pooled: AllocLocal(32), count: AllocLocal(8)}
	yMask(table, fl, 0, scratch)
	VMOVDQU(scratch, t.lo)
	yMask(table, fl, 8, scratch)
	VMOVDQU(scratch, t.hi)
	yMask(table, pc, 0, scratch)
	VMOVDQU(scratch, t.pooled)
	MOVQ(pc, t.count)
	return t
}

// newYPooledTail computes the yTail of pooled rows of ow columns run 8 at a time: ow%8 pooled
// columns, from twice as many floats of each source row. It uses Y0.
func newYPooledTail(table, ow reg.GPVirtual) yTail {
	fl, pc := GP64(), GP64()
	MOVQ(ow, pc)
	ANDQ(U8(7), pc)
	MOVQ(pc, fl)
	SHLQ(U8(1), fl)
	return newYTail(table, fl, pc, reg.Y0)
}

// sum32LanesY reduces 32 float32 lanes in four YMMs (lanes 0-7, 8-15, 16-23, 24-31) into the
// low lane of a[0]'s XMM as sum32Lanes does.
func sum32LanesY(a []reg.VecPhysical) {
	VADDPS(a[2], a[0], a[0])
	VADDPS(a[3], a[1], a[1])
	VADDPS(a[1], a[0], a[0])
	sum8Lanes(a[0], a[1])
}

// sum16Lanes64Y reduces 16 float64 lanes in four YMMs (lanes 0-3, 4-7, 8-11, 12-15) as
// sum16Lanes64 does.
func sum16Lanes64Y(a []reg.VecPhysical) {
	VADDPD(a[2], a[0], a[0])
	VADDPD(a[3], a[1], a[1])
	VADDPD(a[1], a[0], a[0])
	sum4Lanes64(a[0], a[1])
}

// widenY converts the 8 floats of v into lo (lanes 0-3) and hi (4-7) float64s.
func widenY(v, lo, hi reg.VecPhysical) {
	VEXTRACTF128(U8(1), v, hi.AsX())
	VCVTPS2PD(v.AsX(), lo)
	VCVTPS2PD(hi.AsX(), hi)
}

func bnMomentsAVX2Kernel(t bnYTables) {
	name := "bnMomentsAVX2"
	TEXT(name, NOSPLIT, "func(x []float32) (pm float32, d, q float64)")
	Pragma("noescape")
	Doc(name + " is bnMomentsAVX512 on YMM registers.")
	x := gp(Param("x").Base())
	n := gp(Param("x").Len())
	table, i, rest, tail := GP64(), GP64(), GP64(), GP64()
	LEAQ(t.masks, table)
	s := []reg.VecPhysical{reg.Y0, reg.Y1, reg.Y2, reg.Y3}
	for _, r := range s {
		VXORPS(r, r, r)
	}
	XORQ(i, i)
	MOVQ(n, rest)
	SHRQ(U8(5), rest)
	SHLQ(U8(5), rest)
	unitLoop(name+"_sum", name+"_sumTail", i, rest, 32, func() {
		for k, r := range s {
			VADDPS(Mem{Base: x, Index: i, Scale: 4, Disp: 32 * k}, r, r)
		}
	})
	MOVQ(n, tail)
	SUBQ(i, tail)
	m, v := reg.Y4, reg.Y5
	for k, r := range s {
		yMask(table, tail, 8*k, m)
		VMASKMOVPS(Mem{Base: x, Index: i, Scale: 4, Disp: 32 * k}, m, v)
		VADDPS(v, r, r)
	}
	sum32LanesY(s)
	pm := reg.Y6
	VCVTSI2SSQ(n, reg.X5, reg.X5)
	VDIVSS(reg.X5, reg.X0, pm.AsX())
	Store(pm.AsX(), Return("pm"))
	VBROADCASTSS(pm.AsX(), pm)

	d := []reg.VecPhysical{reg.Y0, reg.Y1, reg.Y2, reg.Y3}
	q := []reg.VecPhysical{reg.Y8, reg.Y9, reg.Y10, reg.Y11}
	for k := range d {
		VXORPD(d[k], d[k], d[k])
		VXORPD(q[k], q[k], q[k])
	}
	e0, e1 := reg.Y12, reg.Y13
	// dev adds the deviations of the 8 floats in v into lanes 4h..4h+7 (h = 0 or 2).
	dev := func(h int, mask reg.VecPhysical) {
		VSUBPS(pm, v, v)
		if mask != nil {
			VANDPS(mask, v, v)
		}
		widenY(v, e0, e1)
		VADDPD(e0, d[h], d[h])
		VADDPD(e1, d[h+1], d[h+1])
		VMULPD(e0, e0, e0)
		VMULPD(e1, e1, e1)
		VADDPD(e0, q[h], q[h])
		VADDPD(e1, q[h+1], q[h+1])
	}
	XORQ(i, i)
	MOVQ(n, rest)
	SHRQ(U8(4), rest)
	SHLQ(U8(4), rest)
	unitLoop(name+"_dev", name+"_devTail", i, rest, 16, func() {
		for h := 0; h < 2; h++ {
			VMOVUPS(Mem{Base: x, Index: i, Scale: 4, Disp: 32 * h}, v)
			dev(2*h, nil)
		}
	})
	MOVQ(n, tail)
	SUBQ(i, tail)
	for h := 0; h < 2; h++ {
		yMask(table, tail, 8*h, m)
		VMASKMOVPS(Mem{Base: x, Index: i, Scale: 4, Disp: 32 * h}, m, v)
		dev(2*h, m)
	}
	sum16Lanes64Y(d)
	sum16Lanes64Y(q)
	Store(reg.X0, Return("d"))
	Store(reg.X8, Return("q"))
	VZEROUPPER()
	RET()
}

// yLoadUnit loads the 16 floats at p into lo and hi; with a tail tl (a row's last unit), those
// of tl's lo and hi masks, which it loads into mlo and mhi, and zeros past them.
func yLoadUnit(p Mem, tl *yTail, lo, hi, mlo, mhi reg.VecPhysical) {
	q := p
	q.Disp += 32
	if tl != nil {
		VMOVDQU(tl.lo, mlo)
		VMASKMOVPS(p, mlo, lo)
		VMOVDQU(tl.hi, mhi)
		VMASKMOVPS(q, mhi, hi)
		return
	}
	VMOVUPS(p, lo)
	VMOVUPS(q, hi)
}

// yLoadPooled loads the 8 pooled floats at p into v; with a tail tl, those of tl's pooled mask
// (loaded into m) and zeros past them.
func yLoadPooled(p Mem, tl *yTail, v, m reg.VecPhysical) {
	if tl != nil {
		VMOVDQU(tl.pooled, m)
		VMASKMOVPS(p, m, v)
		return
	}
	VMOVUPS(p, v)
}

// yLastUnit emits a row's last, partial unit of n elements (0 < n < 2*half), in two halves as
// the AVX2 kernels run a unit: when n >= half, first() runs the first half whole and, unless
// n == half, masked(true) the second under the tail's masks; when n < half, masked(false)
// the first half under them. It ends at the label done.
func yLastUnit(label, done string, n reg.GPVirtual, half int, first func(), masked func(second bool)) {
	CMPQ(n, U8(half))
	JL(LabelRef(label + "_lastA"))
	first()
	CMPQ(n, U8(half))
	JE(LabelRef(done))
	masked(true)
	JMP(LabelRef(done))
	Label(label + "_lastA")
	masked(false)
	Label(done)
}

// ySplit loads the 16 floats at p (when masked, those of tl's lo and hi, zeros past them) and
// splits them into even and odd columns, in order; m is scratch.
func ySplit(p Mem, tl *yTail, lo, hi, even, odd, m reg.VecPhysical) {
	yLoadUnit(p, tl, lo, hi, m, m)
	VSHUFPS(U8(0x88), hi, lo, even)
	VSHUFPS(U8(0xdd), hi, lo, odd)
	VPERMPD(U8(0xd8), even, even)
	VPERMPD(U8(0xd8), odd, odd)
}

// yWinners loads the winners of 8 pooled columns at am as dwords into av; with a tail tl, those
// of tl's pooled columns (fewer than 8), 255 past them (which matches no window position):
// straight from am when 8 bytes there are within arg, else through the stack buffer buf a
// byte at a time (the last row's). ones and m are scratch.
func yWinners(am Mem, buf Mem, tl *yTail, av, ones, m reg.VecPhysical, label string) {
	if tl == nil {
		VPMOVZXBD(am, av)
		return
	}
	p := GP64()
	LEAQ(am, p)
	end, base := GP64(), GP64()
	Load(Param("arg").Len(), end)
	Load(Param("arg").Base(), base)
	ADDQ(base, end)
	LEAQ(Mem{Base: p, Disp: 8}, base)
	CMPQ(base, end)
	JHI(LabelRef(label + "_bytes"))
	VPMOVZXBD(Mem{Base: p}, av)
	VPCMPEQD(ones, ones, ones)
	VMOVDQU(tl.pooled, m)
	VBLENDVPS(m, av, ones, av)
	JMP(LabelRef(label + "_done"))
	Label(label + "_bytes")
	k, b, cnt := GP64(), GP64(), GP64()
	MOVQ(tl.count, cnt)
	XORQ(b, b)
	NOTQ(b)
	MOVQ(b, buf)
	XORQ(k, k)
	Label(label + "_loop")
	CMPQ(k, cnt)
	JGE(LabelRef(label + "_copied"))
	MOVBQZX(Mem{Base: p, Index: k, Scale: 1}, b)
	bq := buf
	bq.Index, bq.Scale = k, 1
	MOVB(b.As8(), bq)
	INCQ(k)
	JMP(LabelRef(label + "_loop"))
	Label(label + "_copied")
	VPMOVZXBD(buf, av)
	Label(label + "_done")
}

func bnAffinePoolAVX2Kernel(t bnYTables) {
	name := "bnAffinePool2AVX2"
	TEXT(name, NOSPLIT, "func(dst []float32, arg []uint8, src []float32, scale, bias float32, rows, w int)")
	Pragma("noescape")
	Doc(name + " is bnAffinePool2AVX512 on YMM registers, eight pooled outputs at a time.")
	d := gp(Param("dst").Base())
	a := gp(Param("arg").Base())
	s := gp(Param("src").Base())
	rows := gp(Param("rows"))
	w := gp(Param("w"))
	ow, s1, j, full, table := GP64(), GP64(), GP64(), GP64(), GP64()
	LEAQ(t.masks, table)
	MOVQ(w, ow)
	SHRQ(U8(1), ow)
	tl := newYPooledTail(table, ow)
	scale, bias, zero := reg.Y15, reg.Y14, reg.Y13
	VBROADCASTSS(paramAddr("scale"), scale)
	VBROADCASTSS(paramAddr("bias"), bias)
	VXORPS(zero, zero, zero)
	k := []reg.VecPhysical{zero, reg.Y12, reg.Y11, reg.Y10}
	windowPositions(k)

	body := func(masked bool, label string) {
		c := []reg.VecPhysical{reg.Y0, reg.Y1, reg.Y2, reg.Y3}
		var mt *yTail
		if masked {
			mt = &tl
		}
		for r, base := range []reg.GPVirtual{s, s1} {
			ySplit(Mem{Base: base, Index: j, Scale: 8}, mt, reg.Y4, reg.Y5, c[2*r], c[2*r+1], reg.Y6)
		}
		for _, v := range c {
			VMULPS(scale, v, v)
			VADDPS(bias, v, v)
		}
		best, at, m := c[0], reg.Y4, reg.Y5
		windowMax(c, k, at, m, reg.Y6)
		reluInPlace(best, zero)
		VEXTRACTF128(U8(1), at, m.AsX())
		VPACKUSDW(m.AsX(), at.AsX(), at.AsX())
		VPACKUSWB(at.AsX(), at.AsX(), at.AsX())
		if !masked {
			VMOVUPS(best, Mem{Base: d, Index: j, Scale: 4})
			VMOVQ(at.AsX(), Mem{Base: a, Index: j, Scale: 1})
			return
		}
		VMOVDQU(tl.pooled, m)
		VMASKMOVPS(best, m, Mem{Base: d, Index: j, Scale: 4})
		bytes, i := GP64(), GP64()
		VMOVQ(at.AsX(), bytes)
		MOVQ(tl.count, i)
		ADDQ(j, i) // past the last
		Label(label + "_byte")
		MOVB(bytes.As8(), Mem{Base: a, Index: j, Scale: 1})
		SHRQ(U8(8), bytes)
		INCQ(j)
		CMPQ(j, i)
		JL(LabelRef(label + "_byte"))
	}

	rowLoop(name, rows, func() {
		LEAQ(Mem{Base: s, Index: w, Scale: 4}, s1)
		MOVQ(ow, full)
		SHRQ(U8(3), full)
		SHLQ(U8(3), full)
		XORQ(j, j)
		unitLoop(name+"_unit", name+"_tail", j, full, 8, func() {
			body(false, name+"_full")
		})
		CMPQ(j, ow)
		JGE(LabelRef(name + "_next"))
		body(true, name+"_masked")
		Label(name + "_next")
		LEAQ(Mem{Base: s1, Index: w, Scale: 4}, s)
		LEAQ(Mem{Base: d, Index: ow, Scale: 4}, d)
		ADDQ(ow, a)
	})
	VZEROUPPER()
	RET()
}

func bnPoolSumsAVX2Kernel(t bnYTables) {
	name := "bnPoolSumsAVX2"
	TEXT(name, NOSPLIT, "func(x, dy, y []float32, arg []uint8, mu float64, rows, w int) (sd, sdx float64)")
	Pragma("noescape")
	Doc(name + " is bnPoolSumsAVX512 on YMM registers.")
	x := gp(Param("x").Base())
	dy := gp(Param("dy").Base())
	y := gp(Param("y").Base())
	a := gp(Param("arg").Base())
	rows := gp(Param("rows"))
	w := gp(Param("w"))
	buf := AllocLocal(8)
	ow, x1, j, table := GP64(), GP64(), GP64(), GP64()
	LEAQ(t.masks, table)
	MOVQ(w, ow)
	SHRQ(U8(1), ow)
	// The last unit: rest = ow%16 pooled columns, the first 8 of them whole when rest >= 8.
	tl := newYPooledTail(table, ow)
	mu := reg.Y15
	VBROADCASTSD(paramAddr("mu"), mu)
	sd := []reg.VecPhysical{reg.Y7, reg.Y8, reg.Y9, reg.Y10}
	sx := []reg.VecPhysical{reg.Y11, reg.Y12, reg.Y13, reg.Y14}
	for k := range sd {
		VXORPD(sd[k], sd[k], sd[k])
		VXORPD(sx[k], sx[k], sx[k])
	}

	// sub runs 8 pooled columns at j+off into lanes h..h+7 (h = 0 or 8); masked, the first
	// cnt of them.
	sub := func(off, h int, masked bool, label string) {
		lanes := h / 4
		var mt *yTail
		if masked {
			mt = &tl
		}
		ySplit(Mem{Base: x, Index: j, Scale: 8, Disp: 8 * off}, mt, reg.Y0, reg.Y1, reg.Y2, reg.Y3, reg.Y6)
		ySplit(Mem{Base: x1, Index: j, Scale: 8, Disp: 8 * off}, mt, reg.Y0, reg.Y1, reg.Y4, reg.Y5, reg.Y6)
		yWinners(Mem{Base: a, Index: j, Scale: 1, Disp: off}, buf, mt, reg.Y6, reg.Y0, reg.Y1, label+"_arg")
		VPSLLD(U8(31), reg.Y6, reg.Y0) // bit 0: the odd column
		VBLENDVPS(reg.Y0, reg.Y3, reg.Y2, reg.Y2)
		VBLENDVPS(reg.Y0, reg.Y5, reg.Y4, reg.Y4)
		VPSLLD(U8(30), reg.Y6, reg.Y0) // bit 1: the second row
		VBLENDVPS(reg.Y0, reg.Y4, reg.Y2, reg.Y2)
		yLoadPooled(Mem{Base: y, Index: j, Scale: 4, Disp: 4 * off}, mt, reg.Y3, reg.Y0)
		VXORPS(reg.Y1, reg.Y1, reg.Y1)
		VCMPPS(U8(cmpGTOQ), reg.Y1, reg.Y3, reg.Y0) // y > 0, false for NaN and past the row
		VMASKMOVPS(Mem{Base: dy, Index: j, Scale: 4, Disp: 4 * off}, reg.Y0, reg.Y3)
		widenY(reg.Y3, reg.Y0, reg.Y1)
		widenY(reg.Y2, reg.Y4, reg.Y5)
		VSUBPD(mu, reg.Y4, reg.Y4)
		VSUBPD(mu, reg.Y5, reg.Y5)
		VMULPD(reg.Y0, reg.Y4, reg.Y4)
		VMULPD(reg.Y1, reg.Y5, reg.Y5)
		VADDPD(reg.Y0, sd[lanes], sd[lanes])
		VADDPD(reg.Y1, sd[lanes+1], sd[lanes+1])
		VADDPD(reg.Y4, sx[lanes], sx[lanes])
		VADDPD(reg.Y5, sx[lanes+1], sx[lanes+1])
	}

	full, rest := GP64(), GP64()
	rowLoop(name, rows, func() {
		LEAQ(Mem{Base: x, Index: w, Scale: 4}, x1)
		MOVQ(ow, full)
		SHRQ(U8(4), full)
		SHLQ(U8(4), full)
		XORQ(j, j)
		unitLoop(name+"_unit", name+"_tail", j, full, 16, func() {
			sub(0, 0, false, name+"_a")
			sub(8, 8, false, name+"_b")
		})
		MOVQ(ow, rest)
		SUBQ(j, rest)
		JZ(LabelRef(name + "_next"))
		yLastUnit(name, name+"_next", rest, 8, func() {
			sub(0, 0, false, name+"_fa")
			ADDQ(U8(8), j)
		}, func(second bool) {
			if second {
				sub(0, 8, true, name+"_mb")
				return
			}
			sub(0, 0, true, name+"_ma")
		})
		LEAQ(Mem{Base: x1, Index: w, Scale: 4}, x)
		LEAQ(Mem{Base: dy, Index: ow, Scale: 4}, dy)
		LEAQ(Mem{Base: y, Index: ow, Scale: 4}, y)
		ADDQ(ow, a)
	})
	sum16Lanes64Y(sd)
	sum16Lanes64Y(sx)
	Store(reg.X7, Return("sd"))
	Store(reg.X11, Return("sdx"))
	VZEROUPPER()
	RET()
}

func bnPoolGradAVX2Kernel(t bnYTables) {
	name := "bnPoolGradAVX2"
	TEXT(name, NOSPLIT, "func(dst, x, dy, y []float32, arg []uint8, a, nb, mu, e float32, h, w int) float32")
	Pragma("noescape")
	Doc(name + " is bnPoolGradAVX512 on YMM registers.")
	dst := gp(Param("dst").Base())
	x := gp(Param("x").Base())
	dy := gp(Param("dy").Base())
	y := gp(Param("y").Base())
	ar := gp(Param("arg").Base())
	w := gp(Param("w"))
	buf := AllocLocal(8)
	j, full, n, pairs, table := GP64(), GP64(), GP64(), GP64(), GP64()
	LEAQ(t.masks, table)
	Load(Param("h"), pairs)
	SHRQ(U8(1), pairs)
	// A row's last unit: n = w%32 floats, n/2 pooled columns; the first 16 floats whole when
	// n >= 16, and the masks for the rest.
	fl, pc := GP64(), GP64()
	MOVQ(w, fl)
	ANDQ(U8(31), fl)
	MOVQ(fl, pc)
	SHRQ(U8(1), pc)
	CMPQ(fl, U8(16))
	JL(LabelRef(name + "_masks"))
	SUBQ(U8(16), fl)
	SUBQ(U8(8), pc)
	Label(name + "_masks")
	tl := newYTail(table, fl, pc, reg.Y0)

	av, negb, mu, e := reg.Y15, reg.Y14, reg.Y13, reg.Y12
	VBROADCASTSS(paramAddr("a"), av)
	VBROADCASTSS(paramAddr("nb"), negb)
	VBROADCASTSS(paramAddr("mu"), mu)
	VBROADCASTSS(paramAddr("e"), e)
	dupLo, dupHi := reg.Y11, reg.Y10
	VMOVDQU(t.dupLo, dupLo)
	VMOVDQU(t.dupHi, dupHi)
	s := []reg.VecPhysical{reg.Y6, reg.Y7, reg.Y8, reg.Y9}
	for _, r := range s {
		VXORPS(r, r, r)
	}

	// sub runs 16 columns at 2j+2off (8 pooled at j+off) into lanes 2off..2off+15 of the
	// sums (off = 0 or 8); masked, the first fl floats and pooled pc of them. par is the
	// row's parity table (nil: a row of no window).
	sub := func(off int, masked bool, par *Mem, label string) {
		lo, hi := reg.Y0, reg.Y1
		var mt *yTail
		if masked {
			mt = &tl
		}
		yLoadUnit(Mem{Base: x, Index: j, Scale: 8, Disp: 8 * off}, mt, lo, hi, reg.Y2, reg.Y3)
		for _, v := range []reg.VecPhysical{lo, hi} {
			VSUBPS(mu, v, v)
			VMULPS(e, v, v)
			VSUBPS(v, negb, v)
		}
		if par != nil {
			g, aw, gd, ad := reg.Y2, reg.Y3, reg.Y4, reg.Y5
			yLoadPooled(Mem{Base: y, Index: j, Scale: 4, Disp: 4 * off}, mt, g, gd)
			yWinners(Mem{Base: ar, Index: j, Scale: 1, Disp: off}, buf, mt, aw, gd, ad, label+"_arg")
			VXORPS(ad, ad, ad)
			VCMPPS(U8(cmpGTOQ), ad, g, gd) // y > 0, false for NaN and past the row
			VMASKMOVPS(Mem{Base: dy, Index: j, Scale: 4, Disp: 4 * off}, gd, g)
			VMULPS(av, g, g)
			for k, v := range []reg.VecPhysical{lo, hi} {
				idx := []reg.VecPhysical{dupLo, dupHi}[k]
				VPERMPS(g, idx, gd)
				VPERMD(aw, idx, ad)
				VPCMPEQD(*par, ad, ad)
				VADDPS(v, gd, gd)
				VBLENDVPS(ad, gd, v, v)
			}
		}
		d := Mem{Base: dst, Index: j, Scale: 8, Disp: 8 * off}
		d2 := d
		d2.Disp += 32
		lanes := off / 4
		if masked {
			VMOVDQU(tl.lo, reg.Y2)
			VMASKMOVPS(lo, reg.Y2, d)
			VANDPS(reg.Y2, lo, lo)
			VMOVDQU(tl.hi, reg.Y3)
			VMASKMOVPS(hi, reg.Y3, d2)
			VANDPS(reg.Y3, hi, hi)
		} else {
			VMOVUPS(lo, d)
			VMOVUPS(hi, d2)
		}
		VADDPS(lo, s[lanes], s[lanes])
		VADDPS(hi, s[lanes+1], s[lanes+1])
	}
	row := func(label string, par *Mem) {
		MOVQ(w, full)
		SHRQ(U8(5), full)
		SHLQ(U8(4), full) // whole units of 32 floats, in pooled columns
		XORQ(j, j)
		unitLoop(label+"_unit", label+"_tail", j, full, 16, func() {
			sub(0, false, par, label+"_a")
			sub(8, false, par, label+"_b")
		})
		MOVQ(w, n)
		SUBQ(j, n)
		SUBQ(j, n) // floats left in the row, < 32
		JZ(LabelRef(label + "_done"))
		yLastUnit(label, label+"_done", n, 16, func() {
			sub(0, false, par, label+"_fa")
		}, func(second bool) {
			if second {
				sub(8, true, par, label+"_mb")
				return
			}
			sub(0, true, par, label+"_ma")
		})
		LEAQ(Mem{Base: x, Index: w, Scale: 4}, x)
		LEAQ(Mem{Base: dst, Index: w, Scale: 4}, dst)
	}
	par0, par1 := t.parity0, t.parity1
	gradRows(name, pairs, w, dy, y, ar, func(label string, parity int) {
		row(label, []*Mem{&par0, &par1, nil}[parity])
	})
	sum32LanesY(s)
	Store(reg.X6, ReturnIndex(0))
	VZEROUPPER()
	RET()
}
