//go:build arm64 && !purego

package kernels

// The arm64 kernel set. Every arm64 CPU has NEON (ASIMD) with fused multiply-add, so unlike
// the amd64 sets it needs no CPU check.
//
// Expected speed (not measured: this project's machine is amd64, and qemu says nothing about
// speed). The 4 x 24 tile's k step is 24 FMLAs on 4-float registers against 3 loads and the
// loop's 2 scalar instructions. A core with four 128-bit FMA pipes (Apple M1..M4 performance
// cores) issues the 24 FMLAs in 6 cycles and, 8 instructions wide, has room for the rest in
// the same 6 cycles; 24 independent accumulators cover the FMA latency (4 cycles x 4 pipes = 16
// in flight). So the inner loop can run at its peak, 16 float32 FMAs (32 flops) a cycle, 102
// GFLOP/s at 3.2 GHz. A core with two FMA pipes (Cortex-A76/X1, Neoverse N1; Graviton 2)
// peaks at 16 flops a cycle. Around the loop, each tile also zeroes its accumulators and
// scales and stores C (a fixed cost of about 50 instructions against kc*31 in the loop),
// and the driver packs A and the B slivers it cannot read in place. The engine's products
// have kc = 25..256 (the shallow ones are the single-channel convolutions), so tiles spend
// 60..95 % of their time in the loop; edge tiles (10 rows: 4+4+2) run at rows/4 of the
// peak. Together: 50..70 % of the FMA peak on the GEMMs, against 75..85 % for the AVX2 set on
// the amd64 machine where both were measured.

// neonKernel runs Sgemm on the NEON tile kernels; the driver packs B slivers itself (no
// tilePack or tileCol kernels yet).
var neonKernel = kernel{name: "neon", tile: neonTile, dot: neonDot}

// neonElem runs the bias, ReLU-backward and SGD passes with NEON; the copies (padding,
// im2col, col2im: Go's copy is already vectorised) and the max pooling run in Go.
var neonElem = func() elemOps {
	e := goElem
	e.name = "neon"
	e.addBias = addBiasNEON
	e.addBiasReLU = addBiasReLUNEON
	e.addBiasSkipReLU = addBiasSkipReLUNEON
	e.copySum = copySumNEON
	e.reluBackward = reluBackwardNEON
	e.skipReLUBack = skipReLUBackwardNEON
	e.sgd = sgdNEON
	return e
}()
