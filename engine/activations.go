package engine

import (
	"math"
	"strings"

	"mnist-tui/engine/network"
)

// LayerActivations are the statistics of one layer's output over a training batch: what the
// layers page shows and the training doctor reads to find dead ReLUs.
type LayerActivations struct {
	// Layer is the layer with parameters the output belongs to, named as its parameters are
	// without the last part ("conv1.0" for conv1.0.weight), the ReLU (and pooling) after it
	// included.
	Layer     string
	Mean, Std float64 // over every value of the output, every image of the batch
	// Units are the layer's ReLU units: a convolution's channels (one filter, wherever it
	// looks), a linear layer's outputs; 0 when no ReLU ends the layer. Dead are those that
	// were zero for every image of the batch.
	Units, Dead int
	Images      int // the images measured: the whole batch
}

// DeadFraction is the share of the ReLU units that were dead (0 without ReLUs).
func (a LayerActivations) DeadFraction() float64 {
	if a.Units == 0 {
		return 0
	}
	return float64(a.Dead) / float64(a.Units)
}

// actView is one layer's output in a model's activations: [images, units, plane].
type actView[F float] struct {
	layer       string
	y           []F
	units       int
	plane       int // values per unit of one image (a channel's pixels; 1 for a linear layer)
	relu        bool
	channelsOff int // the first of the layer's units among the tensor's channels (a concatenation)
	channels    int // channels per image of the tensor y is in (units when 0)
}

// activationLister is a hand-written model that can list its activations of the last B images
// it ran forward.
type activationLister[F float] interface {
	activations(B int) []actView[F]
}

// MeasureActivations appends to dst (cleared first) the statistics of each layer's output on
// batch images x, which must be the batch of the last TrainStep. Call it right after that
// TrainStep, before anything else runs the Net (Infer reuses the activations).
//
// A custom network's training step keeps every chunk's activations, so they are read as the
// step left them (BatchNorm on the batch's statistics, the step's dropout masks). The
// hand-written models keep only the last chunk of each worker, so their forward pass is run
// again on worker 0, chunk by chunk: it has no state besides the activations, so this changes
// nothing and, before the optimiser moves the weights, gives the step's values. Either way it
// costs at most a forward pass of one batch on one core: measured, about 2 ms of CPU for the
// cnn's batch of 64, 0.2 % of the 300 steps of a log interval.
func (n *Net) MeasureActivations(x []float32, batch int, dst []LayerActivations) []LayerActivations {
	dst = dst[:0]
	if batch < 1 {
		return dst
	}
	var acc []actAccum
	w := n.workers[0]
	switch m := w.net.(type) {
	case *customWorker:
		size, chunks := chunking(batch, len(n.phase.grads)) // as TrainStep cut the batch
		for c := range chunks {
			images := min(size, batch-c*size)
			acc = accumulate(acc, (*m.nets)[c].activations(n.params, images), images)
		}
	case activationLister[float32]:
		checkImages("MeasureActivations", x, batch)
		size := max(w.capacity, 1)
		for lo := 0; lo < batch; lo += size {
			images := min(size, batch-lo)
			w.reserve(images)
			w.net.forward(x[lo*imageSize:(lo+images)*imageSize], images, w.logits)
			acc = accumulate(acc, m.activations(images), images)
		}
	}
	for _, a := range acc {
		dst = append(dst, a.result())
	}
	return dst
}

// actAccum gathers one layer's statistics over the chunks of a batch.
type actAccum struct {
	layer      string
	n          float64
	sum, sumSq float64
	alive      []bool // per ReLU unit: positive for some image
	relu       bool
	images     int
}

// accumulate adds one chunk's views to acc (made on the first chunk).
func accumulate[F float](acc []actAccum, views []actView[F], images int) []actAccum {
	if acc == nil {
		acc = make([]actAccum, len(views))
		for i, v := range views {
			acc[i] = actAccum{layer: v.layer, relu: v.relu}
			if v.relu {
				acc[i].alive = make([]bool, v.units)
			}
		}
	}
	for i, v := range views {
		a := &acc[i]
		a.images += images
		channels := v.channels
		if channels == 0 {
			channels = v.units
		}
		for img := range images {
			for u := range v.units {
				at := ((img * channels) + v.channelsOff + u) * v.plane
				alive := false
				var s, sq float64
				for _, f := range v.y[at : at+v.plane] {
					x := float64(f)
					s += x
					sq += x * x
					alive = alive || f > 0
				}
				a.sum += s
				a.sumSq += sq
				if a.alive != nil && alive {
					a.alive[u] = true
				}
			}
			a.n += float64(v.units * v.plane)
		}
	}
	return acc
}

func (a *actAccum) result() LayerActivations {
	r := LayerActivations{Layer: a.layer, Images: a.images}
	if a.n > 0 {
		r.Mean = a.sum / a.n
		r.Std = math.Sqrt(max(0, a.sumSq/a.n-r.Mean*r.Mean))
	}
	if a.relu {
		r.Units = len(a.alive)
		for _, on := range a.alive {
			if !on {
				r.Dead++
			}
		}
	}
	return r
}

// layerOf is the layer a parameter name belongs to: the name without its last part.
func layerOf(param string) string {
	if i := strings.LastIndexByte(param, '.'); i > 0 {
		return param[:i]
	}
	return param
}

func (m *mlpModel[F]) activations(B int) []actView[F] {
	a := &m.a
	return []actView[F]{
		{layer: "l1", y: a.r1, units: 512, plane: 1, relu: true},
		{layer: "l2", y: a.r2, units: 256, plane: 1, relu: true},
		{layer: "l3", y: a.r3, units: 128, plane: 1, relu: true},
		{layer: "l4", y: a.r4, units: 64, plane: 1, relu: true},
	}
}

func (m *cnnModel[F]) activations(B int) []actView[F] {
	a := &m.a
	return []actView[F]{
		{layer: "conv1.0", y: a.pool1, units: 10, plane: 12 * 12, relu: true},
		{layer: "conv2.0", y: a.pool2, units: 20, plane: 4 * 4, relu: true},
		{layer: "fc.0", y: a.fc0, units: 50, plane: 1}, // the tutorial has no ReLU here
	}
}

func (m *residualModel[F]) activations(B int) []actView[F] {
	a := &m.a
	b1, b2 := resBlock1.H*resBlock1.W, resBlock2.H*resBlock2.W
	return []actView[F]{
		{layer: "conv1", y: a.pool1, units: resBlock1.C, plane: b1, relu: true},
		{layer: "rblock1.conv1", y: a.rblock1.r1, units: resBlock1.C, plane: b1, relu: true},
		{layer: "rblock1.conv2", y: a.rblock1.out, units: resBlock1.C, plane: b1, relu: true},
		{layer: "conv2", y: a.pool2, units: resBlock2.C, plane: b2, relu: true},
		{layer: "rblock2.conv1", y: a.rblock2.r1, units: resBlock2.C, plane: b2, relu: true},
		{layer: "rblock2.conv2", y: a.rblock2.out, units: resBlock2.C, plane: b2, relu: true},
	}
}

func (m *inceptionModel[F]) activations(B int) []actView[F] {
	a := &m.a
	views := []actView[F]{{layer: "conv1", y: a.relu1, units: 10, plane: 12 * 12, relu: true}}
	views = append(views, inceptionViews(&a.incep1, "incep1", incBlock1)...)
	views = append(views, actView[F]{layer: "conv2", y: a.relu2, units: 20, plane: 4 * 4, relu: true})
	return append(views, inceptionViews(&a.incep2, "incep2", incBlock2)...)
}

// inceptionViews are an InceptionA block's convolutions' outputs (no ReLU inside the block);
// the last of each branch is its channels of the concatenation, in the order inceptionForward
// writes them.
func inceptionViews[F float](a *inceptionActs[F], name string, s inceptionShape) []actView[F] {
	hw := s.H * s.W
	return []actView[F]{
		{layer: name + ".branch1x1", y: a.out, units: 16, plane: hw, channels: inceptionOut, channelsOff: offB1x1},
		{layer: name + ".branch5x5_1", y: a.b5x5a, units: 16, plane: hw},
		{layer: name + ".branch5x5_2", y: a.out, units: 24, plane: hw, channels: inceptionOut, channelsOff: offB5x5},
		{layer: name + ".branch3x3_1", y: a.b3x3a, units: 16, plane: hw},
		{layer: name + ".branch3x3_2", y: a.b3x3b, units: 24, plane: hw},
		{layer: name + ".branch3x3_3", y: a.out, units: 24, plane: hw, channels: inceptionOut, channelsOff: offB3x3},
		{layer: name + ".branch_pool", y: a.out, units: 24, plane: hw, channels: inceptionOut, channelsOff: offBPool},
	}
}

// activations are the outputs of the top-level layers with parameters of a custom network's
// chunk, each with the ReLU that follows it when one does (fused in, or the next layer).
// Layers inside blocks are left out: a block's parts are not layers of the list.
func (m *customNet[F]) activations(params []*Param, B int) []actView[F] {
	var views []actView[F]
	for i, n := range m.nodes {
		if len(n.l.Params("")) == 0 || n.param >= len(params) {
			continue
		}
		out, shape := n, n.outShape
		relu := n.fused == actReLU || n.fused == actReLUPool || n.bn == bnReLU || n.bn == bnReLUPool
		if !relu && i+1 < len(m.nodes) && m.nodes[i+1].l.Kind == network.ReLU {
			out, shape, relu = m.nodes[i+1], m.nodes[i+1].outShape, true
		}
		units, plane := shape.Size(), 1
		if shape.IsMap() {
			units, plane = shape[0], shape[1]*shape[2]
		}
		views = append(views, actView[F]{layer: layerOf(params[n.param].Name), y: out.y[:B*out.out], units: units, plane: plane, relu: relu})
	}
	return views
}
