package engine

import (
	"testing"
	"time"

	"mnist-tui/engine/cputime"
)

// reportImageRates reports images/s by the wall clock and, steadier on a machine whose cores
// other processes share, images per second of the process's CPU time: with t threads busy, it
// is the wall-clock rate those threads would reach on idle cores times t. Where CPU time
// cannot be read, only the wall-clock rate is reported.
func reportImageRates(b *testing.B, images int, cpu0 time.Duration) {
	b.ReportMetric(float64(images*b.N)/b.Elapsed().Seconds(), "images/s")
	if cpu := cputime.Process() - cpu0; cpu > 0 {
		b.ReportMetric(float64(images*b.N)/cpu.Seconds(), "images/cpu-s")
	}
}
