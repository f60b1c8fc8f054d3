//go:build !(amd64 || arm64) || purego

package kernels

// platformSets is empty: without the amd64 assembly, only the portable set exists.
func platformSets() []kernelSet { return nil }
