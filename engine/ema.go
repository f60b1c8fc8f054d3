package engine

import (
	"fmt"

	"gorgonia.org/tensor"
)

// EMA is an exponential moving average of a Net's weights, to evaluate with: the weights of
// the last steps of a run jitter around a minimum, and their average sits nearer to it. It is
// torch.optim.swa_utils.AveragedModel(model, avg_fn=ema, use_buffers=True) with
//
//	ema(avg, w) = Decay*avg + (1-Decay)*w
//
// updated after every optimizer step, the first update copying the weights. BatchNorm's running
// statistics are averaged the same way (use_buffers=True): they describe the activations of
// the weights that made them, and averaged alongside they fit the averaged weights, where the
// live statistics would describe weights the average has not caught up with. A BatchNorm's
// num_batches_tracked, a count that only a momentum-less BatchNorm reads, is not averaged.
//
// The arithmetic is float32, each product rounded on its own, as PyTorch's is.
type EMA struct {
	Decay float64

	params    []*Param    // the averages, named as the weights
	avg, live [][]float32 // their backings, and the weights'
	bufs      []Buffer    // the averaged running statistics
	liveBufs  [][]float32 // the Net's statistics
	started   bool
}

// NewEMA averages params and the float buffers of bufs (a Net's Params and Buffers) with decay.
// Like NewSGD it panics on a Param whose Value is not a float32 tensor.
func NewEMA(params []*Param, bufs []Buffer, decay float64) *EMA {
	e := &EMA{Decay: decay}
	for _, p := range params {
		v, ok := p.Value.Data().([]float32)
		if !ok {
			panic(fmt.Sprintf("engine.NewEMA: param %s: Value must be a float32 tensor", p.Name))
		}
		avg := make([]float32, len(v))
		e.params = append(e.params, &Param{Name: p.Name, Value: tensor.New(tensor.WithShape(p.Value.Shape().Clone()...), tensor.WithBacking(avg))})
		e.avg = append(e.avg, avg)
		e.live = append(e.live, v)
	}
	for _, b := range bufs {
		if b.Tracked != nil {
			continue
		}
		e.bufs = append(e.bufs, Buffer{Name: b.Name, Values: make([]float32, len(b.Values))})
		e.liveBufs = append(e.liveBufs, b.Values)
	}
	return e
}

// Update moves the averages towards the weights as they are now; the first call copies them.
func (e *EMA) Update() {
	if !e.started {
		for i, v := range e.live {
			copy(e.avg[i], v)
		}
		for i, v := range e.liveBufs {
			copy(e.bufs[i].Values, v)
		}
		e.started = true
		return
	}
	d, c := float32(e.Decay), float32(1-e.Decay)
	for i, v := range e.live {
		emaRange(e.avg[i], v, d, c)
	}
	for i, v := range e.liveBufs {
		emaRange(e.bufs[i].Values, v, d, c)
	}
}

// emaRange is avg = d*avg + c*w; the conversions keep the compiler from fusing a multiply
// and an add, which PyTorch's two tensor operations do not.
func emaRange(avg, w []float32, d, c float32) {
	w = w[:len(avg)]
	for j, x := range w {
		avg[j] = float32(d*avg[j]) + float32(c*x)
	}
}

// Started reports whether Update has run (or SetStarted said so): before, the
// averages are zeros and mean nothing.
func (e *EMA) Started() bool { return e.started }

// Params returns the averaged weights, named as the Net's parameters. They are the EMA's own:
// a checkpoint is saved from them and restored into them (then call SetStarted).
func (e *EMA) Params() []*Param { return e.params }

// Buffers returns the averaged running statistics (running_mean, running_var), as Params does.
func (e *EMA) Buffers() []Buffer { return e.bufs }

// SetStarted says whether the averages hold a run's (restored from a checkpoint, say): the
// next Update continues them, or else copies the weights.
func (e *EMA) SetStarted(started bool) { e.started = started }

// Averages returns the backings of the averages, the parameters' then the statistics', to
// remember and restore them as they are (the EMA's own slices).
func (e *EMA) Averages() [][]float32 {
	out := append([][]float32(nil), e.avg...)
	for _, b := range e.bufs {
		out = append(out, b.Values)
	}
	return out
}

// Swap exchanges the averages and the Net's weights and statistics, in place and exactly, so
// that the Net evaluates with the averages; a second Swap puts everything back. Nothing may
// train the Net in between.
func (e *EMA) Swap() {
	for i, v := range e.live {
		swapValues(e.avg[i], v)
	}
	for i, v := range e.liveBufs {
		swapValues(e.bufs[i].Values, v)
	}
}

func swapValues(a, b []float32) {
	b = b[:len(a)]
	for j := range a {
		a[j], b[j] = b[j], a[j]
	}
}
