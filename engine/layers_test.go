package engine

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Gradient checks compare each backward function with central differences of its forward.
//
// The layers compute in float32, so the differences must be taken with care: the loss is summed in
// float64, the step is divided by the perturbation float32 actually made (fl(v+eps) - fl(v-eps),
// not 2*eps), and eps is large (1e-2 on values of order 1). Most layers are linear in each input,
// where central differences are exact whatever eps, and ReLU/max-pool inputs are kept further than
// eps from their kinks, so what remains is float32 rounding of the outputs: about 1e-6 of the loss,
// divided by 2*eps. Errors are max|analytic - numeric| / max|numeric| over a tensor; layerTol leaves
// a wide margin over the ~1e-5 this measures while catching any real mistake (a wrong index, a
// missing term, a scale off by a few percent), as TestGradCheckCatchesMistakes shows.
const (
	layerEps = 1e-2
	layerTol = 1e-3
)

// gradArg is one input of a function under a gradient check.
type gradArg struct {
	name string
	val  []float32 // perturbed in place, restored afterwards
	grad []float32 // analytic gradient, computed by the caller before the check
}

// gradError returns max|grad - numeric| / max|numeric| over the elements of a.
func gradError(loss func() float64, a gradArg, eps float64) float64 {
	var maxErr, maxRef float64
	for i, v := range a.val {
		plus, minus := float32(float64(v)+eps), float32(float64(v)-eps)
		a.val[i] = plus
		lp := loss()
		a.val[i] = minus
		lm := loss()
		a.val[i] = v
		numeric := (lp - lm) / (float64(plus) - float64(minus))
		maxErr = max(maxErr, math.Abs(float64(a.grad[i])-numeric))
		maxRef = max(maxRef, math.Abs(numeric))
	}
	if maxRef == 0 {
		return maxErr // all-zero gradient: compare absolutely
	}
	return maxErr / maxRef
}

func expectGrads(t *testing.T, loss func() float64, args ...gradArg) {
	t.Helper()
	for _, a := range args {
		if e := gradError(loss, a, layerEps); !(e <= layerTol) {
			t.Errorf("d/d%s: max|analytic-numeric|/max|numeric| = %.3g > %g", a.name, e, layerTol)
		}
	}
}

// projection makes a scalar loss Σ r·out of a layer's output with fixed random weights r; its
// gradient with respect to out is r, the dout passed to backward.
type projection struct{ r []float32 }

func newProjection(rng *rand.Rand, n int) projection {
	return projection{r: randn(rng, n, 1)}
}

func (p projection) loss(out []float32) float64 {
	var sum float64
	for i, r := range p.r {
		sum += float64(r) * float64(out[i])
	}
	return sum
}

func randn(rng *rand.Rand, n int, scale float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64() * scale)
	}
	return s
}

// awayFromZero returns n random values in ±[0.1, 1.1]: ReLU inputs no eps-step can flip.
func awayFromZero(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		v := 0.1 + rng.Float64()
		if rng.IntN(2) == 0 {
			v = -v
		}
		s[i] = float32(v)
	}
	return s
}

// TestLinearBackwardSetOverwrites holds linearBackwardSet to linearBackward on cleared
// gradients, value for value, with its outputs full of NaN beforehand: it must overwrite
// them, reading none.
func TestLinearBackwardSetOverwrites(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, s := range [][3]int{{1, 1, 1}, {3, 5, 4}, {32, 784, 512}, {7, 64, 10}} {
		B, C, OC := s[0], s[1], s[2]
		x, w, dout := randn(rng, B*C, 1), randn(rng, OC*C, 1), randn(rng, B*OC, 1)
		sc := newScratch[float32](B)
		dx, dw, db := make([]float32, B*C), make([]float32, OC*C), make([]float32, OC)
		linearBackward(dx, dw, db, dout, x, w, B, C, OC, sc)
		nan := float32(math.NaN())
		sx, sw, sb := make([]float32, B*C), make([]float32, OC*C), make([]float32, OC)
		for _, v := range [][]float32{sx, sw, sb} {
			for i := range v {
				v[i] = nan
			}
		}
		linearBackwardSet(sx, sw, sb, dout, x, w, B, C, OC, sc)
		for _, c := range []struct {
			name      string
			got, want []float32
		}{{"dx", sx, dx}, {"dw", sw, dw}, {"db", sb, db}} {
			for i := range c.want {
				if c.got[i] != c.want[i] {
					t.Fatalf("B=%d C=%d OC=%d: %s[%d] = %g, linearBackward gives %g", B, C, OC, c.name, i, c.got[i], c.want[i])
				}
			}
		}
	}
}

func TestLinearGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const B, C, OC = 3, 5, 4
	x, w, b := randn(rng, B*C, 1), randn(rng, OC*C, 1), randn(rng, OC, 1)
	out, proj := make([]float32, B*OC), newProjection(rng, B*OC)
	sc := newScratch[float32](B)
	loss := func() float64 {
		linearForward(out, x, w, b, B, C, OC, sc)
		return proj.loss(out)
	}
	dx, dw, db := make([]float32, B*C), make([]float32, OC*C), make([]float32, OC)
	loss()
	linearBackward(dx, dw, db, proj.r, x, w, B, C, OC, sc)
	expectGrads(t, loss, gradArg{"x", x, dx}, gradArg{"w", w, dw}, gradArg{"b", b, db})

	// The forward against the definition, y = x·wᵀ + b.
	loss()
	for i := range B {
		for o := range OC {
			want := float64(b[o])
			for c := range C {
				want += float64(x[i*C+c]) * float64(w[o*C+c])
			}
			if got := out[i*OC+o]; math.Abs(float64(got)-want) > 1e-5 {
				t.Errorf("out[%d,%d] = %g, want %g", i, o, got, want)
			}
		}
	}
}

func TestReluGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const N = 40
	x, out, proj := awayFromZero(rng, N), make([]float32, N), newProjection(rng, N)
	loss := func() float64 {
		copy(out, x)
		reluInPlace(out, N)
		return proj.loss(out)
	}
	dx := make([]float32, N)
	loss()
	copy(dx, proj.r)
	reluBackInPlace(dx, out, N)
	expectGrads(t, loss, gradArg{"x", x, dx})

	out = []float32{-1, 2, float32(math.NaN())}
	reluInPlace(out, 3)
	if out[0] != 0 || out[1] != 2 || !math.IsNaN(float64(out[2])) {
		t.Errorf("relu(-1, 2, NaN) = %v, want [0 2 NaN]", out[:3])
	}
}

func TestAvgPoolGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const B, C, H, W = 2, 2, 4, 5
	x, out, proj := randn(rng, B*C*H*W, 1), make([]float32, B*C*H*W), newProjection(rng, B*C*H*W)
	loss := func() float64 {
		avgpool3Forward(out, x, B, C, H, W)
		return proj.loss(out)
	}
	dx := make([]float32, len(x))
	loss()
	avgpool3Backward(dx, proj.r, B, C, H, W)
	expectGrads(t, loss, gradArg{"x", x, dx})

	// count_include_pad: a corner averages its 4 in-image neighbours over 9.
	ones := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1}
	out3 := make([]float32, 9)
	avgpool3Forward(out3, ones, 1, 1, 3, 3)
	if got := out3[0]; got != 4.0/9 {
		t.Errorf("corner of a 3x3 image of ones = %g, want 4/9", got)
	}
	if got := out3[4]; got != 1 {
		t.Errorf("centre of a 3x3 image of ones = %g, want 1", got)
	}
}

// TestAvgPoolMatchesWindows holds the separable 3x3 average pooling, forward and backward, to
// the plain definition (every in-image neighbour summed, over 9) on planes from 1x1 up, and
// wider than the backward pass's row buffer.
func TestAvgPoolMatchesWindows(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, hw := range [][2]int{{1, 1}, {1, 5}, {5, 1}, {2, 2}, {3, 7}, {12, 12}, {4, 4}, {3, avgRowMax + 3}} {
		H, W := hw[0], hw[1]
		const B, C = 2, 3
		x := randn(rng, B*C*H*W, 1)
		got, want := make([]float64, len(x)), make([]float64, len(x))
		x64 := make([]float64, len(x))
		for i, v := range x {
			x64[i] = float64(v)
		}
		avgpool3Forward(got, x64, B, C, H, W)
		window := func(plane []float64, y, xx int) (sum float64) {
			for yy := max(y-1, 0); yy < min(y+2, H); yy++ {
				for xi := max(xx-1, 0); xi < min(xx+2, W); xi++ {
					sum += plane[yy*W+xi]
				}
			}
			return sum
		}
		for p := range B * C {
			for y := range H {
				for xx := range W {
					want[p*H*W+y*W+xx] = window(x64[p*H*W:], y, xx) / 9
				}
			}
		}
		for i := range got {
			if math.Abs(got[i]-want[i]) > 1e-12 {
				t.Fatalf("%dx%d forward: out[%d] = %g, want %g", H, W, i, got[i], want[i])
			}
		}
		// Backward adds the same window sums of dout over 9 (the window is symmetric).
		dx := make([]float64, len(x))
		for i := range dx {
			dx[i] = 1
		}
		avgpool3Backward(dx, x64, B, C, H, W)
		for i := range dx {
			if math.Abs(dx[i]-(1+want[i])) > 1e-12 {
				t.Fatalf("%dx%d backward: dx[%d] = %g, want %g", H, W, i, dx[i], 1+want[i])
			}
		}
	}
}

func TestCrossEntropyGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	const B, V = 3, 10
	logits, y := randn(rng, B*V, 2), []int32{3, 0, 9}
	dlogits := make([]float32, B*V)
	loss := func() float64 {
		l, _ := crossEntropyForwardBackward(dlogits, logits, y, B, V, B)
		return l
	}
	// Copy the analytic gradient: every loss evaluation overwrites dlogits.
	loss()
	analytic := append([]float32(nil), dlogits...)
	expectGrads(t, loss, gradArg{"logits", logits, analytic})

	// The loss against the definition: mean of -log softmax(row)[label].
	got, _ := crossEntropyForwardBackward(dlogits, logits, y, B, V, B)
	var want float64
	for i := range B {
		var sum float64
		for _, v := range logits[i*V : (i+1)*V] {
			sum += math.Exp(float64(v))
		}
		want -= math.Log(math.Exp(float64(logits[i*V+int(y[i])])) / sum)
	}
	want /= B
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("loss = %.15g, want %.15g", got, want)
	}
}

func TestCrossEntropySplitsLikeTheBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const B, V = 5, 10
	logits, y := randn(rng, B*V, 2), []int32{1, 2, 3, 4, 5}
	whole := make([]float32, B*V)
	lossWhole, correctWhole := crossEntropyForwardBackward(whole, logits, y, B, V, B)
	// Two workers, 3 and 2 images, each normalising by the batch of 5.
	parts := make([]float32, B*V)
	l1, c1 := crossEntropyForwardBackward(parts, logits, y, 3, V, B)
	l2, c2 := crossEntropyForwardBackward(parts[3*V:], logits[3*V:], y[3:], 2, V, B)
	if math.Abs(l1+l2-lossWhole) > 1e-12 || c1+c2 != correctWhole {
		t.Errorf("chunks give loss %g correct %d, the whole batch %g %d", l1+l2, c1+c2, lossWhole, correctWhole)
	}
	expectSame(t, "dlogits", parts, whole)
}

func TestCrossEntropyIsStable(t *testing.T) {
	logits := []float32{1000, 0, -1000, 0, 0, 0, 0, 0, 0, 999}
	dlogits := make([]float32, 10)
	loss, correct := crossEntropyForwardBackward(dlogits, logits, []int32{9}, 1, 10, 1)
	want := math.Log(1 + math.E) // -log(e^999 / (e^1000 + e^999)); the other terms vanish
	if math.Abs(loss-want) > 1e-9 || correct != 0 {
		t.Errorf("loss = %g correct = %d, want %g and 0", loss, correct, want)
	}
	for _, g := range dlogits {
		if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
			t.Fatalf("dlogits = %v, want finite values", dlogits)
		}
	}

	// The first maximum is the prediction, as torch.argmax.
	_, correct = crossEntropyForwardBackward(dlogits, []float32{0, 5, 5, 0, 0, 0, 0, 0, 0, 0}, []int32{1}, 1, 10, 1)
	if correct != 1 {
		t.Errorf("tied maxima at 1 and 2 with label 1: correct = %d, want 1", correct)
	}
}

func TestSoftmax(t *testing.T) {
	logits := []float32{1, 2, 3, 1000, 1000}
	dst := make([]float32, 5)
	Softmax(dst, logits)
	if dst[3] != 0.5 || dst[4] != 0.5 || dst[0] != 0 {
		t.Errorf("softmax%v = %v, want [0 0 0 0.5 0.5]", logits, dst)
	}
	Softmax(dst[:3], logits[:3])
	var sum float64
	for i, p := range dst[:3] {
		want := math.Exp(float64(logits[i])) / (math.E + math.Exp(2) + math.Exp(3))
		if math.Abs(float64(p)-want) > 1e-7 {
			t.Errorf("softmax(1,2,3)[%d] = %g, want %g", i, p, want)
		}
		sum += float64(p)
	}
	if math.Abs(sum-1) > 1e-6 {
		t.Errorf("softmax sums to %g", sum)
	}
}

// TestGradCheckCatchesMistakes shows the checks above have teeth: a backward that is off by 1%
// in scale, or that drops one element's contribution, fails layerTol.
func TestGradCheckCatchesMistakes(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	const B, C, OC = 3, 5, 4
	x, w, b := randn(rng, B*C, 1), randn(rng, OC*C, 1), randn(rng, OC, 1)
	out, proj := make([]float32, B*OC), newProjection(rng, B*OC)
	sc := newScratch[float32](B)
	loss := func() float64 {
		linearForward(out, x, w, b, B, C, OC, sc)
		return proj.loss(out)
	}
	dx, dw, db := make([]float32, B*C), make([]float32, OC*C), make([]float32, OC)
	loss()
	linearBackward(dx, dw, db, proj.r, x, w, B, C, OC, sc)

	scaled := append([]float32(nil), dw...)
	for i := range scaled {
		scaled[i] *= 1.01
	}
	if e := gradError(loss, gradArg{"w", w, scaled}, layerEps); e <= layerTol {
		t.Errorf("a 1%% scale error gives %.3g, within the tolerance %g", e, layerTol)
	}
	dropped := append([]float32(nil), dx...)
	dropped[7] = 0
	if e := gradError(loss, gradArg{"x", x, dropped}, layerEps); e <= layerTol {
		t.Errorf("a zeroed element gives %.3g, within the tolerance %g", e, layerTol)
	}
}

func expectSame(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: [%d] = %g, want %g (bit for bit)", what, i, got[i], want[i])
		}
	}
}
