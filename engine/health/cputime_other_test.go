//go:build !unix

package health

import "time"

// processCPU is unknown here: the benchmark reports wall-clock rates only.
func processCPU() time.Duration { return 0 }
