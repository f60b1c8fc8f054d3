package engine

import (
	"math"
	"math/rand/v2"

	"gorgonia.org/tensor"
)

// Param is one learnable tensor of a Net, named and shaped as in the PyTorch model's state_dict.
// Value and Grad are views into the Net's flat parameter and gradient buffers: write into
// Value.Data().([]float32) to load weights.
type Param struct {
	Name  string        // PyTorch state_dict name, e.g. "conv1.0.weight"
	Value *tensor.Dense // shape as PyTorch
	Grad  *tensor.Dense // same shape; d(mean batch loss)/d(Value) after TrainStep

	net *Net // the Net it belongs to, if any: an SGD over all of a Net's Params runs on its workers
}

// fcParams are a Linear layer's weight [out,in] and bias [out].
type fcParams[F float] struct{ w, b []F }

// convParams are a Conv2d's weight [OC,C,K,K] and bias [OC].
type convParams[F float] struct{ w, b []F }

// paramSpec describes one parameter tensor; fanIn sets its initialisation range, or when 0
// the tensor starts at the constant init (a BatchNorm's weight 1 and bias 0).
type paramSpec struct {
	name  string
	shape []int
	fanIn int
	init  float32
}

func (p paramSpec) size() int {
	n := 1
	for _, d := range p.shape {
		n *= d
	}
	return n
}

// binder walks a flat buffer in state_dict order, handing each layer its slices. A model's bind
// function is the one place that order is written down: the same walk lays out the parameter
// values, each worker's gradients, and (on a binder with no buffer) the list of names and shapes.
type binder[F float] struct {
	buf   []F // nil: only record specs
	off   int
	specs []paramSpec
}

func (b *binder[F]) take(name string, fanIn int, shape ...int) []F {
	return b.takeSpec(paramSpec{name: name, shape: shape, fanIn: fanIn})
}

func (b *binder[F]) takeSpec(spec paramSpec) []F {
	n := spec.size()
	var s []F
	if b.buf != nil {
		s = b.buf[b.off : b.off+n : b.off+n]
	} else {
		b.specs = append(b.specs, spec)
	}
	b.off += n
	return s
}

func (b *binder[F]) linear(name string, in, out int) fcParams[F] {
	return fcParams[F]{
		w: b.take(name+".weight", in, out, in),
		b: b.take(name+".bias", in, out),
	}
}

func (b *binder[F]) conv(name string, s convShape) convParams[F] {
	fanIn := s.rows()
	return convParams[F]{
		w: b.take(name+".weight", fanIn, s.OC, s.C, s.K, s.K),
		b: b.take(name+".bias", fanIn, s.OC),
	}
}

// initParams fills values with PyTorch's default Conv2d/Linear initialisation: weights and biases
// uniform in ±1/sqrt(fan_in) (kaiming_uniform with a=√5 works out to that bound). The draws come
// from a PCG seeded with seed, tensor by tensor in state_dict order, so a seed fixes the weights.
// They are not PyTorch's numbers: its generator is another one.
func initParams(values []float32, specs []paramSpec, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x6d6e6973742d7475)) // second word: a fixed stream, "mnist-tu"
	off := 0
	for _, s := range specs {
		if s.fanIn == 0 {
			for i := range s.size() {
				values[off+i] = s.init
			}
			off += s.size()
			continue
		}
		bound := 1 / math.Sqrt(float64(s.fanIn))
		for i := range s.size() {
			values[off+i] = float32((2*rng.Float64() - 1) * bound)
		}
		off += s.size()
	}
}

// newParams wraps the flat values and grads buffers into one Param per spec.
func newParams(specs []paramSpec, values, grads []float32) []*Param {
	params := make([]*Param, len(specs))
	off := 0
	for i, s := range specs {
		n := s.size()
		params[i] = &Param{
			Name:  s.name,
			Value: tensor.New(tensor.WithShape(s.shape...), tensor.WithBacking(values[off:off+n:off+n])),
			Grad:  tensor.New(tensor.WithShape(s.shape...), tensor.WithBacking(grads[off:off+n:off+n])),
		}
		off += n
	}
	return params
}

// arena hands out consecutive slices of one float buffer and one byte buffer. A model describes
// its activations once, as a layout function over an arena; run on an empty arena the function
// only counts, so the activations (or their gradients) become one allocation that can be zeroed
// in one call.
type arena[F float] struct {
	f      []F
	b      []uint8
	nf, nb int
}

func (a *arena[F]) floats(n int) []F {
	var s []F
	if a.f != nil {
		s = a.f[a.nf : a.nf+n : a.nf+n]
	}
	a.nf += n
	return s
}

func (a *arena[F]) bytes(n int) []uint8 {
	var s []uint8
	if a.b != nil {
		s = a.b[a.nb : a.nb+n : a.nb+n]
	}
	a.nb += n
	return s
}

// allocate runs layout twice, to count and then to hand out slices of one fresh buffer. It
// returns the laid-out value and the float buffer behind it.
func allocate[F float, T any](layout func(*arena[F]) T) (T, []F) {
	var count arena[F]
	layout(&count)
	a := arena[F]{f: make([]F, count.nf), b: make([]uint8, count.nb)}
	return layout(&a), a.f
}

// gradBindings remembers a model's gradient views into each buffer it has been bound to. A
// worker switches buffers for every chunk it runs, and walking the parameter list again would
// allocate (the names); after the first chunk of each buffer, switching costs a lookup.
type gradBindings[F float, P any] struct {
	bufs []*F
	ps   []P
}

// get returns the views bind makes of grads, binding them the first time.
func (g *gradBindings[F, P]) get(grads []F, bind func(*binder[F]) P) P {
	for i, b := range g.bufs {
		if b == &grads[0] {
			return g.ps[i]
		}
	}
	p := bind(&binder[F]{buf: grads})
	g.bufs = append(g.bufs, &grads[0])
	g.ps = append(g.ps, p)
	return p
}
