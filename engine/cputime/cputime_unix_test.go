//go:build unix

package cputime

import "testing"

// Work done between two readings shows as more CPU time: the reading counts this process, not
// a constant or the wall clock of an idle one.
func TestProcessCountsWork(t *testing.T) {
	before := Process()
	if before <= 0 {
		t.Fatalf("Process() = %v, want > 0: a running test has used CPU time", before)
	}
	x := 1.0
	for range 20_000_000 {
		x = x*1.0000001 + 1e-9
	}
	if after := Process(); after <= before {
		t.Errorf("Process() went from %v to %v over 20M multiply-adds (x = %g), want it to grow", before, after, x)
	}
}
