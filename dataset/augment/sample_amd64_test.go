//go:build amd64 && !purego

package augment

import (
	"math"
	"testing"
	"unsafe"
)

// TestRunArgsLayout: sample_amd64.s reads runArgs at these offsets.
func TestRunArgsLayout(t *testing.T) {
	var a runArgs
	offsets := map[string][2]uintptr{
		"bx": {unsafe.Offsetof(a.bx), 0}, "rowX": {unsafe.Offsetof(a.rowX), 4}, "rowY": {unsafe.Offsetof(a.rowY), 8},
		"xx": {unsafe.Offsetof(a.xx), 12}, "yx": {unsafe.Offsetof(a.yx), 16}, "x1": {unsafe.Offsetof(a.x1), 20},
		"y1": {unsafe.Offsetof(a.y1), 24}, "hw": {unsafe.Offsetof(a.hw), 28}, "hh": {unsafe.Offsetof(a.hh), 32},
		"w": {unsafe.Offsetof(a.w), 48}, "origin": {unsafe.Offsetof(a.origin), 80},
		"maxIndex": {unsafe.Offsetof(a.maxIndex), 112}, "wBytes": {unsafe.Offsetof(a.wBytes), 144},
		"scale": {unsafe.Offsetof(a.scale), 152}, "offset": {unsafe.Offsetof(a.offset), 184},
	}
	for name, o := range offsets {
		if o[0] != o[1] {
			t.Errorf("runArgs.%s is at %d, sample_amd64.s reads it at %d", name, o[0], o[1])
		}
	}
}

// TestSampleRunAVX2IsSampleRunGo: eight pixels at a time gives the same
// images, bit for bit, so a run is the same on every CPU.
func TestSampleRunAVX2IsSampleRunGo(t *testing.T) {
	if !haveAVX2 {
		t.Skip("no AVX2 here")
	}
	images, sides := testImages(t)
	for _, p := range testParams(300) {
		for n, img := range images {
			side := sides[n]
			scalar, vector := make([]float32, side*side), make([]float32, side*side)
			ink := InkBox(img, side, side)
			levels := Levels{Scale: 1}
			if n%2 == 1 {
				levels = Normalization(0.1307, 0.3081)
			}
			resampleWith(scalar, img, side, side, p, ink, levels, false)
			resampleWith(vector, img, side, side, p, ink, levels, true)
			for k := range scalar {
				if math.Float32bits(scalar[k]) != math.Float32bits(vector[k]) {
					t.Fatalf("%+v image %d pixel (%d,%d): AVX2 %v, Go %v", p, n, k%side, k/side, vector[k], scalar[k])
				}
			}
		}
	}
}
