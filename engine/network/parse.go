package network

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"mnist-tui/engine/internal/spelling"
	"mnist-tui/engine/internal/yamlpos"
)

// ParseFile reads the network: list of a YAML configuration (other keys are not looked at:
// package config checks them) and checks its shapes. It returns nil and no error when the
// document has no network: key.
func ParseFile(filename string, data []byte) (*Network, error) {
	n, err := Read(filename, data)
	if n == nil || err != nil {
		return nil, err
	}
	return n, n.Check()
}

// Read is ParseFile without the shape check.
func Read(filename string, data []byte) (*Network, error) {
	file, err := parseYAML(string(data) + "\n")
	if err != nil {
		msg, line, col := yamlpos.SyntaxError(err)
		return nil, &Error{File: filename, Line: line, Column: col, Msg: "invalid YAML: " + msg}
	}
	for _, doc := range file.Docs {
		if doc == nil {
			continue
		}
		var pairs []*ast.MappingValueNode
		switch b := doc.Body.(type) {
		case *ast.MappingNode:
			pairs = b.Values
		case *ast.MappingValueNode:
			pairs = []*ast.MappingValueNode{b}
		}
		for _, p := range pairs {
			if k, ok := p.Key.(*ast.StringNode); ok && k.Value == "network" {
				return Parse(filename, p.Value)
			}
		}
	}
	return nil, nil
}

func parseYAML(src string) (file *ast.File, err error) {
	// A crash inside the YAML library must reach the user as an error.
	defer func() {
		if r := recover(); r != nil {
			file, err = nil, fmt.Errorf("the YAML reader failed (%v); check the file's syntax", r)
		}
	}()
	return parser.ParseBytes([]byte(src), 0)
}

// Parse reads the value of the network: key, a list of layers. It checks each layer's
// settings but not the shapes: call Check for those.
func Parse(filename string, node ast.Node) (*Network, error) {
	p := parsing{file: filename}
	layers, err := p.list(node, "", "network")
	if err != nil {
		return nil, err
	}
	if len(layers) == 0 {
		return nil, p.errAt(node, "", "", "the list is empty; write at least one layer, the last one 'linear: 10'")
	}
	return &Network{File: filename, Layers: layers}, nil
}

type parsing struct{ file string }

func (p parsing) errAt(node ast.Node, path string, kind Kind, msg string) *Error {
	line, col := yamlpos.Of(node)
	return &Error{File: p.file, Line: line, Column: col, Path: path, Kind: kind, Msg: msg}
}

// list reads a list of layers whose index paths start with prefix ("" at the top, "3." in
// the block at 3). what names the list in messages.
func (p parsing) list(node ast.Node, prefix, what string) ([]Layer, error) {
	seq, ok := node.(*ast.SequenceNode)
	if !ok {
		if _, empty := node.(*ast.NullNode); empty || node == nil {
			return nil, p.errAt(node, strings.TrimSuffix(prefix, "."), "", what+" has no layers; write them as a list, one '- layer' a line")
		}
		return nil, p.errAt(node, strings.TrimSuffix(prefix, "."), "", what+" must be a list of layers, one '- layer' a line (got "+describe(node)+")")
	}
	layers := make([]Layer, 0, len(seq.Values))
	for i, item := range seq.Values {
		l, err := p.layer(item, prefix+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	return layers, nil
}

// layer reads one item: a bare name ("relu"), or a one-key mapping of the name to its
// settings ("maxpool: 2", "conv: {out: 16, kernel: 3}", "residual: [...]").
func (p parsing) layer(item ast.Node, path string) (Layer, error) {
	var nameNode, value ast.Node
	switch n := item.(type) {
	case *ast.StringNode:
		nameNode = n
	case *ast.MappingValueNode:
		nameNode, value = n.Key, n.Value
	case *ast.MappingNode:
		if len(n.Values) != 1 {
			if msg, at := unindentedSettings(n); msg != "" {
				return Layer{}, p.errAt(at, path, "", msg)
			}
			return Layer{}, p.errAt(item, path, "", fmt.Sprintf("holds %d layers; write one layer per '- ' item", len(n.Values)))
		}
		nameNode, value = n.Values[0].Key, n.Values[0].Value
	default:
		return Layer{}, p.errAt(item, path, "", "must be a layer name like relu, or a layer with settings like 'conv: {out: 16, kernel: 3}' (got "+describe(item)+")")
	}
	s, ok := nameNode.(*ast.StringNode)
	if !ok {
		return Layer{}, p.errAt(nameNode, path, "", "must start with a layer name (got "+describe(nameNode)+")")
	}
	kind := Kind(s.Value)
	line, col := yamlpos.Of(nameNode)
	l := Layer{Kind: kind, Line: line, Column: col}
	if !slices.Contains(Kinds, kind) {
		if first, rest, _ := strings.Cut(strings.TrimSpace(s.Value), " "); value == nil && slices.Contains(Kinds, Kind(first)) && strings.HasPrefix(rest, "- ") {
			// YAML joins a line indented past its '- ' onto the item above:
			// "relu - maxpool: 2" is a layout mistake, not a misspelling.
			return l, p.errAt(nameNode, path, "", fmt.Sprintf("%s is not a layer name: the line under %s is indented further than its '- ', so YAML reads both lines as one item; start every '- ' of the list in the same column", quoteShort(s.Value), first))
		}
		return l, p.errAt(nameNode, path, "", unknownLayerMsg(s.Value))
	}
	if _, null := value.(*ast.NullNode); null {
		value = nil
	}
	fail := func(node ast.Node, msg string) error {
		if node == nil {
			node = nameNode
		}
		return p.errAt(node, path, kind, msg)
	}
	var err error
	switch kind {
	case ReLU, Tanh, Sigmoid, GELU, BatchNorm, Flatten, GlobalAvgPool:
		if value != nil {
			return l, fail(value, "takes no settings; write just '- "+string(kind)+"'")
		}
	case LeakyReLU:
		l.Slope = LeakySlope
		if value != nil {
			err = p.settings(value, kind, path, "slope", map[string]func(ast.Node) error{
				"slope": func(v ast.Node) error { return p.float(v, path, kind, "slope", &l.Slope, 0, math.Inf(1), true) },
			})
		}
	case Dropout:
		l.P = 0.5
		if value != nil {
			err = p.settings(value, kind, path, "p", map[string]func(ast.Node) error{
				"p": func(v ast.Node) error { return p.float(v, path, kind, "p", &l.P, 0, 1, false) },
			})
		}
	case Linear:
		l.Bias = true
		if value == nil {
			return l, fail(nil, "needs its number of outputs, like 'linear: 64'")
		}
		err = p.settings(value, kind, path, "out", map[string]func(ast.Node) error{
			"out":  func(v ast.Node) error { return p.int(v, path, kind, "out", &l.Out, 1) },
			"bias": func(v ast.Node) error { return p.bool(v, path, kind, "bias", &l.Bias) },
		})
		if err == nil && l.Out == 0 {
			err = fail(value, "needs out, its number of outputs, like '{out: 64}'")
		}
	case Conv:
		l.Bias, l.Stride = true, 1
		if value == nil {
			return l, fail(nil, "needs settings, like 'conv: {out: 16, kernel: 3, padding: 1}'")
		}
		if _, isMap := value.(*ast.MappingNode); !isMap {
			if _, isPair := value.(*ast.MappingValueNode); !isPair {
				return l, fail(value, "needs a mapping of settings, like '{out: 16, kernel: 3, padding: 1}' (got "+describe(value)+")")
			}
		}
		err = p.settings(value, kind, path, "", map[string]func(ast.Node) error{
			"out":     func(v ast.Node) error { return p.int(v, path, kind, "out", &l.Out, 1) },
			"kernel":  func(v ast.Node) error { return p.int(v, path, kind, "kernel", &l.Kernel, 1) },
			"stride":  func(v ast.Node) error { return p.int(v, path, kind, "stride", &l.Stride, 1) },
			"padding": func(v ast.Node) error { return p.int(v, path, kind, "padding", &l.Padding, 0) },
			"bias":    func(v ast.Node) error { return p.bool(v, path, kind, "bias", &l.Bias) },
		})
		if err == nil && (l.Out == 0 || l.Kernel == 0) {
			err = fail(value, "needs out (output channels) and kernel (its size), like '{out: 16, kernel: 3}'")
		}
	case MaxPool, AvgPool:
		if value == nil {
			return l, fail(nil, "needs its size, like '"+string(kind)+": 2' or '"+string(kind)+": {kernel: 3, stride: 2, padding: 1}'")
		}
		err = p.settings(value, kind, path, "kernel", map[string]func(ast.Node) error{
			"kernel":  func(v ast.Node) error { return p.int(v, path, kind, "kernel", &l.Kernel, 1) },
			"stride":  func(v ast.Node) error { return p.int(v, path, kind, "stride", &l.Stride, 1) },
			"padding": func(v ast.Node) error { return p.int(v, path, kind, "padding", &l.Padding, 0) },
		})
		if err == nil && l.Kernel == 0 {
			err = fail(value, "needs kernel, the window's size, like '{kernel: 2}'")
		}
		if l.Stride == 0 {
			l.Stride = l.Kernel // PyTorch's default
		}
		if err == nil && l.Padding > l.Kernel/2 {
			err = fail(value, fmt.Sprintf("padding %d is more than half the kernel %d, which PyTorch refuses; use a padding of at most %d", l.Padding, l.Kernel, l.Kernel/2))
		}
	case Residual:
		if value == nil {
			return l, fail(nil, "needs its layers, as a list under it")
		}
		l.Body, err = p.list(value, path+".", "residual")
		if err == nil && len(l.Body) == 0 {
			err = fail(value, "has no layers; write the layers of its body as a list")
		}
	case Branches:
		seq, ok := value.(*ast.SequenceNode)
		if !ok {
			return l, fail(value, "needs a list of branches, each a list of layers, like '[[conv: {out: 8, kernel: 1}], [conv: {out: 8, kernel: 3, padding: 1}]]'")
		}
		for j, b := range seq.Values {
			layers, berr := p.list(b, fmt.Sprintf("%s.%d.", path, j), "branch "+strconv.Itoa(j))
			if berr != nil {
				return l, berr
			}
			l.Branches = append(l.Branches, layers)
		}
		if len(l.Branches) == 0 {
			err = fail(value, "has no branches; write at least one list of layers")
		}
	}
	return l, err
}

// settings reads a layer's settings: either a mapping of the keys in set, or (when short is
// not "") a single value for the key short, as in "maxpool: 2".
func (p parsing) settings(value ast.Node, kind Kind, path, short string, set map[string]func(ast.Node) error) error {
	var pairs []*ast.MappingValueNode
	switch v := value.(type) {
	case *ast.MappingNode:
		pairs = v.Values
	case *ast.MappingValueNode:
		pairs = []*ast.MappingValueNode{v}
	default:
		if short == "" {
			return p.errAt(value, path, kind, "needs a mapping of settings (got "+describe(value)+")")
		}
		return set[short](value)
	}
	seen := map[string]bool{}
	for _, pair := range pairs {
		k, ok := pair.Key.(*ast.StringNode)
		if !ok {
			return p.errAt(pair.Key, path, kind, "settings are named, like 'kernel: 3' (got "+describe(pair.Key)+")")
		}
		f, known := set[k.Value]
		if !known {
			names := make([]string, 0, len(set))
			for n := range set {
				names = append(names, n)
			}
			slices.Sort(names)
			msg := "has no setting " + strconv.Quote(k.Value)
			if s := closest(k.Value, names); s != "" {
				msg += "; did you mean " + s + "?"
			} else {
				msg += "; its settings are " + strings.Join(names, ", ")
			}
			return p.errAt(k, path, kind, msg)
		}
		if seen[k.Value] {
			return p.errAt(k, path, kind, k.Value+" is set twice; keep one")
		}
		seen[k.Value] = true
		if err := f(pair.Value); err != nil {
			return err
		}
	}
	return nil
}

// maxSize bounds widths, kernels and strides: larger ones cannot fit in memory for 28x28
// images anyway, and the bound keeps shape arithmetic far from overflow.
const maxSize = 1 << 16

func (p parsing) int(v ast.Node, path string, kind Kind, key string, dst *int, lo int) error {
	n, ok := v.(*ast.IntegerNode)
	var x int64
	if ok {
		switch val := n.Value.(type) {
		case int64:
			x = val
		case uint64:
			x = maxSize + 1
			if val <= maxSize {
				x = int64(val)
			}
		default:
			ok = false
		}
	}
	if !ok {
		return p.errAt(v, path, kind, key+" must be a whole number (got "+describe(v)+")")
	}
	if x < int64(lo) || x > maxSize {
		return p.errAt(v, path, kind, fmt.Sprintf("%s must be a whole number from %d to %d (got %s)", key, lo, maxSize, describe(v)))
	}
	*dst = int(x)
	return nil
}

func (p parsing) float(v ast.Node, path string, kind Kind, key string, dst *float64, lo, hi float64, hiIncluded bool) error {
	var x float64
	switch n := v.(type) {
	case *ast.FloatNode:
		x = n.Value
	case *ast.IntegerNode:
		switch val := n.Value.(type) {
		case int64:
			x = float64(val)
		case uint64:
			x = float64(val)
		}
	case *ast.StringNode:
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			return p.errAt(v, path, kind, key+" must be a number (got "+describe(v)+")")
		}
		x = f
	default:
		return p.errAt(v, path, kind, key+" must be a number (got "+describe(v)+")")
	}
	if math.IsNaN(x) || x < lo || x > hi || (!hiIncluded && x == hi) {
		upper := "less than"
		if hiIncluded {
			upper = "at most"
		}
		return p.errAt(v, path, kind, fmt.Sprintf("%s must be at least %g and %s %g (got %s)", key, lo, upper, hi, describe(v)))
	}
	*dst = x
	return nil
}

func (p parsing) bool(v ast.Node, path string, kind Kind, key string, dst *bool) error {
	b, ok := v.(*ast.BoolNode)
	if !ok {
		return p.errAt(v, path, kind, key+" must be true or false (got "+describe(v)+")")
	}
	*dst = b.Value
	return nil
}

func describe(node ast.Node) string {
	switch n := node.(type) {
	case nil, *ast.NullNode:
		return "no value"
	case *ast.StringNode:
		return strconv.Quote(n.Value)
	case *ast.SequenceNode:
		return "a list"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	}
	if tk := node.GetToken(); tk != nil {
		return tk.Value
	}
	return "a " + node.Type().String()
}

// aliases are other tools' names for the layers, too far from ours for an edit distance.
var aliases = map[string]Kind{
	"conv2d": Conv, "convolution": Conv, "dense": Linear, "fc": Linear, "fully_connected": Linear,
	"bn": BatchNorm, "batch_norm": BatchNorm, "batchnorm2d": BatchNorm, "batchnorm1d": BatchNorm,
	"max_pool": MaxPool, "maxpool2d": MaxPool, "avg_pool": AvgPool, "avgpool2d": AvgPool,
	"adaptive_avgpool": GlobalAvgPool, "gap": GlobalAvgPool, "global_average_pooling": GlobalAvgPool,
	"leakyrelu": LeakyReLU, "skip": Residual, "inception": Branches, "concat": Branches, "parallel": Branches,
}

// unindentedSettings explains a layer written as "conv:" with its settings on the lines below
// at the column of conv rather than further right, which YAML reads as one mapping
// {conv: null, out: 16, kernel: 3}; it returns "" for other mappings of several keys. at is
// the first misplaced setting.
func unindentedSettings(n *ast.MappingNode) (msg string, at ast.Node) {
	first := n.Values[0]
	name, ok := first.Key.(*ast.StringNode)
	if _, null := first.Value.(*ast.NullNode); !ok || !null || !slices.Contains(Kinds, Kind(name.Value)) {
		return "", nil
	}
	var keys, settings []string
	for _, kv := range n.Values[1:] {
		k := kv.Key.String()
		keys = append(keys, k)
		settings = append(settings, k+": "+kv.Value.String())
	}
	return fmt.Sprintf("'%s:' has nothing under it, and %s stand beside it instead: indent them further right than %s, or write '%s: {%s}'",
		name.Value, strings.Join(keys, ", "), name.Value, name.Value, strings.Join(settings, ", ")), n.Values[1].Key
}

// quoteShort quotes s for a message, cut to its first 30 characters.
func quoteShort(s string) string {
	if r := []rune(s); len(r) > 30 {
		s = string(r[:30]) + "…"
	}
	return strconv.Quote(s)
}

func unknownLayerMsg(name string) string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	switch strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(strings.TrimSpace(name))) {
	case "softmax", "log_softmax", "logsoftmax":
		// What a PyTorch user ends a classifier with; here the loss takes it.
		return "unknown layer " + strconv.Quote(name) + ": the network ends with the 10 raw scores (logits) and the loss, cross-entropy, applies softmax itself, as PyTorch's CrossEntropyLoss does; drop this layer"
	}
	if s := closest(name, names); s != "" {
		return "unknown layer " + strconv.Quote(name) + "; did you mean " + s + "?"
	}
	return "unknown layer " + strconv.Quote(name) + "; the layers are " + strings.Join(names, ", ")
}

// closest returns the name among names that name most likely misspells, or "".
func closest(name string, names []string) string {
	norm := strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(strings.TrimSpace(name)))
	if k, ok := aliases[norm]; ok && slices.Contains(names, string(k)) {
		return string(k)
	}
	return spelling.Nearest(norm, names)
}
