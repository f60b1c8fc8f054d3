//go:build amd64 && !purego

package kernels

import (
	"slices"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestSetsFollowCPU checks that the assembly sets are offered exactly when the CPU has what
// they need, so that a machine without AVX-512 never jumps into its kernels.
func TestSetsFollowCPU(t *testing.T) {
	x := cpu.X86
	want := map[string]bool{
		"avx512": x.HasAVX512F && x.HasAVX512DQ && x.HasAVX512BW && x.HasAVX512VL && x.HasAVX2 && x.HasFMA,
		"avx2":   x.HasAVX2 && x.HasFMA,
		"go":     true,
	}
	got := Supported()
	for name, runs := range want {
		if slices.Contains(got, name) != runs {
			t.Errorf("Supported() = %v: has %q = %v, but the CPU runs it = %v", got, name, !runs, runs)
		}
	}
}
