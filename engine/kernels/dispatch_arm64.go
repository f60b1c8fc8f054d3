//go:build arm64 && !purego

package kernels

// platformSets lists NEON, which every arm64 CPU runs (ASIMD is part of ARMv8-A).
func platformSets() []kernelSet {
	return []kernelSet{{name: "neon", kern: neonKernel, elem: neonElem, runs: true, needs: "NEON"}}
}
