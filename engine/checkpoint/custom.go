package checkpoint

import (
	"fmt"
	"slices"

	"mnist-tui/engine"
	"mnist-tui/engine/config"
	"mnist-tui/engine/network"
	"mnist-tui/engine/safetensors"
)

// A custom network's checkpoint (model "custom") holds the network's definition in its config
// metadata, which is what Load checks the tensors against, and its BatchNorm buffers beside
// the parameters under PyTorch's names: running_mean and running_var as F32 [C],
// num_batches_tracked as an I64 scalar, as torch.save(model.state_dict()) has them.

// customModel is the model name of a network declared in config.yaml.
const customModel = config.Custom

// customSpecs returns the custom network that the config YAML (a checkpoint's config
// metadata) declares, with its parameters and buffers.
func customSpecs(configYAML string) (net *network.Network, params, buffers []spec, err error) {
	cfg, err := config.Parse("the checkpoint's config", []byte(configYAML))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("metadata %q: %w", keyConfig, err)
	}
	if cfg.Model != customModel || cfg.Network == nil {
		return nil, nil, nil, fmt.Errorf("metadata %q: model %q with no network: the file is not a custom network's checkpoint", keyConfig, cfg.Model)
	}
	for _, t := range cfg.Network.Params() {
		params = append(params, spec{name: t.Name, shape: t.Shape})
	}
	for _, t := range cfg.Network.Buffers() {
		buffers = append(buffers, spec{name: t.Name, shape: t.Shape})
		if name, ok := trackedName(t.Name); ok {
			buffers = append(buffers, spec{name: name, shape: []int{}, dtype: "I64"})
		}
	}
	return cfg.Network, params, buffers, nil
}

// Network is the network a custom network's checkpoint declares (nil for the built-in
// models), to build its Net with engine.NewCustomNet.
func (c *Checkpoint) Network() *network.Network { return c.network }

// trackedName is the num_batches_tracked beside a running_var.
func trackedName(buffer string) (string, bool) {
	const suffix = ".running_var"
	if len(buffer) <= len(suffix) || buffer[len(buffer)-len(suffix):] != suffix {
		return "", false
	}
	return network.NumBatchesTracked(buffer[:len(buffer)-len(suffix)]), true
}

// bufferTensors copies a Net's buffers into tensors.
func bufferTensors(bufs []engine.Buffer) []safetensors.Tensor {
	out := make([]safetensors.Tensor, len(bufs))
	for i, b := range bufs {
		if b.Tracked != nil {
			out[i] = safetensors.I64(b.Name, []int{}, []int64{*b.Tracked})
		} else {
			out[i] = safetensors.F32(b.Name, []int{len(b.Values)}, slices.Clone(b.Values))
		}
	}
	return out
}

// LoadBuffers copies the checkpoint's BatchNorm buffers into bufs (a custom Net's Buffers).
// Everything is checked first: on error, bufs are unchanged.
func (c *Checkpoint) LoadBuffers(bufs []engine.Buffer) error {
	values := make([][]float32, len(bufs))
	counts := make([]int64, len(bufs))
	for i, b := range bufs {
		t, ok := c.File.Get(b.Name)
		if !ok {
			return fmt.Errorf("checkpoint: buffer %q is missing", b.Name)
		}
		var err error
		if b.Tracked != nil {
			var v []int64
			if v, err = t.Int64s(); err == nil && len(v) != 1 {
				err = fmt.Errorf("%d values, want 1", len(v))
			}
			if err == nil {
				counts[i] = v[0]
			}
		} else if values[i], err = t.Float32s(); err == nil && len(values[i]) != len(b.Values) {
			err = fmt.Errorf("%d values, the network's has %d", len(values[i]), len(b.Values))
		}
		if err != nil {
			return fmt.Errorf("checkpoint: buffer %q: %w", b.Name, err)
		}
	}
	for i, b := range bufs {
		if b.Tracked != nil {
			*b.Tracked = counts[i]
		} else {
			copy(b.Values, values[i])
		}
	}
	return nil
}
