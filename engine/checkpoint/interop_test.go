package checkpoint

import (
	"flag"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"mnist-tui/engine"
	"mnist-tui/engine/safetensors"
)

// writeInterop regenerates engine/testdata/mnisttui_<model>.safetensors, the
// checkpoints engine/pytorch/check_checkpoint.py loads into PyTorch:
//
//	go test ./engine/checkpoint -run Interop -write-interop
//	/usr/bin/python3 engine/pytorch/check_checkpoint.py
var writeInterop = flag.Bool("write-interop", false, "rewrite the checkpoints PyTorch reads back")

// TestPyTorchReadsOurCheckpoints: a checkpoint written by mnist-tui (with
// momentum and metadata, as training writes them) was loaded by PyTorch
// into the tutorial's classes; its logits on a fixed batch must be ours.
func TestPyTorchReadsOurCheckpoints(t *testing.T) {
	for _, model := range engine.Models() {
		t.Run(model, func(t *testing.T) {
			path := filepath.Join("..", "testdata", "mnisttui_"+model+".safetensors")
			if *writeInterop {
				writeTrainedCheckpoint(t, model, path)
			}
			ck, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			net, err := engine.NewNet(model, 1, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := ck.LoadInto(net.Params(), nil); err != nil {
				t.Fatal(err)
			}
			torch, err := safetensors.ReadFile(filepath.Join("..", "testdata", "mnisttui_"+model+"_torch_logits.safetensors"))
			if err != nil {
				t.Fatalf("%v (run engine/pytorch/check_checkpoint.py)", err)
			}
			x := tensorF32(t, torch, "input")
			want := tensorF32(t, torch, "logits")
			got := make([]float32, len(want))
			net.Infer(x, len(x)/784, got)
			if e := relErr(got, want); e > 1e-4 {
				t.Errorf("logits differ from PyTorch's by %.2g (relative to the largest)", e)
			}
		})
	}
}

// writeTrainedCheckpoint saves a model after two SGD steps on random data,
// so the file carries non-trivial weights and momentum buffers.
func writeTrainedCheckpoint(t *testing.T, model, path string) {
	t.Helper()
	net, err := engine.NewNet(model, 7, 1)
	if err != nil {
		t.Fatal(err)
	}
	opt := engine.NewSGD(net.Params(), 0.01, 0.5, 0)
	rng := rand.New(rand.NewPCG(7, 7))
	x := make([]float32, 8*784)
	y := make([]int32, 8)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for i := range y {
		y[i] = int32(rng.IntN(10))
	}
	for i := 0; i < 2; i++ {
		net.TrainStep(x, y, 8)
		opt.Step()
	}
	meta := Meta{Model: model, Dataset: "mnist", Epoch: 1, Batch: 2, Step: 2, Seed: 7, Config: "model: " + model + "\n", History: []byte(`{}`), Version: "test", RunID: "interop"}
	if err := Save(path, net.Params(), opt, meta); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

func tensorF32(t *testing.T, f *safetensors.File, name string) []float32 {
	t.Helper()
	tensor, ok := f.Get(name)
	if !ok {
		t.Fatalf("no tensor %q", name)
	}
	v, err := tensor.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func relErr(got, want []float32) float64 {
	var maxDiff, maxRef float64
	for i := range want {
		maxDiff = math.Max(maxDiff, math.Abs(float64(got[i]-want[i])))
		maxRef = math.Max(maxRef, math.Abs(float64(want[i])))
	}
	return maxDiff / math.Max(maxRef, 1e-12)
}
