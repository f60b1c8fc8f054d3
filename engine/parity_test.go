package engine_test

// Parity with PyTorch, against the fixtures engine/pytorch/make_fixtures.py writes. Errors are
// measured as max|got - want| / max|want| over a whole tensor ("max-abs over max-ref"): float32
// sums taken in another order than PyTorch's differ by a few ulps of the largest terms, so an
// element-wise relative error would be dominated by entries that are nearly zero.

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mnist-tui/engine"
	"mnist-tui/engine/safetensors"
)

const parityTol = 1e-4

func TestParityWithPyTorch(t *testing.T) {
	for _, model := range engine.Models() {
		fx := readFixture(t, "torch_"+model+".safetensors")
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads=%d", model, threads), func(t *testing.T) {
				checkParity(t, fx, model, threads)
			})
		}
	}
}

func checkParity(t *testing.T, fx *safetensors.File, model string, threads int) {
	net, err := engine.NewNet(model, 99, threads)
	if err != nil {
		t.Fatal(err)
	}
	checkStateDictOrder(t, fx, net)
	for _, p := range net.Params() {
		copy(p.Value.Data().([]float32), f32(t, fx, "param."+p.Name))
	}
	x := f32(t, fx, "input")
	y := labels(t, fx, "target")
	batch := len(y)

	logits := make([]float32, batch*10)
	net.Infer(x, batch, logits)
	wantLogits := f32(t, fx, "logits")
	expectClose(t, "logits", logits, wantLogits, parityTol)

	loss, correct := net.TrainStep(x, y, batch)
	expectClose(t, "loss", []float32{float32(loss)}, f32(t, fx, "loss"), parityTol)
	if want := countCorrect(wantLogits, y); correct != want {
		t.Errorf("correct = %d, PyTorch's logits get %d right", correct, want)
	}
	for _, p := range net.Params() {
		expectClose(t, "grad."+p.Name, p.Grad.Data().([]float32), f32(t, fx, "grad."+p.Name), parityTol)
	}

	// Three SGD steps on the same batch, as the fixture's run did.
	opt := engine.NewSGD(net.Params(), 0.01, 0.5, 0)
	losses3 := f32(t, fx, "losses3")
	for step := range losses3 {
		loss, _ := net.TrainStep(x, y, batch)
		expectClose(t, fmt.Sprintf("losses3[%d]", step), []float32{float32(loss)}, losses3[step:step+1], parityTol)
		opt.Step()
	}
	bufs := opt.Buffers()
	for i, p := range net.Params() {
		got := p.Value.Data().([]float32)
		want := f32(t, fx, "after3."+p.Name)
		expectClose(t, "after3."+p.Name, got, want, parityTol)
		// The update is about 1e-3 of the weights, small enough to hide in the check above, so
		// compare it on its own too. As the difference of two float32 weights it keeps about three
		// fewer digits (measured: 6e-5), hence the looser bound.
		start := f32(t, fx, "param."+p.Name)
		expectClose(t, "update of "+p.Name, diff(got, start), diff(want, start), 1e-3)
		expectClose(t, "momentum."+p.Name, bufs[i].Data().([]float32), f32(t, fx, "momentum."+p.Name), parityTol)
	}
}

// checkStateDictOrder checks that Params lists the fixture's param.* tensors, which the fixture
// writer stores in PyTorch's state_dict order, in that order and with the same shapes.
func checkStateDictOrder(t *testing.T, fx *safetensors.File, net *engine.Net) {
	t.Helper()
	var want []string
	for _, tensor := range fx.Tensors {
		if name, ok := strings.CutPrefix(tensor.Name, "param."); ok {
			want = append(want, name)
		}
	}
	var got []string
	for _, p := range net.Params() {
		got = append(got, p.Name)
		ref, ok := fx.Get("param." + p.Name)
		if !ok {
			continue // reported by the name comparison below
		}
		if !slices.Equal([]int(p.Value.Shape()), ref.Shape) {
			t.Errorf("%s: shape %v, PyTorch's is %v", p.Name, p.Value.Shape(), ref.Shape)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("parameter names/order:\n got  %v\n want %v (PyTorch state_dict)", got, want)
	}
}

// TestLoadsPyTorchStateDict loads a state_dict saved by PyTorch (bare names, sorted, another seed)
// by name and checks the logits it gives on other images.
func TestLoadsPyTorchStateDict(t *testing.T) {
	for _, model := range engine.Models() {
		t.Run(model, func(t *testing.T) {
			state := readFixture(t, "torch_"+model+"_state_dict.safetensors")
			check := readFixture(t, "torch_"+model+"_state_dict_logits.safetensors")
			net, err := engine.NewNet(model, 1, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(state.Tensors) != len(net.Params()) {
				t.Fatalf("state_dict has %d tensors, the net %d parameters", len(state.Tensors), len(net.Params()))
			}
			for _, p := range net.Params() {
				copy(p.Value.Data().([]float32), f32(t, state, p.Name))
			}
			x := f32(t, check, "input")
			batch := len(x) / (28 * 28)
			logits := make([]float32, batch*10)
			net.Infer(x, batch, logits)
			expectClose(t, "logits", logits, f32(t, check, "logits"), parityTol)
		})
	}
}

func readFixture(t *testing.T, name string) *safetensors.File {
	t.Helper()
	f, err := safetensors.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("%v (the fixtures come from engine/pytorch/make_fixtures.py)", err)
	}
	return f
}

func f32(t *testing.T, f *safetensors.File, name string) []float32 {
	t.Helper()
	tensor, ok := f.Get(name)
	if !ok {
		t.Fatalf("fixture has no tensor %q", name)
	}
	v, err := tensor.Float32s()
	if err != nil {
		t.Fatalf("fixture tensor %s: %v", name, err)
	}
	return v
}

func labels(t *testing.T, f *safetensors.File, name string) []int32 {
	t.Helper()
	tensor, ok := f.Get(name)
	if !ok {
		t.Fatalf("fixture has no tensor %q", name)
	}
	v, err := tensor.Int64s()
	if err != nil {
		t.Fatalf("fixture tensor %s: %v", name, err)
	}
	y := make([]int32, len(v))
	for i, l := range v {
		y[i] = int32(l)
	}
	return y
}

// expectClose reports max|got-want| / max|want| above tol.
func expectClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return
	}
	var maxErr, maxRef float64
	worst := 0
	for i := range got {
		e := math.Abs(float64(got[i]) - float64(want[i]))
		if e > maxErr || math.IsNaN(e) {
			maxErr, worst = e, i
		}
		maxRef = max(maxRef, math.Abs(float64(want[i])))
	}
	if rel := maxErr / maxRef; !(rel <= tol) {
		t.Errorf("%s: max|err|/max|ref| = %.3g > %g (worst at %d: got %g, want %g)", what, rel, tol, worst, got[worst], want[worst])
	}
}

func countCorrect(logits []float32, y []int32) int {
	n := 0
	for i, label := range y {
		row := logits[i*10 : (i+1)*10]
		if slices.Index(row, slices.Max(row)) == int(label) {
			n++
		}
	}
	return n
}

func diff(a, b []float32) []float32 {
	d := make([]float32, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	return d
}
