//go:build !(amd64 || arm64) || purego

package kernels

// active and activeElem are the kernels Sgemm and the elementwise functions run: without the
// amd64 assembly, the portable ones.
var (
	active     = goKernel
	activeElem = goElem
)
