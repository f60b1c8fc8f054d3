package engine

import (
	"math"
	"testing"

	"mnist-tui/engine/network"
)

// FuzzCustomNetwork feeds network definitions through parsing, shape inference and one
// training step and one inference: a definition is either refused with an error or trains,
// never a panic, and a network that trains gives finite losses on finite images.
func FuzzCustomNetwork(f *testing.F) {
	for _, seed := range []string{
		everyLayer,
		nestedBN,
		"network:\n  - flatten\n  - linear: 10\n",
		"network:\n  - conv: {out: 3, kernel: 28}\n  - flatten\n  - linear: 10\n",
		"network:\n  - maxpool: {kernel: 3, stride: 3, padding: 1}\n  - avgpool: 2\n  - global_avgpool\n  - flatten\n  - batchnorm\n  - linear: {out: 10, bias: false}\n",
		"network:\n  - branches: [[relu], [tanh, {conv: {out: 2, kernel: 1}}]]\n  - residual: [batchnorm, {dropout: 0.9}]\n  - flatten\n  - linear: 10\n",
		"network:\n  - residual:\n      - residual: [gelu, sigmoid]\n  - flatten\n  - linear: 10\n",
		"network:\n  - conv: {out: 2, kernel: 3, stride: 9}\n  - flatten\n  - linear: 10\n",
	} {
		f.Add(seed)
		f.Add("")
	}
	f.Fuzz(func(t *testing.T, src string) {
		spec, err := network.ParseFile("fuzz.yaml", []byte(src))
		if err != nil || spec == nil {
			return
		}
		if s := network.Summarize("", spec, 2); s.Params > 1<<20 || s.TrainingBytes > 256<<20 {
			return // valid, but too slow for a fuzz iteration
		}
		// One thread: the worker pool has tests of its own, and its spinning goroutines make
		// fuzzing stall.
		net, err := NewCustomNet(spec, 1, 1)
		if err != nil {
			t.Fatalf("a checked network fails to build: %v", err)
		}
		const B = 2
		x := make([]float32, B*imageSize)
		for i := range x {
			x[i] = float32(i%7) - 3
		}
		loss, _ := net.TrainStep(x, []int32{1, 8}, B)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			t.Errorf("loss %v on finite images", loss)
		}
		logits := make([]float32, B*numClasses)
		net.Infer(x, B, logits)
	})
}
