//go:build linux

package kernels

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadCPUTime is the CPU time the calling OS thread has used. Benchmarks lock their
// goroutine to a thread and divide by it, so their rate survives other processes sharing the
// cores (it still suffers from their cache and memory traffic).
func threadCPUTime() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
