//go:build amd64 && !purego

#include "textflag.h"

// The same float32 operations as sampleRunGo, in the same order, on eight
// output pixels at a time: bit for bit the same values.

DATA lanes<>+0(SB)/4, $0x00000000
DATA lanes<>+4(SB)/4, $0x3f800000
DATA lanes<>+8(SB)/4, $0x40000000
DATA lanes<>+12(SB)/4, $0x40400000
DATA lanes<>+16(SB)/4, $0x40800000
DATA lanes<>+20(SB)/4, $0x40a00000
DATA lanes<>+24(SB)/4, $0x40c00000
DATA lanes<>+28(SB)/4, $0x40e00000
GLOBL lanes<>(SB), RODATA|NOPTR, $32
DATA ones<>+0(SB)/4, $0x3f800000
DATA ones<>+4(SB)/4, $0x3f800000
DATA ones<>+8(SB)/4, $0x3f800000
DATA ones<>+12(SB)/4, $0x3f800000
DATA ones<>+16(SB)/4, $0x3f800000
DATA ones<>+20(SB)/4, $0x3f800000
DATA ones<>+24(SB)/4, $0x3f800000
DATA ones<>+28(SB)/4, $0x3f800000
GLOBL ones<>(SB), RODATA|NOPTR, $32
DATA halves<>+0(SB)/4, $0x3f000000
DATA halves<>+4(SB)/4, $0x3f000000
DATA halves<>+8(SB)/4, $0x3f000000
DATA halves<>+12(SB)/4, $0x3f000000
DATA halves<>+16(SB)/4, $0x3f000000
DATA halves<>+20(SB)/4, $0x3f000000
DATA halves<>+24(SB)/4, $0x3f000000
DATA halves<>+28(SB)/4, $0x3f000000
GLOBL halves<>(SB), RODATA|NOPTR, $32
DATA eights<>+0(SB)/4, $0x41000000
DATA eights<>+4(SB)/4, $0x41000000
DATA eights<>+8(SB)/4, $0x41000000
DATA eights<>+12(SB)/4, $0x41000000
DATA eights<>+16(SB)/4, $0x41000000
DATA eights<>+20(SB)/4, $0x41000000
DATA eights<>+24(SB)/4, $0x41000000
DATA eights<>+28(SB)/4, $0x41000000
GLOBL eights<>(SB), RODATA|NOPTR, $32
DATA zeros<>+0(SB)/4, $0x00000000
DATA zeros<>+4(SB)/4, $0x00000000
DATA zeros<>+8(SB)/4, $0x00000000
DATA zeros<>+12(SB)/4, $0x00000000
DATA zeros<>+16(SB)/4, $0x00000000
DATA zeros<>+20(SB)/4, $0x00000000
DATA zeros<>+24(SB)/4, $0x00000000
DATA zeros<>+28(SB)/4, $0x00000000
GLOBL zeros<>(SB), RODATA|NOPTR, $32

// func sampleRunAVX2(run []float32, value []float32, a *runArgs)
// Requires: AVX, AVX2
//
// Each neighbour pair (west, east) is one 8-byte gather: four gathers of
// four pairs read the eight pixels' neighbours, half the loads of one per
// neighbour. Unpacking the pairs leaves the pixels in the order
// 0 1 4 5 2 3 6 7, which VPERMQ $0xd8 turns into and out of.
TEXT ·sampleRunAVX2(SB), NOSPLIT, $32-56
	MOVQ run_base+0(FP), DI
	MOVQ run_len+8(FP), CX
	SHRQ $3, CX                  // whole groups of eight
	JZ   done
	MOVQ value_base+24(FP), R8
	MOVQ a+48(FP), SI
	MOVQ 144(SI), R10            // a.wBytes: one row of the box down
	ADDQ R8, R10                 // the south neighbours

	VBROADCASTSS 0(SI), Y0       // a.bx
	VADDPS       lanes<>(SB), Y0, Y0
	VBROADCASTSS 4(SI), Y1       // a.rowX
	VBROADCASTSS 8(SI), Y2       // a.rowY
	VBROADCASTSS 12(SI), Y3      // a.xx
	VBROADCASTSS 16(SI), Y4      // a.yx
	VBROADCASTSS 20(SI), Y5      // a.x1
	VBROADCASTSS 24(SI), Y6      // a.y1
	VBROADCASTSS 28(SI), Y7      // a.hw
	VBROADCASTSS 32(SI), Y8      // a.hh

loop:
	// ix = float32(float32(float32(bx*xx)+rowX)+x1+1)*hw - 0.5, and iy.
	VMULPS Y3, Y0, Y9
	VADDPS Y1, Y9, Y9
	VADDPS Y5, Y9, Y9
	VADDPS ones<>(SB), Y9, Y9
	VMULPS Y7, Y9, Y9
	VSUBPS halves<>(SB), Y9, Y9
	VMULPS Y4, Y0, Y10
	VADDPS Y2, Y10, Y10
	VADDPS Y6, Y10, Y10
	VADDPS ones<>(SB), Y10, Y10
	VMULPS Y8, Y10, Y10
	VSUBPS halves<>(SB), Y10, Y10

	// The north-west neighbour's index, (floor(iy)*w + floor(ix) + origin,
	// exact in float32), kept within the box; the distances from it, in
	// the unpacked order.
	VROUNDPS $9, Y9, Y11         // floor
	VROUNDPS $9, Y10, Y12
	VSUBPS   Y11, Y9, Y9         // we
	VSUBPS   Y12, Y10, Y10       // wn
	VPERMQ   $0xd8, Y9, Y9
	VPERMQ   $0xd8, Y10, Y10
	VMULPS   48(SI), Y12, Y12    // a.w
	VADDPS   Y11, Y12, Y12
	VADDPS   80(SI), Y12, Y12    // a.origin
	VCVTTPS2DQ Y12, Y12
	VPMAXSD  zeros<>(SB), Y12, Y12
	VPMINSD  112(SI), Y12, Y12   // a.maxIndex
	VEXTRACTI128 $1, Y12, X14    // the indices of pixels 4-7

	// top = nw + we*(ne-nw), kept in the frame.
	VPCMPEQD   Y15, Y15, Y15
	VPGATHERDQ Y15, (R8)(X12*4), Y11
	VPCMPEQD   Y15, Y15, Y15
	VPGATHERDQ Y15, (R8)(X14*4), Y13
	VSHUFPS    $0x88, Y13, Y11, Y15 // nw
	VSHUFPS    $0xdd, Y13, Y11, Y11 // ne
	VSUBPS     Y15, Y11, Y11
	VMULPS     Y9, Y11, Y11
	VADDPS     Y11, Y15, Y15
	VMOVUPS    Y15, 0(SP)

	// bottom = sw + we*(se-sw), then top + wn*(bottom-top).
	VPCMPEQD   Y13, Y13, Y13
	VPGATHERDQ Y13, (R10)(X12*4), Y11
	VPCMPEQD   Y13, Y13, Y13
	VPGATHERDQ Y13, (R10)(X14*4), Y15
	VSHUFPS    $0x88, Y15, Y11, Y13 // sw
	VSHUFPS    $0xdd, Y15, Y11, Y11 // se
	VSUBPS     Y13, Y11, Y11
	VMULPS     Y9, Y11, Y11
	VADDPS     Y11, Y13, Y13
	VMOVUPS    0(SP), Y15
	VSUBPS     Y15, Y13, Y13
	VMULPS     Y10, Y13, Y13
	VADDPS     Y13, Y15, Y15
	VMULPS     152(SI), Y15, Y15 // a.scale
	VADDPS     184(SI), Y15, Y15 // a.offset
	VPERMQ     $0xd8, Y15, Y15
	VMOVUPS    Y15, (DI)

	ADDQ   $32, DI
	VADDPS eights<>(SB), Y0, Y0
	DECQ   CX
	JNZ    loop

done:
	VZEROUPPER
	RET

// func prefetch(b []uint8)
TEXT ·prefetch(SB), NOSPLIT, $0-24
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), CX
	TESTQ CX, CX
	JZ   prefetched
	LEAQ -1(SI)(CX*1), DI        // the last byte
	ANDQ $-64, SI                // the first cache line

next:
	PREFETCHT0 (SI)
	ADDQ $64, SI
	CMPQ SI, DI
	JLS  next

prefetched:
	RET
