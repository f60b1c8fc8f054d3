//go:build race

package dataset

// raceEnabled lets the heaviest real-data test skip itself under the race
// detector, which makes decompressing tens of megabytes ten times slower
// and has nothing to watch there: that test starts no goroutines.
const raceEnabled = true
