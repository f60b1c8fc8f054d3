// Package health measures the layers of a network from its parameters:
// how large each layer's weights and last gradient are, and how much one
// step of plain SGD changes the weights relative to their size; and from
// its activations (engine.Net.MeasureActivations): their mean and spread,
// and how many ReLU units were off for the whole batch. It reads the
// engine's buffers in place, once per log interval, so it costs a pass
// over the parameters and one batch's forward pass every few hundred
// steps, and nothing in between.
package health

import (
	"math"
	"strings"

	"mnist-tui/engine"
	"mnist-tui/engine/runs"
)

// Meter measures one net's layers. It groups the parameters into layers
// once (a weight and its bias share a name up to the last dot) and keeps
// their buffers, since fetching a tensor's data allocates.
type Meter struct {
	layers []layer
}

type layer struct {
	name          string
	values, grads [][]float32
}

// NewMeter groups params (in the net's order) into layers.
func NewMeter(params []*engine.Param) *Meter {
	m := &Meter{}
	for _, p := range params {
		name := LayerName(p.Name)
		if len(m.layers) == 0 || m.layers[len(m.layers)-1].name != name {
			m.layers = append(m.layers, layer{name: name})
		}
		l := &m.layers[len(m.layers)-1]
		l.values = append(l.values, p.Value.Data().([]float32))
		l.grads = append(l.grads, p.Grad.Data().([]float32))
	}
	return m
}

// LayerName is the layer a parameter belongs to: its name without the
// last part ("conv1.0.weight" is in "conv1.0").
func LayerName(param string) string {
	if i := strings.LastIndexByte(param, '.'); i > 0 {
		return param[:i]
	}
	return param
}

// Measure appends to dst (cleared first) every layer's norms and update
// ratio, lr being the learning rate of the step that used the gradients.
// A layer whose weights are all zero has ratio +Inf (any step is
// infinitely large relative to them) unless its gradient is zero too.
func (m *Meter) Measure(lr float64, dst []runs.LayerHealth) []runs.LayerHealth {
	dst = dst[:0]
	for _, l := range m.layers {
		w, g := math.Sqrt(sumSquares(l.values)), math.Sqrt(sumSquares(l.grads))
		ratio := 0.0
		switch {
		case w > 0:
			ratio = lr * g / w
		case g > 0:
			ratio = math.Inf(1)
		}
		dst = append(dst, runs.LayerHealth{Name: l.name, WeightNorm: w, GradNorm: g, UpdateRatio: ratio})
	}
	return dst
}

// sumSquares adds in float64: a float32 sum over half a million squares
// loses the small ones. Four sums side by side let the additions overlap
// (one chain waits on each addition's latency).
func sumSquares(tensors [][]float32) float64 {
	var s0, s1, s2, s3 float64
	for _, t := range tensors {
		i := 0
		for ; i+4 <= len(t); i += 4 {
			a, b, c, d := float64(t[i]), float64(t[i+1]), float64(t[i+2]), float64(t[i+3])
			s0 += a * a
			s1 += b * b
			s2 += c * c
			s3 += d * d
		}
		for ; i < len(t); i++ {
			s0 += float64(t[i]) * float64(t[i])
		}
	}
	return (s0 + s1) + (s2 + s3)
}

// AddActivations gives each layer of layers the activations measured for
// it (matched by name); layers without any keep a nil Act.
func AddActivations(layers []runs.LayerHealth, acts []engine.LayerActivations) {
	for i := range layers {
		layers[i].Act = nil
		for _, a := range acts {
			if a.Layer == layers[i].Name {
				layers[i].Act = &runs.Activations{Mean: a.Mean, Std: a.Std, ReLUs: a.Units, Dead: a.DeadFraction()}
				break
			}
		}
	}
}
