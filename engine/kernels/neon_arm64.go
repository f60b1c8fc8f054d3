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
