package network

// Tensor is a parameter or buffer of a layer, named as in the PyTorch module's state_dict.
type Tensor struct {
	Name  string // "0.weight", "3.1.running_mean"
	Shape []int
	// FanIn sets the range of PyTorch's default initialisation of a conv or linear tensor,
	// uniform in ±1/sqrt(FanIn); 0 for the tensors that start at a constant (Init).
	FanIn int
	Init  float32 // the constant a tensor with FanIn 0 starts at: 1 for a BatchNorm weight, else 0
}

// Size is the number of values of the tensor.
func (t Tensor) Size() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Params returns the learnable tensors of the layer at path (in state_dict order); the layer
// must have been checked.
func (l *Layer) Params(path string) []Tensor {
	switch l.Kind {
	case Conv:
		fanIn := l.In[0] * l.Kernel * l.Kernel
		ts := []Tensor{{Name: path + ".weight", Shape: []int{l.Out, l.In[0], l.Kernel, l.Kernel}, FanIn: fanIn}}
		if l.Bias {
			ts = append(ts, Tensor{Name: path + ".bias", Shape: []int{l.Out}, FanIn: fanIn})
		}
		return ts
	case Linear:
		ts := []Tensor{{Name: path + ".weight", Shape: []int{l.Out, l.In[0]}, FanIn: l.In[0]}}
		if l.Bias {
			ts = append(ts, Tensor{Name: path + ".bias", Shape: []int{l.Out}, FanIn: l.In[0]})
		}
		return ts
	case BatchNorm:
		c := l.In[0]
		return []Tensor{{Name: path + ".weight", Shape: []int{c}, Init: 1}, {Name: path + ".bias", Shape: []int{c}}}
	}
	return nil
}

// Buffers returns the layer's state that is saved but not learnt: a BatchNorm's running_mean
// (starts at 0) and running_var (starts at 1). num_batches_tracked, PyTorch's third buffer, is
// a count kept beside them (see NumBatchesTracked).
func (l *Layer) Buffers(path string) []Tensor {
	if l.Kind != BatchNorm {
		return nil
	}
	c := l.In[0]
	return []Tensor{{Name: path + ".running_mean", Shape: []int{c}}, {Name: path + ".running_var", Shape: []int{c}, Init: 1}}
}

// NumBatchesTracked is the name of the BatchNorm at path's batch counter.
func NumBatchesTracked(path string) string { return path + ".num_batches_tracked" }

// Params lists every learnable tensor of the checked network in state_dict order.
func (n *Network) Params() []Tensor {
	var ts []Tensor
	Walk(n.Layers, func(path string, l *Layer) { ts = append(ts, l.Params(path)...) })
	return ts
}

// Buffers lists every buffer of the checked network in state_dict order.
func (n *Network) Buffers() []Tensor {
	var ts []Tensor
	Walk(n.Layers, func(path string, l *Layer) { ts = append(ts, l.Buffers(path)...) })
	return ts
}

// MultiplyAdds is the number of multiply-adds of the layer's forward pass for one image, as
// torchinfo counts them: the products of convolutions and linear layers (other layers do a
// few operations per element, which it leaves out).
func (l *Layer) MultiplyAdds() int {
	switch l.Kind {
	case Conv:
		return l.OutShape.Size() * l.In[0] * l.Kernel * l.Kernel
	case Linear:
		return l.In[0] * l.Out
	}
	return 0
}
