//go:build amd64 && !purego

package kernels

// convDirectFunc is the signature of the generated zconvd kernels.
type convDirectFunc func(groups, taps int, a, x []float32, x0, x1, x2, tapStride, rowStride int, c []float32, ldc int)

// convDirectKernelsAVX512 is zconvd{rows}x{16*vecs} at [rows-1][vecs-1].
var convDirectKernelsAVX512 = [convDirectRows][3]convDirectFunc{
	{zconvd1x16, zconvd1x32, zconvd1x48},
	{zconvd2x16, zconvd2x32, zconvd2x48},
	{zconvd3x16, zconvd3x32, zconvd3x48},
	{zconvd4x16, zconvd4x32, zconvd4x48},
	{zconvd5x16, zconvd5x32, zconvd5x48},
	{zconvd6x16, zconvd6x32, zconvd6x48},
	{zconvd7x16, zconvd7x32, zconvd7x48},
	{zconvd8x16, zconvd8x32, zconvd8x48},
}

// convDirectAVX512 runs the zconvd kernel for rows output channels and vecs vectors of pixels
// (the elemOps convDirectTile), after checking the last element each vector reads and writes:
// the assembly trusts its arguments.
func convDirectAVX512(groups, taps int, a, x []float32, xAt [3]int, tapStride, rowStride int, c []float32, ldc int, rows, vecs int) {
	_ = a[groups*taps*rows-1]
	for v := range vecs {
		_ = x[xAt[v]+(groups-1)*tapStride+(taps-1)*rowStride+15]
	}
	_ = c[(rows-1)*ldc+16*vecs-1]
	convDirectKernelsAVX512[rows-1][vecs-1](groups, taps, a, x, xAt[0], xAt[1], xAt[2], tapStride, rowStride, c, ldc)
}
