package network

import (
	"fmt"
	"slices"
	"strconv"
)

// maxParams bounds the learnable values of a network (64 MB each for the values, their
// gradients and the momentum): far above any MNIST network, and below what would exhaust memory.
const maxParams = 1 << 24

// maxActivations bounds the floats one image's activations may take across the network (256 MB
// a batch of 64 with their gradients): a network past it could not train in memory here.
const maxActivations = 1 << 20

// Check infers the shape of every layer from one [1,28,28] image to the last layer, which must
// give the 10 classes, and fills in each layer's In and OutShape. Every problem comes back as an
// *Error naming the layer, its line and column, and what to change.
func (n *Network) Check() error {
	c := checking{file: n.File}
	out, err := c.list(n.Layers, "", Input)
	if err != nil {
		return err
	}
	last := &n.Layers[len(n.Layers)-1]
	path := strconv.Itoa(len(n.Layers) - 1)
	if out.IsMap() {
		return c.errorf(last, path, "gives a %v feature map, but the network must end with the %d classes as features; add flatten and 'linear: %d'", out, Classes, Classes)
	}
	if out[0] != Classes {
		return c.errorf(last, path, "gives %d features, but the network must end with %d, one per class; end with 'linear: %d'", out[0], Classes, Classes)
	}
	total := 0
	Walk(n.Layers, func(path string, l *Layer) {
		for _, t := range l.Params(path) {
			total += t.Size()
		}
	})
	if total > maxParams {
		return &Error{File: n.File, Msg: fmt.Sprintf("it has %s parameters, more than this program allows (%s); use fewer channels or features", count(total), count(maxParams))}
	}
	if acts := n.activations(); acts > maxActivations {
		return &Error{File: n.File, Msg: fmt.Sprintf("its activations take %s floats an image (%s MB for a batch of 64 with their gradients), more than this program allows (%s); use fewer channels or pool earlier", count(acts), count(acts*64*8>>20), count(maxActivations))}
	}
	n.Checked = true
	return nil
}

// CheckFrom infers the shapes of the layers for inputs of shape in, like Check but without
// its rules on the whole network (the image input, the 10 classes at the end): for a part of
// a network, a block or a single layer.
func (n *Network) CheckFrom(in Shape) error {
	if _, err := (checking{file: n.File}).list(n.Layers, "", in); err != nil {
		return err
	}
	n.Checked = true
	return nil
}

type checking struct{ file string }

func (c checking) errorf(l *Layer, path, format string, args ...any) *Error {
	return &Error{File: c.file, Line: l.Line, Column: l.Column, Path: path, Kind: l.Kind, Msg: fmt.Sprintf(format, args...)}
}

func (c checking) list(layers []Layer, prefix string, in Shape) (Shape, error) {
	for i := range layers {
		out, err := c.layer(&layers[i], prefix+strconv.Itoa(i), in)
		if err != nil {
			return nil, err
		}
		in = out
	}
	return in, nil
}

// windowOut is the output size of a window of kernel k sliding by stride over size+2*pad
// values, or an error message when the window does not fit.
func windowOut(size, k, stride, pad int, what string) (int, string) {
	if k > size+2*pad {
		if pad > 0 {
			return 0, fmt.Sprintf("kernel %d is larger than its %s input padded to %d; use a kernel of at most %d or more padding", k, what, size+2*pad, size+2*pad)
		}
		return 0, fmt.Sprintf("kernel %d is larger than its %s input; use a kernel of at most %d, or pool less before it", k, what, size)
	}
	return (size+2*pad-k)/stride + 1, ""
}

func (c checking) layer(l *Layer, path string, in Shape) (Shape, error) {
	l.In = in
	var out Shape
	needMap := func() error {
		if in.IsMap() {
			return nil
		}
		return c.errorf(l, path, "needs a [C,H,W] feature map, but its input is %v features (after a flatten or linear); move it before those", in)
	}
	switch l.Kind {
	case Conv, MaxPool, AvgPool:
		if err := needMap(); err != nil {
			return nil, err
		}
		size := fmt.Sprintf("%dx%d", in[1], in[2])
		oh, msg := windowOut(in[1], l.Kernel, l.Stride, l.Padding, size)
		if msg != "" {
			return nil, c.errorf(l, path, "%s", msg)
		}
		ow, _ := windowOut(in[2], l.Kernel, l.Stride, l.Padding, size)
		ch := in[0]
		if l.Kind == Conv {
			ch = l.Out
		}
		out = Shape{ch, oh, ow}
	case GlobalAvgPool:
		if err := needMap(); err != nil {
			return nil, err
		}
		out = Shape{in[0], 1, 1}
	case ReLU, LeakyReLU, Tanh, Sigmoid, GELU, Dropout:
		out = in
	case BatchNorm:
		out = in
	case Flatten:
		out = Shape{in.Size()}
	case Linear:
		if in.IsMap() {
			return nil, c.errorf(l, path, "needs features, but its input is a %v feature map; add '- flatten' before it (or global_avgpool and flatten)", in)
		}
		out = Shape{l.Out}
	case Residual:
		body, err := c.list(l.Body, path+".", in)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(body, in) {
			return nil, c.errorf(l, path, "its body turns %v into %v, but x + body(x) needs the same shape; make the body keep channels and size (padding (kernel-1)/2, stride 1, out %s)", in, body, channelsOf(in))
		}
		out = in
	case Branches:
		for j, b := range l.Branches {
			bout, err := c.list(b, fmt.Sprintf("%s.%d.", path, j), in)
			if err != nil {
				return nil, err
			}
			switch {
			case j == 0:
				out = append(Shape{}, bout...)
			case out.IsMap() && bout.IsMap() && bout[1] == out[1] && bout[2] == out[2]:
				out[0] += bout[0]
			case !out.IsMap() && !bout.IsMap():
				out[0] += bout[0]
			default:
				return nil, c.errorf(l, path, "branch %d gives %v but branch 0 gives %v; branches are concatenated on channels, so their other sizes must agree", j, bout, l.Branches[0][len(l.Branches[0])-1].OutShape)
			}
		}
	default:
		return nil, c.errorf(l, path, "is not a layer this program knows")
	}
	if p := paramCount(l, in); p > maxParams {
		return nil, c.errorf(l, path, "has %s parameters, more than this program allows (%s); use fewer channels or features, or pool before it", countFloat(p), count(maxParams))
	}
	if out.Size() > maxActivations {
		return nil, c.errorf(l, path, "gives %v, %s floats an image, more than this program allows (%s); use fewer channels or a larger stride", out, count(out.Size()), count(maxActivations))
	}
	l.OutShape = out
	return out, nil
}

func channelsOf(s Shape) string { return strconv.Itoa(s[0]) }

// activations is the number of floats one image's layer outputs take (what training keeps).
func (n *Network) activations() int {
	total := 0
	Walk(n.Layers, func(_ string, l *Layer) { total += l.OutShape.Size() })
	return total
}

// Walk calls visit on every layer, blocks before their contents, in state_dict order, with
// the layer's index path.
func Walk(layers []Layer, visit func(path string, l *Layer)) {
	walk(layers, "", visit)
}

func walk(layers []Layer, prefix string, visit func(string, *Layer)) {
	for i := range layers {
		l := &layers[i]
		path := prefix + strconv.Itoa(i)
		visit(path, l)
		walk(l.Body, path+".", visit)
		for j, b := range l.Branches {
			walk(b, fmt.Sprintf("%s.%d.", path, j), visit)
		}
	}
}

// paramCount is the number of learnable values of l on inputs in, in floating point so that
// absurd sizes cannot overflow.
func paramCount(l *Layer, in Shape) float64 {
	switch l.Kind {
	case Conv:
		return float64(l.Out) * (float64(in[0])*float64(l.Kernel)*float64(l.Kernel) + 1)
	case Linear:
		return float64(l.Out) * (float64(in[0]) + 1)
	case BatchNorm:
		return 2 * float64(in[0])
	}
	return 0
}

// countFloat writes a count kept as a float64 (so that a huge network cannot overflow it) as
// count does, or in powers of ten past what an int holds exactly.
func countFloat(v float64) string {
	if v < 1e15 {
		return count(int(v))
	}
	return fmt.Sprintf("%.3g", v)
}
