package kernels

import "fmt"

// ConvGrad adds to dw [OC,C,K,K] the weight gradient of a stride-1 convolution with pad zeros
// on every side of images images x [images,C,H,W], from the output gradient dy laid out as the
// convolution's GEMM writes it: output channel oc's row dyStride floats from the last one's,
// holding image after image of [oh, ow] = [H+2*pad-K+1, W+2*pad-K+1] planes:
//
//	dw[oc,c,kh,kw] += sum over i, oy, ox of dy[oc*dyStride + (i*oh + oy)*ow + ox] * x[i,c,oy+kh-pad,ox+kw-pad]
//
// (x being 0 outside the image).
// It replaces the product of dy by the transposed im2col matrix of x. Where ConvGradFast holds
// it runs on generated kernels, which need buf (ConvGradBuf floats, overwritten) for one
// channel's planes shifted by each kernel column; they sum in 16 lanes, one per pixel modulo
// 16 of an image, added up at the end, so the bits differ from Sgemm's by rounding. Otherwise
// it runs in Go, pixel by pixel, and buf is unused.
func ConvGrad(dw, dy []float32, dyStride int, x []float32, images, C, H, W, OC, K, pad int, buf []float32) {
	convGrad(active.elem, dw, dy, dyStride, x, images, C, H, W, OC, K, pad, buf)
}

// ConvGradFast reports whether ConvGrad runs on generated kernels for an output of oh x ow
// pixels: on the AVX-512 set, for whole multiples of 8 pixels per image.
func ConvGradFast(oh, ow int) bool { return convGradFast(active.elem, oh, ow) }

func convGradFast(e elemOps, oh, ow int) bool {
	return e.convGradRows != nil && oh*ow%8 == 0
}

// ConvGradBuf is how many floats ConvGrad's buf needs: a channel's (padded) images shifted by
// each of the K kernel columns and cut to the output's width, and with padding the padded
// images they are cut from.
func ConvGradBuf(images, H, W, K, pad int) int {
	hp, wp := H+2*pad, W+2*pad
	n := K * images * hp * (wp - K + 1)
	if pad > 0 {
		n += images * hp * wp
	}
	return n
}

const (
	// Most output channels and kernel positions of a convGradRows call: the zconvdw kernels',
	// which take up to gradNarrowOCs channels for up to gradNarrowTaps positions.
	gradOCs        = 5
	gradTaps       = 5
	gradNarrowOCs  = 8
	gradNarrowTaps = 3
	// gradCallPixels is about how many pixels of each image a convGradRows call runs over:
	// images in blocks of that many pixels, so that a call's 5 output channels of dy and its
	// block of the shifted copies (10 KB and 15 KB for 5x5 kernels on 8x8 outputs) stay in the
	// L1 cache through the calls that reuse them, while the sums across lanes at the end of
	// each kernel row stay a small part of a call's time. Unblocked, a call streams its 80 KB
	// from L2 at ~50 bytes a cycle, more than L2 gives: on inception's conv2 for 32 images
	// ConvGrad ran at 80-88 GFLOP/s unblocked and 107-115 in blocks (3 runs each, alternated).
	gradCallPixels = 512
)

func convGrad(e elemOps, dw, dy []float32, dyStride int, x []float32, images, C, H, W, OC, K, pad int, buf []float32) {
	hp, wp := H+2*pad, W+2*pad
	oh, ow := hp-K+1, wp-K+1
	if K < 1 || oh < 1 || ow < 1 || OC < 1 || C < 1 || images < 1 || pad < 0 {
		panic(fmt.Sprintf("kernels: ConvGrad: bad geometry: %d kernels %dx%dx%d over %d images %dx%d padded by %d", OC, C, K, K, images, H, W, pad))
	}
	hw, kk := oh*ow, K*K
	if len(x) < images*C*H*W || len(dw) < OC*C*kk {
		panic(fmt.Sprintf("kernels: ConvGrad: x has %d elements and dw %d, want %d and %d", len(x), len(dw), images*C*H*W, OC*C*kk))
	}
	if dyStride < images*hw || len(dy) < (OC-1)*dyStride+images*hw {
		panic(fmt.Sprintf("kernels: ConvGrad: dy has %d elements with stride %d, want %d rows of %d", len(dy), dyStride, OC, images*hw))
	}
	if !convGradFast(e, oh, ow) {
		goConvGrad(dw, dy, dyStride, x, images, C, H, W, OC, K, pad)
		return
	}
	if need := ConvGradBuf(images, H, W, K, pad); len(buf) < need {
		panic(fmt.Sprintf("kernels: ConvGrad: buf has %d elements, want %d", len(buf), need))
	}
	// buf holds K planes, one per kernel column kw: image i's rows of x[i,c] (padded) from
	// column kw on, ow floats each, back to back. The inputs kernel position (kh, kw)
	// multiplies by image i's output pixels are then one run of hw floats, from
	// (kw*images + i)*hp*ow + kh*ow. With padding, the padded images follow them.
	plane := hp * ow
	tapStride := images * plane
	padded := buf[K*tapStride:]
	most := gradOCs
	if K <= gradNarrowTaps {
		most = gradNarrowOCs
	}
	groups := (OC + most - 1) / most
	block := max(1, gradCallPixels/hw)
	for c := range C {
		shiftedPlanes(e, buf, x[c*H*W:], padded, images, C*H*W, H, W, K, pad, tapStride)
		for i0 := 0; i0 < images; i0 += block {
			nb := min(block, images-i0)
			for oc0, g := 0, 0; g < groups; g++ {
				// Channels in calls of sizes as equal as can be: 12 go as 4+4+4, not 5+5+2.
				ocs := OC / groups
				if g < OC%groups {
					ocs++
				}
				// A call covers all K kernel rows (the next row's inputs are ow floats on).
				for kw0 := 0; kw0 < K; kw0 += gradTaps {
					taps := min(gradTaps, K-kw0)
					e.convGradRows(dw[(oc0*C+c)*kk+kw0:], C*kk, dy[oc0*dyStride+i0*hw:], dyStride, buf[kw0*tapStride+i0*plane:], tapStride, plane, hw, nb, ocs, taps, K, ow, K)
				}
				oc0 += ocs
			}
		}
	}
}

// goConvGrad is ConvGrad in Go.
func goConvGrad(dw, dy []float32, dyStride int, x []float32, images, C, H, W, OC, K, pad int) {
	oh, ow := H+2*pad-K+1, W+2*pad-K+1
	for oc := range OC {
		for c := range C {
			for kh := range K {
				for kw := range K {
					var sum float32
					for i := range images {
						g := dy[oc*dyStride+i*oh*ow:][:oh*ow]
						for oy := range oh {
							y := oy + kh - pad
							if y < 0 || y >= H {
								continue
							}
							for ox := range ow {
								if xc := ox + kw - pad; xc >= 0 && xc < W {
									sum += g[oy*ow+ox] * x[(i*C+c)*H*W+y*W+xc]
								}
							}
						}
					}
					dw[((oc*C+c)*K+kh)*K+kw] += sum
				}
			}
		}
	}
}
