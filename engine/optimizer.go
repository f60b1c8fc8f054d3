package engine

import (
	"fmt"
	"math"
	"slices"

	"gorgonia.org/tensor"
)

// Optimizer updates parameters from their gradients: SGD, or Adam and AdamW.
type Optimizer interface {
	// Step updates every parameter from its gradient.
	Step()
	// LearningRate is the rate the next Step uses; SetLearningRate changes it between steps
	// (a schedule sets it before every step).
	LearningRate() float64
	SetLearningRate(lr float64)
	// SetMomentum sets SGD's momentum or Adam's beta1 for the next Step: what OneCycleLR's
	// cycle_momentum moves from step to step.
	SetMomentum(m float64)
	// State returns the optimiser's state, to save: nil before the first step.
	State() *OptimizerState
	// SetState restores a State, to resume a run: the next Step continues as the optimiser
	// that saved it would have.
	SetState(s *OptimizerState) error
}

// OptimizerState is what an optimiser carries from step to step, named as PyTorch's state_dict
// names it (SGD's "momentum_buffer" is "momentum", the name mnist-tui's checkpoints have always used).
type OptimizerState struct {
	// Steps is the number of steps taken, which Adam's bias correction needs ("step");
	// 0 for SGD, which does not count.
	Steps int64
	// Buffers holds one entry per kind of per-parameter state, in a fixed order: SGD's
	// "momentum"; Adam's "exp_avg" and "exp_avg_sq". The tensors are the optimiser's own.
	Buffers []StateBuffers
}

// StateBuffers is one kind of per-parameter state: a tensor per parameter, shaped like it.
type StateBuffers struct {
	Kind    string
	Tensors []*tensor.Dense
}

// Kinds lists the kinds of s's buffers, in order.
func (s *OptimizerState) Kinds() []string {
	kinds := make([]string, len(s.Buffers))
	for i, b := range s.Buffers {
		kinds[i] = b.Kind
	}
	return kinds
}

// checkStateTensors checks that bufs fit params (one float32 tensor each, shaped like it).
func checkStateTensors(kind string, bufs []*tensor.Dense, params []*Param) error {
	if len(bufs) != len(params) {
		return fmt.Errorf("%d %s buffers for %d parameters: the checkpoint belongs to another model", len(bufs), kind, len(params))
	}
	for i, b := range bufs {
		p := params[i]
		if b == nil {
			return fmt.Errorf("%s buffer of %s is missing", kind, p.Name)
		}
		if !slices.Equal(b.Shape(), p.Value.Shape()) {
			return fmt.Errorf("%s buffer of %s has shape %v, want %v", kind, p.Name, b.Shape(), p.Value.Shape())
		}
		if _, ok := b.Data().([]float32); !ok {
			return fmt.Errorf("%s buffer of %s is %v, want float32", kind, p.Name, b.Dtype())
		}
	}
	return nil
}

// wantKinds says what is wrong when a saved state's kinds are not an optimiser's.
func wantKinds(name string, s *OptimizerState, want ...string) error {
	if !slices.Equal(s.Kinds(), want) {
		return fmt.Errorf("the saved optimizer state holds %v, %s keeps %v: the checkpoint was trained with another optimizer; resume it with that one", s.Kinds(), name, want)
	}
	return nil
}

// Adam is torch.optim.Adam, or torch.optim.AdamW when Decoupled is set (amsgrad off). For each
// parameter p with gradient g, at step t (counted from 1):
//
//	Adam:  g += WeightDecay*p                   (L2 decay, in the gradient)
//	AdamW: p *= 1 - LR*WeightDecay              (decoupled decay, before the update)
//	m = Beta1*m + (1-Beta1)*g                   (exp_avg)
//	v = Beta2*v + (1-Beta2)*g*g                 (exp_avg_sq)
//	p -= LR/(1-Beta1^t) * m / (sqrt(v)/sqrt(1-Beta2^t) + Eps)
//
// The moments and parameters are float32, each operation rounded on its own as PyTorch's are;
// the bias corrections are float64, as PyTorch computes them in Python.
type Adam struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	Decoupled                          bool

	params         []*Param
	values, grads  [][]float32
	steps          int64
	expAvg, expSq  []*tensor.Dense // nil until the first step or SetState
	avgData, sqDat [][]float32
}

// NewAdam returns Adam (decoupled false) or AdamW (decoupled true) over params. Like NewSGD it
// panics on a Param whose Value and Grad are not float32 tensors of one size.
func NewAdam(params []*Param, lr, beta1, beta2, eps, weightDecay float64, decoupled bool) *Adam {
	o := &Adam{LR: lr, Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: weightDecay, Decoupled: decoupled, params: params}
	for _, p := range params {
		v, okV := p.Value.Data().([]float32)
		g, okG := p.Grad.Data().([]float32)
		if !okV || !okG || len(v) != len(g) {
			panic(fmt.Sprintf("engine.NewAdam: param %s: Value and Grad must be float32 tensors of one size", p.Name))
		}
		o.values = append(o.values, v)
		o.grads = append(o.grads, g)
	}
	return o
}

func (o *Adam) name() string {
	if o.Decoupled {
		return "adamw"
	}
	return "adam"
}

// Step updates every parameter from its gradient.
func (o *Adam) Step() {
	if o.expAvg == nil {
		o.alloc()
	}
	o.steps++
	t := float64(o.steps)
	stepSize := float32(o.LR / (1 - math.Pow(o.Beta1, t)))
	correction2 := float32(math.Sqrt(1 - math.Pow(o.Beta2, t)))
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	c1, c2 := float32(1-o.Beta1), float32(1-o.Beta2)
	eps, wd := float32(o.Eps), float32(o.WeightDecay)
	decay := float32(1 - o.LR*o.WeightDecay)
	for i, value := range o.values {
		adamRange(value, o.grads[i], o.avgData[i], o.sqDat[i], b1, b2, c1, c2, eps, wd, decay, stepSize, correction2, o.Decoupled)
	}
}

// adamRange is one Adam step over a parameter tensor. The float32 conversions round each
// product on its own: without them the compiler may fuse a multiply and an add.
func adamRange(value, grad, m, v []float32, b1, b2, c1, c2, eps, wd, decay, stepSize, correction2 float32, decoupled bool) {
	grad, m, v = grad[:len(value)], m[:len(value)], v[:len(value)]
	for j, g := range grad {
		p := value[j]
		if decoupled {
			if wd != 0 {
				p = float32(p * decay)
			}
		} else if wd != 0 {
			g += float32(wd * p)
		}
		m[j] = float32(m[j]*b1) + float32(g*c1)
		v[j] = float32(v[j]*b2) + float32(float32(g*g)*c2)
		denom := float32(float32(math.Sqrt(float64(v[j])))/correction2) + eps
		value[j] = p - float32(stepSize*float32(m[j]/denom))
	}
}

func (o *Adam) alloc() {
	o.expAvg, o.avgData = newStateTensors(o.params, o.values)
	o.expSq, o.sqDat = newStateTensors(o.params, o.values)
}

func newStateTensors(params []*Param, values [][]float32) ([]*tensor.Dense, [][]float32) {
	ts, data := make([]*tensor.Dense, len(params)), make([][]float32, len(params))
	for i, p := range params {
		data[i] = make([]float32, len(values[i]))
		ts[i] = tensor.New(tensor.WithShape(p.Value.Shape().Clone()...), tensor.WithBacking(data[i]))
	}
	return ts, data
}

// LearningRate returns LR.
func (o *Adam) LearningRate() float64 { return o.LR }

// SetLearningRate sets LR.
func (o *Adam) SetLearningRate(lr float64) { o.LR = lr }

// SetMomentum sets Beta1, which the next Step's bias correction uses too, as PyTorch's does.
func (o *Adam) SetMomentum(beta1 float64) { o.Beta1 = beta1 }

// State returns the step count and the moments (the optimiser's own tensors), nil before the
// first step.
func (o *Adam) State() *OptimizerState {
	if o.expAvg == nil {
		return nil
	}
	return &OptimizerState{Steps: o.steps, Buffers: []StateBuffers{{"exp_avg", o.expAvg}, {"exp_avg_sq", o.expSq}}}
}

// SetState copies a saved step count and moments in.
func (o *Adam) SetState(s *OptimizerState) error {
	if err := wantKinds(o.name(), s, "exp_avg", "exp_avg_sq"); err != nil {
		return fmt.Errorf("%s: %w", o.name(), err)
	}
	if s.Steps < 1 {
		return fmt.Errorf("%s: the saved state has step count %d, want at least 1", o.name(), s.Steps)
	}
	for _, b := range s.Buffers {
		if err := checkStateTensors(b.Kind, b.Tensors, o.params); err != nil {
			return fmt.Errorf("%s: %w", o.name(), err)
		}
	}
	if o.expAvg == nil {
		o.alloc()
	}
	for i := range o.params {
		copy(o.avgData[i], s.Buffers[0].Tensors[i].Data().([]float32))
		copy(o.sqDat[i], s.Buffers[1].Tensors[i].Data().([]float32))
	}
	o.steps = s.Steps
	return nil
}

// GradClipper is torch.nn.utils.clip_grad_norm_(params, MaxNorm), for before an optimizer
// step: when the 2-norm of all the gradients together is above MaxNorm, every gradient is
// multiplied by MaxNorm/(norm+1e-6), PyTorch's coefficient (clamped at 1, which leaves the
// gradients as they are).
type GradClipper struct {
	MaxNorm float64
	grads   [][]float32
}

// NewGradClipper clips params' gradients. Like NewSGD it panics on a Param whose Grad is not a
// float32 tensor.
func NewGradClipper(params []*Param, maxNorm float64) *GradClipper {
	c := &GradClipper{MaxNorm: maxNorm}
	for _, p := range params {
		g, ok := p.Grad.Data().([]float32)
		if !ok {
			panic(fmt.Sprintf("engine.NewGradClipper: param %s: Grad must be a float32 tensor", p.Name))
		}
		c.grads = append(c.grads, g)
	}
	return c
}

// Clip scales the gradients down to MaxNorm when their norm is above it, and returns the norm
// they had. The norm is summed in float64, which PyTorch's float32 norm of norms matches to a
// few units in the last place of float32.
func (c *GradClipper) Clip() float64 {
	var sum float64
	for _, g := range c.grads {
		for _, v := range g {
			sum += float64(v) * float64(v)
		}
	}
	norm := math.Sqrt(sum)
	coef := float32(c.MaxNorm / (norm + 1e-6))
	if coef >= 1 {
		return norm
	}
	for _, g := range c.grads {
		for j := range g {
			g[j] *= coef
		}
	}
	return norm
}
