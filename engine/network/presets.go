package network

import (
	"fmt"
	"slices"
	"strings"
)

// presets are the four built-in models written in the network format, layer for layer what
// they compute (engine/pytorch/models.py). They serve the summary for now; their parameter
// names are the format's ("0.weight"), not yet the hand-written models' ("conv1.0.weight").
var presets = map[string]string{
	"linear": `network:
  - flatten
  - linear: 512
  - relu
  - linear: 256
  - relu
  - linear: 128
  - relu
  - linear: 64
  - relu
  - linear: 10
`,
	"cnn": `network:
  - conv: {out: 10, kernel: 5}
  - relu
  - maxpool: 2
  - conv: {out: 20, kernel: 5}
  - relu
  - maxpool: 2
  - flatten
  - linear: 50
  - linear: 10
`,
	"inception": `network:
  - conv: {out: 10, kernel: 5}
  - maxpool: 2
  - relu
  - branches:
      - - conv: {out: 16, kernel: 1}
      - - conv: {out: 16, kernel: 1}
        - conv: {out: 24, kernel: 5, padding: 2}
      - - conv: {out: 16, kernel: 1}
        - conv: {out: 24, kernel: 3, padding: 1}
        - conv: {out: 24, kernel: 3, padding: 1}
      - - avgpool: {kernel: 3, stride: 1, padding: 1}
        - conv: {out: 24, kernel: 1}
  - conv: {out: 20, kernel: 5}
  - maxpool: 2
  - relu
  - branches:
      - - conv: {out: 16, kernel: 1}
      - - conv: {out: 16, kernel: 1}
        - conv: {out: 24, kernel: 5, padding: 2}
      - - conv: {out: 16, kernel: 1}
        - conv: {out: 24, kernel: 3, padding: 1}
        - conv: {out: 24, kernel: 3, padding: 1}
      - - avgpool: {kernel: 3, stride: 1, padding: 1}
        - conv: {out: 24, kernel: 1}
  - flatten
  - linear: 10
`,
	"residual": `network:
  - conv: {out: 16, kernel: 5}
  - relu
  - maxpool: 2
  - residual:
      - conv: {out: 16, kernel: 3, padding: 1}
      - relu
      - conv: {out: 16, kernel: 3, padding: 1}
  - relu
  - conv: {out: 32, kernel: 5}
  - relu
  - maxpool: 2
  - residual:
      - conv: {out: 32, kernel: 3, padding: 1}
      - relu
      - conv: {out: 32, kernel: 3, padding: 1}
  - relu
  - flatten
  - linear: 10
`,
}

// Preset returns the built-in model name as a checked network.
func Preset(name string) (*Network, error) {
	src, ok := presets[name]
	if !ok {
		names := make([]string, 0, len(presets))
		for n := range presets {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("no built-in model %q: want one of %s", name, strings.Join(names, ", "))
	}
	n, err := ParseFile(name+" (built in)", []byte(src))
	if err != nil {
		return nil, fmt.Errorf("built-in model %s: %w", name, err) // a bug in the table above
	}
	return n, nil
}

// Presets lists the built-in models in the order of the tutorial.
func Presets() []string { return []string{"linear", "cnn", "inception", "residual"} }

// PresetYAML returns the built-in model name in the format, the list to paste under network:
// (without the network: line), and whether there is such a model.
func PresetYAML(name string) (string, bool) {
	src, ok := presets[name]
	if !ok {
		return "", false
	}
	return strings.TrimPrefix(src, "network:\n"), true
}
