package network

import (
	"errors"
	"strings"
	"testing"
)

// example is the network of issue 15.
const example = `model: custom
network:
  - conv: {out: 16, kernel: 3, padding: 1}
  - batchnorm
  - relu
  - maxpool: 2
  - conv: {out: 32, kernel: 3, padding: 1}
  - relu
  - maxpool: 2
  - flatten
  - dropout: 0.25
  - linear: 64
  - relu
  - linear: 10
`

func TestExampleShapesAndNames(t *testing.T) {
	n, err := ParseFile("config.yaml", []byte(example))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"[16,28,28]", "[16,28,28]", "[16,28,28]", "[16,14,14]", "[32,14,14]", "[32,14,14]",
		"[32,7,7]", "[1568]", "[1568]", "[64]", "[64]", "[10]"}
	for i, l := range n.Layers {
		if got := l.OutShape.String(); got != want[i] {
			t.Errorf("layer %d (%s): shape %s, want %s", i, l.Kind, got, want[i])
		}
	}
	var names []string
	for _, p := range n.Params() {
		names = append(names, p.Name)
	}
	wantNames := "0.weight 0.bias 1.weight 1.bias 4.weight 4.bias 9.weight 9.bias 11.weight 11.bias"
	if got := strings.Join(names, " "); got != wantNames {
		t.Errorf("params %s\nwant %s", got, wantNames)
	}
	var bufs []string
	for _, b := range n.Buffers() {
		bufs = append(bufs, b.Name)
	}
	if got := strings.Join(bufs, " "); got != "1.running_mean 1.running_var" {
		t.Errorf("buffers %s", got)
	}
	// Positions: the dropout is on line 11, its name in column 5.
	if l := n.Layers[8]; l.Line != 11 || l.Column != 5 || l.P != 0.25 {
		t.Errorf("dropout at %d:%d p %v, want 11:5 p 0.25", l.Line, l.Column, l.P)
	}
}

func TestBlocksNamesAndShapes(t *testing.T) {
	src := `network:
  - conv: {out: 8, kernel: 3, stride: 2, padding: 1, bias: false}
  - residual:
      - conv: {out: 8, kernel: 3, padding: 1}
      - batchnorm
      - relu
  - branches:
      - - conv: {out: 4, kernel: 1}
      - - avgpool: {kernel: 3, stride: 1, padding: 1}
        - conv: {out: 6, kernel: 3, padding: 1}
  - global_avgpool
  - flatten
  - linear: {out: 10, bias: false}
`
	n, err := ParseFile("c.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range n.Params() {
		names = append(names, p.Name)
	}
	want := "0.weight 1.0.weight 1.0.bias 1.1.weight 1.1.bias 2.0.0.weight 2.0.0.bias 2.1.1.weight 2.1.1.bias 5.weight"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("params %s\nwant %s", got, want)
	}
	if got := n.Layers[2].OutShape.String(); got != "[10,14,14]" {
		t.Errorf("branches give %s, want [10,14,14]", got)
	}
	if got := n.Layers[3].OutShape.String(); got != "[10,1,1]" {
		t.Errorf("global_avgpool gives %s", got)
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"unknown layer", "network:\n  - conv2: {out: 4, kernel: 3}\n", "c.yaml:2:5: network: layer 0: unknown layer \"conv2\"; did you mean conv?"},
		{"alias", "network:\n  - dense: 10\n", "did you mean linear?"},
		{"unknown setting", "network:\n  - conv: {out: 4, kernal: 3}\n  - flatten\n  - linear: 10\n", "c.yaml:2:20: network: layer 0 (conv): has no setting \"kernal\"; did you mean kernel?"},
		{"residual changes channels", "network:\n  - conv: {out: 4, kernel: 3}\n  - residual:\n      - conv: {out: 8, kernel: 3, padding: 1}\n  - flatten\n  - linear: 10\n",
			"c.yaml:3:5: network: layer 1 (residual): its body turns [4,26,26] into [8,26,26]"},
		{"kernel too large", "network:\n  - maxpool: 4\n  - maxpool: 4\n  - conv: {out: 4, kernel: 3}\n  - flatten\n  - linear: 10\n",
			"c.yaml:4:5: network: layer 2 (conv): kernel 3 is larger than its 1x1 input"},
		{"linear on a map", "network:\n  - conv: {out: 4, kernel: 3}\n  - linear: 10\n", "c.yaml:3:5: network: layer 1 (linear): needs features, but its input is a [4,26,26] feature map; add '- flatten'"},
		{"last not 10", "network:\n  - flatten\n  - linear: 12\n", "c.yaml:3:5: network: layer 1 (linear): gives 12 features, but the network must end with 10"},
		{"nested error path", "network:\n  - branches:\n      - - relu\n      - - conv: {out: 4, kernel: 30}\n  - flatten\n  - linear: 10\n",
			"c.yaml:4:11: network: layer 0.1.0 (conv): kernel 30 is larger than its 28x28 input"},
		{"branches disagree", "network:\n  - branches:\n      - - conv: {out: 4, kernel: 3}\n      - - conv: {out: 4, kernel: 1}\n  - flatten\n  - linear: 10\n", "branch 1 gives [4,28,28] but branch 0 gives [4,26,26]"},
		{"dropout range", "network:\n  - dropout: 1\n  - flatten\n  - linear: 10\n", "c.yaml:2:14: network: layer 0 (dropout): p must be at least 0 and less than 1 (got 1)"},
		{"empty", "network: []\n", "the list is empty"},
		{"not a list", "network: 3\n", "network must be a list of layers"},
		{"conv without kernel", "network:\n  - conv: {out: 4}\n", "needs out (output channels) and kernel"},
		{"settings not indented under their layer", "network:\n  - conv:\n    out: 4\n    kernel: 3\n  - flatten\n  - linear: 10\n",
			"c.yaml:3:5: network: layer 0: 'conv:' has nothing under it, and out, kernel stand beside it instead: indent them further right than conv, or write 'conv: {out: 4, kernel: 3}'"},
		{"item indented past the one above", "network:\n  - relu\n   - maxpool: 2\n  - flatten\n  - linear: 10\n",
			"c.yaml:2:5: network: layer 0: \"relu - maxpool: 2\" is not a layer name: the line under relu is indented further than its '- '"},
		{"a name with a space is still a misspelling", "network:\n  - max pool: 2\n", "unknown layer \"max pool\"; did you mean maxpool?"},
		{"softmax at the end", "network:\n  - flatten\n  - linear: 10\n  - softmax\n", "c.yaml:4:5: network: layer 2: unknown layer \"softmax\": the network ends with the 10 raw scores (logits) and the loss, cross-entropy, applies softmax itself"},
		{"too large", "network:\n  - conv: {out: 60000, kernel: 1}\n  - flatten\n  - linear: 10\n", "gives [60000,28,28], 47,040,000 floats an image, more than this program allows (1,048,576)"},
		{"too many parameters", "network:\n  - flatten\n  - linear: 60000\n  - linear: 10\n", "has 47,100,000 parameters, more than this program allows (16,777,216)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseFile("c.yaml", []byte(c.src))
			var nerr *Error
			if !errors.As(err, &nerr) {
				t.Fatalf("error %v, want an *Error", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error\n  %v\nwant it to contain\n  %s", err, c.want)
			}
		})
	}
}

func TestNoNetwork(t *testing.T) {
	n, err := ParseFile("c.yaml", []byte("model: cnn\n"))
	if n != nil || err != nil {
		t.Errorf("got %v, %v; want nil, nil", n, err)
	}
}

// YAML must read back as the same network, blocks, settings and defaults included.
func TestYAMLRoundTrip(t *testing.T) {
	src := `network:
  - conv: {out: 8, kernel: 3, stride: 2, padding: 1, bias: false}
  - leaky_relu: 0.2
  - residual:
      - conv: {out: 8, kernel: 3, padding: 1}
      - batchnorm
      - gelu
  - branches:
      - - maxpool: {kernel: 3, stride: 1, padding: 1}
      - - avgpool: {kernel: 2, stride: 1}
        - conv: {out: 6, kernel: 2, padding: 1}
  - dropout: 0.1
  - global_avgpool
  - flatten
  - linear: {out: 10, bias: false}
`
	n, err := ParseFile("c.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseFile("c.yaml", []byte("network: "+n.YAML()+"\n"))
	if err != nil {
		t.Fatalf("%v\n%s", err, n.YAML())
	}
	if back.YAML() != n.YAML() || Summarize("", back, 1).String() != Summarize("", n, 1).String() {
		t.Errorf("read back as\n%s\nwant\n%s", back.YAML(), n.YAML())
	}
	for _, want := range []string{"stride: 2", "bias: false", "{leaky_relu: 0.2}", "{dropout: 0.1}", "{maxpool: {kernel: 3, stride: 1, padding: 1}}"} {
		if !strings.Contains(n.YAML(), want) {
			t.Errorf("YAML lacks %q: %s", want, n.YAML())
		}
	}
}

func TestTooManyParameters(t *testing.T) {
	for _, src := range []string{
		"network:\n  - flatten\n  - linear: 30000\n  - linear: 10\n",                                     // one layer of 23.5 M
		"network:\n  - conv: {out: 65536, kernel: 65536, padding: 32768}\n  - flatten\n  - linear: 10\n", // would overflow
		"network:\n  - flatten\n  - linear: 9000\n  - linear: 1000\n  - linear: 1000\n  - linear: 10\n",  // 7.1 M + 9 M + 1 M in all
	} {
		_, err := ParseFile("c.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), "parameters, more than this program allows") {
			t.Errorf("%q: error %v, want too many parameters", src, err)
		}
	}
}
