package engine

import (
	"fmt"
	"slices"

	"mnist-tui/engine/kernels"

	"gorgonia.org/tensor"
)

// SGD is stochastic gradient descent with momentum and weight decay, following torch.optim.SGD
// (dampening 0):
//
//	g = grad + WeightDecay*param
//	buf = g on the first step, else Momentum*buf + g
//	param -= LR*buf                  (Nesterov: param -= LR*(g + Momentum*buf))
//
// LR, Momentum, WeightDecay and Nesterov may be changed between steps. With momentum 0 the
// buffer is the gradient, so the step is PyTorch's plain param -= LR*g. The arithmetic is float32, as
// PyTorch's is for float32 parameters, each operation rounded on its own (kernels.SGDStep).
type SGD struct {
	LR, Momentum, WeightDecay float64
	Nesterov                  bool

	params  []*Param
	values  [][]float32 // params' Value and Grad backings, fetched once: Dense.Data allocates
	grads   [][]float32
	bufs    []*tensor.Dense // momentum buffers; nil until the first step or SetBuffers
	bufData [][]float32

	// net is set when params are all of a Net's, in order: then the buffers are one flat
	// slice, bufFlat, laid out as the Net's parameters, and a large model's step runs on the
	// Net's workers. The Net must then not be in use (TrainStep, Infer) during Step.
	net     *Net
	bufFlat []float32
}

// NewSGD returns an optimiser for params (typically Net.Params()). It panics if a Param's Value
// and Grad are not float32 tensors of the same size, which Net's params always are.
func NewSGD(params []*Param, lr, momentum, weightDecay float64) *SGD {
	o := &SGD{LR: lr, Momentum: momentum, WeightDecay: weightDecay, params: params}
	for _, p := range params {
		v, okV := p.Value.Data().([]float32)
		g, okG := p.Grad.Data().([]float32)
		if !okV || !okG || len(v) != len(g) {
			panic(fmt.Sprintf("engine.NewSGD: param %s: Value and Grad must be float32 tensors of one size", p.Name))
		}
		o.values = append(o.values, v)
		o.grads = append(o.grads, g)
	}
	if len(params) > 0 && params[0].net != nil && len(params) == len(params[0].net.params) {
		o.net = params[0].net
		for i, p := range params {
			if p != o.net.params[i] {
				o.net = nil
				break
			}
		}
	}
	return o
}

// Step updates every parameter from its gradient.
func (o *SGD) Step() {
	first := o.bufs == nil
	if first {
		o.allocBuffers()
	}
	lr, mom, wd := float32(o.LR), float32(o.Momentum), float32(o.WeightDecay)
	if o.Nesterov {
		for i, value := range o.values {
			nesterovRange(value, o.grads[i], o.bufData[i], lr, mom, wd, first)
		}
		return
	}
	if o.net != nil && o.net.sgdStep(o.bufFlat, lr, mom, wd, first) {
		return
	}
	for i, value := range o.values {
		kernels.SGDStep(value, o.grads[i], o.bufData[i], lr, mom, wd, first)
	}
}

// nesterovRange is kernels.SGDStep with Nesterov's look-ahead, in plain Go: the tutorial's
// plain momentum keeps the fast kernel. The conversions round each product on its own.
func nesterovRange(value, grad, buf []float32, lr, momentum, wd float32, first bool) {
	grad, buf = grad[:len(value)], buf[:len(value)]
	for j, g := range grad {
		if wd != 0 {
			g += float32(wd * value[j])
		}
		if first {
			buf[j] = g
		} else {
			buf[j] = float32(momentum*buf[j]) + g
		}
		value[j] -= float32(lr * (g + float32(momentum*buf[j])))
	}
}

// LearningRate returns LR.
func (o *SGD) LearningRate() float64 { return o.LR }

// SetLearningRate sets LR.
func (o *SGD) SetLearningRate(lr float64) { o.LR = lr }

// SetMomentum sets Momentum.
func (o *SGD) SetMomentum(m float64) { o.Momentum = m }

// State returns the momentum buffers as kind "momentum" (nil before the first step).
func (o *SGD) State() *OptimizerState {
	if o.bufs == nil {
		return nil
	}
	return &OptimizerState{Buffers: []StateBuffers{{Kind: "momentum", Tensors: o.bufs}}}
}

// SetState restores momentum buffers saved by State.
func (o *SGD) SetState(s *OptimizerState) error {
	if err := wantKinds("sgd", s, "momentum"); err != nil {
		return fmt.Errorf("sgd: %w", err)
	}
	return o.SetBuffers(s.Buffers[0].Tensors)
}

// Buffers returns the momentum buffers, one per param in order, shaped like it: the optimiser's
// own tensors, for saving. They are nil before the first Step or SetBuffers.
func (o *SGD) Buffers() []*tensor.Dense { return o.bufs }

// SetBuffers copies bufs into the momentum buffers, for resuming a run, and marks the optimiser as
// started: the next Step continues the momentum instead of starting it afresh.
func (o *SGD) SetBuffers(bufs []*tensor.Dense) error {
	if len(bufs) != len(o.params) {
		return fmt.Errorf("sgd: %d momentum buffers for %d parameters: the checkpoint belongs to another model", len(bufs), len(o.params))
	}
	for i, b := range bufs {
		p := o.params[i]
		if b == nil {
			return fmt.Errorf("sgd: momentum buffer of %s is missing", p.Name)
		}
		if !slices.Equal(b.Shape(), p.Value.Shape()) {
			return fmt.Errorf("sgd: momentum buffer of %s has shape %v, want %v", p.Name, b.Shape(), p.Value.Shape())
		}
		if _, ok := b.Data().([]float32); !ok {
			return fmt.Errorf("sgd: momentum buffer of %s is %v, want float32", p.Name, b.Dtype())
		}
	}
	if o.bufs == nil {
		o.allocBuffers()
	}
	for i, b := range bufs {
		copy(o.bufData[i], b.Data().([]float32))
	}
	return nil
}

func (o *SGD) allocBuffers() {
	o.bufs = make([]*tensor.Dense, len(o.params))
	o.bufData = make([][]float32, len(o.params))
	if o.net != nil {
		o.bufFlat = make([]float32, len(o.net.values))
	}
	off := 0
	for i, p := range o.params {
		if o.bufFlat != nil {
			// The Net's parameters are laid out back to back in this order.
			o.bufData[i] = o.bufFlat[off : off+len(o.values[i]) : off+len(o.values[i])]
			off += len(o.values[i])
		} else {
			o.bufData[i] = make([]float32, len(o.values[i]))
		}
		o.bufs[i] = tensor.New(tensor.WithShape(p.Value.Shape().Clone()...), tensor.WithBacking(o.bufData[i]))
	}
}
