//go:build race

package engine

// raceEnabled: the race detector slows the float64 gradient checks tenfold and makes sync.Pool
// drop items on purpose, so some tests do less, or skip allocation counts, under it.
const raceEnabled = true
