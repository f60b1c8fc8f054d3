package main

import (
	"bytes"
	"fmt"
)

// pooling writes the fused bias + ReLU + 2x2 max pooling and its backward (the elemOps
// reluPool2 and reluPool2Back), four pooled outputs (eight input columns) per step: LD2 splits
// a row's eight floats into its windows' left and right elements, ST2 puts them back.
func pooling(s, g *bytes.Buffer) {
	reluPool(s, g)
	reluPoolBackward(s, g)
}

// reluPool writes reluPool2NEON: dst = max(v, 0) of each window's maximum v of src + bias, and
// arg the window position (0-3, row-major) of v, found with PyTorch's rule (a later element
// wins if greater, or if it is NaN), as goReLUPool2 does.
func reluPool(s, g *bytes.Buffer) {
	g.WriteString(`
// reluPool2NEON writes rows rows of w/2 pooled outputs into dst and arg from 2*rows rows of w
// floats of src plus bias; w must be a multiple of 8.
//
//go:noescape
func reluPool2NEON(dst []float32, arg []uint8, src []float32, bias float32, rows int, w int)
`)
	// R0 dst, R1 arg, R2 the window's first row, R6 its second, R3 rows left, R4 w, R5 a row
	// in bytes, R7 steps left in the row. V31 the bias, V30 zero (and position 0), V27-V29
	// positions 1-3; V0-V3 the candidates, V4 the winners' positions, V5/V6 masks.
	s.WriteString(`
// func reluPool2NEON(dst []float32, arg []uint8, src []float32, bias float32, rows int, w int)
TEXT ·reluPool2NEON(SB), NOSPLIT, $0-96
	MOVD dst_base+0(FP), R0
	MOVD arg_base+24(FP), R1
	MOVD src_base+48(FP), R2
	FMOVS bias+72(FP), F31
	VDUP V31.S[0], V31.S4
	MOVD rows+80(FP), R3
	MOVD w+88(FP), R4
	LSL $2, R4, R5
	VEOR V30.B16, V30.B16, V30.B16
`)
	for i := 1; i <= 3; i++ {
		s.WriteString(fmt.Sprintf("\tMOVD $%d, R15\n\tVDUP R15, V%d.S4\n", i, 26+i))
	}
	s.WriteString(`reluPool2NEON_row:
	CBZ R3, reluPool2NEON_done
	ADD R5, R2, R6
	LSR $3, R4, R7
reluPool2NEON_step:
	VLD2.P 32(R2), [V0.S4, V1.S4]
	VLD2.P 32(R6), [V2.S4, V3.S4]
	FADD4(0, 0, 31)
	FADD4(1, 1, 31)
	FADD4(2, 2, 31)
	FADD4(3, 3, 31)
	VEOR V4.B16, V4.B16, V4.B16
`)
	for i := 1; i <= 3; i++ {
		// Candidate i wins where it is greater than the best so far or NaN (not equal to itself).
		s.WriteString(fmt.Sprintf("\tFCMGT4(5, %d, 0)\n\tFCMEQ4(6, %d, %d)\n\tORN16(5, 5, 6)\n", i, i, i))
		s.WriteString(fmt.Sprintf("\tVBIT V5.B16, V%d.B16, V0.B16\n\tVBIT V5.B16, V%d.B16, V4.B16\n", i, 26+i))
	}
	s.WriteString(`	FMAX4(0, 0, 30)
	VST1.P [V0.S4], 16(R0)
	VUZP1 V4.H8, V4.H8, V4.H8
	VUZP1 V4.B16, V4.B16, V4.B16
	FMOVS.P F4, 4(R1)
	SUBS $1, R7, R7
	BNE reluPool2NEON_step
	MOVD R6, R2
	SUB $1, R3
	B reluPool2NEON_row
reluPool2NEON_done:
	RET
`)
}

// reluPoolBackward writes reluPool2BackwardNEON, reluPool2NEON's backward: each pooled gradient
// dy goes to its window's winner where the pooled output y is positive, everything else in the
// 2*rows rows of w floats of dst becomes 0. The sum of the gradients passed on is kept in four
// lanes (pooled column mod 4) and returned as (s0+s1) + (s2+s3), goReLUPool2Back's order.
func reluPoolBackward(s, g *bytes.Buffer) {
	g.WriteString(`
// reluPool2BackwardNEON writes 2*rows rows of w floats of dst from rows rows of w/2 pooled
// gradients dy, outputs y and winners arg, and returns the sum of the gradients it passed on; w
// must be a multiple of 8.
//
//go:noescape
func reluPool2BackwardNEON(dst []float32, dy []float32, y []float32, arg []uint8, rows int, w int) float32
`)
	// R0 dst's first row of the windows, R7 its second, R1 dy, R2 y, R3 arg, R4 rows left, R5
	// w, R6 a row in bytes, R8 steps left in the row. V31 the sum, V30 zero (and position 0),
	// V27-V29 positions 1-3; V0 the gradients passed on, V2 the winners, V3-V6 the windows'
	// four elements.
	s.WriteString(`
// func reluPool2BackwardNEON(dst []float32, dy []float32, y []float32, arg []uint8, rows int, w int) float32
TEXT ·reluPool2BackwardNEON(SB), NOSPLIT, $0-116
	MOVD dst_base+0(FP), R0
	MOVD dy_base+24(FP), R1
	MOVD y_base+48(FP), R2
	MOVD arg_base+72(FP), R3
	MOVD rows+96(FP), R4
	MOVD w+104(FP), R5
	LSL $2, R5, R6
	VEOR V30.B16, V30.B16, V30.B16
	VEOR V31.B16, V31.B16, V31.B16
`)
	for i := 1; i <= 3; i++ {
		s.WriteString(fmt.Sprintf("\tMOVD $%d, R15\n\tVDUP R15, V%d.S4\n", i, 26+i))
	}
	s.WriteString(`reluPool2BackwardNEON_row:
	CBZ R4, reluPool2BackwardNEON_done
	ADD R6, R0, R7
	LSR $3, R5, R8
reluPool2BackwardNEON_step:
	VLD1.P 16(R2), [V1.S4]
	FCMGTZ(1, 1)
	VLD1.P 16(R1), [V0.S4]
	VAND V1.B16, V0.B16, V0.B16
	FADD4(31, 31, 0)
	FMOVS.P 4(R3), F2
	VUXTL V2.B8, V2.H8
	VUXTL V2.H4, V2.S4
	VCMEQ V30.S4, V2.S4, V3.S4
	VCMEQ V27.S4, V2.S4, V4.S4
	VCMEQ V28.S4, V2.S4, V5.S4
	VCMEQ V29.S4, V2.S4, V6.S4
	VAND V0.B16, V3.B16, V3.B16
	VAND V0.B16, V4.B16, V4.B16
	VAND V0.B16, V5.B16, V5.B16
	VAND V0.B16, V6.B16, V6.B16
	VST2.P [V3.S4, V4.S4], 32(R0)
	VST2.P [V5.S4, V6.S4], 32(R7)
	SUBS $1, R8, R8
	BNE reluPool2BackwardNEON_step
	MOVD R7, R0
	SUB $1, R4
	B reluPool2BackwardNEON_row
reluPool2BackwardNEON_done:
	FADDP4(31, 31, 31)
	FADDP4(31, 31, 31)
	FMOVS F31, ret+112(FP)
	RET
`)
}
