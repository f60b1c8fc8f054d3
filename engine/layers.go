package engine

import "mnist-tui/engine/kernels"

// Layers, in the style of llm.c: each is a forward and a backward function over flat, batch-major
// slices (NCHW for images), with the shapes written beside it. B is the number of images. The
// element type F is float32 in the engine and float64 in the gradient checks (see gemm.go).
//
// Forward functions overwrite their output. Backward functions ACCUMULATE (+=) into every
// gradient they produce, parameter and input alike, so a tensor read by several layers (an
// Inception block's input, a residual connection) simply collects the sum; the caller zeroes
// gradients once before a backward pass. (linearBackwardSet, for a chain of layers where each
// gradient has one writer, overwrites instead and needs no zeroing.) A nil input gradient means "not needed" and is skipped.
//
// Slices may be longer than the shapes say (workspaces are sized for the largest batch); only the
// leading B images are touched.

// linearForward: out [B,OC] = inp [B,C] · w[OC,C]ᵀ + b [OC].
func linearForward[F float](out, inp, w, b []F, B, C, OC int, sc *scratch[F]) {
	for i := range B {
		copy(out[i*OC:(i+1)*OC], b[:OC])
	}
	gemm(sc.gemm, false, true, B, OC, C, inp, C, w, C, 1, out, OC)
}

// linearBackward: dw [OC,C] += doutᵀ·inp, db [OC] += Σ_B dout, dinp [B,C] += dout·w.
// dout is [B,OC], inp [B,C].
func linearBackward[F float](dinp, dw, db, dout, inp, w []F, B, C, OC int, sc *scratch[F]) {
	for i := range B {
		row := dout[i*OC : (i+1)*OC]
		for o, g := range row {
			db[o] += g
		}
	}
	gemm(sc.gemm, true, false, OC, C, B, dout, OC, inp, C, 1, dw, C)
	if dinp != nil {
		gemm(sc.gemm, false, false, B, C, OC, dout, OC, w, C, 1, dinp, C)
	}
}

// linearBackwardSet is linearBackward for a layer whose gradients nothing else adds to: it
// overwrites dw, db and dinp instead of adding to them, so that they need no clearing first
// (the linear model's gradients are 2.3 MB a chunk: clearing them cost as much as a layer).
// The sums are the same: each starts from its first term instead of from zero.
func linearBackwardSet[F float](dinp, dw, db, dout, inp, w []F, B, C, OC int, sc *scratch[F]) {
	copy(db[:OC], dout[:OC])
	for i := 1; i < B; i++ {
		row := dout[i*OC : (i+1)*OC]
		for o, g := range row {
			db[o] += g
		}
	}
	gemm(sc.gemm, true, false, OC, C, B, dout, OC, inp, C, 0, dw, C)
	if dinp != nil {
		gemm(sc.gemm, false, false, B, C, OC, dout, OC, w, C, 0, dinp, C)
	}
}

// reluInPlace: x [N] = max(0, x). NaN stays NaN, as in PyTorch. (The builtin max compiles
// without a branch; an if on the sign mispredicts on half the inputs.) The input is not kept:
// the output is positive exactly where the input was, which is all the backward pass needs.
func reluInPlace[F float](x []F, N int) {
	x = x[:N]
	if x32, ok := any(x).([]float32); ok {
		kernels.AddBiasReLU(x32, x32, 0)
		return
	}
	for i, v := range x {
		x[i] = max(v, 0)
	}
}

// reluBackInPlace turns d [N], the gradient of a ReLU's output y [N], into the gradient of its
// input: d is kept where y > 0 and zeroed elsewhere.
func reluBackInPlace[F float](d, y []F, N int) {
	d, y = d[:N], y[:N]
	if d32, ok := any(d).([]float32); ok {
		kernels.ReLUBackward(d32, d32, any(y).([]float32))
		return
	}
	for i, v := range y {
		if !(v > 0) {
			d[i] = 0
		}
	}
}

// avgpool3Forward: out [B,C,H,W] is the mean of each 3x3 neighbourhood of inp [B,C,H,W] (stride 1,
// padding 1). Padding counts as zeros and every window divides by 9, as PyTorch's default
// count_include_pad=True does.
//
// The 3x3 sum is separable: each output row first gets the sum of the (up to) three input rows
// around it, then a running three-wide sum along the row. That is 4 additions a pixel in
// straight loops instead of 8 behind per-pixel window bounds (the inception net's forward
// pass spent a tenth of its time here).
func avgpool3Forward[F float](out, inp []F, B, C, H, W int) {
	for p := range B * C {
		src, dst := inp[p*H*W:(p+1)*H*W], out[p*H*W:(p+1)*H*W]
		for y := range H {
			sumRows3(dst[y*W:(y+1)*W], src, y, H, W)
			sumAlong3(dst[y*W:(y+1)*W], 9)
		}
	}
}

// sumRows3 writes into d [W] the sum of rows y-1, y and y+1 of plane [H,W] (those that exist).
func sumRows3[F float](d, plane []F, y, H, W int) {
	copy(d, plane[y*W:(y+1)*W])
	if y > 0 {
		for x, v := range plane[(y-1)*W : y*W] {
			d[x] += v
		}
	}
	if y+1 < H {
		for x, v := range plane[(y+1)*W : (y+2)*W] {
			d[x] += v
		}
	}
}

// sumAlong3 replaces each d[x] by (d[x-1] + d[x] + d[x+1]) / div, the missing ends counting
// as zeros.
func sumAlong3[F float](d []F, div F) {
	var prev F
	for x, cur := range d {
		var next F
		if x+1 < len(d) {
			next = d[x+1]
		}
		d[x] = (prev + cur + next) / div
		prev = cur
	}
}

// avgpool3Backward: dinp [B,C,H,W] += each dout [B,C,H,W] / 9 spread over its 3x3 neighbourhood.
// That is the same zero-padded 3x3 sum of dout, divided by 9: the window is symmetric. A row at
// a time goes through row, which holds up to avgRowMax floats; wider planes take the
// pixel-by-pixel loop.
func avgpool3Backward[F float](dinp, dout []F, B, C, H, W int) {
	if W > avgRowMax {
		avgpool3BackwardWide(dinp, dout, B, C, H, W)
		return
	}
	var buf [avgRowMax]F
	row := buf[:W]
	for p := range B * C {
		src, dst := dout[p*H*W:(p+1)*H*W], dinp[p*H*W:(p+1)*H*W]
		for y := range H {
			sumRows3(row, src, y, H, W)
			sumAlong3(row, 9)
			for x, v := range row {
				dst[y*W+x] += v
			}
		}
	}
}

// avgRowMax is the widest plane avgpool3Backward handles a row at a time: the models' are 12
// and 4 wide.
const avgRowMax = 64

// avgpool3BackwardWide is avgpool3Backward for planes wider than avgRowMax.
func avgpool3BackwardWide[F float](dinp, dout []F, B, C, H, W int) {
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
