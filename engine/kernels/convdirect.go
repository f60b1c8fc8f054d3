package kernels

import "fmt"

// ConvDirect computes a stride-1 convolution with pad zeros on every side of images images
// straight from the images, without an im2col matrix: for output channel oc < OC and pixel
// p = oy*ow + ox of image i (oh x ow = H+2*pad-K+1 x W+2*pad-K+1 pixels),
//
//	out[oc*ldOut + i*oh*ow + p] = sum over c, kh, kw of
//	                              w[oc, c, kh, kw] * x[i*xImage + c*xChannel + (oy+kh-pad)*W + ox+kw-pad]
//
// (x being 0 outside the image), the weights packed by ConvPackWeights: out is laid out as the
// GEMM of the weights by the im2col matrix writes it, and written without being read.
//
// Where ConvDirectFast holds it runs on generated kernels, which need buf (ConvDirectBuf
// floats, overwritten) for the input's planes shifted by each kernel column, as ConvGrad's;
// each output is then one chain of fused multiply-adds in the order (c, kw, kh), so its bits
// differ from the GEMM's by rounding. Otherwise it runs in Go and buf is unused.
func ConvDirect(out []float32, ldOut int, x []float32, xImage, xChannel int, packed []float32, images, C, H, W, OC, K, pad int, buf []float32) {
	convDirect(active.elem, out, ldOut, x, xImage, xChannel, packed, images, C, H, W, OC, K, pad, buf)
}

// ConvDirectFast reports whether ConvDirect runs on generated kernels for an output of hw
// pixels per image: on the AVX-512 set, for whole multiples of 16 pixels, so that no vector of
// 16 pixels straddles two images.
func ConvDirectFast(hw int) bool { return convDirectFast(active.elem, hw) }

func convDirectFast(e elemOps, hw int) bool {
	return e.convDirectTile != nil && hw > 0 && hw%16 == 0
}

// ConvDirectBuf is how many floats ConvDirect's buf needs: the input's (padded) planes shifted
// by each of the K kernel columns and cut to the output's width, and with padding one
// channel's padded images, which they are cut from.
func ConvDirectBuf(images, C, H, W, K, pad int) int {
	hp, wp := H+2*pad, W+2*pad
	n := C * K * images * hp * (wp - K + 1)
	if pad > 0 {
		n += images * hp * wp
	}
	return n
}

// convDirectRows is the most output channels a generated kernel computes at once (the GEMM's
// wide tile height), and so the height of ConvPackWeights' slivers.
const convDirectRows = 8

// ConvPackedSize is how many floats ConvPackWeights writes for OC x C x K x K weights.
func ConvPackedSize(OC, C, K int) int { return OC * C * K * K }

// ConvPackWeights packs the weights w [OC, C, K, K] of a convolution for ConvDirect: slivers of
// up to 8 output channels, each [C, K (kw), K (kh), rows], back to back, in the order the
// kernels' k steps read them.
func ConvPackWeights(dst, w []float32, OC, C, K int) {
	kk := C * K * K
	if len(dst) < OC*kk || len(w) < OC*kk {
		panic(fmt.Sprintf("kernels: ConvPackWeights: dst has %d elements and w %d, want %d", len(dst), len(w), OC*kk))
	}
	for oc0 := 0; oc0 < OC; oc0 += convDirectRows {
		rows := min(convDirectRows, OC-oc0)
		sliver, src := dst[oc0*kk:(oc0+rows)*kk], w[oc0*kk:(oc0+rows)*kk]
		at := 0
		for c := range C {
			for kw := range K {
				for kh := range K {
					from := c*K*K + kh*K + kw
					if rows == convDirectRows { // unrolled: the loop's overhead was most of the time
						d, s := sliver[at:at+8], src[from:]
						_ = s[7*kk]
						d[0], d[1], d[2], d[3] = s[0], s[kk], s[2*kk], s[3*kk]
						d[4], d[5], d[6], d[7] = s[4*kk], s[5*kk], s[6*kk], s[7*kk]
						at += 8
						continue
					}
					for ; from < len(src); from += kk {
						sliver[at] = src[from]
						at++
					}
				}
			}
		}
	}
}

// ConvPackWeightsAdjoint packs, for ConvDirect, the weights of the convolution that takes a
// same-size convolution's output gradient to its input gradient: for w [OC, C, K, K] (padded
// by (K-1)/2, so the output is as large as the input), that is a convolution with the same
// padding from OC channels to C whose kernel c, oc is w[oc, c] turned by 180 degrees, since
// dx[c, y, x] = sum over oc, kh, kw of w[oc, c, kh, kw] * dy[oc, y-kh+pad, x-kw+pad]. It writes
// ConvPackedSize(C, OC, K) floats, laid out as ConvPackWeights lays out C x OC x K x K weights.
func ConvPackWeightsAdjoint(dst, w []float32, OC, C, K int) {
	kk := K * K
	if len(dst) < OC*C*kk || len(w) < OC*C*kk {
		panic(fmt.Sprintf("kernels: ConvPackWeightsAdjoint: dst has %d elements and w %d, want %d", len(dst), len(w), OC*C*kk))
	}
	at := 0
	for c0 := 0; c0 < C; c0 += convDirectRows {
		rows := min(convDirectRows, C-c0)
		for oc := range OC {
			for kw := range K {
				for kh := range K {
					// Tap (kh, kw) of the adjoint's kernel is tap (K-1-kh, K-1-kw) of w's.
					from := (oc*C+c0)*kk + (K-1-kh)*K + K - 1 - kw
					for r := range rows {
						dst[at] = w[from+r*kk]
						at++
					}
				}
			}
		}
	}
}

func convDirect(e elemOps, out []float32, ldOut int, x []float32, xImage, xChannel int, packed []float32, images, C, H, W, OC, K, pad int, buf []float32) {
	hp, wp := H+2*pad, W+2*pad
	oh, ow := hp-K+1, wp-K+1
	if K < 1 || oh < 1 || ow < 1 || OC < 1 || C < 1 || images < 1 || pad < 0 || min(xImage, xChannel) < 0 || ldOut < images*oh*ow {
		panic(fmt.Sprintf("kernels: ConvDirect: bad geometry: %d kernels %dx%dx%d over %d images %dx%d padded by %d, strides %d/%d (x) and %d (out)",
			OC, C, K, K, images, H, W, pad, xImage, xChannel, ldOut))
	}
	hw, kk := oh*ow, C*K*K
	if len(packed) < OC*kk {
		panic(fmt.Sprintf("kernels: ConvDirect: packed has %d elements, want %d", len(packed), OC*kk))
	}
	if need := (images-1)*xImage + (C-1)*xChannel + H*W; len(x) < need {
		panic(fmt.Sprintf("kernels: ConvDirect: x has %d elements, want %d", len(x), need))
	}
	if need := (OC-1)*ldOut + images*hw; len(out) < need {
		panic(fmt.Sprintf("kernels: ConvDirect: out has %d elements, want %d", len(out), need))
	}
	if !convDirectFast(e, hw) {
		goConvDirect(out, ldOut, x, xImage, xChannel, packed, images, C, H, W, OC, K, pad)
		return
	}
	if need := ConvDirectBuf(images, C, H, W, K, pad); len(buf) < need {
		panic(fmt.Sprintf("kernels: ConvDirect: buf has %d elements, want %d", len(buf), need))
	}
	// buf holds, for each channel c and kernel column kw, image i's rows of x[i,c] (padded)
	// from column kw on, ow floats each, back to back: the inputs kernel position (kh, kw)
	// multiplies by image i's output pixels are one run of hw floats, from
	// (c*K + kw)*tapStride + i*plane + kh*ow. With padding, one channel's padded images follow.
	plane := hp * ow
	tapStride := images * plane
	padded := buf[C*K*tapStride:]
	for c := range C {
		shiftedPlanes(e, buf[c*K*tapStride:], x[c*xChannel:], padded, images, xImage, H, W, K, pad, tapStride)
	}
	// Tiles of 48 pixels (the last of 16 or 32), each of their vectors of 16 from its own
	// image's runs, times slivers of up to 8 output channels.
	n := images * hw
	for j0 := 0; j0 < n; j0 += 48 {
		vecs := min(3, (n-j0)/16)
		var xAt [3]int
		for v := range vecs {
			i, p := (j0+16*v)/hw, (j0+16*v)%hw
			xAt[v] = i*plane + p
		}
		for oc0 := 0; oc0 < OC; oc0 += convDirectRows {
			rows := min(convDirectRows, OC-oc0)
			e.convDirectTile(C*K, K, packed[oc0*kk:(oc0+rows)*kk], buf, xAt, tapStride, ow, out[oc0*ldOut+j0:], ldOut, rows, vecs)
		}
	}
}

// shiftedPlanes writes one channel's part of ConvDirect's and ConvGrad's buf: for each kernel
// column kw < K, from dst[kw*tapStride] on, the images' planes (image i's H x W floats at
// src[i*srcImage:], rows W floats apart) padded by pad zeros on every side and cut to the
// ow = W+2*pad-K+1 columns from kw on, H+2*pad rows of ow floats per image, back to back.
// padded is room for the padded images, images*(H+2*pad)*(W+2*pad) floats.
//
// With padding, the AVX-512 set writes rows of up to 16 floats straight from the images
// (shiftedPlanesDirect) for kernels up to 3 wide. Wider kernels take a padded copy and im2col,
// as the other sets do: the copy serves 5 shifts, and im2col packs rows into whole ZMM stores
// where shiftPad's rows of 12 floats split cache lines (BenchmarkShiftedPlanes, medians of 8:
// rblock1's 3x3 4.80 µs against 5.69, rblock2's 15.0 against 19.5, inception's 5x5 4.56
// against 4.41).
func shiftedPlanes(e elemOps, dst, src, padded []float32, images, srcImage, H, W, K, pad, tapStride int) {
	ow := W + 2*pad - K + 1
	switch {
	case pad == 0:
		im2colRows(e, dst, src, 1, 0, 0, K, tapStride, images, srcImage, W, H, ow)
	case e.shiftPad != nil && ow <= 16 && K <= 3:
		shiftedPlanesDirect(e, dst, src, images, srcImage, H, W, K, pad, tapStride)
	default:
		shiftedPlanesViaCopy(e, dst, src, padded, images, srcImage, H, W, K, pad, tapStride)
	}
}

// shiftedPlanesViaCopy is shiftedPlanes by a padded copy of the images and im2col.
func shiftedPlanesViaCopy(e elemOps, dst, src, padded []float32, images, srcImage, H, W, K, pad, tapStride int) {
	hp, wp := H+2*pad, W+2*pad
	padCopy(e, padded, src, images, srcImage, W, pad*wp, H, pad, W, pad, pad*wp)
	im2colRows(e, dst, padded, 1, 0, 0, K, tapStride, images, hp*wp, wp, hp, wp-K+1)
}

// shiftedPlanesDirect is shiftedPlanes straight from the images by e.shiftPad, for outputs
// of up to 16 floats: one masked load, whose masked-off lanes are the padding's zeros, and one
// masked store per row.
func shiftedPlanesDirect(e elemOps, dst, src []float32, images, srcImage, H, W, K, pad, tapStride int) {
	hp := H + 2*pad
	ow := W + 2*pad - K + 1
	if min(images, H, W, K, ow, pad) < 1 || ow > 16 || (K > 1 && tapStride < images*hp*ow) {
		panic(fmt.Sprintf("kernels: shiftedPlanesDirect: bad geometry: %d images %dx%d padded by %d, %d kernel columns %d floats apart", images, H, W, pad, K, tapStride))
	}
	if need := (K-1)*tapStride + images*hp*ow; len(dst) < need {
		panic(fmt.Sprintf("kernels: shiftedPlanesDirect: dst has %d elements, want %d", len(dst), need))
	}
	checkSource("shiftedPlanesDirect", "src", src, 1, 0, images, srcImage, W, H, W)
	for kw := range K {
		// Lane j of an output row is the input's column j+kw-pad, inside the row for lo <= j < hi.
		lo, hi := max(0, pad-kw), min(ow, W+pad-kw)
		var lanes uint16
		if hi > lo {
			lanes = uint16(1<<hi - 1<<lo)
		}
		e.shiftPad(dst[kw*tapStride:], src, images, srcImage, H, W, pad, ow, kw-pad, lanes)
	}
}

// goConvDirect is ConvDirect in Go, pixel by pixel, summing in the kernels' order.
func goConvDirect(out []float32, ldOut int, x []float32, xImage, xChannel int, packed []float32, images, C, H, W, OC, K, pad int) {
	oh, ow := H+2*pad-K+1, W+2*pad-K+1
	kk := C * K * K
	for oc := range OC {
		oc0 := oc / convDirectRows * convDirectRows
		rows := min(convDirectRows, OC-oc0)
		sliver := packed[oc0*kk:]
		for i := range images {
			dst := out[oc*ldOut+i*oh*ow:][:oh*ow]
			for oy := range oh {
				for ox := range ow {
					var sum float32
					for c := range C {
						for kw := range K {
							xc := ox + kw - pad
							for kh := range K {
								y := oy + kh - pad
								if y < 0 || y >= H || xc < 0 || xc >= W {
									continue
								}
								sum += sliver[((c*K+kw)*K+kh)*rows+oc-oc0] * x[i*xImage+c*xChannel+y*W+xc]
							}
						}
					}
					dst[oy*ow+ox] = sum
				}
			}
		}
	}
}
