//go:build !amd64 || purego

package kernels

// active is the kernel Sgemm runs: without the amd64 assembly, the portable one.
var active = goKernel
