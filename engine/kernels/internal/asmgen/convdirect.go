package main

// A multi-channel convolution's forward pass is the GEMM of its weights by the im2col matrix,
// K*K times the input's size, written by one pass and packed by the next before the GEMM's
// tiles read it. convDirectKernel reads the GEMM's B rows from a K times smaller copy of the
// input instead, the one kernels.ConvGrad multiplies by: each input channel's padded planes
// shifted by each kernel column and cut to the output's width. In that copy the inputs kernel
// position (kh, kw) of channel c multiplies by an image's output pixels are one contiguous run,
// one output row (rowStride floats) further for each kh and one shifted copy (tapStride
// floats) further for each (c, kw). A tile is then the GEMM's wide tile with B loaded in place:
// rows output channels x vecs vectors of 16 pixels, each vector from its own image's run. C is
// laid out as the GEMM writes it, the vectors side by side in each row.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// convDirectKernels emits zconvd{rows}x{16*vecs} for 1..wideRows output channels and 1..3
// vectors of pixels.
func convDirectKernels() {
	for rows := 1; rows <= wideRows; rows++ {
		for vecs := 1; vecs <= maxVecs; vecs++ {
			convDirectKernel(rows, vecs)
		}
	}
}

// convDirectKernel emits zconvd{rows}x{16*vecs}: for r < rows and the 16 pixels j of vector v,
//
//	C[r*ldc + 16*v + j] = sum over g < groups, t < taps of
//	                      a[(g*taps + t)*rows + r] * x[xv + g*tapStride + t*rowStride + j]
//
// with xv the vector's own offset (x0..x2), in that order of g and t, one FMA per step into
// each accumulator. C is written without being read.
func convDirectKernel(rows, vecs int) {
	name := fmt.Sprintf("zconvd%dx%d", rows, zmm.floats*vecs)
	TEXT(name, NOSPLIT, "func(groups, taps int, a, x []float32, x0, x1, x2, tapStride, rowStride int, c []float32, ldc int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes %d output channels x %d pixels of a convolution from a packed", name, rows, zmm.floats*vecs),
		"weight sliver and the shifted copies of its input (see convDirectKernel in the generator).")

	tile := wideRegisters(rows, vecs)
	xBase := Load(Param("x").Base(), GP64())
	xp := make([]reg.GPVirtual, vecs)
	for v := range xp {
		xp[v] = gp(Param(fmt.Sprintf("x%d", v)))
		LEAQ(Mem{Base: xBase, Index: xp[v], Scale: 4}, xp[v])
	}
	ap := Load(Param("a").Base(), GP64())
	tapStride := Load(Param("tapStride"), GP64())
	SHLQ(U8(2), tapStride)
	rowStride := Load(Param("rowStride"), GP64())
	SHLQ(U8(2), rowStride)
	groups := Load(Param("groups"), GP64())
	groupAt, at, t := GP64(), GP64(), GP64()
	XORQ(groupAt, groupAt)
	zero(tile.acc)

	Label(name + "_group")
	MOVQ(groupAt, at)
	Load(Param("taps"), t)
	Label(name + "_tap")
	for v := range vecs {
		VMOVUPS(Mem{Base: xp[v], Index: at, Scale: 1}, tile.bvec[v])
	}
	for r := range rows {
		VBROADCASTSS(Mem{Base: ap, Disp: 4 * r}, tile.abc)
		for v := range vecs {
			VFMADD231PS(tile.bvec[v], tile.abc, tile.acc[r][v])
		}
	}
	ADDQ(U32(4*rows), ap)
	ADDQ(rowStride, at)
	DECQ(t)
	JNZ(LabelRef(name + "_tap"))
	ADDQ(tapStride, groupAt)
	DECQ(groups)
	JNZ(LabelRef(name + "_group"))

	cp := Load(Param("c").Base(), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	for r := range rows {
		for v := range vecs {
			VMOVUPS(tile.acc[r][v], Mem{Base: cp, Disp: zmm.bytes() * v})
		}
		if r+1 < rows {
			ADDQ(ldc, cp)
		}
	}
	VZEROUPPER()
	RET()
}
