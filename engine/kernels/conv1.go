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
	conv1(activeElem, dst, dstStride, x, H, W, w, OC, K)
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
	for oc0 := 0; oc0 < OC; oc0 += mr {
		ocs := min(mr, OC-oc0)
		e.conv1Rows(dst[oc0*dstStride:], dstStride, x, W, w[oc0*K*K:(oc0+ocs)*K*K], ocs, ow/8, K, oh)
	}
}

// Conv1Fast reports whether Conv1 runs on generated kernels for output rows ow wide and a
// K x K kernel: rows 8, 16 or 24 wide, on an AVX2 machine.
func Conv1Fast(ow, K int) bool { return conv1Fast(activeElem, ow, K) }

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
