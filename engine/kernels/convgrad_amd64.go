//go:build amd64 && !purego

package kernels

// convGradFunc is the signature of the generated zconvdw kernels.
type convGradFunc func(dw []float32, ldw int, dy []float32, dyStride int, x []float32, tapStride, imageX, hw, images, rows, rowX, rowDW int)

// convGradKernelsAVX512 is zconvdw{ocs}x{taps} at [ocs-1][taps-1] (nil past 5 channels for
// more than 3 positions).
var convGradKernelsAVX512 = [gradNarrowOCs][gradTaps]convGradFunc{
	{zconvdw1x1, zconvdw1x2, zconvdw1x3, zconvdw1x4, zconvdw1x5},
	{zconvdw2x1, zconvdw2x2, zconvdw2x3, zconvdw2x4, zconvdw2x5},
	{zconvdw3x1, zconvdw3x2, zconvdw3x3, zconvdw3x4, zconvdw3x5},
	{zconvdw4x1, zconvdw4x2, zconvdw4x3, zconvdw4x4, zconvdw4x5},
	{zconvdw5x1, zconvdw5x2, zconvdw5x3, zconvdw5x4, zconvdw5x5},
	{zconvdw6x1, zconvdw6x2, zconvdw6x3},
	{zconvdw7x1, zconvdw7x2, zconvdw7x3},
	{zconvdw8x1, zconvdw8x2, zconvdw8x3},
}

// convGradAVX512 runs the zconvdw kernel for ocs channels, taps kernel positions and rows
// kernel rows (the elemOps convGradRows), after checking the last element it reads and
// writes: the assembly trusts its arguments.
func convGradAVX512(dw []float32, ldw int, dy []float32, dyStride int, x []float32, tapStride, imageX, hw, images, ocs, taps, rows, rowX, rowDW int) {
	_ = dw[(ocs-1)*ldw+(rows-1)*rowDW+taps-1]
	_ = dy[(ocs-1)*dyStride+images*hw-1]
	_ = x[(taps-1)*tapStride+(images-1)*imageX+(rows-1)*rowX+hw-1]
	convGradKernelsAVX512[ocs-1][taps-1](dw, ldw, dy, dyStride, x, tapStride, imageX, hw, images, rows, rowX, rowDW)
}
