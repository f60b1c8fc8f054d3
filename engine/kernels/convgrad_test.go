package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestConvGradMatchesDefinition holds ConvGrad, on every implementation this build has, to the
// weight gradient computed in float64 from its definition, to float32 rounding of the sums,
// with dw accumulating onto what it held: images whose pixel counts are multiples of 16, of 8
// only (the kernels' last half vector) and neither (Go), kernels wider than a call's five
// positions, padding (as the models' same-padded layers, and wider than the image), channel
// counts that leave partial groups of five, one image and several, and a dy with gaps between
// its rows, which must not be read.
func TestConvGradMatchesDefinition(t *testing.T) {
	impls := []elemOps{goElem}
	for _, e := range platformElems() {
		if e.convGradRows != nil {
			impls = append(impls, e)
		}
	}
	shapes := []struct{ C, H, W, K, pad int }{
		{88, 12, 12, 5, 0}, {10, 12, 12, 5, 0}, {3, 10, 10, 3, 0}, {2, 14, 14, 7, 0}, {4, 9, 12, 2, 0}, {5, 7, 10, 3, 0},
		{3, 13, 6, 6, 0}, {2, 20, 20, 5, 0}, {3, 6, 13, 4, 0}, {2, 5, 5, 5, 0}, {3, 8, 8, 1, 0},
		{16, 12, 12, 5, 2}, {16, 12, 12, 3, 1}, {20, 4, 4, 5, 2}, {3, 4, 4, 3, 1}, {2, 3, 5, 3, 3}, {3, 7, 9, 4, 1},
	}
	rng := rand.New(rand.NewPCG(35, 36))
	for _, e := range impls {
		for _, s := range shapes {
			oh, ow, kk := s.H+2*s.pad-s.K+1, s.W+2*s.pad-s.K+1, s.K*s.K
			if e.convGradRows != nil && (oh*ow%8 == 0) != convGradFast(e, oh, ow) {
				t.Errorf("%s: ConvGradFast(%d, %d) is wrong", e.name, oh, ow)
			}
			for _, OC := range []int{1, 3, 5, 6, 8, 9, 11, 16, 20} {
				for _, images := range []int{1, 3} {
					x, _ := filled(rng, images*s.C*s.H, s.W, s.W, 0)
					stride := images*oh*ow + 5
					dy, _ := filled(rng, OC, images*oh*ow, stride, float32(math.NaN()))
					dw, _ := filled(rng, OC, s.C*kk, s.C*kk, 0)
					want := make([]float64, len(dw))
					mag := make([]float64, len(dw))
					for oc := range OC {
						for c := range s.C {
							for kh := range s.K {
								for kw := range s.K {
									at := (oc*s.C+c)*kk + kh*s.K + kw
									want[at] = float64(dw[at])
									for i := range images {
										for oy := range oh {
											for ox := range ow {
												y, xc := oy+kh-s.pad, ox+kw-s.pad
												if y < 0 || y >= s.H || xc < 0 || xc >= s.W {
													continue
												}
												p := float64(dy[oc*stride+(i*oh+oy)*ow+ox]) * float64(x[((i*s.C+c)*s.H+y)*s.W+xc])
												want[at] += p
												mag[at] += math.Abs(p)
											}
										}
									}
								}
							}
						}
					}
					buf := make([]float32, ConvGradBuf(images, s.H, s.W, s.K, s.pad))
					convGrad(e, dw, dy, stride, x, images, s.C, s.H, s.W, OC, s.K, s.pad, buf)
					n := float64(images * oh * ow)
					for i := range dw {
						tol := (n + 2) / (1 << 23) * (mag[i] + 1)
						if d := math.Abs(float64(dw[i]) - want[i]); !(d <= tol) {
							t.Fatalf("%s C=%d %dx%d K=%d pad=%d OC=%d images=%d: dw[%d] = %g, want %g (|diff| %g > %g)", e.name, s.C, s.H, s.W, s.K, s.pad, OC, images, i, dw[i], want[i], d, tol)
						}
					}
				}
			}
		}
	}
}

func TestConvGradPanicsOnShortSlices(t *testing.T) {
	const images, C, H, K, OC = 2, 3, 12, 5, 4
	x, dw, dy := make([]float32, images*C*H*H), make([]float32, OC*C*K*K), make([]float32, OC*images*64)
	buf := make([]float32, ConvGradBuf(images, H, H, K, 0))
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"short x", func() { ConvGrad(dw, dy, images*64, x[:len(x)-1], images, C, H, H, OC, K, 0, buf) }},
		{"short dw", func() { ConvGrad(dw[:len(dw)-1], dy, images*64, x, images, C, H, H, OC, K, 0, buf) }},
		{"short dy", func() { ConvGrad(dw, dy[:len(dy)-1], images*64, x, images, C, H, H, OC, K, 0, buf) }},
		{"kernel too big", func() { ConvGrad(dw, dy, images*64, x, images, C, 4, 4, OC, K, 0, buf) }},
		{"short buf", func() {
			if !ConvGradFast(8, 8) {
				panic("the Go code runs, which needs no buf")
			}
			ConvGrad(dw, dy, images*64, x, images, C, H, H, OC, K, 0, buf[:len(buf)-1])
		}},
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
