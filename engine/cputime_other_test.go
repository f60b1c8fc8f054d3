//go:build !unix

package engine

import (
	"testing"
	"time"
)

// processCPU is unknown here: the benchmarks report wall-clock rates only.
func processCPU() time.Duration { return 0 }

func reportImageRates(b *testing.B, images int, _ time.Duration) {
	b.ReportMetric(float64(images*b.N)/b.Elapsed().Seconds(), "images/s")
}
