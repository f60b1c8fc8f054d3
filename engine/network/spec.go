// Package network holds a network declared in config.yaml under network: — its layers as the
// user wrote them, where each one is in the file, the shapes that flow through it, and the
// names and shapes of its parameters as PyTorch would give them.
//
// The format (see issue 15 and the README) is a list of layers:
//
//	network:
//	  - conv: {out: 16, kernel: 3, padding: 1}
//	  - batchnorm
//	  - relu
//	  - maxpool: 2
//	  - flatten
//	  - linear: 10
//
// with two blocks that take lists themselves and nest: residual: [layers] is x + layers(x),
// and branches: [[layers], [layers], ...] runs each list on the same input and concatenates
// their outputs on channels.
//
// # Parameter names
//
// The network is named as the PyTorch module that export generates will name it:
//
//	network            nn.Sequential          layer i of the list is child "i"
//	residual: [...]    Residual(nn.Sequential) forward is x + super().forward(x): its layers
//	                                          are its children "0", "1", ...
//	branches: [[...]]  Branches(nn.ModuleList) of nn.Sequential, forward is
//	                                          torch.cat([b(x) for b in self], 1): branch j is
//	                                          child "j", its layer k is "j.k"
//
// So a name is the index path of the layer followed by the tensor's name: "0.weight",
// "4.running_mean", "3.1.weight" (layer 1 of the residual block at 3), "5.2.0.bias" (layer 0
// of branch 2 of the branches block at 5). Layers without parameters still take their index,
// as in nn.Sequential.
package network

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is a layer's name as written in the file.
type Kind string

const (
	Conv          Kind = "conv"
	MaxPool       Kind = "maxpool"
	AvgPool       Kind = "avgpool"
	GlobalAvgPool Kind = "global_avgpool"
	ReLU          Kind = "relu"
	LeakyReLU     Kind = "leaky_relu"
	Tanh          Kind = "tanh"
	Sigmoid       Kind = "sigmoid"
	GELU          Kind = "gelu"
	BatchNorm     Kind = "batchnorm"
	Dropout       Kind = "dropout"
	Flatten       Kind = "flatten"
	Linear        Kind = "linear"
	Residual      Kind = "residual"
	Branches      Kind = "branches"
)

// Kinds lists every layer and block, in the order the messages list them.
var Kinds = []Kind{Conv, MaxPool, AvgPool, GlobalAvgPool, ReLU, LeakyReLU, Tanh, Sigmoid, GELU,
	BatchNorm, Dropout, Flatten, Linear, Residual, Branches}

// Defaults PyTorch uses, which the format keeps.
const (
	LeakySlope = 0.01 // nn.LeakyReLU's negative_slope
	BNMomentum = 0.1  // nn.BatchNorm's momentum
	BNEps      = 1e-5 // nn.BatchNorm's eps
	Classes    = 10   // the width the last layer must have: the data sets' classes
)

// Input is the shape of one image: [1,28,28].
var Input = Shape{1, 28, 28}

// Layer is one entry of the list. Fields a kind does not use stay zero.
type Layer struct {
	Kind Kind
	// Line and Column are where the layer's name is in the file (1-based; 0 if not known).
	Line, Column int

	Out     int     // conv: output channels; linear: output features
	Kernel  int     // conv, maxpool, avgpool
	Stride  int     // conv, maxpool, avgpool
	Padding int     // conv, maxpool, avgpool
	Bias    bool    // conv, linear
	Slope   float64 // leaky_relu
	P       float64 // dropout: the probability of zeroing an element

	Body     []Layer   // residual
	Branches [][]Layer // branches

	// Set by Check: the shapes of one image going in and coming out.
	In, OutShape Shape
}

// Network is a parsed network: its layers and the file they came from (for messages).
type Network struct {
	File   string
	Layers []Layer
	// Checked is true once Check has filled in the shapes.
	Checked bool
}

// Shape is the shape of one image's activations: [C,H,W] for a feature map, [N] for features.
type Shape []int

// IsMap reports whether s is a [C,H,W] feature map.
func (s Shape) IsMap() bool { return len(s) == 3 }

// Size is the number of floats of one image.
func (s Shape) Size() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.Itoa(d)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Error is a problem with a network: where it is (1-based; 0 if not known), which layer
// (its index path, "" for the list as a whole) and what is wrong.
type Error struct {
	File         string
	Line, Column int
	Path         string // "3.1": layer 1 of the block at 3
	Kind         Kind
	Msg          string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Where())
	b.WriteString(e.Msg)
	return b.String()
}

// Where is the "network: layer 3 (conv): " prefix of the message, for callers that print the
// position their own way.
func (e *Error) Where() string {
	s := "network: "
	if e.Path != "" {
		s += "layer " + e.Path
		if e.Kind != "" {
			s += " (" + string(e.Kind) + ")"
		}
		s += ": "
	}
	return s
}
