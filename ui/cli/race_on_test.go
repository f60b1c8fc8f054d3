//go:build race

package cli

// raceEnabled: under the race detector a step's goroutine hand-overs park more often and the
// runtime's caches are emptied at random, so the allocation count bench reports is not the
// engine's own; the engine's TestNoAllocations, which skips under it too, holds that to 0.
const raceEnabled = true
