package engine

import "mnist-tui/engine/kernels"

// float is the element type of the layer math. The engine runs in float32; the same code
// instantiated with float64 lets the whole-model gradient checks difference the loss precisely
// enough to hold the backward passes to tight tolerances.
type float interface{ float32 | float64 }

// gemm computes C = op(A)·op(B) + beta*C with row-major matrices, as kernels.Sgemm (alpha 1):
// op(A) is m x k, op(B) k x n, C m x n. float32 goes to ws.Sgemm (kernels.Sgemm when ws is nil);
// float64, used only by tests, to a plain triple loop.
func gemm[F float](ws *kernels.Workspace, transA, transB bool, m, n, k int, a []F, lda int, b []F, ldb int, beta F, c []F, ldc int) {
	switch c := any(c).(type) {
	case []float32:
		if ws == nil {
			kernels.Sgemm(transA, transB, m, n, k, 1, any(a).([]float32), lda, any(b).([]float32), ldb, float32(beta), c, ldc)
			return
		}
		ws.Sgemm(transA, transB, m, n, k, 1, any(a).([]float32), lda, any(b).([]float32), ldb, float32(beta), c, ldc)
	case []float64:
		gemm64(transA, transB, m, n, k, any(a).([]float64), lda, any(b).([]float64), ldb, float64(beta), c, ldc)
	}
}

// gemmSameA is gemm for a run of products with the same A (values included) whose first
// call has sameA false: float32 reuses the first call's packing of A (kernels.SgemmSameA).
func gemmSameA[F float](ws *kernels.Workspace, sameA, transA, transB bool, m, n, k int, a []F, lda int, b []F, ldb int, beta F, c []F, ldc int) {
	if c, ok := any(c).([]float32); ok && ws != nil {
		ws.SgemmSameA(sameA, transA, transB, m, n, k, 1, any(a).([]float32), lda, any(b).([]float32), ldb, float32(beta), c, ldc)
		return
	}
	gemm(ws, transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc)
}

// gemm64 is a plain GEMM for the float64 gradient checks, with its loops ordered so that the
// innermost one runs along rows in memory.
func gemm64(transA, transB bool, m, n, k int, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	opA := func(i, p int) float64 {
		if transA {
			return a[p*lda+i]
		}
		return a[i*lda+p]
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if transB { // op(B)[p][j] = b[j][p]: a dot product along rows of b
			for j := range row {
				var sum float64
				for p, bv := range b[j*ldb : j*ldb+k] {
					sum += opA(i, p) * bv
				}
				if beta == 0 {
					row[j] = sum
				} else {
					row[j] = sum + beta*row[j]
				}
			}
			continue
		}
		if beta == 0 { // overwrite, as Sgemm does: NaNs already in C must not leak through
			clear(row)
		} else {
			for j := range row {
				row[j] *= beta
			}
		}
		for p := range k {
			av := opA(i, p)
			for j, bv := range b[p*ldb : p*ldb+n] {
				row[j] += av * bv
			}
		}
	}
}

// scratch is one worker's temporary memory, shared by its layers one at a time: the
// convolutions' im2col and GEMM-output matrices and the GEMM's packing buffers. Owning the
// packing buffers keeps a worker off kernels.Sgemm's shared pool, which can allocate.
type scratch[F float] struct {
	col []F // [C*K*K, G*OH*OW] for the largest group of any convolution
	tmp []F // [OC, G*OH*OW]
	pad []F // [G,C,H+2*Pad,W+2*Pad], a group's input or input gradient with padding
	// packed is a convolution's weights packed for kernels.ConvDirect.
	packed []F
	gemm   *kernels.Workspace
	// sparse takes the input gradients of the convolutions whose output gradient is mostly
	// zeros (see sparseBackward), one per geometry; float32 only.
	sparse []*kernels.SparseInputGrad

	// How convolutions group images (see groupSize): colBudget and minGroupPixels, except in
	// tests that need groups of a few images.
	budget, minPixels int
}

// newScratch sizes the scratch for chunks of up to images images through any of shapes.
func newScratch[F float](images int, shapes ...convShape) *scratch[F] {
	return newScratchGrouped[F](images, colBudget, minGroupPixels, shapes...)
}

// newScratchGrouped is newScratch with another grouping of images.
func newScratchGrouped[F float](images, budget, minPixels int, shapes ...convShape) *scratch[F] {
	sc := &scratch[F]{gemm: kernels.NewWorkspace(), budget: budget, minPixels: minPixels}
	z := scratchSizes(images, budget, minPixels, shapes)
	sc.col, sc.tmp, sc.pad, sc.packed = make([]F, z.col), make([]F, z.tmp), make([]F, z.pad), make([]F, z.packed)
	if _, ok := any(sc.col).([]float32); ok {
		for _, s := range shapes {
			if sparseBackward(s) && sc.sparseFor(s) == nil {
				sc.sparse = append(sc.sparse, kernels.NewSparseInputGrad(s.C, s.OC, s.H, s.W, s.K))
			}
		}
	}
	return sc
}

// sparseFor returns the scratch's SparseInputGrad for s, or nil.
func (sc *scratch[F]) sparseFor(s convShape) *kernels.SparseInputGrad {
	for _, sp := range sc.sparse {
		if sp.C == s.C && sp.OC == s.OC && sp.H == s.H && sp.W == s.W && sp.K == s.K {
			return sp
		}
	}
	return nil
}

// scratchLengths is how many floats of each buffer a scratch has.
type scratchLengths struct{ col, tmp, pad, packed, sparse int }

func (z scratchLengths) total() int { return z.col + z.tmp + z.pad + z.packed + z.sparse }

// scratchSizes is how many floats newScratchGrouped gives each buffer.
func scratchSizes(images, budget, minPixels int, shapes []convShape) scratchLengths {
	var z scratchLengths
	for _, s := range shapes {
		g := groupSize(s, images, budget, minPixels)
		n := g * s.OH() * s.OW()
		z.col = max(z.col, s.rows()*n)
		z.tmp = max(z.tmp, s.OC*n)
		if convGradWhole(s) { // convBackward's output gradient for the whole chunk, and ConvGrad's buffer
			z.tmp = max(z.tmp, s.OC*images*s.OH()*s.OW())
			z.col = max(z.col, kernels.ConvGradBuf(images, s.H, s.W, s.K, s.Pad))
		}
		if directBackward(s) { // the input gradient's ConvDirect: the adjoint's weights, its buffer and output
			_, total := directInputBuf(g, s)
			z.packed = max(z.packed, kernels.ConvPackedSize(s.C, s.OC, s.K))
			z.col = max(z.col, total)
		}
		if directForward(s) { // ConvDirect's weights and buffer
			z.packed = max(z.packed, kernels.ConvPackedSize(s.OC, s.C, s.K))
			z.col = max(z.col, kernels.ConvDirectBuf(g, s.C, s.H, s.W, s.K, s.Pad))
		}
		if s.Pad > 0 {
			z.pad = max(z.pad, g*s.C*(s.H+2*s.Pad)*(s.W+2*s.Pad))
		}
	}
	// One SparseInputGrad per geometry (counted in floats: it holds 4-byte values only).
	seen := map[convShape]bool{}
	for _, s := range shapes {
		if sparseBackward(s) && !seen[s] {
			seen[s] = true
			z.sparse += int(kernels.SparseInputGradBytes(s.C, s.OC, s.H, s.W, s.K) / 4)
		}
	}
	return z
}

// group returns how many images of a chunk of B the convolution s works on at once.
func (sc *scratch[F]) group(s convShape, B int) int {
	return groupSize(s, B, sc.budget, sc.minPixels)
}
