//go:build arm64 && !purego

package kernels

// The arm64 kernel set. Every arm64 CPU has NEON (ASIMD) with fused multiply-add, so unlike
// the amd64 sets it needs no CPU check.
//
// Expected speed (not measured: this project's machine is amd64, and qemu says nothing about
// speed). The 4 x 24 tile's k step is 24 FMLAs on 4-float registers against 3 loads (16 bytes
// of A, 96 of B: 7 128-bit load operations) and 4 scalar instructions (two address adds, the
// count and the branch). A core with four 128-bit FMA pipes (Apple M1..M4 performance cores)
// issues the 24 FMLAs in 6 cycles and, 8 instructions wide with 3 load pipes, has room for
// the other 7 in the same 6 cycles; 24 independent accumulators cover the FMA latency (4
// cycles x 4 pipes = 16 in flight). So the loop can run at the peak, 16 float32 FMAs (32
// flops) a cycle, about 100 GFLOP/s at 3.2 GHz; cores with two FMA pipes (Cortex-A76,
// Neoverse N1) peak at half that per cycle. Around the loop each tile zeroes, scales and
// stores its accumulators, about 40 cycles against 6 per k step: 79 % of the peak at the
// 5x5 convolutions' kc = 25, 97 % at kc = 256. A 2-row edge tile (m = 10: 4+4+2) does 12
// FMLAs a step, held to 3/4 of the peak by the 4-cycle latency of each accumulator's chain.
// The first tile of each wide B sliver also stores it to the packed copy (6 more stores a
// k step, once per sliver), as on amd64. The 4x3 dot kernels run 12 chains, latency-bound
// at 3/4 of the peak. Expected: 60..85 % of the NEON FMA peak in the GEMMs.
//
// The direct single-channel convolution (neonConv1x4x24) runs per kernel position the same 24
// FMLAs against 6 loads (the 24-pixel image row in two, four weight broadcasts) and 4 scalar
// instructions: at the peak in the loop. Per output row of 5x5 kernels, 25 such steps (150
// cycles) against about 30 cycles of zeroing, storing and loop turns: about 83 %. The cnn's
// 10 channels run as 4+4+2, the 2-channel row (12 accumulators) latency-bound at 3/4 of the
// peak: 16 cycles a position where the peak needs 15. Its weight gradient (neonConv1dw4x3) is
// 24 FMLAs against 7 loads per 8 columns, at the peak; 25 positions are 8 groups of 3 and one
// of 1 (8 accumulators, latency-bound at 1/2): 52 cycles where the peak needs 50. Expected:
// 75..90 % of the peak in the first layer. The pooling has no multiply-adds: about 26
// instructions per 4 pooled outputs (two LD2, four bias FADDs, three compare-and-blend rounds
// of 5, the ReLU, two narrowing UZP1s, two stores), 4 cycles on an 8-wide core, bound by
// memory rather than arithmetic.

// neonKernel runs Sgemm on the NEON tile kernels; the first tile of a wide B sliver packs it
// on the way, as on amd64 (there is no tileCol kernel: the driver calls a tile at a time).
var neonKernel = kernel{name: "neon", nr: nr, kc: kcMax, vec: 8, tile: neonTile, tilePack: neonTilePack, dot: neonDot}

// neonElem runs the bias, ReLU-backward, max pooling, single-channel convolution and SGD
// passes with NEON; the copies (padding, im2col, col2im: Go's copy is already vectorised) run
// in Go.
var neonElem = func() elemOps {
	e := goElem
	e.name = "neon"
	e.addBias = addBiasNEON
	e.addBiasReLU = addBiasReLUNEON
	e.addBiasSkipReLU = addBiasSkipReLUNEON
	e.copySum = copySumNEON
	e.reluBackward = reluBackwardNEON
	e.skipReLUBack = skipReLUBackwardNEON
	e.reluPool2 = reluPool2NEON
	e.reluPool2Back = reluPool2BackwardNEON
	e.sgd = sgdNEON
	e.conv1Rows = neonConv1Rows
	e.conv1GradRows = neonConv1GradRows
	return e
}()
