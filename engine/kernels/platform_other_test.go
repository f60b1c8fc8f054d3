//go:build !(amd64 || arm64) || purego

package kernels

import "testing"

// platformKernels is empty: this build has only the portable kernel.
func platformKernels() []kernel { return nil }

// platformElems is empty too.
func platformElems() []elemOps { return nil }

func TestImplementationIsPortable(t *testing.T) {
	if got := Implementation(); got != "go" {
		t.Fatalf("Implementation() = %q in a build without assembly, want \"go\"", got)
	}
}
