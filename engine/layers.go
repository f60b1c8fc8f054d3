package engine

// Layers, in the style of llm.c: each is a forward and a backward function over flat, batch-major
// slices (NCHW for images), with the shapes written beside it. B is the number of images. The
// element type F is float32 in the engine and float64 in the gradient checks (see gemm.go).
//
// Forward functions overwrite their output. Backward functions ACCUMULATE (+=) into every
// gradient they produce, parameter and input alike, so a tensor read by several layers (an
// Inception block's input, a residual connection) simply collects the sum; the caller zeroes
// gradients once before a backward pass. A nil input gradient means "not needed" and is skipped.
//
// Slices may be longer than the shapes say (workspaces are sized for the largest batch); only the
// leading B images are touched.

// linearForward: out [B,OC] = inp [B,C] · w[OC,C]ᵀ + b [OC].
func linearForward[F float](out, inp, w, b []F, B, C, OC int) {
	for i := range B {
		copy(out[i*OC:(i+1)*OC], b[:OC])
	}
	gemm(false, true, B, OC, C, inp, C, w, C, 1, out, OC)
}

// linearBackward: dw [OC,C] += doutᵀ·inp, db [OC] += Σ_B dout, dinp [B,C] += dout·w.
// dout is [B,OC], inp [B,C].
func linearBackward[F float](dinp, dw, db, dout, inp, w []F, B, C, OC int) {
	for i := range B {
		row := dout[i*OC : (i+1)*OC]
		for o, g := range row {
			db[o] += g
		}
	}
	gemm(true, false, OC, C, B, dout, OC, inp, C, 1, dw, C)
	if dinp != nil {
		gemm(false, false, B, C, OC, dout, OC, w, C, 1, dinp, C)
	}
}

// reluForward: out [N] = max(0, inp [N]). NaN stays NaN, as in PyTorch. (The builtin max
// compiles without a branch; an if on the sign mispredicts on half the inputs.)
func reluForward[F float](out, inp []F, N int) {
	out, inp = out[:N], inp[:N]
	for i, v := range inp {
		out[i] = max(v, 0)
	}
}

// reluBackward: dinp [N] += dout where out > 0. out is the forward output, which is positive
// exactly where the input was.
func reluBackward[F float](dinp, dout, out []F, N int) {
	dinp, dout, out = dinp[:N], dout[:N], out[:N]
	for i, v := range out {
		if v > 0 {
			dinp[i] += dout[i]
		}
	}
}

// maxpool2Forward: out [B,C,H/2,W/2] is the maximum of each 2x2 window of inp [B,C,H,W]; an odd last
// row or column is dropped, as PyTorch's floor mode does. arg [B,C,H/2,W/2] records where in its
// H×W plane each maximum was. On ties the first element in row-major order wins, and a NaN wins,
// which is PyTorch's rule (v > best || isnan(v)).
func maxpool2Forward[F float](out []F, arg []int32, inp []F, B, C, H, W int) {
	oh, ow := H/2, W/2
	for p := range B * C {
		plane := inp[p*H*W : (p+1)*H*W]
		o := p * oh * ow
		for y := range oh {
			for x := range ow {
				top := 2*y*W + 2*x
				best, at := plane[top], top
				for _, i := range [3]int{top + 1, top + W, top + W + 1} {
					if v := plane[i]; v > best || v != v {
						best, at = v, i
					}
				}
				out[o], arg[o] = best, int32(at)
				o++
			}
		}
	}
}

// maxpool2Backward: dinp [B,C,H,W] += dout [B,C,H/2,W/2] routed to the element that won each window.
func maxpool2Backward[F float](dinp, dout []F, arg []int32, B, C, H, W int) {
	n := (H / 2) * (W / 2)
	for p := range B * C {
		plane := dinp[p*H*W : (p+1)*H*W]
		for o := p * n; o < (p+1)*n; o++ {
			plane[arg[o]] += dout[o]
		}
	}
}

// avgpool3Forward: out [B,C,H,W] is the mean of each 3x3 neighbourhood of inp [B,C,H,W] (stride 1,
// padding 1). Padding counts as zeros and every window divides by 9, as PyTorch's default
// count_include_pad=True does.
func avgpool3Forward[F float](out, inp []F, B, C, H, W int) {
	for p := range B * C {
		src, dst := inp[p*H*W:(p+1)*H*W], out[p*H*W:(p+1)*H*W]
		for y := range H {
			y0, y1 := max(y-1, 0), min(y+2, H)
			for x := range W {
				x0, x1 := max(x-1, 0), min(x+2, W)
				var sum F
				for yy := y0; yy < y1; yy++ {
					for _, v := range src[yy*W+x0 : yy*W+x1] {
						sum += v
					}
				}
				dst[y*W+x] = sum / 9
			}
		}
	}
}

// avgpool3Backward: dinp [B,C,H,W] += each dout [B,C,H,W] / 9 spread over its 3x3 neighbourhood.
func avgpool3Backward[F float](dinp, dout []F, B, C, H, W int) {
	for p := range B * C {
		src, dst := dout[p*H*W:(p+1)*H*W], dinp[p*H*W:(p+1)*H*W]
		for y := range H {
			y0, y1 := max(y-1, 0), min(y+2, H)
			for x := range W {
				x0, x1 := max(x-1, 0), min(x+2, W)
				g := src[y*W+x] / 9
				for yy := y0; yy < y1; yy++ {
					row := dst[yy*W+x0 : yy*W+x1]
					for i := range row {
						row[i] += g
					}
				}
			}
		}
	}
}

// concatForward copies inp [B,C,HW] into channels [off, off+C) of out [B,CT,HW]: one branch of a
// channel concatenation (torch.cat(dim=1)).
func concatForward[F float](out, inp []F, B, C, CT, off, HW int) {
	for i := range B {
		copy(out[(i*CT+off)*HW:(i*CT+off+C)*HW], inp[i*C*HW:(i+1)*C*HW])
	}
}

// concatBackward: dinp [B,C,HW] += channels [off, off+C) of dout [B,CT,HW].
func concatBackward[F float](dinp, dout []F, B, C, CT, off, HW int) {
	for i := range B {
		dst := dinp[i*C*HW : (i+1)*C*HW]
		src := dout[(i*CT+off)*HW : (i*CT+off+C)*HW]
		for j, g := range src {
			dst[j] += g
		}
	}
}

// addForward: out [N] = a [N] + b [N], a residual connection.
func addForward[F float](out, a, b []F, N int) {
	out, a, b = out[:N], a[:N], b[:N]
	for i := range out {
		out[i] = a[i] + b[i]
	}
}

// addBackward: da [N] += dout, db [N] += dout.
func addBackward[F float](da, db, dout []F, N int) {
	da, db, dout = da[:N], db[:N], dout[:N]
	for i, g := range dout {
		da[i] += g
		db[i] += g
	}
}
