//go:build arm64 && !purego

package kernels

import (
	"os"
	"testing"
)

// platformKernels lists the NEON kernel, which every arm64 CPU runs.
func platformKernels() []kernel { return []kernel{neonKernel} }

// platformElems lists the NEON elementwise functions.
func platformElems() []elemOps { return []elemOps{neonElem} }

func TestImplementationIsNEON(t *testing.T) {
	want := "neon"
	if os.Getenv(KernelsEnv) == "go" {
		want = "go"
	}
	if got := Implementation(); got != want {
		t.Fatalf("Implementation() = %q with %s=%q, want %q", got, KernelsEnv, os.Getenv(KernelsEnv), want)
	}
}
