//go:build amd64 && !purego

package kernels

import (
	"testing"

	"golang.org/x/sys/cpu"
)

func hasAVX2FMA() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA }

// platformKernels lists the assembly kernel when this CPU can run it.
func platformKernels() []kernel {
	if !hasAVX2FMA() {
		return nil
	}
	return []kernel{avx2Kernel}
}

// platformElems lists the assembly elementwise functions when this CPU can run them.
func platformElems() []elemOps {
	if !hasAVX2FMA() {
		return nil
	}
	return []elemOps{avx2Elem}
}

func TestImplementationFollowsCPU(t *testing.T) {
	want := "go"
	if hasAVX2FMA() {
		want = "avx2-fma"
	}
	if got := Implementation(); got != want {
		t.Fatalf("Implementation() = %q on a CPU with AVX2+FMA = %v, want %q", got, hasAVX2FMA(), want)
	}
}
