package checkpoint

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"mnist-tui/engine"
	"mnist-tui/engine/internal/fixture"
	"mnist-tui/engine/safetensors"

	"gorgonia.org/tensor"
)

// writeInterop writes mnisttui_<model>.safetensors, the checkpoints
// engine/pytorch/check_checkpoint.py loads into PyTorch, into interopDir():
//
//	go test ./engine/checkpoint -run PyTorchReads -write-interop
//	/usr/bin/python3 engine/pytorch/check_checkpoint.py
//
// The checkpoints themselves are not committed (linear's is 4.6 MB): their
// values come from engine/pytorch/formula.py, so this test writes them again.
var writeInterop = flag.Bool("write-interop", false, "write the checkpoints PyTorch reads back, for check_checkpoint.py")

// interopDir is where -write-interop puts the checkpoints and where
// check_checkpoint.py looks for them by default.
func interopDir() string { return filepath.Join(os.TempDir(), "mnist-tui-interop") }

// TestPyTorchReadsOurCheckpoints: a checkpoint written by mnist-tui (with
// momentum and metadata, as training writes them) was loaded by PyTorch into
// the tutorial's classes; its logits on a fixed batch must be ours. The test
// writes the checkpoint again and checks it is byte for byte the file
// PyTorch read: check_checkpoint.py recorded that file's SHA-256.
func TestPyTorchReadsOurCheckpoints(t *testing.T) {
	for _, model := range engine.Models() {
		t.Run(model, func(t *testing.T) {
			dir := t.TempDir()
			if *writeInterop {
				dir = interopDir()
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(dir, "mnisttui_"+model+".safetensors")
			writeFormulaCheckpoint(t, model, path)
			if *writeInterop {
				t.Logf("wrote %s; now run engine/pytorch/check_checkpoint.py", path)
				return
			}
			torch, err := safetensors.ReadFile(filepath.Join("..", "testdata", "mnisttui_"+model+"_torch_logits.safetensors"))
			if err != nil {
				t.Fatalf("%v (run engine/pytorch/check_checkpoint.py)", err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fixture.SHA256(raw), torch.Metadata["source_sha256"]; got != want {
				t.Fatalf("the checkpoint Save writes now has SHA-256 %s, PyTorch read one with %q: if the format changed on purpose, "+
					"run go test ./engine/checkpoint -run PyTorchReads -write-interop, then engine/pytorch/check_checkpoint.py", got, want)
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
			x := fixture.Float32s(t, torch, "input")
			want := fixture.Float32s(t, torch, "logits")
			got := make([]float32, len(want))
			net.Infer(x, len(x)/784, got)
			// Measured at most 1.2e-6 (inception), assembly or pure-Go kernels; the engine's
			// parity tests bound logits to 5e-6 too.
			if e := relErr(got, want); e > 5e-6 {
				t.Errorf("logits differ from PyTorch's by %.2g (relative to the largest)", e)
			}
		})
	}
}

// writeFormulaCheckpoint saves a model whose weights and momentum buffers are
// formula.py's streams Interop and InteropMomentum, with metadata as training
// writes it. Exact values rather than a short training run, so the bytes do
// not depend on the engine's arithmetic (kernels, threads, purego).
func writeFormulaCheckpoint(t *testing.T, model, path string) {
	t.Helper()
	net, err := engine.NewNet(model, 7, 1)
	if err != nil {
		t.Fatal(err)
	}
	params := net.Params()
	specs := paramSpecs(params)
	values := fixture.State(fixture.Interop, specs)
	momentum := fixture.State(fixture.InteropMomentum, specs)
	bufs := make([]*tensor.Dense, len(params))
	for i, p := range params {
		copy(p.Value.Data().([]float32), values[i])
		bufs[i] = tensor.New(tensor.WithShape(specs[i].Shape...), tensor.WithBacking(momentum[i]))
	}
	opt := engine.NewSGD(params, 0.01, 0.5, 0)
	if err := opt.SetBuffers(bufs); err != nil {
		t.Fatal(err)
	}
	meta := Meta{Model: model, Dataset: "mnist", Epoch: 1, Batch: 2, Step: 2, Seed: 7, Config: "model: " + model + "\n", History: []byte(`{}`), Version: "test", RunID: "interop"}
	if err := Save(path, params, opt, meta); err != nil {
		t.Fatal(err)
	}
}

func relErr(got, want []float32) float64 {
	var maxDiff, maxRef float64
	for i := range want {
		maxDiff = math.Max(maxDiff, math.Abs(float64(got[i]-want[i])))
		maxRef = math.Max(maxRef, math.Abs(float64(want[i])))
	}
	return maxDiff / math.Max(maxRef, 1e-12)
}
