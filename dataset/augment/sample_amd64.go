//go:build amd64 && !purego

package augment

import "golang.org/x/sys/cpu"

// haveAVX2 says whether sampleRunAVX2 runs here; set once, at start-up.
var haveAVX2 = cpu.X86.HasAVX2

// sampleRunAVX2 is sampleRunGo on len(run)/8*8 pixels, eight at a time,
// bit for bit (sample_amd64.s).
//
//go:noescape
func sampleRunAVX2(run, value []float32, a *runArgs)

// prefetch asks the memory for the cache lines of b without waiting.
//
//go:noescape
func prefetch(b []uint8)
