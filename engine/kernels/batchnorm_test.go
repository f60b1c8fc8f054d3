package kernels

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// bnShapes are planes of odd and even sizes around the vector units (16 and 32 floats), the
// example network's 28x28 among them.
var bnShapes = [][2]int{{0, 0}, {1, 1}, {1, 5}, {2, 2}, {3, 3}, {2, 7}, {4, 14}, {5, 17}, {6, 28}, {28, 28}, {3, 31}, {4, 32}, {7, 33}, {2, 63}, {4, 64}, {3, 65}, {14, 14}, {3, 16}, {2, 48}, {5, 47}, {4, 24}, {3, 46}, {6, 18}}

// TestPlaneMoments holds every set's moments to the same bits, and to a float64 two-pass
// computation of the mean and the sum of squared deviations. The deviations are rounded to
// float32 before they are widened, which leaves errors up to 6e-10 of the mean and 1e-8 of
// the sum of squares on these planes (measured); the bounds are three times that.
func TestPlaneMoments(t *testing.T) {
	for _, n := range []int{1, 2, 7, 15, 16, 17, 31, 32, 33, 47, 100, 196, 784, 1000} {
		rng := rand.New(rand.NewPCG(uint64(n), 7))
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(3 + rng.NormFloat64()) // a large mean: the deviations must not cancel
		}
		var mean float64
		for _, v := range x {
			mean += float64(v)
		}
		mean /= float64(n)
		var m2 float64
		for _, v := range x {
			m2 += (float64(v) - mean) * (float64(v) - mean)
		}
		var ref [3]float64
		for i, e := range elemsUnderTest() {
			pm, d, q := planeMoments(e, x)
			got := [3]float64{float64(pm), d, q}
			if i == 0 {
				ref = got
				if gm := float64(pm) + d/float64(n); math.Abs(gm-mean) > 2e-9*math.Abs(mean) {
					t.Errorf("n=%d: mean %v, want %v", n, gm, mean)
				}
				if gq := q - d*d/float64(n); math.Abs(gq-m2) > 3e-8*m2 {
					t.Errorf("n=%d: m2 %v, want %v", n, gq, m2)
				}
				continue
			}
			if got != ref {
				t.Errorf("n=%d: %s gives %v, go %v", n, e.name, got, ref)
			}
		}
	}
}

// windowRule is the pooled value and winner of a window by PyTorch's rule (v > best or v NaN),
// the ReLU applied after.
func windowRule(v [4]float32) (float32, uint8) {
	best, at := v[0], uint8(0)
	for k := 1; k < 4; k++ {
		if v[k] > best || v[k] != v[k] {
			best, at = v[k], uint8(k)
		}
	}
	return max(best, 0), at
}

// TestAffineReLUPool2 checks every set against the rule written out per window, on planes of
// every width (NaNs, signed zeros and ties included), and that scale 1 gives ReLUPool2's bits.
func TestAffineReLUPool2(t *testing.T) {
	for _, sh := range bnShapes {
		h, w := sh[0], sh[1]
		rng := rand.New(rand.NewPCG(uint64(h), uint64(w)))
		src := tricky(rng, h*w)
		oh, ow := h/2, w/2
		for _, sb := range [][2]float32{{1, 0.25}, {-0.75, 0.5}, {1.5, -2}} {
			scale, bias := sb[0], sb[1]
			want, wantArg := make([]float32, oh*ow), make([]uint8, oh*ow)
			for py := range oh {
				for px := range ow {
					var v [4]float32
					for k := range 4 {
						v[k] = float32(src[(2*py+k/2)*w+2*px+k%2]*scale) + bias
					}
					want[py*ow+px], wantArg[py*ow+px] = windowRule(v)
				}
			}
			for _, e := range elemsUnderTest() {
				// One spare element past the plane, which must stay as it was.
				dst, arg := make([]float32, oh*ow+1), make([]uint8, oh*ow+1)
				dst[oh*ow], arg[oh*ow] = 7, 9
				affineReLUPool2(e, dst, arg, src, scale, bias, h, w)
				if !sameBits(dst[:oh*ow], want) || string(arg[:oh*ow]) != string(wantArg) {
					t.Errorf("%dx%d scale %v: %s gives %v %v, want %v %v", h, w, scale, e.name, dst[:oh*ow], arg[:oh*ow], want, wantArg)
				}
				if dst[oh*ow] != 7 || arg[oh*ow] != 9 {
					t.Errorf("%dx%d: %s wrote past the pooled plane", h, w, e.name)
				}
				if scale == 1 && w%8 == 0 {
					d2, a2 := make([]float32, oh*ow), make([]uint8, oh*ow)
					reluPool2(e, d2, a2, src, bias, h, w)
					if !sameBits(d2, dst[:oh*ow]) || string(a2) != string(arg[:oh*ow]) {
						t.Errorf("%dx%d: %s: scale 1 differs from ReLUPool2", h, w, e.name)
					}
				}
			}
		}
	}
}

// bnPoolCase is a pooled plane's backward inputs: x [h,w], and its pooled gradient, outputs
// (half of them not positive) and winners. Past their ends the slices hold NaNs and window
// positions, which a kernel that reads past a row would take in.
func bnPoolCase(rng *rand.Rand, h, w int) (x, dy, y []float32, arg []uint8) {
	const spare = 64
	withSpare := func(n int) []float32 {
		v := make([]float32, n+spare)
		for i := range spare {
			v[n+i] = float32(math.NaN())
		}
		return v[:n]
	}
	x = withSpare(h * w)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	n := (h / 2) * (w / 2)
	dy, y, arg = withSpare(n), withSpare(n), make([]uint8, n+spare)
	for i := range spare {
		arg[n+i] = uint8(i % 4)
	}
	arg = arg[:n]
	for i := range dy {
		dy[i] = float32(rng.NormFloat64())
		y[i] = float32(rng.NormFloat64())
		arg[i] = uint8(rng.IntN(4))
	}
	if n > 2 {
		y[1] = float32(math.NaN()) // not positive
		y[2] = 0
	}
	return x, dy, y, arg
}

// TestBNPoolSums holds every set to the same bits, and to the sums written out per window in
// float64.
func TestBNPoolSums(t *testing.T) {
	for _, sh := range bnShapes {
		h, w := sh[0], sh[1]
		rng := rand.New(rand.NewPCG(uint64(h), uint64(w)+100))
		x, dy, y, arg := bnPoolCase(rng, h, w)
		const mu = 0.375
		var wantSd, wantSdx float64
		ow := w / 2
		for py := range h / 2 {
			for px := range ow {
				i := py*ow + px
				if y[i] > 0 {
					a := int(arg[i])
					wantSd += float64(dy[i])
					wantSdx += float64(dy[i]) * (float64(x[(2*py+a/2)*w+2*px+a%2]) - mu)
				}
			}
		}
		var ref [2]float64
		for k, e := range elemsUnderTest() {
			sd, sdx := bnPoolSums(e, x, dy, y, arg, mu, h, w)
			got := [2]float64{sd, sdx}
			if k == 0 {
				ref = got
				if math.Abs(sd-wantSd) > 1e-12 || math.Abs(sdx-wantSdx) > 1e-12 {
					t.Errorf("%dx%d: go gives %v, want %v %v", h, w, got, wantSd, wantSdx)
				}
				continue
			}
			if got != ref {
				t.Errorf("%dx%d: %s gives %v, go %v", h, w, e.name, got, ref)
			}
		}
	}
}

// TestBNPoolGrad holds every set to the same bits, dst and sum, and dst to its definition
// element by element, the sum to a float64 sum.
func TestBNPoolGrad(t *testing.T) {
	for _, sh := range bnShapes {
		h, w := sh[0], sh[1]
		rng := rand.New(rand.NewPCG(uint64(h), uint64(w)+200))
		x, dy, y, arg := bnPoolCase(rng, h, w)
		const a, nb, mu, e = 1.25, -0.125, 0.375, 0.625
		want := make([]float32, h*w)
		var wantSum float64
		for r := range h {
			for c := range w {
				v := nb - float32(float32(x[r*w+c]-mu)*e)
				if py, px := r/2, c/2; py < h/2 && px < w/2 && int(arg[py*(w/2)+px]) == 2*(r%2)+c%2 {
					g := dy[py*(w/2)+px]
					if !(y[py*(w/2)+px] > 0) {
						g = 0
					}
					v += float32(a * g)
				}
				want[r*w+c] = v
				wantSum += float64(v)
			}
		}
		var refDst []float32
		var refSum float32
		for k, ops := range elemsUnderTest() {
			dst := make([]float32, h*w+1)
			dst[h*w] = 7
			sum := bnPoolGrad(ops, dst, x, dy, y, arg, a, nb, mu, e, h, w)
			if dst[h*w] != 7 {
				t.Errorf("%dx%d: %s wrote past the plane", h, w, ops.name)
			}
			if k == 0 {
				refDst, refSum = dst, sum
				if !sameBits(dst[:h*w], want) {
					t.Errorf("%dx%d: go gives %v, want %v", h, w, dst[:h*w], want)
				}
				if math.Abs(float64(sum)-wantSum) > 1e-5*(1+math.Abs(wantSum)) {
					t.Errorf("%dx%d: sum %v, want %v", h, w, sum, wantSum)
				}
				continue
			}
			if !sameBits(dst, refDst) || math.Float32bits(sum) != math.Float32bits(refSum) {
				t.Errorf("%dx%d: %s gives %v (sum %v), go %v (sum %v)", h, w, ops.name, dst, sum, refDst, refSum)
			}
		}
	}
}

// BenchmarkBatchNormPasses times each BatchNorm plane pass on every set this CPU runs, on the
// example network's 28x28 planes, in ns per plane of thread CPU time (steadier than wall time
// on a shared machine). Select one with e.g. -bench 'BatchNormPasses/grad/'.
func BenchmarkBatchNormPasses(b *testing.B) {
	const h, w = 28, 28
	rng := rand.New(rand.NewPCG(1, 2))
	x, dy, y, arg := bnPoolCase(rng, h, w)
	dst, pooled := make([]float32, h*w), make([]float32, (h/2)*(w/2))
	passes := []struct {
		name string
		run  func(e elemOps)
	}{
		{"moments", func(e elemOps) { planeMoments(e, x) }},
		{"pool", func(e elemOps) { affineReLUPool2(e, pooled, arg, x, 1.3, 0.1, h, w) }},
		{"sums", func(e elemOps) { bnPoolSums(e, x, dy, y, arg, 0.2, h, w) }},
		{"grad", func(e elemOps) { bnPoolGrad(e, dst, x, dy, y, arg, 1.1, 0.3, 0.2, 0.7, h, w) }},
	}
	for _, p := range passes {
		for _, e := range elemsUnderTest() {
			b.Run(p.name+"/"+e.name, func(b *testing.B) {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				cpu0, cpuOK := threadCPUTime()
				for b.Loop() {
					p.run(e)
				}
				if cpu1, _ := threadCPUTime(); cpuOK && cpu1 > cpu0 {
					b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/plane")
				}
			})
		}
	}
}
