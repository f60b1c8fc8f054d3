package engine

import (
	"math"
	"runtime"
	"testing"
)

// WorkspaceBytes is what building a Net, one training step and one inference allocate, for
// each model. With one thread that is exact but for small things (the parameters' names and
// tensors); with three, which workers run a chunk depends on the scheduler, so the estimate
// (every worker reserving) must not be exceeded.
func TestWorkspaceBytesMatchesAllocations(t *testing.T) {
	const batch = 400 // 67 images a chunk with 3 threads: Infer needs no more
	x := make([]float32, batch*imageSize)
	for i := range x {
		x[i] = float32(i%7) / 7
	}
	y := make([]int32, batch)
	logits := make([]float32, batch*numClasses)
	for _, model := range Models() {
		for _, threads := range []int{1, 3} {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			n, err := NewNet(model, 1, threads)
			if err != nil {
				t.Fatal(err)
			}
			n.TrainStep(x, y, batch)
			n.Infer(x, batch, logits)
			runtime.ReadMemStats(&after)
			runtime.KeepAlive(n)
			got := int64(after.TotalAlloc - before.TotalAlloc)

			want, err := WorkspaceBytes(model, batch, threads)
			if err != nil {
				t.Fatal(err)
			}
			diff := float64(want-got) / float64(got)
			// Measured: within 1.3 %, and up to 150 KB more with threads (goroutine stacks, a
			// pooled GEMM buffer of 280 KB when one is used).
			slack := 0.02*float64(got) + 1<<20
			if threads == 1 && math.Abs(float64(want-got)) > slack || float64(got-want) > slack {
				t.Errorf("%s, %d threads: allocated %d bytes, WorkspaceBytes says %d (%+.2f%%)", model, threads, got, want, 100*diff)
			}
		}
	}
	if _, err := WorkspaceBytes("mlp", 64, 1); err == nil {
		t.Error("an unknown model was sized")
	}
}

// The attack of issue 14: inception in one batch of 60 000 needs gigabytes.
func TestWorkspaceBytesOfAHugeBatch(t *testing.T) {
	b, err := WorkspaceBytes("inception", 60000, 2)
	if err != nil || b < 6<<30 {
		t.Errorf("WorkspaceBytes(inception, 60000, 2) = %d, %v; want over 6 GB", b, err)
	}
	small, _ := WorkspaceBytes("inception", 64, 2)
	if small >= b || small > 100<<20 {
		t.Errorf("batch 64 takes %d bytes", small)
	}
}
