//go:build !unix

package cli

import "time"

// processCPU is 0 here: the CPU-time rates of bench are left out.
func processCPU() time.Duration { return 0 }
