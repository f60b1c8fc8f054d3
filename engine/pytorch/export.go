// Package pytorch writes a trained custom network as a PyTorch module: model.py, plain PyTorch
// layers built from the network's definition with the engine's parameter names (network.py,
// embedded), and model.safetensors, its state_dict. The Python files of this folder are also
// the fixture writers and reference runs of the engine's parity tests.
package pytorch

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"

	"mnist-tui/dataset"
	"mnist-tui/engine/checkpoint"
	"mnist-tui/engine/safetensors"
)

//go:embed network.py
var networkPy string

//go:embed model_main.py
var modelMainPy string

// Export writes dir/model.py and dir/model.safetensors for ck, a custom network's checkpoint:
// `python3 model.py model.safetensors --data-dir MNIST_DIR` evaluates it on the test set.
func Export(dir string, ck *checkpoint.Checkpoint) error {
	net := ck.Network()
	if net == nil {
		return fmt.Errorf("export: the checkpoint is a %q model; export takes a custom network's checkpoint (model: custom), the built-in models are in engine/pytorch/models.py", ck.Model)
	}
	info, err := dataset.Lookup(ck.Meta.Dataset)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	// The network as the parsed YAML list network.py builds from, via JSON.
	var layers any
	if err := yaml.Unmarshal([]byte(net.YAML()), &layers); err != nil {
		return fmt.Errorf("export: the network's definition: %w", err)
	}
	spec, err := json.Marshal(layers)
	if err != nil {
		return fmt.Errorf("export: the network's definition: %w", err)
	}
	var py strings.Builder
	py.WriteString("#!/usr/bin/env python3\n")
	fmt.Fprintf(&py, "# Exported by mnist-tui from run %s (%s, epoch %d): a %s network.\n", ck.Meta.RunID, ck.Meta.Dataset, ck.Meta.Epoch, ck.Model)
	fmt.Fprintf(&py, "# Usage: python3 model.py model.safetensors --data-dir FOLDER_WITH_THE_GZ_FILES\n\n")
	py.WriteString(networkPy)
	fmt.Fprintf(&py, "\n\nNETWORK_JSON = %s\nMEAN, STD = %s, %s  # the data set's normalisation\n", strconv.Quote(string(spec)),
		strconv.FormatFloat(float64(info.Mean), 'g', -1, 32), strconv.FormatFloat(float64(info.Std), 'g', -1, 32))
	py.WriteString(modelMainPy)

	var state []safetensors.Tensor
	for _, t := range ck.File.Tensors {
		if !strings.HasPrefix(t.Name, "optimizer.") {
			state = append(state, t)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "model.py"), []byte(py.String()), 0o644); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := safetensors.WriteFileAtomic(filepath.Join(dir, "model.safetensors"), state, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
