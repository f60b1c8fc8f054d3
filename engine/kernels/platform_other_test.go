//go:build !(amd64 || arm64) || purego

package kernels

import (
	"slices"
	"testing"
)

func TestSetsArePortable(t *testing.T) {
	if got := Supported(); !slices.Equal(got, []string{"go"}) {
		t.Fatalf("Supported() = %v in a build without assembly, want [go]", got)
	}
}
