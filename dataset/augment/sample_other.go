//go:build !amd64 || purego

package augment

// haveAVX2 is false off amd64: sampleRunGo does all the work.
const haveAVX2 = false

func sampleRunAVX2(run, value []float32, a *runArgs) {
	panic("augment: sampleRunAVX2 without AVX2")
}

// prefetch is a hint that does nothing here.
func prefetch(b []uint8) {}
