//go:build amd64 && !purego

package kernels

// conv1Kernels is a kernel set's generated single-channel convolutions: fwd[ocs-1][vecs-1]
// computes ocs output channels of 8*vecs-pixel rows, grad[ocs-1][taps-1] the weight gradient
// of ocs channels at taps kernel positions. They are called through the table, not a switch
// as the GEMM's tiles are: each call covers whole images, so the cost of calling through a
// func value does not show.
type conv1Kernels struct {
	fwd  [maxConv1Group][3]conv1Func // nil past the set's group
	grad [mr][dotCols]conv1GradFunc
}

// conv1RowGradFunc is the signature of the generated zconv1dwRow kernels.
type conv1RowGradFunc func(dw []float32, ldw int, dy []float32, dyStride int, x []float32, imageX, W, images, oh, vecs, off int)

// conv1RowGradAVX512 is zconv1dwRow{ocs}x{taps} at [ocs-1][taps-1].
var conv1RowGradAVX512 = [maxConv1Group][maxRowTaps]conv1RowGradFunc{
	{zconv1dwRow1x1, zconv1dwRow1x2, zconv1dwRow1x3, zconv1dwRow1x4, zconv1dwRow1x5},
	{zconv1dwRow2x1, zconv1dwRow2x2, zconv1dwRow2x3, zconv1dwRow2x4, zconv1dwRow2x5},
	{zconv1dwRow3x1, zconv1dwRow3x2, zconv1dwRow3x3, zconv1dwRow3x4, zconv1dwRow3x5},
	{zconv1dwRow4x1, zconv1dwRow4x2, zconv1dwRow4x3, zconv1dwRow4x4, zconv1dwRow4x5},
	{zconv1dwRow5x1, zconv1dwRow5x2, zconv1dwRow5x3, zconv1dwRow5x4, zconv1dwRow5x5},
}

// conv1GradRowAVX512 runs the zconv1dwRow kernel for ocs channels and taps adjacent kernel
// positions from offset off (the elemOps conv1GradRow), after checking the last element it
// reads and writes.
func conv1GradRowAVX512(dw []float32, ldw int, dy []float32, dyStride int, x []float32, imageX, W, images, oh, vecs, ocs, taps, off int) {
	_ = dw[(ocs-1)*ldw+taps-1]
	_ = dy[(ocs-1)*dyStride+images*oh*8*vecs-1]
	_ = x[(images-1)*imageX+(oh-1)*W+off+taps-1+8*vecs-1]
	conv1RowGradAVX512[ocs-1][taps-1](dw, ldw, dy, dyStride, x, imageX, W, images, oh, vecs, off)
}

// maxConv1Group is the most output channels of any set's forward conv1 kernel: the AVX-512
// set's (avx512Elem.conv1Group).
const maxConv1Group = 5

// conv1Func and conv1GradFunc are the signatures of the generated conv1x and conv1dw kernels.
type (
	conv1Func     func(dst []float32, dstStride int, x []float32, W int, w []float32, K, oh int)
	conv1GradFunc func(dw []float32, ldw int, dy []float32, dyStride int, x []float32, imageX, W, images, oh, vecs, off0, off1, off2 int)
)

var (
	conv1AVX2 = conv1Kernels{
		fwd: [maxConv1Group][3]conv1Func{
			{conv1x1x8, conv1x1x16, conv1x1x24},
			{conv1x2x8, conv1x2x16, conv1x2x24},
			{conv1x3x8, conv1x3x16, conv1x3x24},
			{conv1x4x8, conv1x4x16, conv1x4x24},
		},
		grad: [mr][dotCols]conv1GradFunc{
			{conv1dw1x1, conv1dw1x2, conv1dw1x3},
			{conv1dw2x1, conv1dw2x2, conv1dw2x3},
			{conv1dw3x1, conv1dw3x2, conv1dw3x3},
			{conv1dw4x1, conv1dw4x2, conv1dw4x3},
		},
	}
	conv1AVX512 = conv1Kernels{
		fwd: [maxConv1Group][3]conv1Func{
			{zconv1x1x8, zconv1x1x16, zconv1x1x24},
			{zconv1x2x8, zconv1x2x16, zconv1x2x24},
			{zconv1x3x8, zconv1x3x16, zconv1x3x24},
			{zconv1x4x8, zconv1x4x16, zconv1x4x24},
			{zconv1x5x8, zconv1x5x16, zconv1x5x24},
		},
		grad: [mr][dotCols]conv1GradFunc{
			{zconv1dw1x1, zconv1dw1x2, zconv1dw1x3},
			{zconv1dw2x1, zconv1dw2x2, zconv1dw2x3},
			{zconv1dw3x1, zconv1dw3x2, zconv1dw3x3},
			{zconv1dw4x1, zconv1dw4x2, zconv1dw4x3},
		},
	}
)

// rows runs the kernel for ocs channels of 8*vecs-pixel rows (the elemOps conv1Rows), after
// checking the last element it reads and writes: the assembly trusts its arguments.
func (k *conv1Kernels) rows(dst []float32, dstStride int, x []float32, W int, w []float32, ocs, vecs, K, oh int) {
	_ = x[(oh+K-2)*W+K-1+8*vecs-1]
	_ = w[ocs*K*K-1]
	_ = dst[(ocs-1)*dstStride+oh*8*vecs-1]
	k.fwd[ocs-1][vecs-1](dst, dstStride, x, W, w, K, oh)
}

// gradRows runs the weight-gradient kernel for ocs channels and taps kernel positions (the
// elemOps conv1GradRows), after checking the last element it reads and writes.
func (k *conv1Kernels) gradRows(dw []float32, ldw int, dy []float32, dyStride int, x []float32, imageX, W, images, oh, vecs, ocs, taps, off0, off1, off2 int) {
	_ = dw[(ocs-1)*ldw+taps-1]
	_ = dy[(ocs-1)*dyStride+images*oh*8*vecs-1]
	_ = x[(images-1)*imageX+(oh-1)*W+max(off0, off1, off2)+8*vecs-1]
	k.grad[ocs-1][taps-1](dw, ldw, dy, dyStride, x, imageX, W, images, oh, vecs, off0, off1, off2)
}
