package engine

import (
	"fmt"
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

// distinct returns n values spaced 0.05 apart in random order, so that no eps-step changes which
// element of a pooling window is the largest.
func distinct(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i, j := range rng.Perm(n) {
		s[i] = float32(j)*0.05 - float32(n)*0.025
	}
	return s
}

func TestLinearGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const B, C, OC = 3, 5, 4
	x, w, b := randn(rng, B*C, 1), randn(rng, OC*C, 1), randn(rng, OC, 1)
	out, proj := make([]float32, B*OC), newProjection(rng, B*OC)
	loss := func() float64 {
		linearForward(out, x, w, b, B, C, OC)
		return proj.loss(out)
	}
	dx, dw, db := make([]float32, B*C), make([]float32, OC*C), make([]float32, OC)
	loss()
	linearBackward(dx, dw, db, proj.r, x, w, B, C, OC)
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

// convShapesUnderTest cover the models' cases (5x5 valid, 3x3 and 5x5 same-padded, 1x1) on small
// non-square images, and padding wider than the image.
var convShapesUnderTest = []convShape{
	{C: 2, OC: 3, H: 6, W: 7, K: 5},
	{C: 2, OC: 3, H: 5, W: 6, K: 3, Pad: 1},
	{C: 3, OC: 2, H: 5, W: 4, K: 5, Pad: 2},
	{C: 3, OC: 4, H: 4, W: 5, K: 1},
	{C: 1, OC: 2, H: 2, W: 3, K: 3, Pad: 3},
}

func TestConv2dGradients(t *testing.T) {
	for _, s := range convShapesUnderTest {
		t.Run(fmt.Sprintf("%+v", s), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			const B = 2
			inN, outN := B*s.C*s.H*s.W, B*s.OC*s.OH()*s.OW()
			x, w, b := randn(rng, inN, 1), randn(rng, s.OC*s.rows(), 1), randn(rng, s.OC, 1)
			out, proj, ws := make([]float32, outN), newProjection(rng, outN), newConvWork[float32](B, s)
			loss := func() float64 {
				conv2dForward(out, x, w, b, B, s, ws)
				return proj.loss(out)
			}
			dx, dw, db := make([]float32, inN), make([]float32, len(w)), make([]float32, s.OC)
			loss()
			conv2dBackward(dx, dw, db, proj.r, x, w, B, s, ws)
			expectGrads(t, loss, gradArg{"x", x, dx}, gradArg{"w", w, dw}, gradArg{"b", b, db})

			// Without the input gradient (the first layer) the weight gradients are the same.
			dw2, db2 := make([]float32, len(w)), make([]float32, s.OC)
			conv2dBackward(nil, dw2, db2, proj.r, x, w, B, s, ws)
			expectSame(t, "dw without dx", dw2, dw)
			expectSame(t, "db without dx", db2, db)
		})
	}
}

// TestConv2dForward holds the im2col+GEMM convolution against the definition, summed directly.
func TestConv2dForward(t *testing.T) {
	for _, s := range convShapesUnderTest {
		rng := rand.New(rand.NewPCG(5, 6))
		const B = 2
		x, w, b := randn(rng, B*s.C*s.H*s.W, 1), randn(rng, s.OC*s.rows(), 1), randn(rng, s.OC, 1)
		out := make([]float32, B*s.OC*s.OH()*s.OW())
		conv2dForward(out, x, w, b, B, s, newConvWork[float32](B, s))
		for i := range B {
			for oc := range s.OC {
				for oy := range s.OH() {
					for ox := range s.OW() {
						want := float64(b[oc])
						for c := range s.C {
							for kh := range s.K {
								for kw := range s.K {
									iy, ix := oy+kh-s.Pad, ox+kw-s.Pad
									if iy >= 0 && iy < s.H && ix >= 0 && ix < s.W {
										want += float64(x[((i*s.C+c)*s.H+iy)*s.W+ix]) * float64(w[((oc*s.C+c)*s.K+kh)*s.K+kw])
									}
								}
							}
						}
						got := out[((i*s.OC+oc)*s.OH()+oy)*s.OW()+ox]
						if math.Abs(float64(got)-want) > 1e-4 {
							t.Fatalf("%+v: out[%d,%d,%d,%d] = %g, want %g", s, i, oc, oy, ox, got, want)
						}
					}
				}
			}
		}
	}
}

// TestConv2dUsesPrefixOfWorkspace runs a chunk smaller than the workspace was sized for, with
// garbage left in the workspace and beyond the chunk, as the engine does for a last partial batch.
func TestConv2dUsesPrefixOfWorkspace(t *testing.T) {
	s := convShape{C: 2, OC: 3, H: 6, W: 6, K: 3, Pad: 1}
	rng := rand.New(rand.NewPCG(7, 8))
	big, small := newConvWork[float32](5, s), newConvWork[float32](2, s)
	for i := range big.col {
		big.col[i] = float32(math.NaN())
	}
	x, w, b := randn(rng, 5*s.C*36, 1), randn(rng, s.OC*s.rows(), 1), randn(rng, s.OC, 1)
	got, want := make([]float32, 5*s.OC*36), make([]float32, 2*s.OC*36)
	conv2dForward(got, x, w, b, 2, s, big)
	conv2dForward(want, x[:2*s.C*36], w, b, 2, s, small)
	expectSame(t, "2 images with a 5-image workspace", got[:len(want)], want)
}

func TestReluGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const N = 40
	x, out, proj := awayFromZero(rng, N), make([]float32, N), newProjection(rng, N)
	loss := func() float64 {
		reluForward(out, x, N)
		return proj.loss(out)
	}
	dx := make([]float32, N)
	loss()
	reluBackward(dx, proj.r, out, N)
	expectGrads(t, loss, gradArg{"x", x, dx})

	reluForward(out[:3], []float32{-1, 2, float32(math.NaN())}, 3)
	if out[0] != 0 || out[1] != 2 || !math.IsNaN(float64(out[2])) {
		t.Errorf("relu(-1, 2, NaN) = %v, want [0 2 NaN]", out[:3])
	}
}

func TestMaxPoolGradients(t *testing.T) {
	for _, hw := range [][2]int{{4, 6}, {5, 5}} { // odd sizes drop the last row and column
		H, W := hw[0], hw[1]
		rng := rand.New(rand.NewPCG(11, 12))
		const B, C = 2, 2
		x := distinct(rng, B*C*H*W)
		outN := B * C * (H / 2) * (W / 2)
		out, arg, proj := make([]float32, outN), make([]int32, outN), newProjection(rng, outN)
		loss := func() float64 {
			maxpool2Forward(out, arg, x, B, C, H, W)
			return proj.loss(out)
		}
		dx := make([]float32, len(x))
		loss()
		maxpool2Backward(dx, proj.r, arg, B, C, H, W)
		expectGrads(t, loss, gradArg{fmt.Sprintf("x (%dx%d)", H, W), x, dx})
	}
}

// TestMaxPoolTies checks PyTorch's rule: on a tie the first element in row-major order wins the
// window (and its gradient); a NaN wins over numbers.
func TestMaxPoolTies(t *testing.T) {
	nan := float32(math.NaN())
	for _, c := range []struct {
		window [4]float32 // row-major 2x2
		want   int32
	}{
		{[4]float32{1, 1, 1, 1}, 0},
		{[4]float32{0, 3, 3, 3}, 1},
		{[4]float32{0, 1, 3, 3}, 2},
		{[4]float32{2, 1, nan, 3}, 2},
	} {
		x := c.window[:]
		out, arg := make([]float32, 1), make([]int32, 1)
		maxpool2Forward(out, arg, x, 1, 1, 2, 2)
		if arg[0] != c.want {
			t.Errorf("max pool of %v picks element %d, want %d", c.window, arg[0], c.want)
		}
		dx := make([]float32, 4)
		maxpool2Backward(dx, []float32{1}, arg, 1, 1, 2, 2)
		if dx[c.want] != 1 {
			t.Errorf("max pool of %v sends the gradient to %v, want element %d", c.window, dx, c.want)
		}
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

func TestConcatGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	const B, HW, C1, C2 = 2, 3, 2, 3
	a, b := randn(rng, B*C1*HW, 1), randn(rng, B*C2*HW, 1)
	out, proj := make([]float32, B*(C1+C2)*HW), newProjection(rng, B*(C1+C2)*HW)
	loss := func() float64 {
		concatForward(out, a, B, C1, C1+C2, 0, HW)
		concatForward(out, b, B, C2, C1+C2, C1, HW)
		return proj.loss(out)
	}
	da, db := make([]float32, len(a)), make([]float32, len(b))
	loss()
	concatBackward(da, proj.r, B, C1, C1+C2, 0, HW)
	concatBackward(db, proj.r, B, C2, C1+C2, C1, HW)
	expectGrads(t, loss, gradArg{"a", a, da}, gradArg{"b", b, db})

	// Image 1, channel C1 (b's first) starts after image 0's five channels and image 1's a part.
	if got, want := out[(1*(C1+C2)+C1)*HW], b[1*C2*HW]; got != want {
		t.Errorf("out[1,%d,0] = %g, want b[1,0,0] = %g", C1, got, want)
	}
}

func TestAddGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	const N = 12
	a, b, out, proj := randn(rng, N, 1), randn(rng, N, 1), make([]float32, N), newProjection(rng, N)
	loss := func() float64 {
		addForward(out, a, b, N)
		return proj.loss(out)
	}
	da, db := make([]float32, N), make([]float32, N)
	loss()
	addBackward(da, db, proj.r, N)
	expectGrads(t, loss, gradArg{"a", a, da}, gradArg{"b", b, db})
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
	loss := func() float64 {
		linearForward(out, x, w, b, B, C, OC)
		return proj.loss(out)
	}
	dx, dw, db := make([]float32, B*C), make([]float32, OC*C), make([]float32, OC)
	loss()
	linearBackward(dx, dw, db, proj.r, x, w, B, C, OC)

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
