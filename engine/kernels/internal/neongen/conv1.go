package main

import (
	"bytes"
	"fmt"
)

// The first layers' convolutions have one input channel, so their im2col matrix is only K*K
// rows deep: building it costs as much as the GEMM. conv1 writes the kernels that compute such
// a convolution straight from the image, as the amd64 generator's conv1Kernel does: one output
// row of 8*vecs pixels for up to four output channels at a time.

// conv1 writes neonConv1x{ocs}x{8*vecs} and the Go dispatcher neonConv1Rows (the elemOps
// conv1Rows) that checks the last element they touch.
func conv1(s, g *bytes.Buffer) {
	g.WriteString(`
// neonConv1Rows runs the NEON single-channel convolution of ocs channels of 8*vecs-pixel rows
// (the elemOps conv1Rows), after checking the last element it reads and writes: the assembly
// trusts its arguments.
func neonConv1Rows(dst []float32, dstStride int, x []float32, W int, w []float32, ocs, vecs, K, oh int) {
	_ = x[(oh+K-2)*W+K-1+8*vecs-1]
	_ = w[ocs*K*K-1]
	_ = dst[(ocs-1)*dstStride+oh*8*vecs-1]
	switch ocs<<2 | vecs {
`)
	for ocs := 1; ocs <= 4; ocs++ {
		for vecs := 1; vecs <= 3; vecs++ {
			fmt.Fprintf(g, "case %d<<2 | %d:\n\tneonConv1x%dx%d(dst, dstStride, x, W, w, K, oh)\n", ocs, vecs, ocs, 8*vecs)
		}
	}
	g.WriteString("default:\npanic(\"kernels: no NEON convolution kernel for this size\")\n}\n}\n")
	for ocs := 1; ocs <= 4; ocs++ {
		for vecs := 1; vecs <= 3; vecs++ {
			conv1Kernel(s, g, ocs, vecs)
		}
	}
}

// conv1Kernel writes neonConv1x{ocs}x{8*vecs}: for ocs output channels of a single-channel
// image x (rows W floats long) and a K x K kernel, oh output rows of 8*vecs pixels each,
//
//	dst[oc*dstStride + oy*8*vecs + ox] = sum over kh, kw of w[oc*K*K + kh*K + kw] * x[(oy+kh)*W + ox+kw]
//
// summed in (kh, kw) order with one fused multiply-add each, starting from zero: the
// arithmetic the NEON tile kernels run on the im2col matrix, so the results are their bits.
//
// Registers: channel oc's accumulators are V(nv*oc)... (nv = 2*vecs, at most 24 in all), the
// image row at the kernel position V24-V29, and each channel's weight there, broadcast by a
// load, alternates between V30 and V31 so that one channel's load overlaps the previous
// channel's FMLAs. A k step of the 4 x 24 kernel is 24 FMLAs against six loads (two for the
// image row, four broadcasts) and four scalar instructions.
func conv1Kernel(s, g *bytes.Buffer, ocs, vecs int) {
	name := fmt.Sprintf("neonConv1x%dx%d", ocs, 8*vecs)
	params := "dst []float32, dstStride int, x []float32, W int, w []float32, K int, oh int"
	fmt.Fprintf(g, "\n// %s computes %d output channels of %d-pixel rows of a single-channel convolution\n// (see conv1Kernel in the generator).\n//\n//go:noescape\nfunc %s(%s)\n", name, ocs, 8*vecs, name, params)
	fmt.Fprintf(s, "\n// func %s(%s)\n", name, params)
	fmt.Fprintf(s, "TEXT ·%s(SB), NOSPLIT, $0-104\n", name)
	nv := 2 * vecs
	acc := func(oc, j int) int { return nv*oc + j }
	// R0 dst row, R1 dstStride (bytes), R2 image row, R3 W (bytes), R4 K, R5 rows left,
	// R6 bytes between two channels' weights, R7 image pointer, R8-R11 weight pointers,
	// R12/R13 kernel row/column counts, R14 bytes from a kernel row's end to the next one's
	// start, R15 scratch, R16 store pointer, R17 the weights.
	s.WriteString(`	MOVD dst_base+0(FP), R0
	MOVD dstStride+24(FP), R1
	LSL $2, R1
	MOVD x_base+32(FP), R2
	MOVD W+56(FP), R3
	LSL $2, R3
	MOVD w_base+64(FP), R17
	MOVD K+88(FP), R4
	MOVD oh+96(FP), R5
	MUL R4, R4, R6
	LSL $2, R6
	LSL $2, R4, R14
	SUB R14, R3, R14
`)
	fmt.Fprintf(s, "%s_row:\n\tCBZ R5, %s_done\n", name, name)
	for oc := range ocs {
		for j := range nv {
			zero(s, acc(oc, j))
		}
	}
	s.WriteString("\tMOVD R17, R8\n")
	for oc := 1; oc < ocs; oc++ {
		fmt.Fprintf(s, "\tADD R6, R%d, R%d\n", 7+oc, 8+oc)
	}
	s.WriteString("\tMOVD R2, R7\n\tMOVD R4, R12\n")
	fmt.Fprintf(s, "%s_kh:\n\tMOVD R4, R13\n%s_kw:\n", name, name)
	loadRegs(s, "R7", "R15", 24, nv)
	s.WriteString("\tADD $4, R7\n")
	for oc := range ocs {
		wv := 30 + oc%2
		fmt.Fprintf(s, "\tVLD1R.P 4(R%d), [V%d.S4]\n", 8+oc, wv)
		for j := range nv {
			fmt.Fprintf(s, "\tVFMLA V%d.S4, V%d.S4, V%d.S4\n", 24+j, wv, acc(oc, j))
		}
	}
	fmt.Fprintf(s, "\tSUBS $1, R13, R13\n\tBNE %s_kw\n", name)
	fmt.Fprintf(s, "\tADD R14, R7, R7\n\tSUBS $1, R12, R12\n\tBNE %s_kh\n", name)
	s.WriteString("\tMOVD R0, R16\n")
	for oc := range ocs {
		storeRegs(s, "R16", "R15", acc(oc, 0), nv)
		if oc < ocs-1 {
			s.WriteString("\tADD R1, R16, R16\n")
		}
	}
	fmt.Fprintf(s, "\tADD $%d, R0\n\tADD R3, R2, R2\n\tSUB $1, R5\n\tB %s_row\n", 32*vecs, name)
	fmt.Fprintf(s, "%s_done:\n\tRET\n", name)
}

// conv1Grad writes neonConv1dw{ocs}x{taps} and the Go dispatcher neonConv1GradRows (the
// elemOps conv1GradRows).
func conv1Grad(s, g *bytes.Buffer) {
	g.WriteString(`
// neonConv1GradRows runs the NEON weight-gradient kernel of ocs channels and taps kernel
// positions (the elemOps conv1GradRows), after checking the last element it reads and writes.
func neonConv1GradRows(dw []float32, ldw int, dy []float32, dyStride int, x []float32, imageX, W, images, oh, vecs, ocs, taps, off0, off1, off2 int) {
	_ = dw[(ocs-1)*ldw+taps-1]
	_ = dy[(ocs-1)*dyStride+images*oh*8*vecs-1]
	_ = x[(images-1)*imageX+(oh-1)*W+max(off0, off1, off2)+8*vecs-1]
	switch ocs<<2 | taps {
`)
	for ocs := 1; ocs <= 4; ocs++ {
		for taps := 1; taps <= 3; taps++ {
			fmt.Fprintf(g, "case %d<<2 | %d:\n\tneonConv1dw%dx%d(dw, ldw, dy, dyStride, x, imageX, W, images, oh, vecs, off0, off1, off2)\n", ocs, taps, ocs, taps)
		}
	}
	g.WriteString("default:\npanic(\"kernels: no NEON convolution gradient kernel for this size\")\n}\n}\n")
	for ocs := 1; ocs <= 4; ocs++ {
		for taps := 1; taps <= 3; taps++ {
			conv1GradKernel(s, g, ocs, taps)
		}
	}
}

// conv1GradKernel writes neonConv1dw{ocs}x{taps}: the weight gradient of a single-channel
// convolution for ocs output channels and taps kernel positions, straight from the images:
//
//	dw[oc*ldw + j] += sum over images i, rows oy, columns ox of
//	                  dy[oc*dyStride + (i*oh + oy)*ow + ox] * x[i*imageX + oy*W + ox + off_j]
//
// with ow = 8*vecs and off_j the offset kh*W + kw of kernel position j. Each (channel,
// position) pair has two accumulators of four lanes, a lane per column modulo 8 as in the
// amd64 kernels, added together and then across lanes at the end.
//
// Registers: accumulators V(6*oc + 2*j)... (at most 24), the image at position j V(24+2j) and
// V(25+2j), the output gradient V30-V31. A step over 8 columns of the 4 x 3 kernel is 24
// FMLAs against seven loads (three of the image, four of the gradients).
func conv1GradKernel(s, g *bytes.Buffer, ocs, taps int) {
	name := fmt.Sprintf("neonConv1dw%dx%d", ocs, taps)
	params := "dw []float32, ldw int, dy []float32, dyStride int, x []float32, imageX int, W int, images int, oh int, vecs int, off0 int, off1 int, off2 int"
	fmt.Fprintf(g, "\n// %s adds the weight gradient of %d output channels at %d kernel positions of a\n// single-channel convolution (see conv1GradKernel in the generator).\n//\n//go:noescape\nfunc %s(%s)\n", name, ocs, taps, name, params)
	fmt.Fprintf(s, "\n// func %s(%s)\n", name, params)
	fmt.Fprintf(s, "TEXT ·%s(SB), NOSPLIT, $0-152\n", name)
	acc := func(oc, j, half int) int { return 6*oc + 2*j + half }
	// R0-R3 the output gradients of each channel, R4-R6 the image at each position, R7 bytes
	// from a row's end to the next row's start, R8 from an image's last row's end to the next
	// image's first, R9 images left, R10 rows left, R11 vectors left, R12 oh, R13 vecs,
	// R14/R15 scratch.
	s.WriteString(`	MOVD dy_base+32(FP), R0
	MOVD dyStride+56(FP), R15
	LSL $2, R15
	MOVD x_base+64(FP), R14
	MOVD W+96(FP), R7
	MOVD oh+112(FP), R12
	MOVD vecs+120(FP), R13
	MOVD imageX+88(FP), R8
	MUL R12, R7, R9
	SUB R9, R8, R8
	LSL $2, R8
	LSL $3, R13, R9
	SUB R9, R7, R7
	LSL $2, R7
	MOVD images+104(FP), R9
`)
	for oc := 1; oc < ocs; oc++ {
		fmt.Fprintf(s, "\tADD R15, R%d, R%d\n", oc-1, oc)
	}
	for j := range taps {
		fmt.Fprintf(s, "\tMOVD off%d+%d(FP), R%d\n\tLSL $2, R%d\n\tADD R14, R%d, R%d\n", j, 128+8*j, 4+j, 4+j, 4+j, 4+j)
	}
	for oc := range ocs {
		for j := range taps {
			zero(s, acc(oc, j, 0))
			zero(s, acc(oc, j, 1))
		}
	}
	fmt.Fprintf(s, "%s_image:\n\tMOVD R12, R10\n%s_row:\n\tMOVD R13, R11\n%s_vec:\n", name, name, name)
	for j := range taps {
		fmt.Fprintf(s, "\tVLD1.P 32(R%d), %s\n", 4+j, list(24+2*j, 2))
	}
	for oc := range ocs {
		fmt.Fprintf(s, "\tVLD1.P 32(R%d), %s\n", oc, list(30, 2))
		for j := range taps {
			for half := range 2 {
				fmt.Fprintf(s, "\tVFMLA V%d.S4, V%d.S4, V%d.S4\n", 24+2*j+half, 30+half, acc(oc, j, half))
			}
		}
	}
	fmt.Fprintf(s, "\tSUBS $1, R11, R11\n\tBNE %s_vec\n", name)
	for j := range taps {
		fmt.Fprintf(s, "\tADD R7, R%d, R%d\n", 4+j, 4+j)
	}
	fmt.Fprintf(s, "\tSUBS $1, R10, R10\n\tBNE %s_row\n", name)
	for j := range taps {
		fmt.Fprintf(s, "\tADD R8, R%d, R%d\n", 4+j, 4+j)
	}
	fmt.Fprintf(s, "\tSUBS $1, R9, R9\n\tBNE %s_image\n", name)
	// (lo+hi), then the lanes pairwise: ((l0+h0)+(l1+h1)) + ((l2+h2)+(l3+h3)).
	s.WriteString("\tMOVD dw_base+0(FP), R14\n\tMOVD ldw+24(FP), R15\n\tLSL $2, R15\n")
	for oc := range ocs {
		for j := range taps {
			a := acc(oc, j, 0)
			fmt.Fprintf(s, "\tFADD4(%d, %d, %d)\n\tFADDP4(%d, %d, %d)\n\tFADDP4(%d, %d, %d)\n", a, a, a+1, a, a, a, a, a, a)
			fmt.Fprintf(s, "\tFMOVS %d(R14), F30\n\tFADDS F%d, F30, F30\n\tFMOVS F30, %d(R14)\n", 4*j, a, 4*j)
		}
		if oc < ocs-1 {
			s.WriteString("\tADD R15, R14, R14\n")
		}
	}
	s.WriteString("\tRET\n")
}
