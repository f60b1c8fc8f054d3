//go:build unix

package engine

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// processCPU is the CPU time this process has used, all threads together.
func processCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportImageRates reports images/s by the wall clock and, steadier on a machine whose cores
// other processes share, images per second of the process's CPU time: with t threads busy, it
// is the wall-clock rate those threads would reach on idle cores times t.
func reportImageRates(b *testing.B, images int, cpu0 time.Duration) {
	b.ReportMetric(float64(images*b.N)/b.Elapsed().Seconds(), "images/s")
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(images*b.N)/cpu.Seconds(), "images/cpu-s")
	}
}
