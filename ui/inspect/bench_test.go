package inspect

import (
	"testing"

	"mnist-tui/engine/train"
)

// bigSnapshot is a snapshot the size of MNIST's test set, with a mistake
// every 50 images.
func bigSnapshot(b *testing.B) train.Snapshot {
	const n = 10_000
	labels, preds, conf := make([]uint8, n), make([]uint8, n), make([]float32, n)
	for i := range n {
		labels[i] = uint8(i % 10)
		preds[i] = labels[i]
		if i%50 == 0 {
			preds[i] = (labels[i] + 3) % 10
		}
		conf[i] = float32(i%97) / 97
	}
	info := lookup(b, "mnist")
	return train.Snapshot{
		Data: &train.Data{Info: info, Train: newSet("train", labels), Test: newSet("test", labels)},
		Eval: evaluate(labels, preds, conf),
	}
}

// A new evaluation: checking it against the test set and sorting the mistakes.
func BenchmarkMistakesNewEvaluation(b *testing.B) {
	s := bigSnapshot(b)
	m := NewMistakes(colour())
	for b.Loop() {
		m.eval = evalState{} // forget the last one
		m.SetSnapshot(s)
	}
}

// A full screen of hi-res digits: the most a page draws.
func BenchmarkMistakesRenderHiRes(b *testing.B) {
	m := NewMistakes(colour())
	m.SetSnapshot(bigSnapshot(b))
	for b.Loop() {
		m.Render(200, 60)
	}
}

func BenchmarkConfusionRender(b *testing.B) {
	c := NewConfusion(colour())
	c.SetSnapshot(bigSnapshot(b))
	for b.Loop() {
		c.Render(120, 30)
	}
}
