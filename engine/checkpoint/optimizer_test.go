package checkpoint

import (
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"mnist-tui/engine"
	"mnist-tui/engine/safetensors"
)

// adamAfterSteps returns an Adam over net's parameters that has taken steps steps from
// random gradients drawn from seed.
func adamAfterSteps(t *testing.T, net *engine.Net, steps int, seed uint64, decoupled bool) *engine.Adam {
	t.Helper()
	opt := engine.NewAdam(net.Params(), 0.001, 0.9, 0.999, 1e-8, 0.01, decoupled)
	rng := rand.New(rand.NewPCG(seed, 2))
	for range steps {
		for _, p := range net.Params() {
			for j := range p.Grad.Data().([]float32) {
				p.Grad.Data().([]float32)[j] = rng.Float32() - 0.5
			}
		}
		opt.Step()
	}
	return opt
}

// TestAdamStateRoundTrip saves Adam's moments and step count under PyTorch's names and
// loads them into a fresh Adam, which must then hold the same state.
func TestAdamStateRoundTrip(t *testing.T) {
	src := newNet(t, "cnn", 1)
	opt := adamAfterSteps(t, src, 3, 7, false)
	path := filepath.Join(t.TempDir(), "adam.safetensors")
	if err := Save(path, src.Params(), opt, sampleMeta("cnn")); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := 3*len(src.Params()) + 1 // weights, exp_avg, exp_avg_sq, step
	if len(c.File.Tensors) != want {
		t.Errorf("%d tensors, want %d", len(c.File.Tensors), want)
	}
	for _, name := range []string{"optimizer.exp_avg.conv1.0.weight", "optimizer.exp_avg_sq.fc.1.bias", "optimizer.step"} {
		if _, ok := c.File.Get(name); !ok {
			t.Errorf("no tensor %q", name)
		}
	}
	dst := newNet(t, "cnn", 2)
	dstOpt := engine.NewAdam(dst.Params(), 0.001, 0.9, 0.999, 1e-8, 0.01, false)
	if err := c.LoadInto(dst.Params(), dstOpt); err != nil {
		t.Fatal(err)
	}
	got, saved := dstOpt.State(), opt.State()
	if got == nil || got.Steps != 3 {
		t.Fatalf("state after LoadInto: %+v, want step count 3", got)
	}
	for i := range saved.Buffers {
		if got.Buffers[i].Kind != saved.Buffers[i].Kind || !reflect.DeepEqual(snapshot(got.Buffers[i].Tensors), snapshot(saved.Buffers[i].Tensors)) {
			t.Errorf("%s differs after LoadInto", saved.Buffers[i].Kind)
		}
	}

	// Another optimizer's state is refused, naming what the file holds.
	sgd := engine.NewSGD(dst.Params(), 0.01, 0.5, 0)
	if err := c.LoadInto(dst.Params(), sgd); err == nil || !strings.Contains(err.Error(), "another optimizer") {
		t.Errorf("Adam's state into SGD: error %v, want one saying it is another optimizer's", err)
	}
	if sgd.Buffers() != nil {
		t.Error("a refused state gave SGD buffers")
	}
}

// TestOptimizerStateChecked refuses files whose optimizer tensors do not fit.
func TestOptimizerStateChecked(t *testing.T) {
	src := newNet(t, "cnn", 1)
	opt := adamAfterSteps(t, src, 1, 3, true)
	var tensors []safetensors.Tensor
	for _, p := range src.Params() {
		tensors = append(tensors, safetensors.F32(p.Name, p.Value.Shape(), p.Value.Data().([]float32)))
	}
	state, err := optimizerTensors(opt.State(), src.Params(), tensors)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := sampleMeta("cnn").encode()
	if err != nil {
		t.Fatal(err)
	}
	without := func(name string) []safetensors.Tensor {
		var out []safetensors.Tensor
		for _, t := range state {
			if t.Name != name {
				out = append(out, t)
			}
		}
		return out
	}
	for _, c := range []struct {
		name  string
		extra []safetensors.Tensor
		want  string
	}{
		{"a moment missing", without("optimizer.exp_avg_sq.fc.1.bias"), `"optimizer.exp_avg_sq.fc.1.bias" is missing`},
		{"step as F32", append(without("optimizer.step"), safetensors.F32("optimizer.step", []int{}, []float32{1})), "want an I64 scalar"},
		{"unknown state", append(without(""), safetensors.F32("optimizer.max_exp_avg_sq.fc.1.bias", []int{10}, make([]float32, 10))), "belongs to no parameter"},
		{"a step count alone", []safetensors.Tensor{safetensors.I64("optimizer.step", []int{}, []int64{4})}, "without the optimizer state"},
	} {
		path := filepath.Join(t.TempDir(), "bad.safetensors")
		if err := safetensors.WriteFileAtomic(path, append(append([]safetensors.Tensor(nil), tensors...), c.extra...), meta); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Load error %v, want one saying %q", c.name, err, c.want)
		}
	}
}
