package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSparseInputGrad holds SparseInputGrad, on every implementation this build has, to the
// input gradient computed in float64 from its definition, to float32 rounding of its sums: on
// the models' second convolutions (88, 16 and 10 input channels), every count of vectors of
// channels with partial last vectors, 5x5 and 3x3 kernels (whose rows the kernels unroll) and
// others, planes whose pixel counts are and are not multiples of 16 (Go), output gradients a
// quarter nonzero (given in shuffled order), all zero and all nonzero, added into planes that
// already hold values, with gaps between the planes that must stay untouched. Each geometry's
// SparseInputGrad runs several images, as the engine's do.
func TestSparseInputGrad(t *testing.T) {
	shapes := []struct{ C, OC, H, W, K int }{
		{88, 20, 12, 12, 5}, {16, 32, 12, 12, 5}, {10, 20, 12, 12, 5}, {17, 3, 8, 6, 3}, {96, 2, 4, 4, 3},
		{40, 3, 8, 8, 4}, {70, 2, 6, 8, 5}, {60, 3, 8, 4, 2}, {5, 4, 7, 5, 2}, {1, 1, 4, 4, 1},
	}
	rng := rand.New(rand.NewPCG(43, 44))
	worst := 0.0
	for _, e := range elemsUnderTest() {
		for _, sh := range shapes {
			oh, ow, hw, kk := sh.H-sh.K+1, sh.W-sh.K+1, sh.H*sh.W, sh.K*sh.K
			s := NewSparseInputGrad(sh.C, sh.OC, sh.H, sh.W, sh.K)
			w, _ := filled(rng, 1, sh.OC*sh.C*kk, 1, 0)
			s.PackWeights(w)
			for img, density := range []float64{0.25, 0, 1, 0.25} {
				dy := make([]float32, sh.OC*oh*ow)
				s.Begin()
				for _, i := range rng.Perm(len(dy)) {
					if rng.Float64() < density {
						dy[i] = float32(rng.NormFloat64())
						s.Nonzero(i%(oh*ow)/ow, i%ow, i/(oh*ow), dy[i])
					}
				}
				ldx := hw + 3
				dx, _ := filled(rng, 1, sh.C*ldx, 1, 0)
				before := append([]float32(nil), dx...)
				s.addInto(e, dx, ldx)
				for c := range sh.C {
					for y := range sh.H {
						for x := range sh.W {
							want, mag := float64(before[c*ldx+y*sh.W+x]), math.Abs(float64(before[c*ldx+y*sh.W+x]))
							for oc := range sh.OC {
								for kh := range sh.K {
									for kw := range sh.K {
										if oy, ox := y-kh, x-kw; oy >= 0 && oy < oh && ox >= 0 && ox < ow {
											v := float64(w[(oc*sh.C+c)*kk+kh*sh.K+kw]) * float64(dy[oc*oh*ow+oy*ow+ox])
											want += v
											mag += math.Abs(v)
										}
									}
								}
							}
							got := float64(dx[c*ldx+y*sh.W+x])
							// The rounding bound of the OC*K*K+2 additions: the largest error
							// measured was 0.47 of it (Go's additions, every pixel nonzero).
							tol := float64(sh.OC*kk+2) / (1 << 24) * mag
							d := math.Abs(got - want)
							if tol > 0 {
								worst = max(worst, d/tol)
							}
							if !(d <= tol) {
								t.Fatalf("%s %+v, image %d: dx[c %d, y %d, x %d] = %g, want %g (|diff| %g > %g)", e.name, sh, img, c, y, x, got, want, d, tol)
							}
						}
					}
					for i := hw; i < ldx && c*ldx+i < len(dx); i++ {
						if dx[c*ldx+i] != before[c*ldx+i] {
							t.Fatalf("%s %+v: dx[%d], in a gap between planes, was written", e.name, sh, c*ldx+i)
						}
					}
				}
			}
		}
	}
	t.Logf("largest error: %.3f of the tolerance", worst)
}

// TestTransposeAdd holds the AVX-512 transposing addition to its definition bit for bit, on
// channel counts around its 16-channel blocks and planes with gaps, which it must not touch.
func TestTransposeAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	for _, e := range platformElems() {
		if e.transposeAdd == nil {
			continue
		}
		for _, channels := range []int{1, 8, 15, 16, 17, 31, 33, 88, 96} {
			for _, pixels := range []int{16, 48, 144} {
				lds := (channels+15)&^15 + 16*rng.IntN(2)
				ldx := pixels + rng.IntN(5)
				src := tricky(rng, pixels*lds)
				dx := tricky(rng, channels*ldx+7)
				want := append([]float32(nil), dx...)
				for c := range channels {
					for p := range pixels {
						want[c*ldx+p] += src[p*lds+c]
					}
				}
				e.transposeAdd(dx, ldx, src, lds, pixels, channels)
				for i := range dx {
					if math.Float32bits(dx[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s: %d channels, %d pixels: dx[%d] = %g, want %g", e.name, channels, pixels, i, dx[i], want[i])
					}
				}
			}
		}
	}
}
