package train

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"mnist-tui/dataset"
	"mnist-tui/engine"
	"mnist-tui/engine/checkpoint"
	"mnist-tui/engine/internal/fixture"
)

// ttaTol bounds |ours - PyTorch's| of every averaged probability: measured 3.0e-8
// (2026-12-03), the cnn's own float32 differences from PyTorch's forward pass.
const ttaTol = 1e-7

// TestTestTimeAugmentationFollowsPyTorch: the cnn with the formula's weights reads made-up
// images as they are and moved 2 pixels four ways; the mean of the five softmax outputs is
// PyTorch's (engine/pytorch/make_training_extras_fixtures.py), and differs from the plain one.
func TestTestTimeAugmentationFollowsPyTorch(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "torch_training_extras.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		TTA struct {
			Shift  int         `json:"shift"`
			Images [][]uint8   `json:"images"`
			Probs  [][]float64 `json:"probs"`
			Plain  [][]float64 `json:"plain"`
		} `json:"tta"`
	}
	if err := json.Unmarshal(data, &fx); err != nil {
		t.Fatalf("torch_training_extras.json: %v", err)
	}
	tta := fx.TTA
	net, err := engine.NewNet("cnn", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	specs := make([]fixture.Spec, len(net.Params()))
	for i, p := range net.Params() {
		specs[i] = fixture.Spec{Name: p.Name, Shape: p.Value.Shape()}
	}
	for i, v := range fixture.State(fixture.Parity, specs) {
		copy(net.Params()[i].Value.Data().([]float32), v)
	}
	set := &dataset.Set{N: len(tta.Images), Labels: make([]uint8, len(tta.Images))}
	for _, img := range tta.Images {
		set.Images = append(set.Images, img...)
	}
	info, _ := dataset.Lookup("mnist")
	var scratch EvalScratch
	worst := 0.0
	for _, c := range []struct {
		shift int
		want  [][]float64
	}{{tta.Shift, tta.Probs}, {0, tta.Plain}} {
		ev := EvaluateShifted(net, set, info, 3, c.shift, &scratch) // batches of 3: a partial one too
		for i, want := range c.want {
			for k, w := range want {
				d := math.Abs(float64(ev.Probs[i*10+k]) - w)
				worst = max(worst, d)
				if d > ttaTol {
					t.Errorf("shift %d: image %d, class %d: probability %v, PyTorch's %v", c.shift, i, k, ev.Probs[i*10+k], w)
				}
			}
		}
	}
	if math.Abs(tta.Probs[0][0]-tta.Plain[0][0]) < 100*ttaTol {
		t.Error("the fixture's averaged and plain probabilities are too close for the test to tell them apart")
	}
	t.Logf("worst difference: %.3g", worst)
}

// shiftImage moves pixels and fills the uncovered side with background.
func TestShiftImage(t *testing.T) {
	var src, dst [dataset.ImageSize]uint8
	for i := range src {
		src[i] = uint8(i%250 + 1)
	}
	shiftImage(dst[:], src[:], 2, -3)
	for y := range 28 {
		for x := range 28 {
			want := uint8(0)
			if sy, sx := y+2, x-3; sy < 28 && sx >= 0 {
				want = src[sy*28+sx]
			}
			if dst[y*28+x] != want {
				t.Fatalf("pixel (%d, %d) is %d, want %d", y, x, dst[y*28+x], want)
			}
		}
	}
}

// With tta_shift the epoch's test results are those of the augmented evaluation of the
// weights the run ended with, not the plain one's.
func TestEpochEvaluationUsesTTA(t *testing.T) {
	cfg := testConfig(t)
	cfg.Epochs, cfg.TTAShift, cfg.LearningRate = 1, 1, 0.05
	data := syntheticData(320, 200, 13)
	s := runToEnd(t, New(cfg, Options{Data: data}))
	net, err := engine.NewNet(cfg.Model, cfg.Seed, 1)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Load(filepath.Join(s.RunDir, "last.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ck.LoadInto(net.Params(), nil); err != nil {
		t.Fatal(err)
	}
	var scratch EvalScratch
	shifted := EvaluateShifted(net, data.Test, data.Info, evalBatch, 1, &scratch)
	plain := Evaluate(net, data.Test, data.Info, evalBatch, &scratch)
	if shifted.Loss == plain.Loss {
		t.Fatal("the shifted views change nothing: the test cannot tell them apart")
	}
	if got := s.History[0]; got.TestLoss != shifted.Loss || got.TestAcc != shifted.Accuracy() {
		t.Errorf("epoch 1: test loss %v, accuracy %v; with tta %v, %v; without %v, %v",
			got.TestLoss, got.TestAcc, shifted.Loss, shifted.Accuracy(), plain.Loss, plain.Accuracy())
	}
}
