package network

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Row is one line of a summary: a layer, its output shape for a batch, and what it costs.
type Row struct {
	Path  string // index path, "3.1"
	Depth int    // nesting depth, 0 at the top
	Layer *Layer
	// Params counts the layer's learnable values; a block's rows count only their own (none),
	// its layers have theirs.
	Params int
	// MultiplyAdds is the forward pass's multiply-adds for the whole batch.
	MultiplyAdds int
}

// Summary is what `mnist-tui summary` prints: every layer, then the totals.
type Summary struct {
	Name         string
	Batch        int
	Rows         []Row
	Params       int // learnable values
	Buffers      int // BatchNorm running statistics
	MultiplyAdds int // forward, for the batch
	// TrainingBytes estimates the memory one training step needs: every layer's output and
	// its gradient for the batch, the input batch, and the parameters three times (values,
	// gradients, SGD momentum), in float32.
	TrainingBytes int
}

// Summarize tallies the checked network n for batches of batch images.
func Summarize(name string, n *Network, batch int) Summary {
	s := Summary{Name: name, Batch: batch}
	acts := Input.Size()
	Walk(n.Layers, func(path string, l *Layer) {
		r := Row{Path: path, Depth: strings.Count(path, "."), Layer: l, MultiplyAdds: l.MultiplyAdds() * batch}
		if l.Kind == Branches { // each branch adds a level of its own in the path
			r.Depth = strings.Count(path, ".")
		}
		for _, t := range l.Params(path) {
			r.Params += t.Size()
		}
		for _, t := range l.Buffers(path) {
			s.Buffers += t.Size()
		}
		s.Params += r.Params
		s.MultiplyAdds += r.MultiplyAdds
		acts += 2 * l.OutShape.Size()
		s.Rows = append(s.Rows, r)
	})
	s.TrainingBytes = 4 * (acts*batch + 3*s.Params + s.Buffers)
	return s
}

// String renders the summary as a table in the manner of torchinfo, its columns as wide as
// their widest cell, so that a usual network fits an 80-column terminal.
func (s Summary) String() string {
	cells := [][4]string{{"Layer (index)", "Output shape", "Params", "Mult-adds"}}
	for _, r := range s.Rows {
		cells = append(cells, [4]string{
			strings.Repeat("  ", r.Depth) + describeLayer(r.Layer) + " (" + r.Path + ")",
			"[" + strconv.Itoa(s.Batch) + "," + strings.TrimPrefix(r.Layer.OutShape.String(), "["),
			count(r.Params), count(r.MultiplyAdds),
		})
	}
	var widths [4]int
	for _, row := range cells {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	line := strings.Repeat("=", widths[0]+widths[1]+widths[2]+widths[3]+6)
	var b strings.Builder
	for i, row := range cells {
		if i <= 1 {
			b.WriteString(line + "\n")
		}
		fmt.Fprintf(&b, "%-*s  %-*s  %*s  %*s\n", widths[0], row[0], widths[1], row[1], widths[2], row[2], widths[3], row[3])
	}
	title := "Network"
	if s.Name != "" {
		title += " " + s.Name
	}
	fmt.Fprintf(&b, "%s\n%s\n", line, title)
	if s.Buffers > 0 {
		fmt.Fprintf(&b, "Total params: %s (%s with the BatchNorm running statistics)\n", count(s.Params), count(s.Params+s.Buffers))
	} else {
		fmt.Fprintf(&b, "Total params: %s\n", count(s.Params))
	}
	fmt.Fprintf(&b, "Forward mult-adds for a batch of %d: %s (%s an image)\n", s.Batch, megas(s.MultiplyAdds), megas(s.MultiplyAdds/max(s.Batch, 1)))
	fmt.Fprintf(&b, "Memory for one training batch of %d: %.2f MB\n  (activations and their gradients, parameters, gradients and momentum)\n", s.Batch, float64(s.TrainingBytes)/(1<<20))
	b.WriteString(line + "\n")
	return b.String()
}

// describeLayer is the layer as a PyTorch module with its settings, shortened.
func describeLayer(l *Layer) string {
	switch l.Kind {
	case Conv:
		return fmt.Sprintf("Conv2d(%d, %d", l.In[0], l.Out) + convSettings(l, false) + ")"
	case MaxPool, AvgPool:
		name := "MaxPool2d"
		if l.Kind == AvgPool {
			name = "AvgPool2d"
		}
		s := fmt.Sprintf("%s(%d", name, l.Kernel)
		if l.Stride != l.Kernel {
			s += fmt.Sprintf(", s=%d", l.Stride)
		}
		if l.Padding != 0 {
			s += fmt.Sprintf(", p=%d", l.Padding)
		}
		return s + ")"
	case Linear:
		s := fmt.Sprintf("Linear(%d, %d", l.In[0], l.Out)
		if !l.Bias {
			s += ", no bias"
		}
		return s + ")"
	case BatchNorm:
		if l.In.IsMap() {
			return fmt.Sprintf("BatchNorm2d(%d)", l.In[0])
		}
		return fmt.Sprintf("BatchNorm1d(%d)", l.In[0])
	case Dropout:
		return fmt.Sprintf("Dropout(%g)", l.P)
	case LeakyReLU:
		return fmt.Sprintf("LeakyReLU(%g)", l.Slope)
	case Residual:
		return "Residual"
	case Branches:
		return fmt.Sprintf("Branches(%d)", len(l.Branches))
	}
	return map[Kind]string{GlobalAvgPool: "AdaptiveAvgPool2d(1)", ReLU: "ReLU", Tanh: "Tanh",
		Sigmoid: "Sigmoid", GELU: "GELU", Flatten: "Flatten"}[l.Kind]
}

// convSettings are a convolution's kernel and, where not the default, its stride, padding and
// bias: ", k=3, p=1" as describeLayer words them, " k3 p1" tersely.
func convSettings(l *Layer, terse bool) string {
	sep, format := ", ", "%s=%d"
	if terse {
		sep, format = " ", "%s%d"
	}
	s := sep + fmt.Sprintf(format, "k", l.Kernel)
	if l.Stride != 1 {
		s += sep + fmt.Sprintf(format, "s", l.Stride)
	}
	if l.Padding != 0 {
		s += sep + fmt.Sprintf(format, "p", l.Padding)
	}
	if !l.Bias {
		s += sep + "no bias"
	}
	return s
}

// count writes n with thousands separators: 1,234,567.
func count(n int) string {
	if n == 0 {
		return "--"
	}
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func megas(n int) string { return fmt.Sprintf("%.2f M", float64(n)/1e6) }
