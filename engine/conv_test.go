package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"mnist-tui/engine/kernels"
)

// convShapesUnderTest cover the models' cases (5x5 valid, 3x3 and 5x5 same-padded, 1x1) on small
// non-square images with odd and even output sizes (max pooling drops an odd last row or
// column), and padding wider than the image.
var convShapesUnderTest = []convShape{
	{C: 2, OC: 3, H: 6, W: 7, K: 5},
	{C: 2, OC: 3, H: 5, W: 6, K: 3, Pad: 1},
	{C: 3, OC: 2, H: 5, W: 4, K: 5, Pad: 2},
	{C: 3, OC: 4, H: 4, W: 5, K: 1},
	{C: 1, OC: 2, H: 2, W: 3, K: 3, Pad: 3},
}

var allActs = []convAct{actNone, actReLU, actAddReLU, actReLUPool}

func (a convAct) String() string {
	return [...]string{"none", "relu", "add-relu", "relu-pool"}[a]
}

// Where an actNone output lands in the tests: channels concatOff.. of a tensor with
// concatExtra more channels than the convolution has, as an Inception branch does.
const concatOff, concatExtra = 2, 3

// convCase is one convolution of B images with its operands, output and gradients.
type convCase[F float] struct {
	s   convShape
	act convAct
	B   int

	x, w, b []F
	o       convOut[F] // o.y and, for actAddReLU, o.skip

	dy                []F // the output gradient, laid out as o.y
	dx, dw, db, dskip []F
}

func newConvCase[F float](rng *rand.Rand, s convShape, act convAct, B int) *convCase[F] {
	c := &convCase[F]{s: s, act: act, B: B,
		x: randnOf[F](rng, B*s.C*s.H*s.W), w: randnOf[F](rng, s.OC*s.rows()), b: randnOf[F](rng, s.OC)}
	hw := s.OH() * s.OW()
	switch act {
	case actNone:
		ct := s.OC + concatExtra
		c.o = convOut[F]{act: act, y: make([]F, B*ct*hw), ct: ct, off: concatOff}
		for i := range c.o.y {
			c.o.y[i] = 7.5 // the other branches' channels, which must survive
		}
	case actReLU:
		c.o = out(act, make([]F, B*s.OC*hw), s)
	case actAddReLU:
		c.o = convOut[F]{act: act, y: make([]F, B*s.OC*hw), ct: s.OC, skip: randnOf[F](rng, B*s.OC*hw)}
		c.dskip = make([]F, B*s.OC*hw)
	case actReLUPool:
		n := B * s.OC * (s.OH() / 2) * (s.OW() / 2)
		c.o = convOut[F]{act: act, y: make([]F, n), arg: make([]uint8, n)}
	}
	c.dy = randnOf[F](rng, len(c.o.y))
	c.dx, c.dw, c.db = make([]F, len(c.x)), make([]F, len(c.w)), make([]F, len(c.b))
	return c
}

func randnOf[F float](rng *rand.Rand, n int) []F {
	s := make([]F, n)
	for i := range s {
		s[i] = F(rng.NormFloat64())
	}
	return s
}

func (c *convCase[F]) forward(sc *scratch[F]) {
	convForward(c.o, c.x, c.w, c.b, c.B, c.s, sc)
}

// backward recomputes every gradient from zero; without dx it leaves c.dx alone.
func (c *convCase[F]) backward(sc *scratch[F], withDx bool) {
	clear(c.dw)
	clear(c.db)
	clear(c.dskip)
	dx := c.dx
	if withDx {
		clear(dx)
	} else {
		dx = nil
	}
	convBackward(c.o, c.dy, c.dskip, c.x, c.w, dx, c.dw, c.db, c.B, c.s, sc)
}

// loss is Σ dy·y, whose gradient with respect to y is dy.
func (c *convCase[F]) loss(sc *scratch[F]) float64 {
	c.forward(sc)
	var sum float64
	for i, v := range c.o.y {
		sum += float64(c.dy[i]) * float64(v)
	}
	return sum
}

// TestConvGradients checks every activation's backward against central differences of its
// forward. It runs in float64 with a tiny step, as the model checks do, so no step crosses a
// ReLU or max-pool kink of the random data and rounding stays far below the tolerance.
func TestConvGradients(t *testing.T) {
	for _, s := range convShapesUnderTest {
		for _, act := range allActs {
			t.Run(fmt.Sprintf("%+v/%v", s, act), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(3, 4))
				c := newConvCase[float64](rng, s, act, 2)
				sc := newScratch[float64](c.B, s)
				c.forward(sc)
				c.backward(sc, true)
				loss := func() float64 { return c.loss(sc) }
				args := [][3]any{{"x", c.x, c.dx}, {"w", c.w, c.dw}, {"b", c.b, c.db}}
				if act == actAddReLU {
					args = append(args, [3]any{"skip", c.o.skip, c.dskip})
				}
				for _, a := range args {
					if e := gradError64(loss, a[1].([]float64), a[2].([]float64)); !(e <= 1e-6) {
						t.Errorf("d/d%s: max|analytic-numeric|/max|numeric| = %.3g", a[0], e)
					}
				}

				// Without the input gradient (the first layer) the others are the same.
				dw, db, dskip := slices.Clone(c.dw), slices.Clone(c.db), slices.Clone(c.dskip)
				c.backward(sc, false)
				if !slices.Equal(c.dw, dw) || !slices.Equal(c.db, db) || !slices.Equal(c.dskip, dskip) {
					t.Error("dropping the input gradient changed the other gradients")
				}
			})
		}
	}
}

// gradError64 is gradError for float64 values, with a step of 1e-6.
func gradError64(loss func() float64, val, grad []float64) float64 {
	const eps = 1e-6
	var maxErr, maxRef float64
	for i, v := range val {
		val[i] = v + eps
		lp := loss()
		val[i] = v - eps
		lm := loss()
		val[i] = v
		numeric := (lp - lm) / (2 * eps)
		maxErr = max(maxErr, math.Abs(grad[i]-numeric))
		maxRef = max(maxRef, math.Abs(numeric))
	}
	if maxRef == 0 {
		return maxErr
	}
	return maxErr / maxRef
}

// TestConvForward holds the float32 convolution and each activation against the definitions,
// summed directly in float64.
func TestConvForward(t *testing.T) {
	for _, s := range convShapesUnderTest {
		for _, act := range allActs {
			rng := rand.New(rand.NewPCG(5, 6))
			c := newConvCase[float32](rng, s, act, 2)
			c.forward(newScratch[float32](c.B, s))
			if err := checkConvOutput(c); err != nil {
				t.Errorf("%+v/%v: %v", s, act, err)
			}
		}
	}
}

// checkConvOutput compares c.o.y with the definition of c's convolution and activation.
func checkConvOutput(c *convCase[float32]) error {
	s := c.s
	oh, ow := s.OH(), s.OW()
	conv := make([]float64, c.B*s.OC*oh*ow) // conv(x) + b, [B,OC,OH,OW]
	for i := range c.B {
		for oc := range s.OC {
			for oy := range oh {
				for ox := range ow {
					sum := float64(c.b[oc])
					for ch := range s.C {
						for kh := range s.K {
							for kw := range s.K {
								iy, ix := oy+kh-s.Pad, ox+kw-s.Pad
								if iy >= 0 && iy < s.H && ix >= 0 && ix < s.W {
									sum += float64(c.x[((i*s.C+ch)*s.H+iy)*s.W+ix]) * float64(c.w[((oc*s.C+ch)*s.K+kh)*s.K+kw])
								}
							}
						}
					}
					conv[((i*s.OC+oc)*oh+oy)*ow+ox] = sum
				}
			}
		}
	}
	near := func(got float32, want float64) bool { return math.Abs(float64(got)-want) <= 1e-4*(1+math.Abs(want)) }
	for i := range c.B {
		for oc := range s.OC {
			plane := conv[(i*s.OC+oc)*oh*ow:][:oh*ow]
			switch c.act {
			case actNone, actReLU, actAddReLU:
				at := (i*s.OC + oc) * oh * ow
				if c.act == actNone {
					at = (i*c.o.ct + concatOff + oc) * oh * ow
				}
				for j, v := range plane {
					switch c.act {
					case actReLU:
						v = max(v, 0)
					case actAddReLU:
						v = max(v+float64(c.o.skip[at+j]), 0)
					}
					if got := c.o.y[at+j]; !near(got, v) {
						return fmt.Errorf("y[%d] of image %d channel %d = %g, want %g", j, i, oc, got, v)
					}
				}
			case actReLUPool:
				for py := range oh / 2 {
					for px := range ow / 2 {
						window := []float64{plane[2*py*ow+2*px], plane[2*py*ow+2*px+1], plane[(2*py+1)*ow+2*px], plane[(2*py+1)*ow+2*px+1]}
						best := slices.Max(window)
						at := ((i*s.OC+oc)*(oh/2)+py)*(ow/2) + px
						if got := c.o.y[at]; !near(got, max(best, 0)) {
							return fmt.Errorf("pooled y[%d] = %g, want %g", at, got, max(best, 0))
						}
						if got := window[c.o.arg[at]]; got != best {
							return fmt.Errorf("arg[%d] = %d points at %g, the maximum is %g", at, c.o.arg[at], got, best)
						}
					}
				}
			}
		}
	}
	if c.act == actNone { // the channels of the other branches are untouched
		for i := range c.B {
			for ch := range c.o.ct {
				if ch >= concatOff && ch < concatOff+s.OC {
					continue
				}
				for _, v := range c.o.y[(i*c.o.ct+ch)*oh*ow:][:oh*ow] {
					if v != 7.5 {
						return fmt.Errorf("channel %d of image %d, outside the convolution's, was written", ch, i)
					}
				}
			}
		}
	}
	return nil
}

// TestConvGrouping runs five images in groups of one, of two (the last one short) and all at
// once: the outputs and the input gradient are bit-identical, as each output pixel is the same
// dot product however many images share a GEMM; the weight and bias gradients, summed in
// another order, agree to rounding.
func TestConvGrouping(t *testing.T) {
	const B = 5
	for _, s := range convShapesUnderTest {
		for _, act := range allActs {
			hw := s.OH() * s.OW()
			var want *convCase[float32]
			for _, g := range []int{B, 1, 2} {
				c := newConvCase[float32](rand.New(rand.NewPCG(7, 8)), s, act, B)
				sc := newScratchGrouped[float32](B, 0, g*hw, s)
				if got := sc.group(s, B); got != g {
					t.Fatalf("%+v: group of %d, want %d", s, got, g)
				}
				c.forward(sc)
				c.backward(sc, true)
				if want == nil {
					want = c
					continue
				}
				what := fmt.Sprintf("%+v/%v in groups of %d", s, act, g)
				expectSame(t, what+": y", c.o.y, want.o.y)
				if !slices.Equal(c.o.arg, want.o.arg) {
					t.Errorf("%s: pooling winners differ", what)
				}
				expectSame(t, what+": dx", c.dx, want.dx)
				if e := maxRelErr(c.dw, want.dw); e > 1e-5 {
					t.Errorf("%s: dw differs by %.3g", what, e)
				}
				if e := maxRelErr(c.db, want.db); e > 1e-5 {
					t.Errorf("%s: db differs by %.3g", what, e)
				}
			}
		}
	}
}

// TestConvUsesPrefixOfScratch runs a chunk smaller than the scratch was sized for, with garbage
// left in the scratch and beyond the chunk, as the engine does for a last partial batch.
func TestConvUsesPrefixOfScratch(t *testing.T) {
	s := convShape{C: 2, OC: 3, H: 6, W: 6, K: 3, Pad: 1}
	big, small := newScratch[float32](5, s), newScratch[float32](2, s)
	for i := range big.col {
		big.col[i] = float32(math.NaN())
	}
	for i := range big.tmp {
		big.tmp[i] = float32(math.NaN())
	}
	for _, act := range allActs {
		got := newConvCase[float32](rand.New(rand.NewPCG(9, 9)), s, act, 5)
		want := newConvCase[float32](rand.New(rand.NewPCG(9, 9)), s, act, 5)
		got.B, want.B = 2, 2
		got.forward(big)
		want.forward(small)
		expectSame(t, fmt.Sprintf("%v: 2 images with a 5-image scratch", act), got.o.y, want.o.y)
	}
}

// TestReLUPoolTies checks PyTorch's max-pooling rule through a convolution that copies its
// input: on a tie the first element in row-major order wins the window (and its gradient), and
// a NaN wins over numbers. A window whose maximum is negative sends no gradient, as the ReLU
// after it passes none.
func TestReLUPoolTies(t *testing.T) {
	nan := float32(math.NaN())
	s := convShape{C: 1, OC: 1, H: 2, W: 2, K: 1}
	sc := newScratch[float32](1, s)
	for _, c := range []struct {
		window [4]float32 // row-major 2x2
		want   uint8
		grad   float32 // what the winner receives of a pooled gradient of 1
	}{
		{[4]float32{1, 1, 1, 1}, 0, 1},
		{[4]float32{0, 3, 3, 3}, 1, 1},
		{[4]float32{0, 1, 3, 3}, 2, 1},
		{[4]float32{2, 1, 3, 4}, 3, 1},
		{[4]float32{2, 1, nan, 3}, 2, 0}, // y is NaN, which the ReLU's backward does not pass
		{[4]float32{-3, -1, -2, -4}, 1, 0},
	} {
		y, arg := make([]float32, 1), make([]uint8, 1)
		o := convOut[float32]{act: actReLUPool, y: y, arg: arg}
		w, b := []float32{1}, []float32{0}
		convForward(o, c.window[:], w, b, 1, s, sc)
		if arg[0] != c.want {
			t.Errorf("max pool of %v picks element %d, want %d", c.window, arg[0], c.want)
		}
		dx, dw, db := make([]float32, 4), make([]float32, 1), make([]float32, 1)
		convBackward(o, []float32{1}, nil, c.window[:], w, dx, dw, db, 1, s, sc)
		want := make([]float32, 4)
		want[c.want] = c.grad
		if !slices.Equal(dx, want) {
			t.Errorf("max pool of %v sends the gradient as %v, want %v", c.window, dx, want)
		}
	}
}

// TestConvGradDirectMatchesGEMM runs convBackward with the weight gradient taken from the
// images (convGradDirect, on a kernel set that has it) and, on a scratch whose tmp is cut to
// one group so that it cannot, from the im2col matrix: the models' 5x5 and 3x3 layers with
// their activation (the blocks' padded), on a training chunk of 16 images and an odd 5, a
// layer whose images have 24 pixels (the kernels' last half vector) and one padded by more
// than the image. The input and bias gradients are the same
// bits; the weight gradient, summed in another order, agrees to rounding: measured up to
// 2.3e-7 of the largest element (the layer padded by more than the image, 16 images), held
// to 6e-7.
func TestConvGradDirectMatchesGEMM(t *testing.T) {
	const tol = 6e-7
	cases := []struct {
		s   convShape
		act convAct
	}{
		{incConv2, actReLUPool}, {resConv2, actReLUPool}, {cnnConv2, actReLUPool},
		{incBlock1.b5x5_2(), actNone}, {incBlock2.b5x5_2(), actNone},
		{resBlock1.conv(), actAddReLU}, {resBlock2.conv(), actReLU}, {incBlock1.b3x3_3(), actNone},
		{convShape{C: 3, OC: 7, H: 7, W: 12, K: 5}, actAddReLU}, {convShape{C: 2, OC: 6, H: 3, W: 6, K: 5, Pad: 3}, actReLU},
	}
	if !convGradWhole(incConv2) {
		t.Skipf("the kernel set (%s) has no ConvGrad kernels", kernels.Implementation())
	}
	for _, tc := range cases {
		s := tc.s
		if !convGradWhole(s) {
			t.Fatalf("%+v: the direct path does not take it", s)
		}
		for _, B := range []int{16, 5} {
			direct := newConvCase[float32](rand.New(rand.NewPCG(11, 12)), s, tc.act, B)
			viaGEMM := newConvCase[float32](rand.New(rand.NewPCG(11, 12)), s, tc.act, B)
			// The models' grouping, or groups of two where that holds the whole chunk (a tmp
			// cut to one group would hold it too).
			budget, minPixels := colBudget, minGroupPixels
			if groupSize(s, B, budget, minPixels) >= B {
				budget, minPixels = 0, 2*s.OH()*s.OW()
			}
			sc, cut := newScratchGrouped[float32](B, budget, minPixels, s), newScratchGrouped[float32](B, budget, minPixels, s)
			cut.tmp = cut.tmp[:s.OC*sc.group(s, B)*s.OH()*s.OW()]
			// Both take the input gradient by the GEMM (TestConvInputGradSparse has the other way).
			sc.sparse, cut.sparse = nil, nil
			if !convGradChunk(s, B, sc) || convGradChunk(s, B, cut) {
				t.Fatalf("%+v, %d images: the scratches do not take the paths under test", s, B)
			}
			for _, c := range []*convCase[float32]{direct, viaGEMM} {
				sc := sc
				if c == viaGEMM {
					sc = cut
				}
				c.forward(sc)
				c.backward(sc, true)
			}
			what := fmt.Sprintf("%+v/%v, %d images", s, tc.act, B)
			expectSame(t, what+": dx", direct.dx, viaGEMM.dx)
			expectSame(t, what+": db", direct.db, viaGEMM.db)
			if tc.act == actAddReLU {
				expectSame(t, what+": dskip", direct.dskip, viaGEMM.dskip)
			}
			e := maxRelErr(direct.dw, viaGEMM.dw)
			t.Logf("%s: dw differs by %.3g of its largest element", what, e)
			if !(e <= tol) {
				t.Errorf("%s: dw differs by %.3g of its largest element, want at most %.3g", what, e, tol)
			}
		}
	}
}

// TestConvBackwardNoImages runs a backward pass over an empty chunk, which changes nothing,
// through a layer whose weight gradient would come from the images.
func TestConvBackwardNoImages(t *testing.T) {
	c := newConvCase[float32](rand.New(rand.NewPCG(13, 14)), incConv2, actReLUPool, 1)
	sc := newScratch[float32](1, incConv2)
	c.B = 0
	c.backward(sc, true)
	for _, g := range [][]float32{c.dw, c.db, c.dx} {
		for i, v := range g {
			if v != 0 {
				t.Fatalf("gradient [%d] = %g after no images", i, v)
			}
		}
	}
}

// TestConvInputGradDirect holds the input gradient of same-size convolutions taken by
// kernels.ConvDirect (directInputGrad) to the same gradient computed in float64, and reports
// how close the one by a GEMM and col2im comes, which a scratch without room for the adjoint's
// packed weights falls back to: on the models' same-size layers and odd ones (channel counts
// that leave partial slivers of eight, a single channel, rectangular images), on chunks that
// fill the groups and not. Both add into a dx that already holds a gradient (a residual
// block's skip, another branch's share); the other gradients come out bit for bit the same.
func TestConvInputGradDirect(t *testing.T) {
	// Each input gradient is one chain of OC*K*K fused multiply-adds, whose rounding errors
	// add up like a random walk: the error, relative to the largest gradient, measured up to
	// 3.8e-8 * sqrt(OC*K*K) (2026-12-03, avx512; 9.4e-7 for inception's 5x5 branch, 600 terms),
	// where the GEMM's sums of OC products, added K*K at a time by col2im, stay within 2.3e-7.
	const tolPerRootTerm = 8e-8
	cases := []struct {
		s   convShape
		act convAct
	}{
		{resBlock1.conv(), actAddReLU}, {resBlock1.conv(), actReLU}, {resBlock2.conv(), actAddReLU},
		{incBlock1.b5x5_2(), actNone}, {incBlock1.b3x3_2(), actNone}, {incBlock2.b3x3_3(), actNone},
		{convShape{C: 3, OC: 11, H: 4, W: 8, K: 3, Pad: 1}, actReLU}, {convShape{C: 9, OC: 5, H: 8, W: 6, K: 5, Pad: 2}, actNone},
		{convShape{C: 1, OC: 7, H: 4, W: 4, K: 3, Pad: 1}, actReLU},
	}
	if !directBackward(resBlock1.conv()) {
		t.Skipf("the kernel set (%s) runs no ConvDirect kernels", kernels.Implementation())
	}
	worst, worstGEMM := 0.0, 0.0
	for _, tc := range cases {
		s := tc.s
		if !directBackward(s) {
			t.Fatalf("%+v: the direct path does not take it", s)
		}
		for _, B := range []int{16, 5} {
			sc := newScratch[float32](B, s)
			// The same scratch, but with no room for the adjoint's weights: the GEMM's path.
			cut := *sc
			cut.packed = nil
			if !directInputGroup(s, sc.group(s, B), sc) || directInputGroup(s, 1, &cut) {
				t.Fatalf("%+v, %d images: the scratches do not take the paths under test", s, B)
			}
			direct, viaGEMM, before := backwardBothWays(s, tc.act, B, sc, &cut, 15)
			what := fmt.Sprintf("%+v/%v, %d images", s, tc.act, B)
			expectSame(t, what+": dw", direct.dw, viaGEMM.dw)
			expectSame(t, what+": db", direct.db, viaGEMM.db)
			if tc.act == actAddReLU {
				expectSame(t, what+": dskip", direct.dskip, viaGEMM.dskip)
			}
			want := inputGrad64(direct, before)
			e, eGEMM := relErr64(direct.dx, before, want), relErr64(viaGEMM.dx, before, want)
			worst, worstGEMM = max(worst, e/math.Sqrt(float64(s.OC*s.K*s.K))), max(worstGEMM, eGEMM)
			if tol := tolPerRootTerm * math.Sqrt(float64(s.OC*s.K*s.K)); !(e <= tol) {
				t.Errorf("%s: the input gradient is off by %.3g of its largest element (by the GEMM: %.3g), want at most %.3g", what, e, eGEMM, tol)
			}
		}
	}
	t.Logf("largest error: %.3g * sqrt(OC*K*K) of the largest input gradient (by the GEMM: %.3g)", worst, worstGEMM)
}

// TestConvInputGradSparse holds the input gradient of convolutions followed by ReLU and max
// pooling taken from the output gradient's nonzeros (kernels.SparseInputGrad) to the same
// gradient computed in float64, and reports how close the GEMM and col2im come: on the models'
// layers and odd ones (channel counts that leave partial vectors of 16, a 3x3 kernel, outputs
// of odd size, whose last row and column no window pools), on chunks of 16 and 5 images, added
// into a dx that already holds a gradient. The weight and bias gradients come out bit for bit
// the same either way.
func TestConvInputGradSparse(t *testing.T) {
	// Each input gradient sums up to OC*K*K products in another order than the GEMM's; the
	// error, relative to the largest gradient, measured up to 2.4e-8 * sqrt(OC*K*K), as the
	// GEMM's (2026-12-04, avx512).
	const tolPerRootTerm = 5e-8
	cases := []convShape{
		incConv2, resConv2,
		{C: 16, OC: 5, H: 8, W: 8, K: 3}, {C: 33, OC: 7, H: 8, W: 6, K: 5}, {C: 20, OC: 4, H: 8, W: 12, K: 2},
	}
	if !sparseBackward(incConv2) {
		t.Skipf("the kernel set (%s) runs no SparseInputGrad kernels", kernels.Implementation())
	}
	worst, worstGEMM := 0.0, 0.0
	for _, s := range cases {
		if !sparseBackward(s) {
			t.Fatalf("%+v: the sparse path does not take it", s)
		}
		for _, B := range []int{16, 5} {
			sc := newScratch[float32](B, s)
			cut := *sc
			cut.sparse = nil
			sparse, viaGEMM, before := backwardBothWays(s, actReLUPool, B, sc, &cut, 19)
			what := fmt.Sprintf("%+v, %d images", s, B)
			expectSame(t, what+": dw", sparse.dw, viaGEMM.dw)
			expectSame(t, what+": db", sparse.db, viaGEMM.db)
			want := inputGrad64(sparse, before)
			e, eGEMM := relErr64(sparse.dx, before, want), relErr64(viaGEMM.dx, before, want)
			root := math.Sqrt(float64(s.OC * s.K * s.K))
			worst, worstGEMM = max(worst, e/root), max(worstGEMM, eGEMM/root)
			if tol := tolPerRootTerm * root; !(e <= tol) {
				t.Errorf("%s: the input gradient is off by %.3g of its largest element (by the GEMM: %.3g), want at most %.3g", what, e, eGEMM, tol)
			}
		}
	}
	t.Logf("largest error: %.3g * sqrt(OC*K*K) of the largest input gradient (by the GEMM: %.3g)", worst, worstGEMM)
}

// backwardBothWays builds one case twice from seed, runs the forward pass of both with scratch
// a, and their backward passes from the same random dx (returned as before), the first with a
// and the second with b.
func backwardBothWays(s convShape, act convAct, B int, a, b *scratch[float32], seed uint64) (byA, byB *convCase[float32], before []float32) {
	byA = newConvCase[float32](rand.New(rand.NewPCG(seed, seed+1)), s, act, B)
	byB = newConvCase[float32](rand.New(rand.NewPCG(seed, seed+1)), s, act, B)
	before = randnOf[float32](rand.New(rand.NewPCG(seed+2, seed+3)), len(byA.dx))
	for _, run := range []struct {
		c  *convCase[float32]
		sc *scratch[float32]
	}{{byA, a}, {byB, b}} {
		run.c.forward(a)
		copy(run.c.dx, before)
		convBackward(run.c.o, run.c.dy, run.c.dskip, run.c.x, run.c.w, run.c.dx, run.c.dw, run.c.db, B, s, run.sc)
	}
	return byA, byB, before
}

// inputGrad64 is the input gradient c.dx - before of the float32 case c after its backward
// pass, computed again in float64 from the same inputs, weights, outputs (which say where the
// activation let the gradient through, with the pooling's winners) and output gradient.
func inputGrad64(c *convCase[float32], before []float32) []float64 {
	c64 := newConvCase[float64](rand.New(rand.NewPCG(1, 1)), c.s, c.act, c.B)
	copy(c64.o.arg, c.o.arg)
	for _, p := range []struct {
		dst []float64
		src []float32
	}{{c64.x, c.x}, {c64.w, c.w}, {c64.b, c.b}, {c64.o.y, c.o.y}, {c64.o.skip, c.o.skip}, {c64.dy, c.dy}} {
		for i, v := range p.src {
			p.dst[i] = float64(v)
		}
	}
	c64.backward(newScratch[float64](c.B, c.s), true)
	return c64.dx
}

// relErr64 is max |(got - before) - want| / max |want|.
func relErr64(got, before []float32, want []float64) float64 {
	var maxErr, maxRef float64
	for i, w := range want {
		maxErr = max(maxErr, math.Abs(float64(got[i])-float64(before[i])-w))
		maxRef = max(maxRef, math.Abs(w))
	}
	return maxErr / maxRef
}
