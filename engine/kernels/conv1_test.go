package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestConv1MatchesSgemm holds Conv1 to what it replaces, Sgemm of the weights by the im2col
// matrix, bit for bit, on every implementation this build has, each against the GEMM kernel
// whose arithmetic it shares: the generated kernels' widths (8, 16, 24), others that run in
// Go (the portable GEMM's bits), channel counts in every group size of four and five, and a
// destination with gaps between its planes, which must stay untouched.
func TestConv1MatchesSgemm(t *testing.T) {
	type impl struct {
		elem elemOps
		gemm kernel
	}
	impls := []impl{{goElem, goKernel}}
	for _, s := range platformSets() {
		if s.runs && s.elem.conv1Rows != nil {
			impls = append(impls, impl{s.elem, s.kern})
		}
	}
	shapes := []struct{ H, W, K int }{
		{28, 28, 5}, {12, 12, 5}, {20, 20, 5}, {9, 9, 2}, {7, 10, 3}, {8, 8, 1}, {30, 26, 3},
		{28, 27, 5}, {6, 13, 4}, {5, 5, 5}, {3, 40, 3},
	}
	rng := rand.New(rand.NewPCG(31, 32))
	for _, im := range impls {
		e := im.elem
		if e.conv1Rows != nil {
			if !conv1Fast(e, 24, 5) || conv1Fast(e, 23, 5) || conv1Fast(e, 32, 5) {
				t.Errorf("%s: Conv1Fast is wrong about rows 24, 23 or 32 wide", e.name)
			}
		}
		for _, s := range shapes {
			for _, OC := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 16} {
				oh, ow, kk := s.H-s.K+1, s.W-s.K+1, s.K*s.K
				x, _ := filled(rng, s.H, s.W, s.W, 0)
				w, _ := filled(rng, OC, kk, kk, 0)
				col := make([]float32, kk*oh*ow)
				for kh := range s.K {
					for kw := range s.K {
						for oy := range oh {
							for ox := range ow {
								col[(kh*s.K+kw)*oh*ow+oy*ow+ox] = x[(oy+kh)*s.W+ox+kw]
							}
						}
					}
				}
				stride := oh*ow + 3
				want := make([]float32, (OC-1)*stride+oh*ow)
				for i := range want {
					want[i] = cSentinel
				}
				got := append([]float32(nil), want...)
				for i := range got {
					if i%stride < oh*ow {
						got[i] = float32(math.NaN()) // overwritten, never read
					}
				}
				gemm := im.gemm
				if !conv1Fast(e, ow, s.K) {
					gemm = goKernel
				}
				gemm.sgemm(nil, false, matrix{w, kk, false}, matrix{col, oh * ow, false}, OC, oh*ow, kk, 1, 0, want, stride)
				conv1(e, got, stride, x, s.H, s.W, w, OC, s.K)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s %dx%d K=%d OC=%d: dst[%d] = %g, Sgemm %g", e.name, s.H, s.W, s.K, OC, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func TestConv1PanicsOnShortSlices(t *testing.T) {
	x, w, dst := make([]float32, 28*28), make([]float32, 10*25), make([]float32, 10*576)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"short x", func() { Conv1(dst, 576, x[:700], 28, 28, w, 10, 5) }},
		{"short w", func() { Conv1(dst, 576, x, 28, 28, w[:200], 10, 5) }},
		{"short dst", func() { Conv1(dst[:5000], 576, x, 28, 28, w, 10, 5) }},
		{"kernel too big", func() { Conv1(dst, 576, x, 4, 4, w, 10, 5) }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", c.name)
				}
			}()
			c.f()
		}()
	}
}

// TestConv1GradMatchesDefinition holds Conv1Grad, on every implementation this build has, to
// the weight gradient computed in float64 from its definition, to float32 rounding of the
// sums, with dw accumulating onto what it held: the generated kernels' widths and others,
// channel counts and kernel sizes that leave partial groups of 4 channels and 3 positions,
// one image and several.
func TestConv1GradMatchesDefinition(t *testing.T) {
	impls := []elemOps{goElem}
	for _, e := range platformElems() {
		if e.conv1GradRows != nil {
			impls = append(impls, e)
		}
	}
	shapes := []struct{ H, W, K int }{
		{28, 28, 5}, {12, 12, 5}, {20, 20, 5}, {9, 9, 2}, {7, 10, 3}, {8, 8, 1}, {28, 27, 5}, {6, 13, 4},
	}
	rng := rand.New(rand.NewPCG(33, 34))
	for _, e := range impls {
		for _, s := range shapes {
			for _, OC := range []int{1, 3, 4, 5, 6, 9, 10, 11, 16} {
				for _, images := range []int{1, 3} {
					oh, ow, kk := s.H-s.K+1, s.W-s.K+1, s.K*s.K
					x, _ := filled(rng, images*s.H, s.W, s.W, 0)
					stride := images*oh*ow + 5
					dy, _ := filled(rng, OC, images*oh*ow, stride, float32(math.NaN()))
					dw, _ := filled(rng, OC, kk, kk, 0)
					want := make([]float64, len(dw))
					mag := make([]float64, len(dw))
					for oc := range OC {
						for kh := range s.K {
							for kw := range s.K {
								at := oc*kk + kh*s.K + kw
								want[at] = float64(dw[at])
								for i := range images {
									for oy := range oh {
										for ox := range ow {
											p := float64(dy[oc*stride+(i*oh+oy)*ow+ox]) * float64(x[i*s.H*s.W+(oy+kh)*s.W+ox+kw])
											want[at] += p
											mag[at] += math.Abs(p)
										}
									}
								}
							}
						}
					}
					conv1Grad(e, dw, dy, stride, x, images, s.H, s.W, OC, s.K)
					n := float64(images * oh * ow)
					for i := range dw {
						tol := (n + 2) / (1 << 23) * (mag[i] + 1)
						if d := math.Abs(float64(dw[i]) - want[i]); !(d <= tol) {
							t.Fatalf("%s %dx%d K=%d OC=%d images=%d: dw[%d] = %g, want %g (|diff| %g > %g)", e.name, s.H, s.W, s.K, OC, images, i, dw[i], want[i], d, tol)
						}
					}
				}
			}
		}
	}
}
