package engine

import (
	"fmt"
	"slices"
	"strconv"

	"mnist-tui/engine/network"
)

// A Probe runs one image through a network in evaluation mode, layer by layer, and keeps every
// layer's output: what the dashboard's layers page draws. It is a network of its own, built
// from a network-format spec (a custom network, or a built-in model's preset, network.Preset),
// whose weights are copied in from the Net being trained (Load). Its nodes are built without
// fusion, so a convolution's output before its ReLU is there too; the training path is not
// touched.
type Probe struct {
	spec *Net // owns the parameter values and BatchNorm statistics the nodes read
	m    *customNet[float32]
}

// LayerOutput is one layer's output for the probed image.
type LayerOutput struct {
	// Path is the layer's index path in the spec, as parameter names have it: "3" for the
	// fourth layer, "3.1" for layer 1 of the block at 3, "5.2.0" for layer 0 of branch 2.
	Path  string
	Layer *network.Layer
	// Depth is how many blocks hold the layer: 0 for the top-level list.
	Depth int
	// Values is the output, Layer.OutShape; a copy that Load and Run do not touch again.
	Values []float32
	// Weight is a convolution's weight [Out, In[0], Kernel, Kernel], a copy; nil for the
	// other layers.
	Weight []float32
}

// NewProbe builds a probe for the checked network spec, its weights zero until Load.
func NewProbe(spec *network.Network) (*Probe, error) {
	net, err := NewCustomNet(spec, 1, 1)
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	m := &customNet[float32]{spec: spec, st: net.buffers}
	m.p = bindCustom(&binder[float32]{buf: net.values}, spec)
	param, stat, drop := 0, 0, 0
	m.nodes = buildNodes[float32](spec.Layers, &param, &stat, &drop, false)
	m.reserve(1)
	return &Probe{spec: net, m: m}, nil
}

// Load copies the weights (and BatchNorm statistics) of src, the Params of a Net of the same
// network: parameters are taken by position, since a built-in model names them its own way
// ("conv1.0.weight") where its preset says "0.weight", in the same order (see
// TestPresetsListTheBuiltInParametersInOrder); their shapes must agree.
func (p *Probe) Load(src []*Param) error {
	dst := p.spec.Params()
	if len(src) != len(dst) {
		return fmt.Errorf("probe: %d parameters into the network's %d: not the same network", len(src), len(dst))
	}
	for i, s := range src {
		d := dst[i]
		if !slices.Equal(s.Value.Shape(), d.Value.Shape()) {
			return fmt.Errorf("probe: parameter %d is %s %v, the network's %s is %v: not the same network",
				i, s.Name, s.Value.Shape(), d.Name, d.Value.Shape())
		}
		copy(d.Value.Data().([]float32), s.Value.Data().([]float32))
	}
	return CopyBuffers(dst, src)
}

// Run runs one image x [1,28,28] (normalised as for training) through the network and returns
// every layer's output in the spec's order, a block before its parts. The last top-level
// layer's output is the logits, as Net.Infer gives them.
func (p *Probe) Run(x []float32) ([]LayerOutput, error) {
	if len(x) != network.Input.Size() {
		return nil, fmt.Errorf("probe: an image of %d values, want %d (%v)", len(x), network.Input.Size(), network.Input)
	}
	p.m.seqForward(p.m.nodes, x, 1, false)
	var outs []LayerOutput
	p.collect(&outs, p.m.nodes, "", 0)
	return outs, nil
}

// collect appends the outputs of nodes and of their blocks' parts, in network.Walk's order.
func (p *Probe) collect(outs *[]LayerOutput, nodes []*node[float32], prefix string, depth int) {
	for i, n := range nodes {
		path := prefix + strconv.Itoa(i)
		o := LayerOutput{Path: path, Layer: n.l, Depth: depth, Values: slices.Clone(n.y[:n.out])}
		if n.l.Kind == network.Conv {
			o.Weight = slices.Clone(p.m.p[n.param])
		}
		*outs = append(*outs, o)
		p.collect(outs, n.body, path+".", depth+1)
		for j, b := range n.branches {
			p.collect(outs, b, path+"."+strconv.Itoa(j)+".", depth+1)
		}
	}
}
