package engine

import "math"

// The layers a network declared in config.yaml (package network) may use beyond those of the
// built-in models, in the style of layers.go: forward and backward functions over flat,
// batch-major slices (NCHW for feature maps), with the shapes beside them. B is the number of
// images. Forward functions overwrite their output; backward functions ADD into the gradients
// they produce (the caller zeroes them once before a backward pass). A nil input gradient is
// skipped.

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

// batchNormTrain: y [B,C,HW] = gamma·(x−μ)/√(σ²+eps) + beta with μ, σ² the mean and biased
// variance of each channel over the batch and the plane (HW is 1 after a linear layer:
// BatchNorm1d). It keeps μ and 1/√(σ²+eps) in mean and invstd [C] for the backward pass, and
// moves the running statistics toward the batch's as PyTorch does: r = (1−m)·r + m·batch,
// with the unbiased variance (×n/(n−1)) for running_var, and counts the batch. Sums run in
// float64.
func batchNormTrain[F float](y, mean, invstd, x, gamma, beta []F, B, C, HW int, st bnStats[F], momentum, eps float64) {
	n := B * HW
	for c := range C {
		var sum float64
		for i := range B {
			for _, v := range x[(i*C+c)*HW:][:HW] {
				sum += float64(v)
			}
		}
		mu := sum / float64(n)
		var sq float64
		for i := range B {
			for _, v := range x[(i*C+c)*HW:][:HW] {
				d := float64(v) - mu
				sq += d * d
			}
		}
		variance := sq / float64(n)
		is := 1 / math.Sqrt(variance+eps)
		mean[c], invstd[c] = F(mu), F(is)
		scale, shift := float64(gamma[c])*is, float64(beta[c])
		for i := range B {
			src, dst := x[(i*C+c)*HW:][:HW], y[(i*C+c)*HW:][:HW]
			for j, v := range src {
				dst[j] = F((float64(v)-mu)*scale + shift)
			}
		}
		unbiased := variance // one value per channel has no spread to correct (PyTorch refuses it)
		if n > 1 {
			unbiased = sq / float64(n-1)
		}
		st.mean[c] = F((1-momentum)*float64(st.mean[c]) + momentum*mu)
		st.variance[c] = F((1-momentum)*float64(st.variance[c]) + momentum*unbiased)
	}
	*st.tracked++
}

// batchNormEval: y [B,C,HW] = gamma·(x−running_mean)/√(running_var+eps) + beta.
func batchNormEval[F float](y, x, gamma, beta []F, B, C, HW int, st bnStats[F], eps float64) {
	for c := range C {
		is := 1 / math.Sqrt(float64(st.variance[c])+eps)
		scale := float64(gamma[c]) * is
		shift := float64(beta[c]) - float64(st.mean[c])*scale
		for i := range B {
			src, dst := x[(i*C+c)*HW:][:HW], y[(i*C+c)*HW:][:HW]
			for j, v := range src {
				dst[j] = F(float64(v)*scale + shift)
			}
		}
	}
}

// batchNormBackward adds, for dy [B,C,HW] and batchNormTrain's mean and invstd: dgamma [C] +=
// Σ dy·x̂, dbeta [C] += Σ dy and dx += gamma·invstd/n · (n·dy − Σdy − x̂·Σ dy·x̂), x̂ the
// normalised input, n = B·HW: the gradient through the batch statistics.
func batchNormBackward[F float](dx, dgamma, dbeta, dy, x, mean, invstd, gamma []F, B, C, HW int) {
	n := float64(B * HW)
	for c := range C {
		mu, is := float64(mean[c]), float64(invstd[c])
		var sumDy, sumDyXhat float64
		for i := range B {
			xs, ds := x[(i*C+c)*HW:][:HW], dy[(i*C+c)*HW:][:HW]
			for j, g := range ds {
				sumDy += float64(g)
				sumDyXhat += float64(g) * (float64(xs[j]) - mu) * is
			}
		}
		dgamma[c] += F(sumDyXhat)
		dbeta[c] += F(sumDy)
		if dx == nil {
			continue
		}
		k := float64(gamma[c]) * is / n
		for i := range B {
			xs, ds, out := x[(i*C+c)*HW:][:HW], dy[(i*C+c)*HW:][:HW], dx[(i*C+c)*HW:][:HW]
			for j, g := range ds {
				xhat := (float64(xs[j]) - mu) * is
				out[j] += F(k * (n*float64(g) - sumDy - xhat*sumDyXhat))
			}
		}
	}
}

// dropoutForward: y [N] = x·mask/(1−p), mask [N] holding 1 for the kept elements and 0 for
// the dropped, as PyTorch's dropout does with its Bernoulli(1−p) mask.
func dropoutForward[F float](y, x []F, mask []uint8, N int, p float64) {
	scale := F(1 / (1 - p))
	for i, v := range x[:N] {
		y[i] = v * F(mask[i]) * scale
	}
}

// dropoutBackward: dx [N] += dy·mask/(1−p).
func dropoutBackward[F float](dx, dy []F, mask []uint8, N int, p float64) {
	scale := F(1 / (1 - p))
	for i, g := range dy[:N] {
		dx[i] += g * F(mask[i]) * scale
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
