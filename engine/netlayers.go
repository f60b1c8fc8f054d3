package engine

import (
	"math"

	"mnist-tui/engine/kernels"
)

// The layers a network declared in config.yaml (package network) may use beyond those of the
// built-in models, in the style of layers.go: forward and backward functions over flat,
// batch-major slices (NCHW for feature maps), with the shapes beside them. B is the number of
// images. Forward functions overwrite their output; backward functions ADD into the gradients
// they produce (the caller zeroes them once before a backward pass). A nil input gradient is
// skipped.
//
// Where a product feeds a sum, the BatchNorm and dropout loops write it as F(x*y): Go lets a
// compiler fuse x*y + z into one rounding (arm64's does, amd64's does not) and an explicit
// conversion forbids that, so these loops round like package kernels' passes, which they are
// compared with (a fused BatchNorm+ReLU+pool node runs those), on every architecture.

// window is the geometry of a convolution or pooling window with any stride and padding:
// C input planes of H×W, a K×K window moving by S, P zeros (or, for max pooling, nothing) on
// every side. OC is a convolution's output channels.
type window struct{ C, OC, H, W, K, S, P int }

func (g window) OH() int { return (g.H+2*g.P-g.K)/g.S + 1 }
func (g window) OW() int { return (g.W+2*g.P-g.K)/g.S + 1 }

// im2colStrided fills col [C*K*K, OH*OW] from one image x [C,H,W]: row (c,kh,kw), column
// (oy,ox) holds x[c, oy*S+kh-P, ox*S+kw-P], 0 in the padding.
func im2colStrided[F float](col, x []F, g window) {
	oh, ow := g.OH(), g.OW()
	n := oh * ow
	for c := range g.C {
		plane := x[c*g.H*g.W:][:g.H*g.W]
		for kh := range g.K {
			for kw := range g.K {
				row := col[((c*g.K+kh)*g.K+kw)*n:][:n]
				for oy := range oh {
					iy := oy*g.S + kh - g.P
					dst := row[oy*ow:][:ow]
					if iy < 0 || iy >= g.H {
						clear(dst)
						continue
					}
					src := plane[iy*g.W:][:g.W]
					for ox := range ow {
						ix := ox*g.S + kw - g.P
						if ix < 0 || ix >= g.W {
							dst[ox] = 0
						} else {
							dst[ox] = src[ix]
						}
					}
				}
			}
		}
	}
}

// col2imStrided is im2colStrided's adjoint: dx [C,H,W] += each entry of col added back where
// it was read from; entries from the padding are dropped.
func col2imStrided[F float](dx, col []F, g window) {
	oh, ow := g.OH(), g.OW()
	n := oh * ow
	for c := range g.C {
		plane := dx[c*g.H*g.W:][:g.H*g.W]
		for kh := range g.K {
			for kw := range g.K {
				row := col[((c*g.K+kh)*g.K+kw)*n:][:n]
				for oy := range oh {
					iy := oy*g.S + kh - g.P
					if iy < 0 || iy >= g.H {
						continue
					}
					dst := plane[iy*g.W:][:g.W]
					for ox, v := range row[oy*ow:][:ow] {
						if ix := ox*g.S + kw - g.P; ix >= 0 && ix < g.W {
							dst[ix] += v
						}
					}
				}
			}
		}
	}
}

// convStridedForward: y [B,OC,OH,OW] = conv(x [B,C,H,W], w [OC,C,K,K]) + b [OC], one image at
// a time through col [C*K*K, OH*OW]; b nil means no bias. The stride-1 convolutions of a
// network take convForward (conv.go) instead; this is the general case.
func convStridedForward[F float](y, x, w, b []F, B int, g window, col []F, sc *scratch[F]) {
	k, n := g.C*g.K*g.K, g.OH()*g.OW()
	for i := range B {
		im2colStrided(col[:k*n], x[i*g.C*g.H*g.W:], g)
		yi := y[i*g.OC*n:][:g.OC*n]
		gemmSameA(sc.gemm, i > 0, false, false, g.OC, n, k, w, k, col, n, 0, yi, n)
		if b != nil {
			for oc := range g.OC {
				plane := yi[oc*n:][:n]
				for j := range plane {
					plane[j] += b[oc]
				}
			}
		}
	}
}

// convStridedBackward adds dw [OC,C,K,K] += Σ dy·colᵀ, db [OC] += Σ dy (db nil: no bias) and,
// unless dx is nil, dx [B,C,H,W] += col2im(wᵀ·dy), for dy [B,OC,OH,OW].
func convStridedBackward[F float](dx, dw, db, dy, x, w []F, B int, g window, col []F, sc *scratch[F]) {
	k, n := g.C*g.K*g.K, g.OH()*g.OW()
	for i := range B {
		dyi := dy[i*g.OC*n:][:g.OC*n]
		if db != nil {
			for oc := range g.OC {
				var sum F
				for _, v := range dyi[oc*n:][:n] {
					sum += v
				}
				db[oc] += sum
			}
		}
		im2colStrided(col[:k*n], x[i*g.C*g.H*g.W:], g)
		gemm(sc.gemm, false, true, g.OC, k, n, dyi, n, col, n, 1, dw, k)
		if dx != nil {
			gemm(sc.gemm, true, false, k, n, g.OC, w, k, dyi, n, 0, col, n)
			col2imStrided(dx[i*g.C*g.H*g.W:], col[:k*n], g)
		}
	}
}

// maxPoolForward: y [B,C,OH,OW] is the maximum of each window of x [B,C,H,W], arg the index
// in its plane (y*W+x) of the winner. The padding is never chosen (PyTorch pads with -inf).
// The first maximum wins ties and a NaN wins, as in PyTorch.
func maxPoolForward[F float](y []F, arg []int32, x []F, B int, g window) {
	oh, ow := g.OH(), g.OW()
	for p := range B * g.C {
		plane := x[p*g.H*g.W:][:g.H*g.W]
		out, at := y[p*oh*ow:][:oh*ow], arg[p*oh*ow:][:oh*ow]
		for oy := range oh {
			y0, y1 := max(oy*g.S-g.P, 0), min(oy*g.S-g.P+g.K, g.H)
			for ox := range ow {
				x0, x1 := max(ox*g.S-g.P, 0), min(ox*g.S-g.P+g.K, g.W)
				best, bi := F(math.Inf(-1)), int32(y0*g.W+x0)
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						if v := plane[iy*g.W+ix]; v > best || v != v {
							best, bi = v, int32(iy*g.W+ix)
						}
					}
				}
				out[oy*ow+ox], at[oy*ow+ox] = best, bi
			}
		}
	}
}

// maxPoolBackward: dx [B,C,H,W] += each dy [B,C,OH,OW] at its window's winner.
func maxPoolBackward[F float](dx, dy []F, arg []int32, B int, g window) {
	hw := g.OH() * g.OW()
	for p := range B * g.C {
		plane := dx[p*g.H*g.W:][:g.H*g.W]
		for j, v := range dy[p*hw:][:hw] {
			plane[arg[p*hw+j]] += v
		}
	}
}

// maxPool2Forward is maxPoolForward for the common 2x2 window moving by 2 with no padding,
// with the same ties and NaN rule: an odd last row or column is dropped (PyTorch's floor mode).
// The winner is picked by conditional moves rather than branches, which a ReLU's output (half
// zeros, at random) would mispredict every other time. !(v <= running maximum) is v > it, and
// true for a NaN v; a NaN running maximum would break the rule, so a window with a NaN (rare,
// caught by its sum) takes the plain loop.
func maxPool2Forward[F float](y []F, arg []int32, x []F, B, C, H, W int) {
	oh, ow := H/2, W/2
	for p := range B * C {
		plane := x[p*H*W:][:H*W]
		out, at := y[p*oh*ow:][:oh*ow], arg[p*oh*ow:][:oh*ow]
		for py := range oh {
			i0 := int32(2 * py * W)
			r0, r1 := plane[i0:][:2*ow], plane[int(i0)+W:][:2*ow]
			o, a := out[py*ow:][:ow], at[py*ow:][:ow]
			for px := range o {
				v0, v1, v2, v3 := r0[2*px], r0[2*px+1], r1[2*px], r1[2*px+1]
				// The running maximum by max (no branch), the winner by conditional moves,
				// the output read back at the winner: exactly the winning element.
				run, bi := v0, int32(0)
				bi = pickInt(!(v1 <= run), 1, bi)
				run = max(run, v1)
				bi = pickInt(!(v2 <= run), int32(W), bi)
				run = max(run, v2)
				bi = pickInt(!(v3 <= run), int32(W)+1, bi)
				best := plane[i0+int32(2*px)+bi]
				if sum := v0 + v1 + v2 + v3; sum != sum {
					best, bi = v0, 0
					for k, v := range [3]F{v1, v2, v3} {
						if v > best || v != v {
							best, bi = v, [3]int32{1, int32(W), int32(W) + 1}[k]
						}
					}
				}
				o[px], a[px] = best, i0+int32(2*px)+bi
			}
		}
	}
}

// pickInt is a if take, else b; small enough for the compiler to make it a conditional move.
func pickInt(take bool, a, b int32) int32 {
	if take {
		return a
	}
	return b
}

// avgPoolForward: y [B,C,OH,OW] is the sum of each window of x [B,C,H,W] divided by K*K: the
// padding counts as zeros (PyTorch's count_include_pad=True). Without ceil mode every window
// lies within the padded input, so the divisor is always K*K.
func avgPoolForward[F float](y, x []F, B int, g window) {
	oh, ow := g.OH(), g.OW()
	div := F(g.K * g.K)
	for p := range B * g.C {
		plane := x[p*g.H*g.W:][:g.H*g.W]
		out := y[p*oh*ow:][:oh*ow]
		for oy := range oh {
			y0, y1 := max(oy*g.S-g.P, 0), min(oy*g.S-g.P+g.K, g.H)
			for ox := range ow {
				x0, x1 := max(ox*g.S-g.P, 0), min(ox*g.S-g.P+g.K, g.W)
				var sum F
				for iy := y0; iy < y1; iy++ {
					for _, v := range plane[iy*g.W+x0 : iy*g.W+x1] {
						sum += v
					}
				}
				out[oy*ow+ox] = sum / div
			}
		}
	}
}

// avgPoolBackward: dx [B,C,H,W] += each dy [B,C,OH,OW] / (K*K) over its window.
func avgPoolBackward[F float](dx, dy []F, B int, g window) {
	oh, ow := g.OH(), g.OW()
	div := F(g.K * g.K)
	for p := range B * g.C {
		plane := dx[p*g.H*g.W:][:g.H*g.W]
		grad := dy[p*oh*ow:][:oh*ow]
		for oy := range oh {
			y0, y1 := max(oy*g.S-g.P, 0), min(oy*g.S-g.P+g.K, g.H)
			for ox := range ow {
				x0, x1 := max(ox*g.S-g.P, 0), min(ox*g.S-g.P+g.K, g.W)
				v := grad[oy*ow+ox] / div
				for iy := y0; iy < y1; iy++ {
					row := plane[iy*g.W+x0 : iy*g.W+x1]
					for j := range row {
						row[j] += v
					}
				}
			}
		}
	}
}

// globalAvgPoolForward: y [B,C] = the mean of each plane of x [B,C,HW].
func globalAvgPoolForward[F float](y, x []F, BC, HW int) {
	for p := range BC {
		var sum F
		for _, v := range x[p*HW:][:HW] {
			sum += v
		}
		y[p] = sum / F(HW)
	}
}

// globalAvgPoolBackward: dx [B,C,HW] += dy [B,C] / HW.
func globalAvgPoolBackward[F float](dx, dy []F, BC, HW int) {
	for p := range BC {
		v := dy[p] / F(HW)
		row := dx[p*HW:][:HW]
		for j := range row {
			row[j] += v
		}
	}
}

// activation is an element-wise function of the network format.
type activation int

const (
	actFnReLU activation = iota
	actFnLeakyReLU
	actFnTanh
	actFnSigmoid
	actFnGELU
)

// activationForward: y [N] = f(x [N]); slope is leaky_relu's. GELU is the exact one (with
// erf), PyTorch's default.
func activationForward[F float](y, x []F, N int, f activation, slope F) {
	y, x = y[:N], x[:N]
	switch f {
	case actFnReLU:
		for i, v := range x {
			y[i] = max(v, 0)
		}
	case actFnLeakyReLU:
		for i, v := range x {
			if v > 0 {
				y[i] = v
			} else {
				y[i] = v * slope
			}
		}
	case actFnTanh:
		for i, v := range x {
			y[i] = F(math.Tanh(float64(v)))
		}
	case actFnSigmoid:
		for i, v := range x {
			y[i] = F(1 / (1 + math.Exp(-float64(v))))
		}
	case actFnGELU:
		for i, v := range x {
			t := float64(v)
			y[i] = F(0.5 * t * (1 + math.Erf(t/math.Sqrt2)))
		}
	}
}

// activationBackward: dx [N] += dy · f'(x), with y = f(x) the forward output.
func activationBackward[F float](dx, dy, x, y []F, N int, f activation, slope F) {
	dx, dy, x, y = dx[:N], dy[:N], x[:N], y[:N]
	switch f {
	case actFnReLU:
		for i, v := range x {
			if v > 0 {
				dx[i] += dy[i]
			}
		}
	case actFnLeakyReLU:
		for i, v := range x {
			if v > 0 {
				dx[i] += dy[i]
			} else {
				dx[i] += dy[i] * slope
			}
		}
	case actFnTanh:
		for i, v := range y {
			dx[i] += dy[i] * (1 - v*v)
		}
	case actFnSigmoid:
		for i, v := range y {
			dx[i] += dy[i] * v * (1 - v)
		}
	case actFnGELU:
		const invSqrt2Pi = 0.3989422804014327
		for i, v := range x {
			t := float64(v)
			cdf := 0.5 * (1 + math.Erf(t/math.Sqrt2))
			dx[i] += dy[i] * F(cdf+t*invSqrt2Pi*math.Exp(-0.5*t*t))
		}
	}
}

// bnStats is a BatchNorm's state: running statistics (per channel) and the batches seen.
type bnStats[F float] struct {
	mean, variance []F
	tracked        *int64
}

// A BatchNorm in training normalises by the statistics of the whole batch, which the engine
// cuts into chunks run by any worker. So its passes are split where the batch must be seen
// whole: each chunk reduces its own images to per-channel moments (batchNormMoments), the
// chunks' moments are merged in chunk order (mergeMoments), then every chunk normalises its
// images (batchNormApply). Backward likewise: each chunk sums Σdy and Σdy·x̂ per channel
// (batchNormGradSums), the sums are added in chunk order, then each chunk computes its input
// gradient (batchNormInputGrad). One chunk gives the whole batch's numbers directly; several
// give the same up to float64 rounding, the same bits for a given number of chunks.

// moments are one channel's count, mean and sum of squared deviations from the mean, in float64.
type moments struct{ n, mean, m2 float64 }

// batchNormMoments writes each channel's moments over the B images of x [B,C,HW] into m [C],
// with two passes over the values (the mean, then the deviations from it), as PyTorch's CPU
// kernel does: the variance never comes from Σx² − n·μ², which cancels when the mean is large.
// float32 runs the passes plane by plane (planeMoments32) and merges the planes' moments in
// image order.
func batchNormMoments[F float](m []moments, x []F, B, C, HW int) {
	if x32, ok := any(x).([]float32); ok {
		for c := range C {
			var mc moments
			for i := range B {
				mc = mergeMoments(mc, planeMoments32(x32[(i*C+c)*HW:][:HW]))
			}
			m[c] = mc
		}
		return
	}
	n := float64(B * HW)
	for c := range C {
		var sum float64
		for i := range B {
			sum += sumFloat64(x[(i*C+c)*HW:][:HW])
		}
		mu := sum / n
		var sq float64
		for i := range B {
			for _, v := range x[(i*C+c)*HW:][:HW] {
				d := float64(v) - mu
				sq += float64(d * d)
			}
		}
		m[c] = moments{n: n, mean: mu, m2: sq}
	}
}

// planeMoments32 is the moments of the values x, two passes over them in L1 on package
// kernels' vector loops: their mean pm in float32, then the deviations from it, each in
// float32 and squared and summed in float64, with the deviations' own sum, which corrects the
// mean for the first pass's rounding.
func planeMoments32(x []float32) moments {
	n := float64(len(x))
	pm, d, q := kernels.PlaneMoments(x)
	return moments{n: n, mean: float64(pm) + d/n, m2: max(q-d*d/n, 0)}
}

// sumFloat64 is Σ x in float64, in four interleaved sums (added in a fixed order at the end)
// so that the additions do not wait on each other.
func sumFloat64[F float](x []F) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += float64(x[i])
		s1 += float64(x[i+1])
		s2 += float64(x[i+2])
		s3 += float64(x[i+3])
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// mergeMoments adds b's images to a (Chan et al.'s pairwise update): the moments of the union.
func mergeMoments(a, b moments) moments {
	if a.n == 0 {
		return b
	}
	n := a.n + b.n
	d := b.mean - a.mean
	return moments{n: n, mean: a.mean + d*b.n/n, m2: a.m2 + b.m2 + d*d*a.n*b.n/n}
}

// batchNormStatistics turns a batch's merged moments m [C] into the mean and 1/√(σ²+eps) the
// passes normalise by (mean, invstd [C]), and moves the running statistics toward the batch's
// as PyTorch does: r = (1−m)·r + m·batch, with the unbiased variance (×n/(n−1)) for
// running_var; it counts the batch.
func batchNormStatistics[F float](mean, invstd []float64, m []moments, st bnStats[F], momentum, eps float64) {
	for c, mc := range m {
		variance := mc.m2 / mc.n
		mean[c], invstd[c] = mc.mean, 1/math.Sqrt(variance+eps)
		unbiased := variance // one value per channel has no spread to correct (PyTorch refuses it)
		if mc.n > 1 {
			unbiased = mc.m2 / (mc.n - 1)
		}
		st.mean[c] = F((1-momentum)*float64(st.mean[c]) + momentum*mc.mean)
		st.variance[c] = F((1-momentum)*float64(st.variance[c]) + momentum*unbiased)
	}
	*st.tracked++
}

// batchNormAffine writes the per-channel scale and shift [C] that normalise by mean and
// invstd [C] and apply gamma and beta: y = x·scale + shift.
func batchNormAffine[F float](scale, shift, mean, invstd []float64, gamma, beta []F) {
	for c := range scale {
		scale[c] = float64(gamma[c]) * invstd[c]
		shift[c] = float64(beta[c]) - mean[c]*scale[c]
	}
}

// bnFused is what follows a BatchNorm in its node: nothing, a ReLU, or a ReLU and a 2x2 max
// pooling by 2.
type bnFused int

const (
	bnPlain bnFused = iota
	bnReLU
	bnReLUPool
)

// batchNormApply: y = x·scale + shift per channel for x [B,C,H,W], then what is fused: a ReLU,
// or a ReLU and 2x2 pooling (y [B,C,H/2,W/2], the winners in arg as conv.go's actReLUPool
// stores them), through plane [H*W] so that the full-size output is never stored.
func batchNormApply[F float](y []F, arg []uint8, x []F, scale, shift []float64, B, C, H, W int, fused bnFused, sc *bnScratch[F]) {
	HW := H * W
	ph := (H / 2) * (W / 2)
	for c := range C {
		// In F, as PyTorch's CPU kernel computes in the tensor's type: the statistics are
		// float64, one multiply-add per element need not be.
		a, b := F(scale[c]), F(shift[c])
		for i := range B {
			src := x[(i*C+c)*HW:][:HW]
			switch fused {
			case bnPlain:
				dst := y[(i*C+c)*HW:][:HW]
				dst = dst[:len(src)]
				for j, v := range src {
					dst[j] = F(v*a) + b
				}
			case bnReLU:
				dst := y[(i*C+c)*HW:][:HW]
				dst = dst[:len(src)]
				for j, v := range src {
					dst[j] = max(F(v*a)+b, 0)
				}
			case bnReLUPool:
				at := (i*C + c) * ph
				if y32, ok := any(y).([]float32); ok {
					kernels.AffineReLUPool2(y32[at:][:ph], arg[at:][:ph], any(src).([]float32), float32(a), float32(b), H, W)
					continue
				}
				dst := sc.plane[:HW]
				dst = dst[:len(src)]
				for j, v := range src {
					dst[j] = F(v*a) + b
				}
				reluPool2Plane(y[at:][:ph], arg[at:][:ph], dst, 0, H, W)
			}
		}
	}
}

// bnScratch is a BatchNorm's scratch for one plane [H,W] at a time: in float64, a plane on
// its way to pooling (float32 pools on package kernels' loops, which take the scale).
type bnScratch[F float] struct {
	plane []F // [H*W]
}

// newBNScratch sizes a bnScratch for planes of up to H×W.
func newBNScratch[F float](H, W int) bnScratch[F] {
	return bnScratch[F]{plane: make([]F, H*W)}
}

// reluPool2Plane is biasReLUPoolPlane (conv.go), its winners picked by conditional moves:
// relu of the maximum of each 2x2 window of src [H,W] + b into dst [H/2,W/2], the winner's
// place (0-3, row-major) in arg. Ties and NaNs as maxPool2Forward.
func reluPool2Plane[F float](dst []F, arg []uint8, src []F, b F, H, W int) {
	if d, ok := any(dst).([]float32); ok {
		kernels.AffineReLUPool2(d, arg, any(src).([]float32), 1, float32(b), H, W)
		return
	}
	ow := W / 2
	for py := range H / 2 {
		r0, r1 := src[2*py*W:][:2*ow], src[(2*py+1)*W:][:2*ow]
		d, a := dst[py*ow:][:ow], arg[py*ow:][:ow]
		for px := range d {
			v0, v1, v2, v3 := r0[2*px]+b, r0[2*px+1]+b, r1[2*px]+b, r1[2*px+1]+b
			run, bi := v0, int32(0)
			bi = pickInt(!(v1 <= run), 1, bi)
			run = max(run, v1)
			bi = pickInt(!(v2 <= run), 2, bi)
			run = max(run, v2)
			bi = pickInt(!(v3 <= run), 3, bi)
			best := [4]F{v0, v1, v2, v3}[bi]
			if sum := v0 + v1 + v2 + v3; sum != sum {
				best, bi = v0, 0
				for k, v := range [3]F{v1, v2, v3} {
					if v > best || v != v {
						best, bi = v, int32(k+1)
					}
				}
			}
			d[px], a[px] = max(best, 0), uint8(bi)
		}
	}
}

// batchNormTrain is a BatchNorm's training forward pass on a batch seen whole: its moments,
// statistics (kept in mean and invstd [C] for the backward pass, the running ones updated)
// and normalisation, with what is fused after it; scale and shift [C] are scratch.
func batchNormTrain[F float](y []F, arg []uint8, mean, invstd, scale, shift []float64, m []moments, x, gamma, beta []F, B, C, H, W int, st bnStats[F], momentum, eps float64, fused bnFused, sc *bnScratch[F]) {
	batchNormMoments(m, x, B, C, H*W)
	batchNormStatistics(mean, invstd, m, st, momentum, eps)
	batchNormAffine(scale, shift, mean, invstd, gamma, beta)
	batchNormApply(y, arg, x, scale, shift, B, C, H, W, fused, sc)
}

// batchNormEvalAffine writes the scale and shift [C] of evaluation: by the running statistics.
func batchNormEvalAffine[F float](scale, shift []float64, gamma, beta []F, st bnStats[F], eps float64) {
	for c := range scale {
		scale[c] = float64(gamma[c]) / math.Sqrt(float64(st.variance[c])+eps)
		shift[c] = float64(beta[c]) - float64(st.mean[c])*scale[c]
	}
}

// bnGradSums adds each channel's Σdy and Σdy·x̂ into sumDy and sumDyXhat [C], dy being the
// gradient of the BatchNorm's own output, from the gradient dy of its node's output [B,...]:
// for a fused ReLU it first masks dy in place (where y is not positive); for a fused ReLU and
// pooling only each window's winner carries a gradient, so the sums run over the pooled
// outputs (y, arg) and the full-size gradient is never stored.
func bnGradSums[F float](sumDy, sumDyXhat []float64, dy, y []F, arg []uint8, x []F, mean, invstd []float64, B, C, H, W int, fused bnFused) {
	switch fused {
	case bnReLU:
		reluMask(dy, y)
	case bnReLUPool:
		hw, ph := H*W, (H/2)*(W/2)
		for c := range C {
			var sd, sdx float64
			for i := range B {
				p := i*C + c
				d, dx := bnPoolPlaneSums(x[p*hw:][:hw], dy[p*ph:][:ph], y[p*ph:][:ph], arg[p*ph:][:ph], mean[c], H, W)
				sd += d
				sdx += dx
			}
			sumDy[c] += sd
			sumDyXhat[c] += sdx * invstd[c]
		}
		return
	}
	batchNormGradSums(sumDy, sumDyXhat, dy, x, mean, invstd, B, C, H*W)
}

// bnPoolPlaneSums is Σg and Σg·(x−mu) in float64 over one plane's 2x2 windows, x [H,W] the
// BatchNorm's input, g the pooled gradient dy where the pooled output y is positive (else 0)
// and x at the window's winner (arg); float32 on package kernels' loop.
func bnPoolPlaneSums[F float](x, dy, y []F, arg []uint8, mu float64, H, W int) (sd, sdx float64) {
	if x32, ok := any(x).([]float32); ok {
		return kernels.BNPoolSums(x32, any(dy).([]float32), any(y).([]float32), arg, mu, H, W)
	}
	ow := W / 2
	for py := range H / 2 {
		g, yy, a := dy[py*ow:][:ow], y[py*ow:][:ow], arg[py*ow:][:ow]
		yy, a = yy[:len(g)], a[:len(g)]
		r := x[2*py*W:][:2*W]
		for px, v := range g {
			v = passIfPositive(v, yy[px])
			xw := r[2*px+int(a[px]&1)+int(a[px]>>1)*W]
			sd += float64(v)
			sdx += float64(float64(v) * (float64(xw) - mu))
		}
	}
	return sd, sdx
}

// oneIf is 1 if c, else 0, without a branch.
func oneIf(c bool) int {
	i := 0
	if c {
		i = 1
	}
	return i
}

// passIfPositive is g where y > 0, else 0: a ReLU's backward, picked without a branch (a
// ReLU's output is positive at random, half the time).
func passIfPositive[F float](g, y F) F {
	i := 0
	if y > 0 {
		i = 1
	}
	return [2]F{0, g}[i]
}

// bnInputGrad is batchNormInputGrad for dy as bnGradSums left it: for a fused ReLU and
// pooling, from the pooled gradient, the winners' terms added to the others'.
func bnInputGrad[F float](dx, dy, y []F, arg []uint8, x []F, mean, invstd, sumDy, sumDyXhat []float64, gamma []F, n float64, B, C, H, W int, fused bnFused) {
	if fused != bnReLUPool {
		batchNormInputGrad(dx, dy, x, mean, invstd, sumDy, sumDyXhat, gamma, n, B, C, H*W)
		return
	}
	hw, ph := H*W, (H/2)*(W/2)
	for c := range C {
		a, b, mu, e := bnInputGradConsts(gamma[c], mean[c], invstd[c], sumDy[c], sumDyXhat[c], n)
		for i := range B {
			p := i*C + c
			out := dx[p*hw:][:hw]
			for j, v := range x[p*hw:][:hw] {
				out[j] += -b - F((v-mu)*e)
			}
			bnPoolAddWinners(out, dy[p*ph:][:ph], y[p*ph:][:ph], arg[p*ph:][:ph], a, H, W)
		}
	}
}

// bnInputGradConsts are the constants of batchNormInputGrad's dx = a·dy − b − (x−mu)·e for a
// channel, from its statistics and sums over the batch's n values, in float64 and then in F.
func bnInputGradConsts[F float](gamma F, mean, invstd, sumDy, sumDyXhat, n float64) (a, b, mu, e F) {
	k := float64(gamma) * invstd / n
	return F(k * n), F(k * sumDy), F(mean), F(k * sumDyXhat * invstd)
}

// bnPoolAddWinners adds a·g into dx [H,W] at each 2x2 window's winner (arg), g the pooled
// gradient dy where the pooled output y is positive, and returns the sum of what it added.
func bnPoolAddWinners[F float](dx, dy, y []F, arg []uint8, a F, H, W int) (sum F) {
	ow := W / 2
	for py := range H / 2 {
		g, yy, wa := dy[py*ow:][:ow], y[py*ow:][:ow], arg[py*ow:][:ow]
		yy, wa = yy[:len(g)], wa[:len(g)]
		r := dx[2*py*W:][:2*W]
		for px, v := range g {
			t := a * passIfPositive(v, yy[px])
			r[2*px+int(wa[px]&1)+int(wa[px]>>1)*W] += t
			sum += t
		}
	}
	return sum
}

// bnPoolGrad is the backward pass of a BatchNorm with a ReLU and 2x2 pooling fused after it,
// for the stride-1 convolution before it to take plane by plane (convOut.next): the
// BatchNorm's input gradient goes straight into the convolution's GEMM layout, and the
// full-size gradient is never stored.
type bnPoolGrad[F float] struct {
	x, y, dy    []F     // the BatchNorm's input [B,C,H,W]; its node's output and its gradient [B,C,H/2,W/2]
	arg         []uint8 // the windows' winners
	a, b, mu, e []F     // [C] bnInputGradConsts
	C, H, W     int
}

func (g *bnPoolGrad[F]) grad(dst []F, img, c int) F {
	hw, ph := g.H*g.W, (g.H/2)*(g.W/2)
	p := img*g.C + c
	b, mu, e := g.b[c], g.mu[c], g.e[c]
	x := g.x[p*hw:][:hw]
	dst = dst[:len(x)]
	dy, y, arg := g.dy[p*ph:][:ph], g.y[p*ph:][:ph], g.arg[p*ph:][:ph]
	if d, ok := any(dst).([]float32); ok {
		// −b − (x−mu)·e, each operation rounded as below, and the winners' a·g, in one pass.
		return F(kernels.BNPoolGrad(d, any(x).([]float32), any(dy).([]float32), any(y).([]float32), arg,
			float32(g.a[c]), -float32(b), float32(mu), float32(e), g.H, g.W))
	}
	// The conversions round each product on its own, as the vector loops do: without them
	// the compiler may fuse the multiply and the subtraction (it does on arm64).
	var s0, s1 F
	j := 0
	for ; j+2 <= len(x); j += 2 {
		t0, t1 := -b-F((x[j]-mu)*e), -b-F((x[j+1]-mu)*e)
		dst[j], dst[j+1] = t0, t1
		s0 += t0
		s1 += t1
	}
	for ; j < len(x); j++ {
		t := -b - F((x[j]-mu)*e)
		dst[j] = t
		s0 += t
	}
	return s0 + s1 + bnPoolAddWinners(dst, dy, y, arg, g.a[c], g.H, g.W)
}

// reluMask zeroes dy where the ReLU's output y is not positive: the gradient of a fused ReLU.
func reluMask[F float](dy, y []F) {
	if d, ok := any(dy).([]float32); ok {
		kernels.ReLUBackward(d, d, any(y).([]float32)) // element by element: in place is fine
		return
	}
	y = y[:len(dy)]
	for i, v := range y {
		if !(v > 0) {
			dy[i] = 0
		}
	}
}

// batchNormGradSums adds each channel's Σdy and Σdy·x̂ over the B images of dy and x [B,C,HW]
// into sumDy and sumDyXhat [C] (x̂ the normalised input), in float64.
func batchNormGradSums[F float](sumDy, sumDyXhat []float64, dy, x []F, mean, invstd []float64, B, C, HW int) {
	for c := range C {
		mu, is := mean[c], invstd[c]
		var sd, sdx float64
		for i := range B {
			xs, ds := x[(i*C+c)*HW:][:HW], dy[(i*C+c)*HW:][:HW]
			xs = xs[:len(ds)]
			for j, g := range ds {
				sd += float64(g)
				sdx += float64(float64(g) * (float64(xs[j]) - mu))
			}
		}
		sumDy[c] += sd
		sumDyXhat[c] += sdx * is
	}
}

// batchNormInputGrad adds dx += gamma·invstd/n · (n·dy − Σdy − x̂·Σdy·x̂) for the B images of
// dy and x [B,C,HW], n the whole batch's values per channel and the sums the whole batch's:
// the gradient through the batch statistics.
func batchNormInputGrad[F float](dx, dy, x []F, mean, invstd, sumDy, sumDyXhat []float64, gamma []F, n float64, B, C, HW int) {
	for c := range C {
		// The constants in float64, the elements in F.
		k := float64(gamma[c]) * invstd[c] / n
		a, b := F(k*n), F(k*sumDy[c])
		mu, e := F(mean[c]), F(k*sumDyXhat[c]*invstd[c])
		for i := range B {
			xs, ds, out := x[(i*C+c)*HW:][:HW], dy[(i*C+c)*HW:][:HW], dx[(i*C+c)*HW:][:HW]
			xs, out = xs[:len(ds)], out[:len(ds)]
			for j, g := range ds {
				out[j] += F(a*g) - b - F((xs[j]-mu)*e)
			}
		}
	}
}

// batchNormBackward is the backward pass on a batch seen whole, dy the gradient of the
// BatchNorm node's output (y, arg: what is fused, as bnGradSums): dgamma [C] += Σ dy·x̂,
// dbeta [C] += Σ dy and, unless dx is nil, dx as batchNormInputGrad. sumDy and sumDyXhat [C]
// are scratch.
func batchNormBackward[F float](dx, dgamma, dbeta, dy, y []F, arg []uint8, x []F, mean, invstd, sumDy, sumDyXhat []float64, gamma []F, B, C, H, W int, fused bnFused) {
	clear(sumDy)
	clear(sumDyXhat)
	bnGradSums(sumDy, sumDyXhat, dy, y, arg, x, mean, invstd, B, C, H, W, fused)
	for c := range C {
		dgamma[c] += F(sumDyXhat[c])
		dbeta[c] += F(sumDy[c])
	}
	if dx != nil {
		bnInputGrad(dx, dy, y, arg, x, mean, invstd, sumDy, sumDyXhat, gamma, float64(B*H*W), B, C, H, W, fused)
	}
}

// dropoutForward: y [N] = x·mask/(1−p), mask [N] holding 1 for the kept elements and 0 for
// the dropped, as PyTorch's dropout does with its Bernoulli(1−p) mask. Each element is one
// product with 0 or 1/(1−p), which x·mask·(1/(1−p)) rounds to as well (x·1 and x·0 are exact).
func dropoutForward[F float](y, x []F, mask []uint8, N int, p float64) {
	keep := [2]F{0, F(1 / (1 - p))}
	y, mask = y[:N], mask[:N]
	for i, v := range x[:N] {
		y[i] = v * keep[mask[i]&1]
	}
}

// dropoutBackward: dx [N] += dy·mask/(1−p).
func dropoutBackward[F float](dx, dy []F, mask []uint8, N int, p float64) {
	keep := [2]F{0, F(1 / (1 - p))}
	dx, mask = dx[:N], mask[:N]
	for i, g := range dy[:N] {
		dx[i] += F(g * keep[mask[i]&1])
	}
}

// concatForward copies part [B,Cp,HW] into channels off..off+Cp of y [B,Ct,HW].
func concatForward[F float](y, part []F, B, Ct, Cp, off, HW int) {
	for i := range B {
		copy(y[(i*Ct+off)*HW:][:Cp*HW], part[i*Cp*HW:][:Cp*HW])
	}
}

// concatBackward: dpart [B,Cp,HW] += channels off..off+Cp of dy [B,Ct,HW].
func concatBackward[F float](dpart, dy []F, B, Ct, Cp, off, HW int) {
	for i := range B {
		addTo(dpart[i*Cp*HW:][:Cp*HW], dy[(i*Ct+off)*HW:][:Cp*HW])
	}
}

// addTo: dst [N] += src [N].
func addTo[F float](dst, src []F) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] += v
	}
}
