package health

import (
	"math"
	"slices"
	"testing"

	"gorgonia.org/tensor"

	"mnist-tui/engine"
	"mnist-tui/engine/runs"
)

func param(name string, value, grad []float32) *engine.Param {
	return &engine.Param{
		Name:  name,
		Value: tensor.New(tensor.WithShape(len(value)), tensor.WithBacking(value)),
		Grad:  tensor.New(tensor.WithShape(len(grad)), tensor.WithBacking(grad)),
	}
}

// Norms worked out by hand: a weight (3, 4) with bias (0) has norm 5, its
// gradient (0.6, 0) with bias gradient (0.8) norm 1, so at lr 0.01 a step
// changes it by 0.01 x 1 / 5.
func TestMeasureGroupsWeightAndBiasIntoLayers(t *testing.T) {
	params := []*engine.Param{
		param("conv1.0.weight", []float32{3, 4}, []float32{0.6, 0}),
		param("conv1.0.bias", []float32{0}, []float32{0.8}),
		param("fc.weight", []float32{0, 0, 2}, []float32{1, 2, 2}),
		param("dead.weight", []float32{0, 0}, []float32{0, 1}),
		param("zero.weight", []float32{0}, []float32{0}),
	}
	got := NewMeter(params).Measure(0.01, nil)
	want := []runs.LayerHealth{
		{Name: "conv1.0", WeightNorm: 5, GradNorm: 1, UpdateRatio: 0.002},
		{Name: "fc", WeightNorm: 2, GradNorm: 3, UpdateRatio: 0.015},
		{Name: "dead", WeightNorm: 0, GradNorm: 1, UpdateRatio: math.Inf(1)},
		{Name: "zero"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d layers %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || !close(g.WeightNorm, w.WeightNorm) || !close(g.GradNorm, w.GradNorm) || !close(g.UpdateRatio, w.UpdateRatio) {
			t.Errorf("layer %d: %+v, want %+v", i, g, w)
		}
	}
}

// float32 inputs: 0.6 and 0.8 are not exact, so the sums are off by a few ulps of float32.
func close(a, b float64) bool {
	if math.IsInf(b, 1) {
		return math.IsInf(a, 1)
	}
	return math.Abs(a-b) <= 1e-7*math.Max(1, math.Abs(b))
}

// The meter reads the net's buffers in place: after a training step it
// sees the new gradients without being rebuilt, and its layers are the
// model's, in order.
func TestMeterFollowsTheNet(t *testing.T) {
	net, err := engine.NewNet("cnn", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMeter(net.Params())
	before := m.Measure(0.01, nil)
	var names []string
	for _, l := range before {
		names = append(names, l.Name)
		if l.GradNorm != 0 {
			t.Errorf("%s has gradient norm %g before any step", l.Name, l.GradNorm)
		}
		if l.WeightNorm <= 0 {
			t.Errorf("%s has weight norm %g after initialisation", l.Name, l.WeightNorm)
		}
	}
	var paramLayers []string
	for _, p := range net.Params() {
		if n := LayerName(p.Name); !slices.Contains(paramLayers, n) {
			paramLayers = append(paramLayers, n)
		}
	}
	if !slices.Equal(names, paramLayers) || len(names) < 4 {
		t.Errorf("layers %v, want the model's %v", names, paramLayers)
	}
	x := make([]float32, 4*28*28)
	for i := range x {
		x[i] = float32(i%7) / 7
	}
	net.TrainStep(x, []int32{1, 2, 3, 4}, 4)
	after := m.Measure(0.01, before)
	for _, l := range after {
		if l.GradNorm <= 0 || l.UpdateRatio <= 0 {
			t.Errorf("%s after a step: %+v, want a gradient", l.Name, l)
		}
	}
}

// The four-way sum is the plain sum, for every length of tail.
func TestSumSquaresOfEveryLength(t *testing.T) {
	for n := range 10 {
		v := make([]float32, n)
		want := 0.0
		for i := range v {
			v[i] = float32(i) + 0.5
			want += float64(v[i]) * float64(v[i])
		}
		if got := sumSquares([][]float32{v, {2}}); got != want+4 {
			t.Errorf("length %d: %g, want %g", n, got, want+4)
		}
	}
}

// Every cnn layer whose output the engine measures gets its activations,
// by name; the last layer (the logits) has none, and a record measured
// again with fewer activations does not keep the old ones.
func TestAddActivationsMatchesLayersByName(t *testing.T) {
	net, err := engine.NewNet("cnn", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	const batch = 8
	x := make([]float32, batch*28*28)
	for i := range x {
		x[i] = float32(i%29) / 29
	}
	y := make([]int32, batch)
	net.TrainStep(x, y, batch)
	acts := net.MeasureActivations(x, batch, nil)
	layers := NewMeter(net.Params()).Measure(0.01, nil)
	AddActivations(layers, acts)
	var measured []string
	for _, l := range layers {
		if l.Act != nil {
			measured = append(measured, l.Name)
			a := findAct(acts, l.Name)
			if l.Act.Mean != a.Mean || l.Act.Std != a.Std || l.Act.ReLUs != a.Units || l.Act.Dead != a.DeadFraction() {
				t.Errorf("%s: %+v, measured %+v", l.Name, *l.Act, a)
			}
		}
	}
	if want := []string{"conv1.0", "conv2.0", "fc.0"}; !slices.Equal(measured, want) {
		t.Errorf("layers with activations: %v, want %v", measured, want)
	}
	AddActivations(layers, acts[:1])
	if layers[1].Act != nil {
		t.Errorf("conv2.0 kept activations it was not given: %+v", *layers[1].Act)
	}
}

func findAct(acts []engine.LayerActivations, name string) engine.LayerActivations {
	for _, a := range acts {
		if a.Layer == name {
			return a
		}
	}
	return engine.LayerActivations{}
}
