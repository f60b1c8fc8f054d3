package kernels

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// benchShape is one GEMM the engine runs per worker, with batch chunk 32.
type benchShape struct {
	name           string
	transA, transB bool
	m, n, k        int
}

const batch = 32

var benchShapes = []benchShape{
	{"cnn-conv1-fwd", false, false, 10, batch * 576, 25},
	{"cnn-conv1-dW", false, true, 10, 25, batch * 576},
	{"cnn-conv2-fwd", false, false, 20, batch * 64, 250},
	{"cnn-conv2-dW", false, true, 20, 250, batch * 64},
	{"cnn-conv2-dcol", true, false, 250, batch * 64, 20},
	{"linear-784x512-fwd", false, true, batch, 512, 784},
	{"linear-512x256-fwd", false, true, batch, 256, 512},
	{"linear-256x128-fwd", false, true, batch, 128, 256},
	{"linear-128x64-fwd", false, true, batch, 64, 128},
	{"linear-64x10-fwd", false, true, batch, 10, 64},
	{"linear-784x512-dX", false, false, batch, 784, 512},
	{"linear-512x256-dX", false, false, batch, 512, 256},
	{"linear-784x512-dW", true, false, 512, 784, batch},
	{"linear-512x256-dW", true, false, 256, 512, batch},
	{"incep-1x1-16-k10", false, false, 16, batch * 144, 10},
	{"incep-1x1-24-k10", false, false, 24, batch * 144, 10},
	{"incep-1x1-16-k20", false, false, 16, batch * 16, 20},
	{"incep-1x1-24-k88", false, false, 24, batch * 16, 88},
	{"incep-5x5", false, false, 24, batch * 144, 400},
	{"incep-3x3-k144", false, false, 24, batch * 144, 144},
	{"incep-3x3-k216", false, false, 24, batch * 144, 216},
	{"incep-conv2", false, false, 20, batch * 64, 2200},
	{"resid-3x3-16", false, false, 16, batch * 144, 144},
	{"resid-3x3-32", false, false, 32, batch * 16, 288},
	// Forward products and input gradients as the convolutions run them, one group of images
	// at a time (engine.groupSize): B, the group's im2col matrix, is at most 384 KB and
	// stays in L2, where the shapes above with all 32 images do not fit.
	{"g-cnn-conv2", false, false, 20, 6 * 64, 250},
	{"g-cnn-conv2-dcol", true, false, 250, 6 * 64, 20},
	{"g-resid-rblock1", false, false, 16, 4 * 144, 144},
	{"g-resid-rblock1-dcol", true, false, 144, 4 * 144, 16},
	{"g-resid-conv2", false, false, 32, 3 * 64, 400},
	{"g-resid-rblock2", false, false, 32, 21 * 16, 288},
	{"g-incep-5x5", false, false, 24, 2 * 144, 400},
	{"g-incep-3x3-k144", false, false, 24, 4 * 144, 144},
	{"g-incep-3x3-k216", false, false, 24, 3 * 144, 216},
	{"g-incep-conv2", false, false, 20, 4 * 64, 2200},
	{"g-example-conv2", false, false, 32, 3 * 196, 144},
	// Weight gradients as convBackward runs them, one group of images at a time (see
	// engine.groupSize): k is the group's output pixels, a few hundred.
	{"dW-cnn-conv1-g6", false, true, 10, 25, 6 * 576},
	{"dW-cnn-conv2-g6", false, true, 20, 250, 6 * 64},
	{"dW-resid-rblock1-g4", false, true, 16, 144, 4 * 144},
	{"dW-resid-conv2-g4", false, true, 32, 400, 4 * 64},
	{"dW-incep-5x5-g2", false, true, 24, 400, 2 * 144},
	{"dW-incep-conv2-g4", false, true, 20, 2200, 4 * 64},
}

type gemmFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

// viaKernel calls the blocked driver on a given micro-kernel, bypassing the start-up choice.
func viaKernel(kern kernel) gemmFunc {
	return func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		kern.sgemm(nil, false, matrix{a, lda, transA}, matrix{b, ldb, transB}, m, n, k, alpha, beta, c, ldc)
	}
}

// BenchmarkSgemm reports GFLOP/s per engine shape for Sgemm (the kernel set chosen at
// start-up), each assembly set this CPU runs (set-avx512, set-avx2), the portable Go
// micro-kernel under the same blocking, a naive cache-blocked Go loop, and SgemmRef. Select
// one with e.g. -bench 'Sgemm/.*/sgemm$'. cpu-GFLOP/s divides by the thread's CPU time instead
// of wall time: on a shared machine it is the steadier of the two.
func BenchmarkSgemm(b *testing.B) {
	type impl struct {
		name string
		f    gemmFunc
	}
	impls := []impl{{"sgemm", Sgemm}}
	for _, s := range platformSets() {
		if s.runs {
			impls = append(impls, impl{"set-" + s.name, viaKernel(s.kern)})
		}
	}
	impls = append(impls, impl{"go-tile", viaKernel(goKernel)}, impl{"naive-blocked", naiveBlocked}, impl{"ref", SgemmRef})
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			aRows, aCols := s.m, s.k
			if s.transA {
				aRows, aCols = s.k, s.m
			}
			bRows, bCols := s.k, s.n
			if s.transB {
				bRows, bCols = s.n, s.k
			}
			a, _ := filled(rng, aRows, aCols, aCols, 0)
			bm, _ := filled(rng, bRows, bCols, bCols, 0)
			c := make([]float32, s.m*s.n)
			for _, impl := range impls {
				b.Run(impl.name, func(b *testing.B) {
					b.ReportAllocs()
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					cpu0, cpuOK := threadCPUTime()
					for b.Loop() {
						impl.f(s.transA, s.transB, s.m, s.n, s.k, 1, a, aCols, bm, bCols, 0, c, s.n)
					}
					cpu1, _ := threadCPUTime()
					flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
					b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					if cpuOK && cpu1 > cpu0 {
						b.ReportMetric(flops/(cpu1-cpu0).Seconds()/1e9, "cpu-GFLOP/s")
					}
				})
			}
		})
	}
}

// naiveBlocked is the textbook improvement over the triple loop that a Go programmer writes
// first: scale C, then accumulate rank-1 updates row by row (i, p, j order, so the inner loop
// runs along contiguous rows of B and C), cut into cache-sized blocks of k and n. It is a
// benchmark baseline only.
func naiveBlocked(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	const kb, nb = 128, 512
	scaleC(m, n, beta, c, ldc)
	opA := matrix{a, lda, transA}
	for j0 := 0; j0 < n; j0 += nb {
		j1 := min(n, j0+nb)
		for p0 := 0; p0 < k; p0 += kb {
			p1 := min(k, p0+kb)
			for i := 0; i < m; i++ {
				crow := c[i*ldc+j0 : i*ldc+j1]
				for p := p0; p < p1; p++ {
					av := alpha * opA.at(i, p)
					if transB {
						for j := range crow {
							crow[j] += av * b[(j0+j)*ldb+p]
						}
						continue
					}
					brow := b[p*ldb+j0 : p*ldb+j1]
					for j, bv := range brow {
						crow[j] += av * bv
					}
				}
			}
		}
	}
}

// BenchmarkElementwise times the convolutions' other passes on the shapes of the cnn's first
// layer (32 images of 10 channels, 24x24 outputs), per implementation: -bench 'Elementwise/.*/avx2'.
func BenchmarkElementwise(b *testing.B) {
	const images, channels, h, w = 32, 10, 24, 24
	rng := rand.New(rand.NewPCG(3, 3))
	x := tricky(rng, images*28*28)
	plane := tricky(rng, images*channels*h*w)
	pooled, dy := make([]float32, images*channels*h*w/4), tricky(rng, images*channels*h*w/4)
	arg := make([]uint8, len(pooled))
	col := make([]float32, images*h*w)
	// inception.conv2's im2col and col2im: 88 channels of 12x12, a 5x5 kernel, 8x8 outputs, a
	// group of 4 images (a 2.25 MB matrix, as in the engine).
	const c2, g2, n2 = 88, 4, 4 * 64
	x2, col2 := tricky(rng, g2*c2*144), tricky(rng, c2*25*n2)
	for _, e := range elemsUnderTest() {
		cases := []struct {
			name  string
			bytes int // moved per call, for the throughput figure
			f     func()
		}{
			{"im2col-row", 8 * len(col), func() { im2colRows(e, col, x, 1, 0, 0, 1, 0, images, 28*28, 28, h, w) }},
			{"col2im-row", 12 * len(col), func() { col2imRows(e, x, col, 1, 0, 0, 1, 0, images, 28*28, 28, h*w, w, h, w) }},
			// The 12-pixel rows of the inception and residual models' 12x12 layers, padded to 16x16.
			{"im2col-row12", 8 * images * 144, func() { im2colRows(e, col, x, 1, 0, 0, 1, 0, images, 16*16, 16, 12, 12) }},
			{"col2im-row12", 12 * images * 144, func() { col2imRows(e, x, col, 1, 0, 0, 1, 0, images, 16*16, 16, 144, 12, 12, 12) }},
			// The engine's calls: a 3x3 kernel row over 12x12 outputs of images padded to 14x14
			// (the residual model's first block), a 5x5 one over the cnn's 8x8 second layer,
			// and the padded copy of the block's 12x12 planes.
			{"im2col-3x3-12", 8 * 3 * images * 144, func() { im2colRows(e, col, x, 1, 0, 0, 3, images*144, images, 14*14, 14, 12, 12) }},
			{"col2im-3x3-12", 12 * 3 * images * 144, func() { col2imRows(e, x, col, 1, 0, 0, 3, images*144, images, 14*14, 14, 144, 12, 12, 12) }},
			{"im2col-5x5-8", 8 * 5 * images * 64, func() { im2colRows(e, col, x, 1, 0, 0, 5, images*64, images, 12*12, 12, 8, 8) }},
			{"col2im-5x5-8", 12 * 5 * images * 64, func() { col2imRows(e, x, col, 1, 0, 0, 5, images*64, images, 12*12, 12, 64, 8, 8, 8) }},
			// The engine's calls, one per channel for its 5 kernel rows, and the same rows a
			// kernel row at a time (the calls it made before) or a kernel row of every channel
			// at a time (which gives col2im's additions the planes of all channels between two
			// visits to a plane, not one).
			{"im2col-conv2", 8 * len(col2), func() {
				for c := range c2 {
					im2colRows(e, col2[c*25*n2:], x2[c*144:], 5, 5*n2, 12, 5, n2, g2, c2*144, 12, 8, 8)
				}
			}},
			{"im2col-conv2-per-row", 8 * len(col2), func() {
				for c := range c2 {
					for kh := range 5 {
						im2colRows(e, col2[(c*5+kh)*5*n2:], x2[c*144+kh*12:], 1, 0, 0, 5, n2, g2, c2*144, 12, 8, 8)
					}
				}
			}},
			{"im2col-conv2-row-major", 8 * len(col2), func() {
				for kh := range 5 {
					im2colRows(e, col2[kh*5*n2:], x2[kh*12:], c2, 25*n2, 144, 5, n2, g2, c2*144, 12, 8, 8)
				}
			}},
			{"col2im-conv2", 12 * len(col2), func() {
				for c := range c2 {
					col2imRows(e, x2[c*144:], col2[c*25*n2:], 5, 12, 5*n2, 5, n2, g2, c2*144, 12, 64, 8, 8, 8)
				}
			}},
			{"col2im-conv2-per-row", 12 * len(col2), func() {
				for c := range c2 {
					for kh := range 5 {
						col2imRows(e, x2[c*144+kh*12:], col2[(c*5+kh)*5*n2:], 1, 0, 0, 5, n2, g2, c2*144, 12, 64, 8, 8, 8)
					}
				}
			}},
			{"col2im-conv2-row-major", 12 * len(col2), func() {
				for kh := range 5 {
					col2imRows(e, x2[kh*12:], col2[kh*5*n2:], c2, 144, 25*n2, 5, n2, g2, c2*144, 12, 64, 8, 8, 8)
				}
			}},
			{"pad-copy-12", 8 * images * 144, func() { padCopy(e, x, plane, images, 144, 12, 14, 12, 1, 12, 1, 14) }},
			{"relu-pool", 5 * len(plane), func() {
				for p := range images * channels {
					reluPool2(e, pooled[p*h*w/4:], arg[p*h*w/4:], plane[p*h*w:], 0.1, h, w)
				}
			}},
			{"relu-pool-backward", 5 * len(plane), func() {
				for p := range images * channels {
					reluPool2Backward(e, plane[p*h*w:], dy[p*h*w/4:], pooled[p*h*w/4:], arg[p*h*w/4:], h, w)
				}
			}},
			{"bias-relu", 8 * len(plane), func() { addBiasReLU(e, plane, plane, 0.1) }},
			{"relu-backward", 12 * len(plane), func() { reluBackward(e, plane, plane, plane) }},
		}
		for _, c := range cases {
			b.Run(c.name+"/"+e.name, func(b *testing.B) {
				b.ReportAllocs()
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				cpu0, cpuOK := threadCPUTime()
				for b.Loop() {
					c.f()
				}
				cpu1, _ := threadCPUTime()
				b.ReportMetric(float64(c.bytes)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
				if cpuOK && cpu1 > cpu0 {
					b.ReportMetric(float64(c.bytes)*float64(b.N)/(cpu1-cpu0).Seconds()/1e9, "cpu-GB/s")
					b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
				}
			})
		}
	}
}

// BenchmarkConvDirect runs ConvDirect on one group of images of the engine's multi-channel
// convolutions, reporting GFLOP/s.
func BenchmarkConvDirect(b *testing.B) {
	shapes := []struct {
		name                        string
		images, C, H, W, OC, K, pad int
	}{
		{"incep-5x5-fwd", 2, 16, 12, 12, 24, 5, 2},
		{"incep-3x3-fwd", 4, 16, 12, 12, 24, 3, 1},
		{"incep-conv2-fwd", 4, 88, 12, 12, 20, 5, 0},
		{"resid-rblock1-fwd", 4, 16, 12, 12, 16, 3, 1},
		{"resid-rblock2-fwd", 21, 32, 4, 4, 32, 3, 1},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			if !ConvDirectFast((s.H + 2*s.pad - s.K + 1) * (s.W + 2*s.pad - s.K + 1)) {
				b.Skip("ConvDirect runs in Go on this kernel set")
			}
			oh, ow := s.H+2*s.pad-s.K+1, s.W+2*s.pad-s.K+1
			x, _ := filled(rng, 1, s.images*s.C*s.H*s.W, 1, 0)
			w, _ := filled(rng, 1, s.OC*s.C*s.K*s.K, 1, 0)
			packed := make([]float32, ConvPackedSize(s.OC, s.C, s.K))
			ConvPackWeights(packed, w, s.OC, s.C, s.K)
			out := make([]float32, s.OC*s.images*oh*ow)
			buf := make([]float32, ConvDirectBuf(s.images, s.C, s.H, s.W, s.K, s.pad))
			for b.Loop() {
				ConvDirect(out, s.images*oh*ow, x, s.C*s.H*s.W, s.H*s.W, packed, s.images, s.C, s.H, s.W, s.OC, s.K, s.pad, buf)
			}
			flops := 2 * float64(s.OC*s.C*s.K*s.K*s.images*oh*ow)
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
	// The engine packs each layer's weights once per chunk: inception's conv2 has the most.
	b.Run("pack-incep-conv2", func(b *testing.B) {
		const OC, C, K = 20, 88, 5
		w, _ := filled(rng, 1, OC*C*K*K, 1, 0)
		packed := make([]float32, ConvPackedSize(OC, C, K))
		for b.Loop() {
			ConvPackWeights(packed, w, OC, C, K)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(w)), "ns/weight")
	})
}

// BenchmarkShiftedPlanes builds ConvDirect's and ConvGrad's shifted copies of the models'
// padded layers' inputs, every channel of a group, both ways a kernel set with shiftPad can:
// straight from the images and by a padded copy and im2col.
func BenchmarkShiftedPlanes(b *testing.B) {
	shapes := []struct {
		name                    string
		images, C, H, W, K, pad int
	}{
		{"incep-5x5", 2, 16, 12, 12, 5, 2},
		{"resid-rblock1", 4, 16, 12, 12, 3, 1},
		{"resid-rblock2", 21, 32, 4, 4, 3, 1},
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, e := range platformElems() {
		if e.shiftPad == nil {
			continue
		}
		for _, s := range shapes {
			hp, wp := s.H+2*s.pad, s.W+2*s.pad
			tapStride := s.images * hp * (wp - s.K + 1)
			x := tricky(rng, s.images*s.C*s.H*s.W)
			buf := make([]float32, ConvDirectBuf(s.images, s.C, s.H, s.W, s.K, s.pad))
			padded := buf[s.C*s.K*tapStride:]
			ways := []struct {
				name  string
				build func(c int)
			}{
				{"direct", func(c int) {
					shiftedPlanesDirect(e, buf[c*s.K*tapStride:], x[c*s.H*s.W:], s.images, s.C*s.H*s.W, s.H, s.W, s.K, s.pad, tapStride)
				}},
				{"padcopy-im2col", func(c int) {
					shiftedPlanesViaCopy(e, buf[c*s.K*tapStride:], x[c*s.H*s.W:], padded, s.images, s.C*s.H*s.W, s.H, s.W, s.K, s.pad, tapStride)
				}},
			}
			for _, way := range ways {
				b.Run(s.name+"/"+way.name+"/"+e.name, func(b *testing.B) {
					for b.Loop() {
						for c := range s.C {
							way.build(c)
						}
					}
				})
			}
		}
	}
}
