package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestConvDirectMatchesDefinition holds ConvDirect, on every implementation this build has, to
// the convolution computed in float64 from its definition, to float32 rounding of its sums:
// outputs whose pixel counts are multiples of 16 (the kernels) and not (Go), padding (as the
// models' same-padded layers, and wider than the kernel reaches), 5x5 and 3x3 kernels and
// others, channel counts that leave partial slivers of eight, tiles whose vectors come from
// different images, inputs in both layouts (NCHW, and channel-major with gaps between the
// planes), gaps between the output's rows, which must stay untouched, and NaNs in the output
// beforehand, which must not be read.
func TestConvDirectMatchesDefinition(t *testing.T) {
	impls := []elemOps{goElem}
	for _, e := range platformElems() {
		if e.convDirectTile != nil {
			impls = append(impls, e)
		}
	}
	shapes := []struct{ C, H, W, K, pad int }{
		{88, 12, 12, 5, 0}, {16, 12, 12, 5, 2}, {16, 12, 12, 3, 1}, {24, 12, 12, 3, 1}, {32, 4, 4, 3, 1},
		{20, 8, 8, 5, 4}, {16, 4, 4, 5, 2}, {3, 6, 6, 3, 2}, {5, 7, 10, 3, 1}, {2, 11, 5, 4, 0}, {3, 9, 9, 2, 1},
	}
	rng := rand.New(rand.NewPCG(37, 38))
	worst := 0.0
	for _, e := range impls {
		for _, s := range shapes {
			oh, ow, kk := s.H+2*s.pad-s.K+1, s.W+2*s.pad-s.K+1, s.C*s.K*s.K
			hw := oh * ow
			if e.convDirectTile != nil && (hw%16 == 0) != convDirectFast(e, hw) {
				t.Errorf("%s: ConvDirectFast(%d) is wrong", e.name, hw)
			}
			for _, OC := range []int{1, 5, 8, 11, 20} {
				for _, images := range []int{1, 3} {
					for _, channelMajor := range []bool{false, true} {
						// Input: NCHW, or channel-major with 7 floats between channels.
						xImage, xChannel := s.C*s.H*s.W, s.H*s.W
						if channelMajor {
							xImage, xChannel = s.H*s.W, images*s.H*s.W+7
						}
						x, _ := filled(rng, 1, (images-1)*xImage+(s.C-1)*xChannel+s.H*s.W, 1, 0)
						w, _ := filled(rng, OC, kk, kk, 0)
						packed := make([]float32, ConvPackedSize(OC, s.C, s.K))
						ConvPackWeights(packed, w, OC, s.C, s.K)
						// Output: the GEMM's layout, with 5 floats between channels.
						ldOut := images*hw + 5
						n := (OC-1)*ldOut + images*hw
						out := make([]float32, n)
						for i := range out {
							out[i] = float32(math.NaN())
						}
						before := append([]float32(nil), out...)
						want, mag := make([]float64, n), make([]float64, n)
						for oc := range OC {
							for i := range images {
								for p := range hw {
									oy, ox := p/ow, p%ow
									at := oc*ldOut + i*hw + p
									for c := range s.C {
										for kh := range s.K {
											for kw := range s.K {
												y, xc := oy+kh-s.pad, ox+kw-s.pad
												if y < 0 || y >= s.H || xc < 0 || xc >= s.W {
													continue
												}
												v := float64(w[oc*kk+(c*s.K+kh)*s.K+kw]) * float64(x[i*xImage+c*xChannel+y*s.W+xc])
												want[at] += v
												mag[at] += math.Abs(v)
											}
										}
									}
								}
							}
						}
						buf := make([]float32, ConvDirectBuf(images, s.C, s.H, s.W, s.K, s.pad))
						convDirect(e, out, ldOut, x, xImage, xChannel, packed, images, s.C, s.H, s.W, OC, s.K, s.pad, buf)
						for oc := range OC {
							for i := range images {
								for p := range hw {
									at := oc*ldOut + i*hw + p
									d := math.Abs(float64(out[at]) - want[at])
									// Half the rounding bound of kk+1 additions: the largest error
									// measured was a quarter of it.
									tol := float64(kk+1) / (1 << 25) * mag[at]
									worst = max(worst, d/tol)
									if !(d <= tol) {
										t.Fatalf("%s C=%d %dx%d K=%d pad=%d OC=%d images=%d input channel-major=%v: out[oc %d, image %d, pixel %d] = %g, want %g (|diff| %g > %g)",
											e.name, s.C, s.H, s.W, s.K, s.pad, OC, images, channelMajor, oc, i, p, out[at], want[at], d, tol)
									}
								}
							}
						}
						for i := range out {
							if i%ldOut >= images*hw && math.Float32bits(out[i]) != math.Float32bits(before[i]) {
								t.Fatalf("%s: out[%d], in a gap, was written", e.name, i)
							}
						}
					}
				}
			}
		}
	}
	t.Logf("largest error: %.3f of the tolerance", worst)
}

// TestConvPackWeightsAdjoint holds ConvPackWeightsAdjoint to its definition: the packing of
// the weights with input and output channels swapped and each kernel turned by 180 degrees,
// built here element by element, for channel counts that fill slivers of eight and not.
func TestConvPackWeightsAdjoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, s := range []struct{ OC, C, K int }{{16, 16, 3}, {24, 16, 5}, {1, 11, 3}, {7, 3, 3}, {5, 9, 1}, {32, 32, 3}} {
		kk := s.K * s.K
		w, _ := filled(rng, s.OC, s.C*kk, s.C*kk, 0)
		turned := make([]float32, len(w)) // [C, OC, K, K]
		for oc := range s.OC {
			for c := range s.C {
				for kh := range s.K {
					for kw := range s.K {
						turned[(c*s.OC+oc)*kk+kh*s.K+kw] = w[(oc*s.C+c)*kk+(s.K-1-kh)*s.K+s.K-1-kw]
					}
				}
			}
		}
		want := make([]float32, ConvPackedSize(s.C, s.OC, s.K))
		ConvPackWeights(want, turned, s.C, s.OC, s.K)
		got := make([]float32, len(want))
		ConvPackWeightsAdjoint(got, w, s.OC, s.C, s.K)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("OC=%d C=%d K=%d: packed[%d] = %g, want %g", s.OC, s.C, s.K, i, got[i], want[i])
			}
		}
	}
}

// TestShiftedPlanes holds shiftedPlanes, the shifted copies ConvDirect and ConvGrad read, to
// its definition bit for bit, both ways a kernel set can build them: on every implementation,
// and straight from the images on one with shiftPad (AVX-512's masked loads, which start
// before the row for the left padding and stop short of it for the right), for every kernel
// width whose rows fit a ZMM. The cases: padded and not, rows that fit a ZMM and wider ones,
// kernels wider than the padding reaches and narrower, images with gaps between them, NaNs
// and signed zeros, and gaps between the kernel columns' copies, which must stay untouched.
func TestShiftedPlanes(t *testing.T) {
	const sentinel = 777
	rng := rand.New(rand.NewPCG(41, 42))
	direct := 0
	for _, e := range elemsUnderTest() {
		for range 400 {
			images, H, W, K, pad := 1+rng.IntN(4), 1+rng.IntN(14), 1+rng.IntN(20), 1+rng.IntN(5), rng.IntN(4)
			hp, wp := H+2*pad, W+2*pad
			ow := wp - K + 1
			if ow < 1 || hp-K+1 < 1 {
				continue
			}
			srcImage := H*W + rng.IntN(6)
			src := tricky(rng, (images-1)*srcImage+H*W)
			tapStride := images*hp*ow + rng.IntN(6)
			ways := map[string]func(dst []float32){
				"shiftedPlanes": func(dst []float32) {
					shiftedPlanes(e, dst, src, make([]float32, images*hp*wp), images, srcImage, H, W, K, pad, tapStride)
				},
			}
			if e.shiftPad != nil && pad > 0 && ow <= 16 {
				direct++
				ways["shiftedPlanesDirect"] = func(dst []float32) {
					shiftedPlanesDirect(e, dst, src, images, srcImage, H, W, K, pad, tapStride)
				}
			}
			for way, build := range ways {
				dst := make([]float32, (K-1)*tapStride+images*hp*ow+5)
				for i := range dst {
					dst[i] = sentinel
				}
				build(dst)
				for i, got := range dst {
					want := float32(sentinel)
					kw, at := i/tapStride, i%tapStride
					if kw < K && at < images*hp*ow {
						img, y, j := at/(hp*ow), at/ow%hp, at%ow
						want = 0
						if r, c := y-pad, j+kw-pad; r >= 0 && r < H && c >= 0 && c < W {
							want = src[img*srcImage+r*W+c]
						}
					}
					if math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("%s %s: %d images %dx%d padded by %d, K=%d: dst[%d] (kernel column %d, offset %d) = %g, want %g",
							e.name, way, images, H, W, pad, K, i, kw, at, got, want)
					}
				}
			}
		}
	}
	if platformHasShiftPad() && direct < 100 {
		t.Errorf("only %d cases ran on a shiftPad kernel", direct)
	}
}

// platformHasShiftPad reports whether a kernel set this machine runs has shiftPad.
func platformHasShiftPad() bool {
	for _, e := range platformElems() {
		if e.shiftPad != nil {
			return true
		}
	}
	return false
}
