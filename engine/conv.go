package engine

import "mnist-tui/engine/kernels"

// Convolution as im2col + GEMM (stride 1, zero padding), with the layer that follows it fused in.
//
// A chunk of images goes through in groups of a few images. For a group of G images and
// n = G*OH*OW output pixels:
//
//	col [C*K*K, n]   column (i,oy,ox) holds the C*K*K input values its output pixel sees
//	tmp [OC, n]      = w [OC, C*K*K] · col
//
// One GEMM with a long n does the arithmetic. A group is sized so that col and tmp stay in the
// L2 cache between im2col, the GEMM and the pass that reads tmp (see groupSize): built
// for the whole chunk at once they would make a round trip through memory.
//
// The pass that reads tmp back into batch-major NCHW is where the next layer is fused in (the
// convolution's "activation", convAct): bias, ReLU, a residual addition, 2x2 max pooling. A fused
// layer's input is never stored, and its backward pass is folded into the pass that regroups
// the output gradient into tmp's layout for the backward GEMMs.

// convShape is the geometry of one Conv2d with stride 1 and Pad zeros on every side.
type convShape struct {
	C, OC int // input and output channels
	H, W  int // input height and width
	K     int // kernel height and width
	Pad   int
}

func (s convShape) OH() int { return s.H + 2*s.Pad - s.K + 1 }
func (s convShape) OW() int { return s.W + 2*s.Pad - s.K + 1 }

// rows is the length of one im2col column: the values one output pixel sees.
func (s convShape) rows() int { return s.C * s.K * s.K }

const (
	// colBudget bounds a group's im2col matrix (in floats: 384 KB) so that it and the GEMM's
	// output stay in the 1 MB L2 cache from the moment they are written to the moment they
	// are read.
	colBudget = 96 * 1024
	// minGroupPixels is the fewest output pixels a group holds even when its im2col matrix
	// exceeds colBudget: the weight gradient is made of dot products along the pixels, and
	// much shorter ones spend their time summing up rather than multiplying.
	minGroupPixels = 256
)

// groupSize returns how many images of a chunk of B go through the GEMMs of s at once: as many
// as keep the im2col matrix within budget floats, but at least enough for minPixels output
// pixels, and at least one.
func groupSize(s convShape, B, budget, minPixels int) int {
	hw := s.OH() * s.OW()
	g := max(budget/(s.rows()*hw), (minPixels+hw-1)/hw, 1)
	return min(g, max(B, 1))
}

// convAct is what a convolution's forward pass does with its output before storing it.
type convAct int

const (
	actNone     convAct = iota // y = conv(x) + b
	actReLU                    // y = relu(conv(x) + b)
	actAddReLU                 // y = relu(conv(x) + b + skip), a residual block's end
	actReLUPool                // y = maxpool2(relu(conv(x) + b)), with the winners in arg
)

// convOut describes where and how a convolution stores its output y, and so where its backward
// pass finds the output gradient dy (laid out as y) and what it needs to undo the activation.
type convOut[F float] struct {
	act convAct
	// y is [B, ct, OH, OW] and the convolution writes channels off..off+OC (a branch of a
	// channel concatenation). For actReLUPool y is [B, OC, OH/2, OW/2], ct and off unused.
	y       []F
	ct, off int
	skip    []F     // actAddReLU: the residual input, laid out as y
	arg     []uint8 // actReLUPool: which element of each 2x2 window won, 0-3 in row-major order
	// next, for actNone, is a layer after the convolution that conv.go does not know (a custom
	// network's BatchNorm) and whose backward pass writes the convolution's output gradient
	// plane by plane: convBackward takes it from there rather than from dy, which is unused.
	next planeGrad[F]
}

// planeGrad is a layer fused after a convolution (convOut.next).
type planeGrad[F float] interface {
	// grad writes into dst the gradient of the convolution's output plane oc of image img (of
	// the chunk) and returns its sum.
	grad(dst []F, img, oc int) F
}

// out is the convOut for a convolution that owns all the channels of y.
func out[F float](act convAct, y []F, s convShape) convOut[F] {
	return convOut[F]{act: act, y: y, ct: s.OC}
}

// convForward runs a convolution of x [B,C,H,W] with w [OC,C,K,K] and bias b [OC] and stores
// the result as o says.
func convForward[F float](o convOut[F], x, w, b []F, B int, s convShape, sc *scratch[F]) {
	hw, k, inSize := s.OH()*s.OW(), s.rows(), s.C*s.H*s.W
	G := sc.group(s, B)
	for i0 := 0; i0 < B; i0 += G {
		g := min(G, B-i0)
		n := g * hw
		col, tmp := sc.col[:k*n], sc.tmp[:s.OC*n]
		xg := x[i0*inSize : (i0+g)*inSize]
		switch {
		case conv1Direct(tmp, xg, w, g, s):
		case directGroup(s, g, sc):
			// Every group multiplies by the same weights: they are packed for the first only.
			directConv(tmp, n, xg, w, i0 == 0, g, s, sc)
		default:
			im2col(col, xg, g, s, sc.pad)
			gemmSameA(sc.gemm, i0 > 0, false, false, s.OC, n, k, w, k, col, n, 0, tmp, n)
		}
		for oc := range s.OC {
			for i := range g {
				src := tmp[oc*n+i*hw:][:hw]
				img := i0 + i
				switch o.act {
				case actNone:
					biasPlane(o.y[(img*o.ct+o.off+oc)*hw:][:hw], src, b[oc])
				case actReLU:
					biasReLUPlane(o.y[(img*s.OC+oc)*hw:][:hw], src, b[oc])
				case actAddReLU:
					at := (img*s.OC + oc) * hw
					biasAddReLUPlane(o.y[at:][:hw], src, o.skip[at:][:hw], b[oc])
				case actReLUPool:
					ph := (s.OH() / 2) * (s.OW() / 2)
					at := (img*s.OC + oc) * ph
					biasReLUPoolPlane(o.y[at:][:ph], o.arg[at:][:ph], src, b[oc], s.OH(), s.OW())
				}
			}
		}
	}
}

// conv1Direct computes tmp [OC, G*OH*OW] = w · im2col(x) for the G images of x when the
// convolution has a single input channel (the models' first layers), straight from the images
// with kernels.Conv1, which gives the GEMM's bits without building the im2col matrix. It
// reports whether it did: float32 only, unpadded, and rows as wide as Conv1's kernels take.
func conv1Direct[F float](tmp, x, w []F, G int, s convShape) bool {
	t32, ok := any(tmp).([]float32)
	if !ok || s.C != 1 || s.Pad != 0 || !kernels.Conv1Fast(s.OW(), s.K) {
		return false
	}
	x32, w32 := any(x).([]float32), any(w).([]float32)
	hw := s.OH() * s.OW()
	for i := range G {
		kernels.Conv1(t32[i*hw:], G*hw, x32[i*s.H*s.W:], s.H, s.W, w32, s.OC, s.K)
	}
	return true
}

// conv1GradDirect adds dw += tmp · im2col(x)ᵀ, the weight gradient, for the G images of x
// straight from the images (kernels.Conv1Grad) when conv1Direct would compute the forward
// pass; it reports whether it did. The sums run in another order than the GEMM's (float
// rounding).
func conv1GradDirect[F float](dw, tmp, x []F, G int, s convShape) bool {
	t32, ok := any(tmp).([]float32)
	if !ok || s.C != 1 || s.Pad != 0 || !kernels.Conv1Fast(s.OW(), s.K) {
		return false
	}
	kernels.Conv1Grad(any(dw).([]float32), t32, G*s.OH()*s.OW(), any(x).([]float32), G, s.H, s.W, s.OC, s.K)
	return true
}

// directForward reports whether convForward computes s straight from the images
// (kernels.ConvDirect) rather than by im2col and a GEMM: multi-channel convolutions wider than
// 1x1, when the kernel set runs ConvDirect's kernels for their output size. ConvDirect reads a
// K times smaller copy of the input than the im2col matrix, and its tiles read it in place
// instead of packing it. (For float32 only: the float64 of the gradient checks takes the GEMM.)
func directForward(s convShape) bool {
	return s.C > 1 && s.K > 1 && kernels.ConvDirectFast(s.OH()*s.OW())
}

// directGroup reports whether convForward runs a group of g images of s on kernels.ConvDirect:
// directForward holds, the engine runs in float32 and the scratch was sized for it (under the
// kernel set it was made with).
func directGroup[F float](s convShape, g int, sc *scratch[F]) bool {
	_, ok := any(sc.col).([]float32)
	return ok && directForward(s) && len(sc.packed) >= kernels.ConvPackedSize(s.OC, s.C, s.K) &&
		len(sc.col) >= kernels.ConvDirectBuf(g, s.C, s.H, s.W, s.K, s.Pad)
}

// directConv writes tmp [OC, n] = w · im2col(xg) for the g images of xg with kernels.ConvDirect
// (directGroup holds), packing w into the scratch first if pack.
func directConv[F float](tmp []F, n int, xg, w []F, pack bool, g int, s convShape, sc *scratch[F]) {
	packed := any(sc.packed).([]float32)
	if pack {
		kernels.ConvPackWeights(packed, any(w).([]float32), s.OC, s.C, s.K)
	}
	kernels.ConvDirect(any(tmp).([]float32), n, any(xg).([]float32), s.C*s.H*s.W, s.H*s.W, packed, g, s.C, s.H, s.W, s.OC, s.K, s.Pad, any(sc.col).([]float32))
}

// inputGrad adds to dx the input gradient of images i0..i0+g of a chunk from their output
// gradient dyg (channel-major: channel oc of the group's image i at dyg[oc*ld + i*OH*OW]):
// dcol = wᵀ · dyg, with wᵀ packed for the first group only (the dW product between the groups'
// is a dot product, which packs nothing), added up into dx by col2im. Same-size convolutions
// on a kernel set with ConvDirect's kernels take directInputGrad instead.
func inputGrad[F float](dx, dyg []F, ld, i0, g int, w []F, s convShape, sc *scratch[F]) {
	if directInputGroup(s, g, sc) {
		directInputGrad(dx, dyg, ld, i0, g, w, s, sc)
		return
	}
	n, k, inSize := g*s.OH()*s.OW(), s.rows(), s.C*s.H*s.W
	col := sc.col[:k*n]
	gemmSameA(sc.gemm, i0 > 0, true, false, k, n, s.OC, w, k, dyg, ld, 0, col, n)
	col2im(dx[i0*inSize:(i0+g)*inSize], col, g, s, sc.pad)
}

// directBackward reports whether convBackward takes the input gradient of s straight from the
// output gradient (kernels.ConvDirect) rather than by a GEMM into an im2col-shaped matrix and
// col2im: for same-size convolutions (padded by (K-1)/2), whose input gradient is itself a
// same-size convolution of the output gradient (see kernels.ConvPackWeightsAdjoint), when the
// kernel set runs ConvDirect's kernels for their size. That reads the output gradient K times
// over instead of writing and reading back a matrix K*K times the input's size.
func directBackward(s convShape) bool {
	return s.K > 1 && s.OH() == s.H && s.OW() == s.W && kernels.ConvDirectFast(s.H*s.W)
}

// directInputBuf is how much of the scratch's col directInputGrad uses for g images:
// ConvDirect's buffer, then the input gradient [C, g*H*W].
func directInputBuf(g int, s convShape) (buf, total int) {
	buf = kernels.ConvDirectBuf(g, s.OC, s.H, s.W, s.K, s.Pad)
	return buf, buf + s.C*g*s.H*s.W
}

// directInputGroup reports whether inputGrad takes a group of g images of s with
// directInputGrad: directBackward holds, the engine runs in float32 and the scratch was sized
// for it. It holds for every group of a chunk if it holds for the first, the largest.
func directInputGroup[F float](s convShape, g int, sc *scratch[F]) bool {
	_, ok := any(sc.col).([]float32)
	_, total := directInputBuf(g, s)
	return ok && directBackward(s) && len(sc.packed) >= kernels.ConvPackedSize(s.C, s.OC, s.K) && len(sc.col) >= total
}

// directInputGrad is inputGrad by kernels.ConvDirect (directInputGroup holds): the output
// gradient convolved with the adjoint's weights, packed for the first group only, into the
// channel-major [C, g*H*W] ConvDirect writes, which is then added into dx's NCHW planes.
func directInputGrad[F float](dx, dyg []F, ld, i0, g int, w []F, s convShape, sc *scratch[F]) {
	hw, inSize := s.H*s.W, s.C*s.H*s.W
	n := g * hw
	packed, col := any(sc.packed).([]float32), any(sc.col).([]float32)
	if i0 == 0 {
		kernels.ConvPackWeightsAdjoint(packed, any(w).([]float32), s.OC, s.C, s.K)
	}
	bufLen, total := directInputBuf(g, s)
	grad := col[bufLen:total]
	kernels.ConvDirect(grad, n, any(dyg).([]float32), hw, ld, packed, g, s.OC, s.H, s.W, s.C, s.K, s.Pad, col[:bufLen])
	// Channel c of image i: grad[c*n + i*hw:] onto dx[(i0+i)*inSize + c*hw:], hw floats.
	kernels.Col2imRows(any(dx[i0*inSize:]).([]float32), grad, s.C, hw, n, 1, 0, g, inSize, hw, hw, hw, 1, hw)
}

// convGradWhole reports whether convBackward takes the weight gradient of s from the images
// (kernels.ConvGrad) rather than from the im2col matrix: for multi-channel 5x5 and 3x3
// convolutions, padded or not, on a kernel set that runs ConvGrad's kernels for their output
// size. Single-channel ones have conv1GradDirect. It runs over the whole chunk at once, so the
// chunk's output gradient goes into tmp at once (scratchSizes sizes tmp for it). On 16-image
// chunks (CPU time, one process alternating both paths 40 times) the backward passes of the
// models' 5x5 layers ran 1.10-1.35x faster, their 3x3 ones on 12x12 images 1.03-1.10x and on
// 4x4 images 1.02-1.03x.
func convGradWhole(s convShape) bool {
	return s.C > 1 && (s.K == 5 || s.K == 3) && kernels.ConvGradFast(s.OH(), s.OW())
}

// convGradChunk reports whether convBackward takes the weight gradient of s for a chunk of B
// images from the images: convGradWhole holds, the engine runs in float32 and the scratch has
// room for the chunk's output gradient and ConvGrad's buffer.
func convGradChunk[F float](s convShape, B int, sc *scratch[F]) bool {
	_, ok := any(sc.tmp).([]float32)
	return ok && B > 0 && convGradWhole(s) && len(sc.tmp) >= s.OC*B*s.OH()*s.OW() && len(sc.col) >= kernels.ConvGradBuf(B, s.H, s.W, s.K, s.Pad)
}

// convGradDirect adds dw += tmp · im2col(x)ᵀ, tmp being [OC, B*OH*OW] with rows ld floats
// apart, for the B images of x with kernels.ConvGrad, buf its buffer, when convGradChunk holds.
// The sums run in another order than the GEMM's (float rounding; see
// TestConvGradDirectMatchesGEMM).
func convGradDirect[F float](dw, tmp []F, ld int, x []F, B int, s convShape, buf []F) {
	kernels.ConvGrad(any(dw).([]float32), any(tmp).([]float32), ld, any(x).([]float32), B, s.C, s.H, s.W, s.OC, s.K, s.Pad, any(buf).([]float32))
}

// convBackward adds the convolution's gradients for the output gradient dy (laid out as o.y):
// dw [OC,C,K,K] and db [OC], the input gradient dx [B,C,H,W] unless dx is nil (the first
// layer, whose input is the data) and, for actAddReLU, the residual input's gradient dskip.
// o, x and w are the forward pass's.
func convBackward[F float](o convOut[F], dy, dskip, x, w, dx, dw, db []F, B int, s convShape, sc *scratch[F]) {
	if convGradChunk(s, B, sc) {
		convBackwardWhole(o, dy, dskip, x, w, dx, dw, db, B, s, sc)
		return
	}
	hw, k, inSize := s.OH()*s.OW(), s.rows(), s.C*s.H*s.W
	G := sc.group(s, B)
	for i0 := 0; i0 < B; i0 += G {
		g := min(G, B-i0)
		n := g * hw
		col, tmp := sc.col[:k*n], sc.tmp[:s.OC*n]
		gradOut(o, dy, dskip, tmp, n, i0, g, db, s)

		// col is rebuilt rather than kept from the forward pass: from an input in cache that is
		// a copy, cheaper than reading back a matrix K*K times the input's size from memory.
		xg := x[i0*inSize : (i0+g)*inSize]
		if !conv1GradDirect(dw, tmp, xg, g, s) {
			im2col(col, xg, g, s, sc.pad)
			gemm(sc.gemm, false, true, s.OC, k, n, tmp, n, col, n, 1, dw, k) // dw += tmp · colᵀ
		}
		if dx != nil {
			inputGrad(dx, tmp, n, i0, g, w, s, sc)
		}
	}
}

// convBackwardWhole is convBackward when the weight gradient comes from the images
// (convGradChunk): the whole chunk's output gradient goes into tmp first, [OC, B*OH*OW], the
// weight gradient is taken from it and the images at once, and the input gradient's GEMMs
// then read their groups' columns of it.
func convBackwardWhole[F float](o convOut[F], dy, dskip, x, w, dx, dw, db []F, B int, s convShape, sc *scratch[F]) {
	hw, inSize := s.OH()*s.OW(), s.C*s.H*s.W
	G := sc.group(s, B)
	ld := B * hw
	tmp := sc.tmp[:s.OC*ld]
	for i0 := 0; i0 < B; i0 += G {
		// Group by group, so that the bias gradient sums as convBackward's do.
		gradOut(o, dy, dskip, tmp[i0*hw:], ld, i0, min(G, B-i0), db, s)
	}
	convGradDirect(dw, tmp, ld, x[:B*inSize], B, s, sc.col)
	if dx == nil {
		return
	}
	if o.act == actReLUPool {
		if sp := sc.sparseFor(s); sp != nil {
			sparseInputGrad(any(dx).([]float32), any(dy).([]float32), any(o.y).([]float32), o.arg, any(w).([]float32), B, s, sp)
			return
		}
	}
	// The input gradient goes by groups within the im2col budget alone: minGroupPixels is for
	// the weight gradient's dot products, which this path does not run, and it made inception's
	// conv2 write 2.25 MB matrices (four images), past L2, for col2im to read back.
	gdx := groupSize(s, B, sc.budget, 0)
	for i0 := 0; i0 < B; i0 += gdx {
		inputGrad(dx, tmp[i0*hw:], ld, i0, min(gdx, B-i0), w, s, sc)
	}
}

// sparseBackward reports whether convBackward takes the input gradient of s, when ReLU and
// 2x2 max pooling follow it, from the nonzeros of its output gradient alone
// (kernels.SparseInputGrad): a pooling window passes its gradient to one pixel, or to none
// where the ReLU was off, so three quarters or more of the output gradient are zeros, which
// the dense GEMM and col2im multiply all the same. For unpadded convolutions wider than 1x1
// with at least 16 input channels, a whole vector of SparseInputGrad's (inception's and the
// residual net's second layers, not the cnn's 10), on a kernel set that runs its kernels.
// Backward passes of 32 images, the layer's time by the GEMM over that by SparseInputGrad
// (medians of 200 alternations in one process, with random data, whose ReLUs pass 94 % of the
// windows where a trained net's pass fewer): inception's conv2 1.30, the residual net's 1.10,
// the cnn's 0.955.
func sparseBackward(s convShape) bool {
	return s.C >= 16 && s.Pad == 0 && s.K > 1 && kernels.SparseInputGradFast(s.C, s.H, s.W)
}

// sparseInputGrad adds to dx [B,C,H,W] the input gradient of a convolution followed by ReLU
// and 2x2 max pooling from its pooled gradient dy, the pooled output y and the windows'
// winners arg (laid out as y): each window's gradient goes to its winner where the ReLU was on
// (as in reluPoolBackPlane), given to sp as the image's nonzeros, channel by channel.
func sparseInputGrad(dx, dy, y []float32, arg []uint8, w []float32, B int, s convShape, sp *kernels.SparseInputGrad) {
	sp.PackWeights(w)
	ph, pw := s.OH()/2, s.OW()/2
	for i := range B {
		sp.Begin()
		for oc := range s.OC {
			at := (i*s.OC + oc) * ph * pw
			g, yy, win := dy[at:][:ph*pw], y[at:][:ph*pw], arg[at:][:ph*pw]
			for q, v := range g {
				if yy[q] > 0 && v != 0 {
					// The window's top-left pixel, then the winner's row and column in it.
					a := int(win[q])
					sp.Nonzero(2*(q/pw)+a>>1, 2*(q%pw)+a&1, oc, v)
				}
			}
		}
		sp.AddInto(dx[i*s.C*s.H*s.W:], s.H*s.W)
	}
}

// gradOut undoes the activation of images i0..i0+g of the chunk into tmp, rows ld floats
// apart: the gradient of conv(x) + b, channel-major like the forward GEMM's output, summing
// the bias gradient on the way (each group's sum added to db on its own, whatever tmp holds).
func gradOut[F float](o convOut[F], dy, dskip, tmp []F, ld, i0, g int, db []F, s convShape) {
	hw := s.OH() * s.OW()
	for oc := range s.OC {
		var sum F
		for i := range g {
			dst := tmp[oc*ld+i*hw:][:hw]
			img := i0 + i
			switch o.act {
			case actNone:
				if o.next != nil {
					sum += o.next.grad(dst, img, oc)
					continue
				}
				sum += copyPlane(dst, dy[(img*o.ct+o.off+oc)*hw:][:hw])
			case actReLU:
				at := (img*s.OC + oc) * hw
				sum += reluBackPlane(dst, dy[at:][:hw], o.y[at:][:hw])
			case actAddReLU:
				at := (img*s.OC + oc) * hw
				sum += addReLUBackPlane(dst, dskip[at:][:hw], dy[at:][:hw], o.y[at:][:hw])
			case actReLUPool:
				ph := (s.OH() / 2) * (s.OW() / 2)
				at := (img*s.OC + oc) * ph
				sum += reluPoolBackPlane(dst, dy[at:][:ph], o.y[at:][:ph], o.arg[at:][:ph], s.OH(), s.OW())
			}
		}
		db[oc] += sum
	}
}

// The per-plane passes between tmp's rows and NCHW tensors. Each handles one output channel of
// one image; bias b is the channel's. float32, the engine's type, runs on package kernels'
// vectorised versions; the float64 of the gradient checks on the plain loops here, which are
// the same definitions.

// biasPlane: dst = src + b.
func biasPlane[F float](dst, src []F, b F) {
	if d, ok := any(dst).([]float32); ok {
		kernels.AddBias(d, any(src).([]float32), float32(b))
		return
	}
	dst = dst[:len(src)]
	for j, v := range src {
		dst[j] = v + b
	}
}

// biasReLUPlane: dst = relu(src + b). NaN stays NaN, as in PyTorch.
func biasReLUPlane[F float](dst, src []F, b F) {
	if d, ok := any(dst).([]float32); ok {
		kernels.AddBiasReLU(d, any(src).([]float32), float32(b))
		return
	}
	dst = dst[:len(src)]
	for j, v := range src {
		dst[j] = max(v+b, 0)
	}
}

// biasAddReLUPlane: dst = relu(skip + (src + b)), in that order, as PyTorch adds the bias inside
// the convolution and the skip connection after it.
func biasAddReLUPlane[F float](dst, src, skip []F, b F) {
	if d, ok := any(dst).([]float32); ok {
		kernels.AddBiasSkipReLU(d, any(src).([]float32), any(skip).([]float32), float32(b))
		return
	}
	dst, skip = dst[:len(src)], skip[:len(src)]
	for j, v := range src {
		dst[j] = max(skip[j]+(v+b), 0)
	}
}

// biasReLUPoolPlane: dst [H/2,W/2] = relu of the maximum of each 2x2 window of src [H,W] + b,
// and arg the window position (0-3, row-major) of the maximum; an odd last row or column is
// dropped, as PyTorch's floor mode does. On ties the first element wins and a NaN wins (the
// last NaN, if several), which is PyTorch's rule (v > best || isnan(v)). ReLU and max pooling
// commute, so this is both relu-then-pool (the cnn) and pool-then-relu (the inception net).
//
// Rows of any width pool on package kernels' vector loops.
func biasReLUPoolPlane[F float](dst []F, arg []uint8, src []F, b F, H, W int) {
	if d, ok := any(dst).([]float32); ok {
		if W%8 != 0 { // scale 1: ReLUPool2's bits, on a kernel that takes rows of any width
			kernels.AffineReLUPool2(d, arg, any(src).([]float32), 1, float32(b), H, W)
			return
		}
		kernels.ReLUPool2(d, arg, any(src).([]float32), float32(b), H, W)
		return
	}
	ow := W / 2
	for py := range H / 2 {
		r0, r1 := src[2*py*W:][:2*ow], src[(2*py+1)*W:][:2*ow]
		d, a := dst[py*ow:][:ow], arg[py*ow:][:ow]
		for px := range d {
			best, at := r0[2*px]+b, uint8(0)
			if v := r0[2*px+1] + b; v > best || v != v {
				best, at = v, 1
			}
			if v := r1[2*px] + b; v > best || v != v {
				best, at = v, 2
			}
			if v := r1[2*px+1] + b; v > best || v != v {
				best, at = v, 3
			}
			d[px], a[px] = max(best, 0), at
		}
	}
}

// copyPlane: dst = src; returns Σ src.
func copyPlane[F float](dst, src []F) (sum F) {
	if d, ok := any(dst).([]float32); ok {
		return F(kernels.CopySum(d, any(src).([]float32)))
	}
	dst = dst[:len(src)]
	for j, g := range src {
		dst[j] = g
		sum += g
	}
	return sum
}

// reluBackPlane: dst = dy where the ReLU's output y > 0, else 0; returns Σ dst.
func reluBackPlane[F float](dst, dy, y []F) (sum F) {
	if d, ok := any(dst).([]float32); ok {
		return F(kernels.ReLUBackward(d, any(dy).([]float32), any(y).([]float32)))
	}
	dst, y = dst[:len(dy)], y[:len(dy)]
	for j, g := range dy {
		if !(y[j] > 0) {
			g = 0
		}
		dst[j] = g
		sum += g
	}
	return sum
}

// addReLUBackPlane: dst = dy where y > 0, else 0, and dskip += dst; returns Σ dst.
func addReLUBackPlane[F float](dst, dskip, dy, y []F) (sum F) {
	if d, ok := any(dst).([]float32); ok {
		return F(kernels.SkipReLUBackward(d, any(dskip).([]float32), any(dy).([]float32), any(y).([]float32)))
	}
	dst, dskip, y = dst[:len(dy)], dskip[:len(dy)], y[:len(dy)]
	for j, g := range dy {
		if !(y[j] > 0) {
			g = 0
		}
		dst[j] = g
		dskip[j] += g
		sum += g
	}
	return sum
}

// reluPoolBackPlane writes dst [H,W], the gradient of biasReLUPoolPlane's input: each pooled
// gradient dy goes to its window's winner when the pooled output y is positive, everything else
// is 0. Returns Σ dst.
func reluPoolBackPlane[F float](dst, dy, y []F, arg []uint8, H, W int) (sum F) {
	if d, ok := any(dst).([]float32); ok {
		return F(kernels.ReLUPool2Backward(d, any(dy).([]float32), any(y).([]float32), arg, H, W))
	}
	clear(dst[:H*W]) // an odd last row or column belongs to no window
	ow := W / 2
	for py := range H / 2 {
		g, yy, a := dy[py*ow:][:ow], y[py*ow:][:ow], arg[py*ow:][:ow]
		for px := range g {
			if yy[px] > 0 {
				sum += g[px]
				// The window's top-left element, then the winner's column and row in it.
				dst[2*py*W+2*px+int(a[px]&1)+int(a[px]>>1)*W] = g[px]
			}
		}
	}
	return sum
}

// padded is the geometry of the same convolution on images already padded with zeros.
func (s convShape) padded() convShape {
	return convShape{C: s.C, OC: s.OC, H: s.H + 2*s.Pad, W: s.W + 2*s.Pad, K: s.K}
}

// im2col fills col [C*K*K, G*OH*OW] for the G images of x [G,C,H,W]: row (c,kh,kw), column
// (i,oy,ox) holds x[i,c,oy+kh-Pad,ox+kw-Pad], or 0 where that falls in the padding. A padded
// convolution first copies its images into pad with the zeros around them, so that every row
// of col is whole runs of input.
func im2col[F float](col, x []F, G int, s convShape, pad []F) {
	if s.Pad > 0 {
		p, w := s.Pad, s.W+2*s.Pad
		padCopy(pad, x, G*s.C, s.H*s.W, s.W, p*w, s.H, p, s.W, p, p*w)
		x, s = pad, s.padded()
	}
	oh, ow := s.OH(), s.OW()
	n, plane := G*oh*ow, s.H*s.W
	rows, cols, stride := oh, ow, s.W
	if ow == s.W { // a 1x1 convolution: whole planes
		rows, cols, stride = 1, oh*ow, oh*ow
	}
	if s.K == 1 {
		// The channels of a 1x1 convolution are its kernel rows here: one call for all.
		im2colRows(col, x, s.C, n, plane, 1, n, G, s.C*plane, stride, rows, cols)
		return
	}
	for c := range s.C {
		// Kernel row kh's K rows of col, kw = 0..K-1, read the same input rows one column
		// further each, and the next kernel row's read them one row further.
		im2colRows(col[c*s.K*s.K*n:], x[c*plane:], s.K, s.K*n, s.W, s.K, n, G, s.C*plane, stride, rows, cols)
	}
}

// col2im is im2col's adjoint: dx [G,C,H,W] += every entry of col [C*K*K, G*OH*OW] added back
// where im2col read it from. A padded convolution sums into padded images in pad and then adds
// their insides to dx, dropping what fell on the padding.
func col2im[F float](dx, col []F, G int, s convShape, pad []F) {
	target, sp := dx, s
	if s.Pad > 0 {
		sp = s.padded()
		target = pad[:G*s.C*sp.H*sp.W]
		clear(target)
	}
	oh, ow := sp.OH(), sp.OW()
	hw, n, plane := oh*ow, G*oh*ow, sp.H*sp.W
	rows, cols, dstStride, srcStride := oh, ow, sp.W, ow
	if ow == sp.W {
		rows, cols = 1, oh*ow
		dstStride, srcStride = cols, cols
	}
	if sp.K == 1 { // as in im2col
		col2imRows(target, col, sp.C, plane, n, 1, n, G, sp.C*plane, dstStride, hw, srcStride, rows, cols)
	} else {
		// A channel at a time (not a kernel row of every channel), so that its planes stay in
		// the L1 cache while its kernel rows add into them.
		for c := range sp.C {
			col2imRows(target[c*plane:], col[c*sp.K*sp.K*n:], sp.K, sp.W, sp.K*n, sp.K, n, G, sp.C*plane, dstStride, hw, srcStride, rows, cols)
		}
	}
	if s.Pad > 0 {
		p := s.Pad
		col2imRows(dx, target[p*sp.W+p:], 1, 0, 0, 1, 0, G*s.C, s.H*s.W, s.W, plane, sp.W, s.H, s.W)
	}
}

// padCopy copies images into zero-padded ones as kernels.PadCopy describes.
func padCopy[F float](dst, src []F, images, srcImage, srcStride, top, rows, padL, cols, padR, bottom int) {
	if d, ok := any(dst).([]float32); ok {
		kernels.PadCopy(d, any(src).([]float32), images, srcImage, srcStride, top, rows, padL, cols, padR, bottom)
		return
	}
	width := padL + cols + padR
	for i := range images {
		d := dst[i*(top+rows*width+bottom):][:top+rows*width+bottom]
		clear(d)
		for r := range rows {
			copy(d[top+r*width+padL:][:cols], src[i*srcImage+r*srcStride:][:cols])
		}
	}
}

// im2colRows copies rows of images back to back as kernels.Im2colRows describes.
func im2colRows[F float](dst, src []F, kernelRows, dstKernelRow, srcKernelRow, positions, dstPos, images, srcImage, srcStride, rows, cols int) {
	if d, ok := any(dst).([]float32); ok {
		kernels.Im2colRows(d, any(src).([]float32), kernelRows, dstKernelRow, srcKernelRow, positions, dstPos, images, srcImage, srcStride, rows, cols)
		return
	}
	for kh := range kernelRows {
		for p := range positions {
			for i := range images {
				for r := range rows {
					copy(dst[kh*dstKernelRow+p*dstPos+(i*rows+r)*cols:][:cols], src[kh*srcKernelRow+p+i*srcImage+r*srcStride:][:cols])
				}
			}
		}
	}
}

// col2imRows adds rows of src into rows of dst as kernels.Col2imRows describes.
func col2imRows[F float](dst, src []F, kernelRows, dstKernelRow, srcKernelRow, positions, srcPos, images, dstImage, dstStride, srcImage, srcStride, rows, cols int) {
	if d, ok := any(dst).([]float32); ok {
		kernels.Col2imRows(d, any(src).([]float32), kernelRows, dstKernelRow, srcKernelRow, positions, srcPos, images, dstImage, dstStride, srcImage, srcStride, rows, cols)
		return
	}
	for kh := range kernelRows {
		for p := range positions {
			for i := range images {
				for r := range rows {
					d := dst[kh*dstKernelRow+p+i*dstImage+r*dstStride:][:cols]
					s := src[kh*srcKernelRow+p*srcPos+i*srcImage+r*srcStride:][:cols]
					for j, v := range s {
						d[j] += v
					}
				}
			}
		}
	}
}
