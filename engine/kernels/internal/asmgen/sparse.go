package main

// The input gradient of a convolution followed by ReLU and 2x2 max pooling (the models'
// second convolutions) is a sum over an output gradient that is at least three quarters
// zeros: each pooling window passes its gradient to one pixel, or to none where the ReLU
// was off. The GEMM and col2im of the dense input gradient multiply those zeros all the same.
// sparseScatterKernel adds up the nonzeros' contributions only, in the channels-last layout,
// where a nonzero adds its value times one weight vector per 16 input channels to each input
// pixel under the kernel; transposeAddKernel then adds the result into the engine's
// channel-major planes.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// maxSparseVecs is the most input channels sparseScatterKernel takes, in vectors of 16: 96.
const maxSparseVecs = 6

func sparseKernels() {
	for vecs := 1; vecs <= maxSparseVecs; vecs++ {
		for _, k := range []int{0, 3, 5} {
			sparseScatterKernel(vecs, k)
		}
	}
	transposeAddKernel()
}

// sparseScatterKernel emits zscatter{vecs}: for each of n nonzeros e, for kh, kw < K and
// the 16*vecs channels c,
//
//	dxT[dxoff[e]/4 + (kh*W + kw)*16*vecs + c] += val[e] * w[(woff[e] + (kh*K + kw)*64*vecs)/4 + c]
//
// nonzero by nonzero, kernel position by kernel position, one FMA per vector into dxT. With
// k > 0 it emits zscatter{vecs}k{k}, for K = k only, with each kernel row's positions unrolled
// (the loop over them cost as much as the FMAs on 16 channels).
func sparseScatterKernel(vecs, k int) {
	name := fmt.Sprintf("zscatter%d", vecs)
	if k > 0 {
		name += fmt.Sprintf("k%d", k)
	}
	TEXT(name, NOSPLIT, "func(dxT []float32, W, K, n int, dxoff, woff []int32, val, w []float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s adds a sparse input gradient for %d input channels into dxT (see sparseScatterKernel in the generator).", name, 16*vecs))
	bc := zmmRegs[vecs]
	dx := gp(Param("dxT").Base())
	n := gp(Param("n"))
	do := gp(Param("dxoff").Base())
	wo := gp(Param("woff").Base())
	vl := gp(Param("val").Base())
	w := gp(Param("w").Base())
	// skip is from one kernel row's first input pixel to the next's, in bytes, less what the
	// loop over the row's positions (k == 0) moved d on.
	skip := gp(Param("W"))
	if k == 0 {
		t := gp(Param("K"))
		SUBQ(t, skip)
	}
	IMUL3Q(U32(64*vecs), skip, skip)
	e, d, wp, kh, kw := GP64(), GP64(), GP64(), GP64(), GP64()
	// tap adds position kw's (at byte offset off from d and wp) vectors.
	tap := func(off int) {
		for j := range vecs {
			v := zmmRegs[j]
			VMOVUPS(Mem{Base: d, Disp: off + 64*j}, v)
			VFMADD231PS(Mem{Base: wp, Disp: off + 64*j}, bc, v)
			VMOVUPS(v, Mem{Base: d, Disp: off + 64*j})
		}
	}
	XORQ(e, e)
	TESTQ(n, n)
	JE(LabelRef(name + "_done"))
	Label(name + "_nonzero")
	VBROADCASTSS(Mem{Base: vl, Index: e, Scale: 4}, bc)
	MOVLQSX(Mem{Base: do, Index: e, Scale: 4}, d)
	ADDQ(dx, d)
	MOVLQSX(Mem{Base: wo, Index: e, Scale: 4}, wp)
	ADDQ(w, wp)
	Load(Param("K"), kh)
	Label(name + "_row")
	if k > 0 {
		for p := range k {
			tap(64 * vecs * p)
		}
		ADDQ(U32(64*vecs*k), wp)
	} else {
		Load(Param("K"), kw)
		Label(name + "_tap")
		tap(0)
		ADDQ(U32(64*vecs), d)
		ADDQ(U32(64*vecs), wp)
		DECQ(kw)
		JNZ(LabelRef(name + "_tap"))
	}
	ADDQ(skip, d)
	DECQ(kh)
	JNZ(LabelRef(name + "_row"))
	INCQ(e)
	CMPQ(e, n)
	JL(LabelRef(name + "_nonzero"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// zmmRegs are the ZMM registers in order.
var zmmRegs = []reg.VecPhysical{
	reg.Z0, reg.Z1, reg.Z2, reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7,
	reg.Z8, reg.Z9, reg.Z10, reg.Z11, reg.Z12, reg.Z13, reg.Z14, reg.Z15,
	reg.Z16, reg.Z17, reg.Z18, reg.Z19, reg.Z20, reg.Z21, reg.Z22, reg.Z23,
	reg.Z24, reg.Z25, reg.Z26, reg.Z27, reg.Z28, reg.Z29, reg.Z30, reg.Z31,
}

// lanes tracks, while the generator emits a transposition, which element of the input each
// lane of each register holds: row*16 + column.
type lanes [32][16]int

// emitUnpack emits VUNPCK{L,H}P{S,D} dst = a, b (Intel's operand order) and follows it in l:
// within each 128-bit lane, the low (or high) halves of a and b interleaved by 32-bit (ps) or
// 64-bit (pd) elements.
func (l *lanes) emitUnpack(high, double bool, dst, a, b int) {
	x, y := zmmRegs[a], zmmRegs[b]
	d := zmmRegs[dst]
	switch {
	case !high && !double:
		VUNPCKLPS(y, x, d)
	case high && !double:
		VUNPCKHPS(y, x, d)
	case !high && double:
		VUNPCKLPD(y, x, d)
	default:
		VUNPCKHPD(y, x, d)
	}
	var out [16]int
	half := 0
	if high {
		half = 2
	}
	for q := range 4 {
		if double {
			out[4*q], out[4*q+1] = l[a][4*q+half], l[a][4*q+half+1]
			out[4*q+2], out[4*q+3] = l[b][4*q+half], l[b][4*q+half+1]
		} else {
			out[4*q], out[4*q+1] = l[a][4*q+half], l[b][4*q+half]
			out[4*q+2], out[4*q+3] = l[a][4*q+half+1], l[b][4*q+half+1]
		}
	}
	l[dst] = out
}

// emitShuffle emits VSHUFF32X4 dst = a, b, imm (Intel's order) and follows it in l: 128-bit
// lanes imm[1:0] and imm[3:2] of a, then imm[5:4] and imm[7:6] of b.
func (l *lanes) emitShuffle(imm uint8, dst, a, b int) {
	VSHUFF32X4(U8(imm), zmmRegs[b], zmmRegs[a], zmmRegs[dst])
	var out [16]int
	for q := range 4 {
		src := l[a]
		if q >= 2 {
			src = l[b]
		}
		from := int(imm>>(2*q)) & 3
		copy(out[4*q:4*q+4], src[4*from:4*from+4])
	}
	l[dst] = out
}

// transposeAddKernel emits transposeAdd16: dx[c*ldx + p] += src[p*lds + c] for p < pixels (a
// multiple of 16) and c < channels, src's rows holding whole vectors of 16 past channels.
// Each block of 16 pixels x 16 channels is loaded as 16 rows, transposed in registers
// (unpacks by 32 and 64 bits, then two rounds of 128-bit shuffles) and added to 16 rows of dx.
func transposeAddKernel() {
	name := "transposeAdd16"
	TEXT(name, NOSPLIT, "func(dx []float32, ldx int, src []float32, lds, pixels, channels int)")
	Pragma("noescape")
	Doc(name+" adds src transposed into dx: dx[c*ldx + p] += src[p*lds + c] for p < pixels (a multiple",
		"of 16) and c < channels. It reads src's rows in whole vectors of 16 floats.")
	dx := gp(Param("dx").Base())
	ldx := gpBytes(Param("ldx"))
	src := gp(Param("src").Base())
	lds := gpBytes(Param("lds"))
	pixels := gp(Param("pixels"))
	channels := gp(Param("channels"))
	c0, row, q, left, lds3 := GP64(), GP64(), GP64(), GP64(), GP64()
	LEAQ(Mem{Base: lds, Index: lds, Scale: 2}, lds3)

	// The transposition, followed lane by lane: input row r is register r, lane c.
	var l lanes
	for r := range 16 {
		for c := range 16 {
			l[r][c] = r*16 + c
		}
	}
	type op struct {
		kind      int // 0 unpack, 1 shuffle
		high, dbl bool
		imm       uint8
		dst, a, b int
	}
	var ops []op
	for i := range 8 { // rows 2i and 2i+1 interleaved by 32 bits
		ops = append(ops, op{dst: 16 + 2*i, a: 2 * i, b: 2*i + 1}, op{high: true, dst: 16 + 2*i + 1, a: 2 * i, b: 2*i + 1})
	}
	for i := range 4 { // then by 64 bits: four rows' elements side by side in each 128-bit lane
		t := 16 + 4*i
		ops = append(ops,
			op{dbl: true, dst: 4 * i, a: t, b: t + 2}, op{dbl: true, high: true, dst: 4*i + 1, a: t, b: t + 2},
			op{dbl: true, dst: 4*i + 2, a: t + 1, b: t + 3}, op{dbl: true, high: true, dst: 4*i + 3, a: t + 1, b: t + 3})
	}
	for h := range 2 { // 128-bit lanes of rows 0-3 with 4-7, and of 8-11 with 12-15
		for j := range 4 {
			a, b := 8*h+j, 8*h+j+4
			ops = append(ops, op{kind: 1, imm: 0x88, dst: 16 + 8*h + j, a: a, b: b}, op{kind: 1, imm: 0xdd, dst: 16 + 8*h + j + 4, a: a, b: b})
		}
	}
	for j := range 8 { // and of rows 0-7 with 8-15
		a, b := 16+j, 24+j
		ops = append(ops, op{kind: 1, imm: 0x88, dst: j, a: a, b: b}, op{kind: 1, imm: 0xdd, dst: j + 8, a: a, b: b})
	}

	Label(name + "_pixels")
	CMPQ(pixels, U8(16))
	JL(LabelRef(name + "_done"))
	XORQ(c0, c0)
	Label(name + "_block")
	CMPQ(c0, channels)
	JGE(LabelRef(name + "_nextpixels"))
	// Rows p of the block: src + p*lds + 4*c0.
	LEAQ(Mem{Base: src, Index: c0, Scale: 4}, row)
	for r := range 16 {
		switch r % 4 {
		case 0:
			VMOVUPS(Mem{Base: row}, zmmRegs[r])
		case 1:
			VMOVUPS(Mem{Base: row, Index: lds, Scale: 1}, zmmRegs[r])
		case 2:
			VMOVUPS(Mem{Base: row, Index: lds, Scale: 2}, zmmRegs[r])
		case 3:
			VMOVUPS(Mem{Base: row, Index: lds3, Scale: 1}, zmmRegs[r])
			LEAQ(Mem{Base: row, Index: lds, Scale: 4}, row)
		}
	}
	for _, o := range ops {
		if o.kind == 0 {
			l.emitUnpack(o.high, o.dbl, o.dst, o.a, o.b)
		} else {
			l.emitShuffle(o.imm, o.dst, o.a, o.b)
		}
	}
	// Which register holds column c: lane p must be row p's element c.
	holder := make([]int, 16)
	for c := range 16 {
		holder[c] = -1
		for r := range 16 {
			ok := true
			for p := range 16 {
				if l[r][p] != p*16+c {
					ok = false
				}
			}
			if ok {
				holder[c] = r
			}
		}
		if holder[c] < 0 {
			panic(fmt.Sprintf("transposeAdd16: no register holds column %d", c))
		}
	}
	// Columns c0.. of dx, as many as are left of the 16.
	MOVQ(channels, left)
	SUBQ(c0, left)
	MOVQ(c0, q)
	IMULQ(ldx, q)
	ADDQ(dx, q)
	for c := range 16 {
		v := zmmRegs[holder[c]]
		VADDPS(Mem{Base: q}, v, v)
		VMOVUPS(v, Mem{Base: q})
		if c < 15 {
			CMPQ(left, U8(c+1))
			JLE(LabelRef(name + "_nextblock"))
			ADDQ(ldx, q)
		}
	}
	Label(name + "_nextblock")
	ADDQ(U8(16), c0)
	JMP(LabelRef(name + "_block"))
	Label(name + "_nextpixels")
	// On to the next 16 pixels: 16 rows further in src, 16 floats further in dx.
	SHLQ(U8(4), lds)
	ADDQ(lds, src)
	SHRQ(U8(4), lds)
	ADDQ(U8(64), dx)
	SUBQ(U8(16), pixels)
	JMP(LabelRef(name + "_pixels"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
