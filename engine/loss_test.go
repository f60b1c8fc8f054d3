package engine

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"mnist-tui/engine/internal/fixture"
)

// smoothingTol bounds the relative error of the mean loss and of max|dlogits - PyTorch's| /
// max|PyTorch's|. Measured 2.1e-7 (2026-12-03, float32 gradients); issue 16 asks for 1e-6.
const smoothingTol = 1e-6

// TestLabelSmoothingFollowsPyTorch compares the loss and its gradient with
// CrossEntropyLoss(label_smoothing=s) for s = 0, 0.1, 0.3 and 1 (engine/pytorch/
// make_loss_fixtures.py), in float32 and float64, the batch also split in two the way the
// workers split it.
func TestLabelSmoothingFollowsPyTorch(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "torch_label_smoothing.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Stream int
		Scale  float32
		Labels []int32
		Cases  []struct {
			Smoothing float64 `json:"label_smoothing"`
			Loss      float64
			Grad      []float64
		}
	}
	if err := json.Unmarshal(data, &fx); err != nil {
		t.Fatal(err)
	}
	const V = 10
	B := len(fx.Labels)
	logits := fixture.Values(fx.Stream, 0, []int{B, V}, V)
	for i := range logits {
		logits[i] *= fx.Scale
	}
	worst := 0.0
	for _, c := range fx.Cases {
		dlogits := make([]float32, B*V)
		// Two workers' shares of the batch, each normalised by the whole batch.
		l1, _ := smoothedCrossEntropy(dlogits[:2*V], logits[:2*V], fx.Labels[:2], 2, V, B, c.Smoothing)
		l2, _ := smoothedCrossEntropy(dlogits[2*V:], logits[2*V:], fx.Labels[2:], B-2, V, B, c.Smoothing)
		lossErr := math.Abs(l1+l2-c.Loss) / c.Loss
		var diff, ref float64
		for i, w := range c.Grad {
			diff = max(diff, math.Abs(float64(dlogits[i])-w))
			ref = max(ref, math.Abs(w))
		}
		worst = max(worst, lossErr, diff/ref)
		if lossErr > smoothingTol || diff/ref > smoothingTol {
			t.Errorf("label_smoothing %g: loss %.9g (PyTorch's %.9g), gradient off by %.2g relative", c.Smoothing, l1+l2, c.Loss, diff/ref)
		}

		logits64 := make([]float64, len(logits))
		for i, v := range logits {
			logits64[i] = float64(v)
		}
		d64 := make([]float64, B*V)
		l64, _ := smoothedCrossEntropy(d64, logits64, fx.Labels, B, V, B, c.Smoothing)
		if e := math.Abs(l64-c.Loss) / c.Loss; e > smoothingTol {
			t.Errorf("label_smoothing %g in float64: loss %.9g, PyTorch's %.9g", c.Smoothing, l64, c.Loss)
		}
	}
	t.Logf("worst relative error: %.3g", worst)
}
