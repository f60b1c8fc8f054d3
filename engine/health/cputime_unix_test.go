//go:build unix

package health

import (
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
