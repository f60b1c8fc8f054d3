// Package cputime reads the CPU time the process has used. Rates per CPU second stay steady
// when other processes share the cores, where wall-clock rates do not; bench reports both, and
// so do the benchmarks.
package cputime

import "time"

// Process returns the CPU time the process has used so far, in all its threads together, or 0
// where it cannot be read (then callers leave CPU-time rates out).
func Process() time.Duration { return process() }
