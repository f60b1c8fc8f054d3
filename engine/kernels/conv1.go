package kernels

import "fmt"

// Conv1 computes a convolution of one single-channel image x [H,W] with OC kernels w [OC,K,K],
// stride 1 and no padding: output channel oc's plane [H-K+1, W-K+1] goes to dst from
// oc*dstStride on, rows back to back. Each output is summed over the kernel positions in
// (kh, kw) order, one multiply-add at a time starting from zero: the arithmetic of Sgemm
// multiplying w by the im2col matrix of x, which this replaces for the first layers, where
// that matrix is only K*K rows deep and as costly to build as the product. Where Conv1Fast
// holds it runs on the generated kernels and gives Sgemm's bits; otherwise it runs in Go,
// which gives the portable Sgemm's bits (without fused multiply-adds).
func Conv1(dst []float32, dstStride int, x []float32, H, W int, w []float32, OC, K int) {
	conv1(active.elem, dst, dstStride, x, H, W, w, OC, K)
}

func conv1(e elemOps, dst []float32, dstStride int, x []float32, H, W int, w []float32, OC, K int) {
	oh, ow := H-K+1, W-K+1
	if K < 1 || oh < 1 || ow < 1 || OC < 1 {
		panic(fmt.Sprintf("kernels: Conv1: bad geometry: %d kernels %dx%d over %dx%d", OC, K, K, H, W))
	}
	if len(x) < H*W || len(w) < OC*K*K {
		panic(fmt.Sprintf("kernels: Conv1: x has %d elements and w %d, want %d and %d", len(x), len(w), H*W, OC*K*K))
	}
	if dstStride < oh*ow || len(dst) < (OC-1)*dstStride+oh*ow {
		panic(fmt.Sprintf("kernels: Conv1: dst has %d elements with stride %d, want %d planes of %d", len(dst), dstStride, OC, oh*ow))
	}
	if !conv1Fast(e, ow, K) {
		goConv1(dst, dstStride, x, W, w, OC, K, oh, ow)
		return
	}
	// Channels in as few calls as the kernels allow, of sizes as equal as can be (10 channels
	// in groups of 4 go as 4+3+3): a call's time per tap hardly depends on its channels.
	most := mr
	if e.conv1Group > 0 {
		most = e.conv1Group
	}
	calls := (OC + most - 1) / most
	for oc0, i := 0, 0; i < calls; i++ {
		ocs := OC / calls
		if i < OC%calls {
			ocs++
		}
		e.conv1Rows(dst[oc0*dstStride:], dstStride, x, W, w[oc0*K*K:(oc0+ocs)*K*K], ocs, ow/8, K, oh)
		oc0 += ocs
	}
}

// Conv1Fast reports whether Conv1 runs on generated kernels for output rows ow wide and a
// K x K kernel: rows 8, 16 or 24 wide, on an AVX2 machine.
func Conv1Fast(ow, K int) bool { return conv1Fast(active.elem, ow, K) }

func conv1Fast(e elemOps, ow, K int) bool {
	return e.conv1Rows != nil && ow%8 == 0 && ow <= nr
}

// goConv1 is Conv1 in Go.
func goConv1(dst []float32, dstStride int, x []float32, W int, w []float32, OC, K, oh, ow int) {
	for oc := range OC {
		wk := w[oc*K*K : (oc+1)*K*K]
		for oy := range oh {
			row := dst[oc*dstStride+oy*ow:][:ow]
			for ox := range row {
				var sum float32
				for kh := range K {
					xr := x[(oy+kh)*W+ox:][:K]
					for kw, v := range xr {
						sum += wk[kh*K+kw] * v
					}
				}
				row[ox] = sum
			}
		}
	}
}

// Conv1Grad adds to dw [OC,K,K] the weight gradient of Conv1 over images images x
// [images,H,W], from the output gradient dy laid out as Conv1 writes a group of images'
// output (output channel oc's row dyStride floats from the last one's, holding image after
// image of [H-K+1, W-K+1] planes):
//
//	dw[oc,kh,kw] += sum over i, oy, ox of dy[oc*dyStride + (i*oh + oy)*ow + ox] * x[i][oy+kh][ox+kw]
//
// It replaces the product of dy by the im2col matrix of x for the first layers, as Conv1 does
// forward. Where Conv1Fast holds it runs on generated kernels, which sum like Sgemm's dot
// products (eight lanes, one per column modulo 8, added up at the end) but over all the pixels
// at once, so the bits differ from Sgemm's by rounding; in Go the sums run pixel by pixel.
func Conv1Grad(dw, dy []float32, dyStride int, x []float32, images, H, W, OC, K int) {
	conv1Grad(active.elem, dw, dy, dyStride, x, images, H, W, OC, K)
}

func conv1Grad(e elemOps, dw, dy []float32, dyStride int, x []float32, images, H, W, OC, K int) {
	oh, ow := H-K+1, W-K+1
	if K < 1 || oh < 1 || ow < 1 || OC < 1 || images < 1 {
		panic(fmt.Sprintf("kernels: Conv1Grad: bad geometry: %d kernels %dx%d over %d images %dx%d", OC, K, K, images, H, W))
	}
	hw := oh * ow
	if len(x) < images*H*W || len(dw) < OC*K*K {
		panic(fmt.Sprintf("kernels: Conv1Grad: x has %d elements and dw %d, want %d and %d", len(x), len(dw), images*H*W, OC*K*K))
	}
	if dyStride < images*hw || len(dy) < (OC-1)*dyStride+images*hw {
		panic(fmt.Sprintf("kernels: Conv1Grad: dy has %d elements with stride %d, want %d rows of %d", len(dy), dyStride, OC, images*hw))
	}
	if !conv1Fast(e, ow, K) {
		goConv1Grad(dw, dy, dyStride, x, images, H, W, OC, K)
		return
	}
	kk := K * K
	if e.conv1GradRow != nil && K <= maxRowTaps {
		// A kernel row of positions per call, for as many channels as the set's calls take.
		groups := (OC + e.conv1Group - 1) / e.conv1Group
		for oc0, i := 0, 0; i < groups; i++ {
			ocs := OC / groups
			if i < OC%groups {
				ocs++
			}
			for kh := range K {
				e.conv1GradRow(dw[oc0*kk+kh*K:], kk, dy[oc0*dyStride:], dyStride, x, H*W, W, images, oh, ow/8, ocs, K, kh*W)
			}
			oc0 += ocs
		}
		return
	}
	for oc0 := 0; oc0 < OC; oc0 += mr {
		ocs := min(mr, OC-oc0)
		for t0 := 0; t0 < kk; t0 += dotCols {
			taps := min(dotCols, kk-t0)
			var off [dotCols]int
			for j := range taps {
				off[j] = (t0+j)/K*W + (t0+j)%K
			}
			e.conv1GradRows(dw[oc0*kk+t0:], kk, dy[oc0*dyStride:], dyStride, x, H*W, W, images, oh, ow/8, ocs, taps, off[0], off[1], off[2])
		}
	}
}

// maxRowTaps is the widest kernel whose rows a set's conv1GradRow takes in one call.
const maxRowTaps = 5

// goConv1Grad is Conv1Grad in Go: ConvGrad's loops for one channel without padding, which sum
// in the same order.
func goConv1Grad(dw, dy []float32, dyStride int, x []float32, images, H, W, OC, K int) {
	goConvGrad(dw, dy, dyStride, x, images, 1, H, W, OC, K, 0)
}
