package engine

import (
	"math"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

func testParam(name string, shape []int, value, grad []float32) *Param {
	return &Param{
		Name:  name,
		Value: tensor.New(tensor.WithShape(shape...), tensor.WithBacking(value)),
		Grad:  tensor.New(tensor.WithShape(shape...), tensor.WithBacking(grad)),
	}
}

// TestSGDFollowsPyTorch steps by hand, in float64, through PyTorch's rule with weight decay and
// hyperparameters changed between steps.
func TestSGDFollowsPyTorch(t *testing.T) {
	w, g := []float32{1, -2, 0.5, 3}, []float32{0.1, 0.2, -0.3, 0}
	b, gb := []float32{0.25}, []float32{-1}
	params := []*Param{testParam("w", []int{2, 2}, w, g), testParam("b", []int{1}, b, gb)}
	opt := NewSGD(params, 0.1, 0.9, 0.01)
	if opt.Buffers() != nil {
		t.Fatal("Buffers before the first step: want nil")
	}

	want := []float64{1, -2, 0.5, 3, 0.25}
	grads := []float64{0.1, 0.2, -0.3, 0, -1}
	buf := make([]float64, 5)
	type hyper struct{ lr, momentum, wd float64 }
	for step, h := range []hyper{{0.1, 0.9, 0.01}, {0.1, 0.9, 0.01}, {0.05, 0.5, 0}} {
		opt.LR, opt.Momentum, opt.WeightDecay = h.lr, h.momentum, h.wd
		opt.Step()
		for i := range want {
			d := grads[i] + h.wd*want[i]
			if step == 0 {
				buf[i] = d // PyTorch: the first step's buffer is the gradient, not momentum*0 + g
			} else {
				buf[i] = h.momentum*buf[i] + d
			}
			want[i] -= h.lr * buf[i]
		}
		got := append(slices.Clone(w), b...)
		for i := range want {
			if math.Abs(float64(got[i])-want[i]) > 1e-6 {
				t.Fatalf("step %d: params %v, want %v", step+1, got, want)
			}
		}
	}
	bufs := opt.Buffers()
	if len(bufs) != 2 || !slices.Equal(bufs[0].Shape(), tensor.Shape{2, 2}) || !slices.Equal(bufs[1].Shape(), tensor.Shape{1}) {
		t.Fatalf("Buffers() = %v, want shapes [2 2] and [1]", bufs)
	}
	for i, v := range append(slices.Clone(bufs[0].Data().([]float32)), bufs[1].Data().([]float32)...) {
		if math.Abs(float64(v)-buf[i]) > 1e-6 {
			t.Errorf("momentum buffer %d = %g, want %g", i, v, buf[i])
		}
	}
}

// TestSGDResume checks that an optimiser given another's buffers continues exactly as the
// original does.
func TestSGDResume(t *testing.T) {
	newPair := func() ([]*Param, []float32) {
		w, g := []float32{1, 2, 3}, []float32{0.5, -0.5, 0.25}
		return []*Param{testParam("w", []int{3}, w, g)}, w
	}
	pa, wa := newPair()
	a := NewSGD(pa, 0.1, 0.5, 0)
	a.Step()

	pb, wb := newPair()
	copy(wb, wa)
	b := NewSGD(pb, 0.1, 0.5, 0)
	if err := b.SetBuffers(a.Buffers()); err != nil {
		t.Fatal(err)
	}
	a.Step()
	b.Step()
	expectSame(t, "weights after resuming", wb, wa)
	expectSame(t, "momentum after resuming", b.Buffers()[0].Data().([]float32), a.Buffers()[0].Data().([]float32))
}

func TestSGDSetBuffersErrors(t *testing.T) {
	params := []*Param{testParam("conv.weight", []int{2, 3}, make([]float32, 6), make([]float32, 6))}
	opt := NewSGD(params, 0.1, 0.5, 0)
	buf := func(shape ...int) *tensor.Dense {
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(make([]float32, tensor.Shape(shape).TotalSize())))
	}
	for _, c := range []struct {
		name string
		bufs []*tensor.Dense
		want string
	}{
		{"too few", nil, "0 momentum buffers for 1 parameters"},
		{"too many", []*tensor.Dense{buf(2, 3), buf(2, 3)}, "2 momentum buffers"},
		{"wrong shape", []*tensor.Dense{buf(3, 2)}, "conv.weight has shape (3, 2), want (2, 3)"},
		{"missing", []*tensor.Dense{nil}, "conv.weight is missing"},
		{"float64", []*tensor.Dense{tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(make([]float64, 6)))}, "want float32"},
	} {
		err := opt.SetBuffers(c.bufs)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
	if opt.Buffers() != nil {
		t.Error("failed SetBuffers calls left buffers behind")
	}
}

// TestSGDOnWorkersMatchesSerial steps a two-thread Net's parameters, which a large model's
// SGD updates on the Net's workers a range each, and the same parameters of a one-thread Net,
// stepped one tensor at a time, from the same gradients: values and momentum buffers must
// come out bit for bit the same, and SetBuffers must reach the workers' buffers.
func TestSGDOnWorkersMatchesSerial(t *testing.T) {
	par, ser := newTestNet(t, "linear", 3, 2), newTestNet(t, "linear", 3, 1)
	if par.NumParams() < parallelReduction {
		t.Fatalf("linear has %d parameters: too few for the parallel step this test is about", par.NumParams())
	}
	optPar, optSer := NewSGD(par.Params(), 0.1, 0.9, 0.01), NewSGD(ser.Params(), 0.1, 0.9, 0.01)
	if optPar.net != par {
		t.Fatal("an SGD over all of a Net's Params does not run on its workers")
	}
	for step := range 3 {
		for i := range par.grads {
			g := float32(math.Sin(float64(i*(step+1)))) * 0.01
			par.grads[i], ser.grads[i] = g, g
		}
		optPar.Momentum, optSer.Momentum = 0.9-0.2*float64(step), 0.9-0.2*float64(step)
		optPar.Step()
		optSer.Step()
		if !slices.Equal(par.values, ser.values) {
			t.Fatalf("step %d: values differ between the workers' step and the serial one", step)
		}
		for i, b := range optPar.Buffers() {
			if !slices.Equal(b.Data().([]float32), optSer.Buffers()[i].Data().([]float32)) {
				t.Fatalf("step %d: momentum buffer of %s differs", step, par.Params()[i].Name)
			}
		}
	}
	// Buffers set from a checkpoint are the ones the workers read.
	if err := optPar.SetBuffers(optSer.Buffers()); err != nil {
		t.Fatal(err)
	}
	for i := range optPar.bufFlat {
		optPar.bufFlat[i] = 0
	}
	if err := optPar.SetBuffers(optSer.Buffers()); err != nil {
		t.Fatal(err)
	}
	optPar.Step()
	optSer.Step()
	if !slices.Equal(par.values, ser.values) {
		t.Fatal("after SetBuffers: values differ between the workers' step and the serial one")
	}
}
