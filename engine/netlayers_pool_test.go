package engine

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"mnist-tui/engine/kernels"
)

// poolPlane is a plane of values drawn from a few, so that windows tie, with NaNs, infinities
// and signed zeros among them; finitePlane the same without NaNs and infinities.
func poolPlane(rng *rand.Rand, n int) []float32 {
	values := []float32{-2, -1, -0.5, float32(math.Copysign(0, -1)), 0, 0.5, 1, 2,
		float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	x := make([]float32, n)
	for i := range x {
		if rng.IntN(4) == 0 {
			x[i] = values[rng.IntN(len(values))]
		} else {
			x[i] = values[rng.IntN(8)]
		}
	}
	return x
}

func finitePlane(rng *rand.Rand, n int) []float32 {
	values := []float32{-2, -1, -0.5, float32(math.Copysign(0, -1)), 0, 0.5, 1, 2}
	x := make([]float32, n)
	for i := range x {
		x[i] = values[rng.IntN(len(values))]
	}
	return x
}

// sameBits reports whether a and b hold the same floats bit for bit (NaNs compare by bits).
func sameBits(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

// The branch-free 2x2 pooling loops give the plain loops' outputs and winners bit for bit:
// PyTorch's rule (the first maximum wins a tie, a NaN wins, the last NaN of several) on planes
// full of ties, with and without NaNs and infinities, of even and odd sizes, with a bias.
func TestBranchFreePoolingMatchesPlainLoops(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, hw := range [][2]int{{2, 2}, {4, 6}, {5, 7}, {14, 14}, {28, 28}, {3, 10}, {24, 24}, {5, 8}} {
		H, W := hw[0], hw[1]
		oh, ow := H/2, W/2
		for trial := range 50 {
			x := poolPlane(rng, H*W)
			if trial%2 == 1 { // most planes: the loops without NaN checks
				x = finitePlane(rng, H*W)
			}
			b := []float32{0, -0.5, 1, float32(math.Copysign(0, -1))}[trial%4] // −0 keeps −0 inputs

			// Plain: the generic max pooling with a 2x2 window by 2.
			want, wantArg := make([]float32, oh*ow), make([]int32, oh*ow)
			maxPoolForward(want, wantArg, x, 1, window{C: 1, H: H, W: W, K: 2, S: 2})
			got, gotArg := make([]float32, oh*ow), make([]int32, oh*ow)
			maxPool2Forward(got, gotArg, x, 1, 1, H, W)
			if !sameBits(got, want) || !slices.Equal(gotArg, wantArg) {
				t.Fatalf("%dx%d maxPool2Forward %v %v, maxPoolForward %v %v (x %v)", H, W, got, gotArg, want, wantArg, x)
			}

			// With ReLU and a bias: conv.go's definition in float64, then back.
			x64 := make([]float64, len(x))
			for i, v := range x {
				x64[i] = float64(v + b) // the float32 sum, as the float32 loops add it
			}
			ref64, refArg := make([]float64, oh*ow), make([]uint8, oh*ow)
			biasReLUPoolPlane(ref64, refArg, x64, 0, H, W)
			ref := make([]float32, len(ref64))
			for i, v := range ref64 {
				ref[i] = float32(v)
			}
			gotR, gotRArg := make([]float32, oh*ow), make([]uint8, oh*ow)
			reluPool2Plane(gotR, gotRArg, x, b, H, W)
			if !sameBits(gotR, ref) || !slices.Equal(gotRArg, refArg) {
				t.Fatalf("%dx%d bias %v: reluPool2Plane %v %v, plain %v %v (x %v)", H, W, b, gotR, gotRArg, ref, refArg, x)
			}
			// The convolution's, on package kernels' loops (rows of any width).
			biasReLUPoolPlane(gotR, gotRArg, x, b, H, W)
			if !sameBits(gotR, ref) || !slices.Equal(gotRArg, refArg) {
				t.Fatalf("%dx%d bias %v: biasReLUPoolPlane %v %v, plain %v %v (x %v)", H, W, b, gotR, gotRArg, ref, refArg, x)
			}

			// With a BatchNorm's scale before the bias (negative scales flip the order).
			a := []float32{1.5, -0.75, 3, 1}[trial%5%4]
			for i, v := range x {
				x64[i] = float64(v*a + b)
			}
			biasReLUPoolPlane(ref64, refArg, x64, 0, H, W)
			for i, v := range ref64 {
				ref[i] = float32(v)
			}
			// The BatchNorm's, on package kernels' loops.
			kernels.AffineReLUPool2(gotR, gotRArg, x, a, b, H, W)
			if !sameBits(gotR, ref) || !slices.Equal(gotRArg, refArg) {
				t.Fatalf("%dx%d scale %v bias %v: kernels.AffineReLUPool2 %v %v, plain %v %v (x %v)", H, W, a, b, gotR, gotRArg, ref, refArg, x)
			}

			// Backward: the float32 loop sends each gradient where the float64 one does.
			dy := poolPlane(rng, oh*ow)
			dy64, dst64 := make([]float64, len(dy)), make([]float64, H*W)
			for i, v := range dy {
				dy64[i] = float64(v)
			}
			reluPoolBackPlane(dst64, dy64, ref64, refArg, H, W)
			wantD := make([]float32, H*W)
			for i, v := range dst64 {
				wantD[i] = float32(v)
			}
			gotD := poolPlane(rng, H*W) // garbage that must be overwritten
			reluPoolBackPlane(gotD, dy, gotR, gotRArg, H, W)
			if !sameBits(gotD, wantD) {
				t.Fatalf("%dx%d: reluPoolBackPlane %v, plain %v (dy %v, y %v, arg %v)", H, W, gotD, wantD, dy, gotR, gotRArg)
			}

		}
	}
}

// The float32 BatchNorm moments (plane by plane, deviations squared in float64) match the
// float64 two-pass ones, on planes whose mean is far larger than their spread, where moments
// from Σx² − n·μ² would lose every digit. Measured: at most 6.0e-9 (m2), the mean closer.
func TestBatchNormMomentsFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	const B, C, HW = 3, 2, 196
	for _, mean := range []float64{0, 0.4, 1000} {
		x := make([]float32, B*C*HW)
		x64 := make([]float64, len(x))
		for i := range x {
			x[i] = float32(mean + rng.NormFloat64())
			x64[i] = float64(x[i])
		}
		got, want := make([]moments, C), make([]moments, C)
		batchNormMoments(got, x, B, C, HW)
		batchNormMoments(want, x64, B, C, HW)
		for c := range C {
			spread := math.Sqrt(want[c].m2 / want[c].n)
			if e := math.Abs(got[c].mean-want[c].mean) / spread; !(e < 2e-8) || got[c].n != want[c].n {
				t.Errorf("mean %v channel %d: mean %v over %v values, want %v over %v (error %.3g of the spread)", mean, c, got[c].mean, got[c].n, want[c].mean, want[c].n, e)
			}
			if e := math.Abs(got[c].m2-want[c].m2) / want[c].m2; !(e < 2e-8) {
				t.Errorf("mean %v channel %d: m2 %v, want %v (relative error %.3g)", mean, c, got[c].m2, want[c].m2, e)
			}
		}
	}
}

// The float32 sums of a pooled BatchNorm's gradient (bits masked, two sums a row) are the
// float64 loop's: the gradient only where the pooled output is positive, x at each winner.
func TestBatchNormPoolSumsFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, hw := range [][2]int{{28, 28}, {14, 14}, {5, 7}, {2, 2}} {
		H, W := hw[0], hw[1]
		ph := (H / 2) * (W / 2)
		x, dy, y := make([]float32, H*W), make([]float32, ph), finitePlane(rng, ph)
		x64, dy64, y64 := make([]float64, H*W), make([]float64, ph), make([]float64, ph)
		arg := make([]uint8, ph)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
			x64[i] = float64(x[i])
		}
		for i := range dy {
			dy[i], arg[i] = float32(rng.NormFloat64()), uint8(rng.IntN(4))
			dy64[i], y64[i] = float64(dy[i]), float64(y[i])
		}
		sd, sdx := bnPoolPlaneSums(x, dy, y, arg, 0.3, H, W)
		wsd, wsdx := bnPoolPlaneSums(x64, dy64, y64, arg, 0.3, H, W)
		if math.Abs(sd-wsd) > 1e-12*(1+math.Abs(wsd)) || math.Abs(sdx-wsdx) > 1e-12*(1+math.Abs(wsdx)) {
			t.Errorf("%dx%d: sums %v %v, float64 loop %v %v", H, W, sd, sdx, wsd, wsdx)
		}
	}
}

// A pooled BatchNorm's input gradient for the convolution before it (bnPoolGrad) is, in
// float32, −b − (x−mu)·e with each operation rounded, plus a·g at the winners, and sums to the
// float64 sum of what it wrote.
func TestBatchNormPoolGradFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, hw := range [][2]int{{14, 14}, {28, 28}, {5, 7}} {
		const B, C = 2, 3
		H, W := hw[0], hw[1]
		ph := (H / 2) * (W / 2)
		g := bnPoolGrad[float32]{x: randn(rng, B*C*H*W, 1), y: finitePlane(rng, B*C*ph), dy: randn(rng, B*C*ph, 1),
			arg: make([]uint8, B*C*ph), a: randn(rng, C, 1), b: randn(rng, C, 1), mu: randn(rng, C, 1), e: randn(rng, C, 1),
			C: C, H: H, W: W}
		for i := range g.arg {
			g.arg[i] = uint8(rng.IntN(4))
		}
		for img := range B {
			for c := range C {
				p := img*C + c
				x := g.x[p*H*W:][:H*W]
				want := make([]float32, H*W)
				for j, v := range x {
					want[j] = -g.b[c] - float32((v-g.mu[c])*g.e[c])
				}
				for i := range ph {
					py, px, a := i/(W/2), i%(W/2), int(g.arg[p*ph+i])
					v := g.dy[p*ph+i]
					if !(g.y[p*ph+i] > 0) {
						v = 0
					}
					want[(2*py+a/2)*W+2*px+a%2] += float32(g.a[c] * v)
				}
				var wantSum float64
				for _, v := range want {
					wantSum += float64(v)
				}
				got := randn(rng, H*W, 1) // garbage that must be overwritten
				gotSum := g.grad(got, img, c)
				if !sameBits(got, want) {
					t.Fatalf("%dx%d image %d channel %d: %v, want %v", H, W, img, c, got, want)
				}
				if math.Abs(float64(gotSum)-wantSum) > 1e-5*(1+math.Abs(wantSum)) {
					t.Errorf("%dx%d image %d channel %d: sum %v, want %v", H, W, img, c, gotSum, wantSum)
				}
			}
		}
	}
}
