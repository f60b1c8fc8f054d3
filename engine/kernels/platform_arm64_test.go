//go:build arm64 && !purego

package kernels

import (
	"slices"
	"testing"
)

// TestSetsFollowCPU: every arm64 CPU runs NEON, and the portable set is always there.
func TestSetsFollowCPU(t *testing.T) {
	if got := Supported(); !slices.Equal(got, []string{"neon", "go"}) {
		t.Errorf("Supported() = %v, want [neon go]", got)
	}
}
