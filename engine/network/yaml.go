package network

import (
	"strconv"
	"strings"
)

// YAML writes the layers as one line of flow-style YAML, which Parse reads back to the same
// network: [{conv: {out: 16, kernel: 3, padding: 1}}, batchnorm, relu, ...]. Settings at their
// defaults are left out.
func (n *Network) YAML() string {
	if n == nil {
		return "[]"
	}
	return listYAML(n.Layers)
}

func listYAML(layers []Layer) string {
	parts := make([]string, len(layers))
	for i := range layers {
		parts[i] = layerYAML(&layers[i])
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func layerYAML(l *Layer) string {
	var set []string
	add := func(key string, v, def int) {
		if v != def {
			set = append(set, key+": "+strconv.Itoa(v))
		}
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	name := string(l.Kind)
	switch l.Kind {
	case Conv:
		set = append(set, "out: "+strconv.Itoa(l.Out), "kernel: "+strconv.Itoa(l.Kernel))
		add("stride", l.Stride, 1)
		add("padding", l.Padding, 0)
		if !l.Bias {
			set = append(set, "bias: false")
		}
	case MaxPool, AvgPool:
		set = append(set, "kernel: "+strconv.Itoa(l.Kernel))
		add("stride", l.Stride, l.Kernel)
		add("padding", l.Padding, 0)
	case Linear:
		set = append(set, "out: "+strconv.Itoa(l.Out))
		if !l.Bias {
			set = append(set, "bias: false")
		}
	case LeakyReLU:
		return "{" + name + ": " + num(l.Slope) + "}"
	case Dropout:
		return "{" + name + ": " + num(l.P) + "}"
	case Residual:
		return "{" + name + ": " + listYAML(l.Body) + "}"
	case Branches:
		parts := make([]string, len(l.Branches))
		for i, b := range l.Branches {
			parts[i] = listYAML(b)
		}
		return "{" + name + ": [" + strings.Join(parts, ", ") + "]}"
	default:
		return name
	}
	return "{" + name + ": {" + strings.Join(set, ", ") + "}}"
}
