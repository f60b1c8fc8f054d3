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

// TestKernelsEnvChoosesSet: "go" forces the portable set; anything else, empty included, is
// NEON, which every arm64 CPU runs.
func TestKernelsEnvChoosesSet(t *testing.T) {
	for name, want := range map[string]string{"": "neon", "auto": "neon", "neon": "neon", "go": "go"} {
		kern, elem := armSet(name)
		if kern.name != want || elem.name != want {
			t.Errorf("%s=%q runs kernels %q and elementwise %q, want %q", KernelsEnv, name, kern.name, elem.name, want)
		}
	}
}
