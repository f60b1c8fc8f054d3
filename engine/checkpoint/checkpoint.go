// Package checkpoint saves and restores a Net's weights, its optimizer's
// momentum and the run's progress as one safetensors file.
//
// The weights sit under their bare PyTorch state_dict names, so in Python
//
//	model.load_state_dict(load_file(path), strict=False)
//
// loads a checkpoint (strict=False skips the optimizer's state: SGD's
// "optimizer.momentum.<name>", Adam's "optimizer.exp_avg.<name>",
// "optimizer.exp_avg_sq.<name>" and "optimizer.step", and with ema_decay the averaged weights
// "optimizer.ema.<name>"), and a state_dict saved by PyTorch loads here: Load recognises the
// model from its tensor names and shapes.
package checkpoint

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"mnist-tui/engine"
	"mnist-tui/engine/network"
	"mnist-tui/engine/safetensors"

	"gorgonia.org/tensor"
)

const (
	// Format is the value of the "format" metadata key in files Save writes.
	// A future incompatible layout gets a new number.
	Format = "mnist-tui-checkpoint/1"

	// MaxHeaderSize bounds a checkpoint's header, which Load decodes
	// before anything else: decoding takes several times the header's size
	// in memory, so the format's own 100 MB limit would let one file cost
	// gigabytes. Ours hold a few KB, plus about 100 bytes a logged step.
	MaxHeaderSize = 16 << 20

	formatFamily   = "mnist-tui-checkpoint/"
	optimizerSpace = "optimizer."
	momentumPrefix = optimizerSpace + "momentum."
	// stepTensor holds Adam's step count, an I64 scalar.
	stepTensor = optimizerSpace + "step"
	// emaSpace holds the averaged weights and BatchNorm statistics of a run with ema_decay
	// (engine.EMA), each under its model tensor's name: training state beside the optimizer's,
	// which load_state_dict(strict=False) skips in the same way.
	emaSpace = optimizerSpace + "ema."
)

// stateKinds are the kinds of per-parameter optimizer state a checkpoint may
// hold, in the order OptimizerState lists them (engine.SGD's and engine.Adam's).
var stateKinds = []string{"momentum", "exp_avg", "exp_avg_sq"}

// Checkpoint is a loaded checkpoint file.
type Checkpoint struct {
	File    *safetensors.File
	Meta    Meta // zero unless HasMeta
	HasMeta bool // false for a bare state_dict, e.g. one saved by PyTorch
	Model   string

	buffers []spec           // a custom network's BatchNorm buffers (see LoadBuffers)
	network *network.Network // a custom network's definition
}

// Save writes params, opt's state (if opt is non-nil and has taken a step:
// momentum buffers, or Adam's moments and step count) and meta to path atomically: a crash leaves either the old
// file or the new one.
//
// buffers are a custom network's (Net.Buffers), saved under their names.
func Save(path string, params []*engine.Param, opt engine.Optimizer, meta Meta, buffers ...engine.Buffer) error {
	return SaveWithEMA(path, params, opt, nil, meta, buffers...)
}

// SaveWithEMA is Save also writing ema's averages, once it has started, as
// "optimizer.ema.<name>" for every parameter and averaged buffer; LoadEMA restores them.
func SaveWithEMA(path string, params []*engine.Param, opt engine.Optimizer, ema *engine.EMA, meta Meta, buffers ...engine.Buffer) error {
	metadata, err := meta.encode()
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	tensors := make([]safetensors.Tensor, 0, 2*len(params))
	for _, p := range params {
		if strings.HasPrefix(p.Name, optimizerSpace) {
			return fmt.Errorf("checkpoint %s: parameter %q: names starting %q are reserved for the optimizer", path, p.Name, optimizerSpace)
		}
		t, err := denseTensor(p.Name, p.Value)
		if err != nil {
			return fmt.Errorf("checkpoint %s: %w", path, err)
		}
		tensors = append(tensors, t)
	}
	tensors = append(tensors, bufferTensors(buffers)...)
	if opt != nil {
		// nil before the first step: there is no state to keep yet.
		if state := opt.State(); state != nil {
			stateTensors, err := optimizerTensors(state, params, tensors[:len(params)])
			if err != nil {
				return fmt.Errorf("checkpoint %s: %w", path, err)
			}
			tensors = append(tensors, stateTensors...)
		}
	}
	if ema != nil && ema.Started() {
		for _, p := range ema.Params() {
			t, err := denseTensor(emaSpace+p.Name, p.Value)
			if err != nil {
				return fmt.Errorf("checkpoint %s: %w", path, err)
			}
			tensors = append(tensors, t)
		}
		for _, b := range ema.Buffers() {
			tensors = append(tensors, safetensors.F32(emaSpace+b.Name, []int{len(b.Values)}, slices.Clone(b.Values)))
		}
	}
	// A file Load would refuse must not replace a good one.
	if err := checkFinite(tensors); err != nil {
		return fmt.Errorf("checkpoint %s: not written, the previous file is kept: %w, as after a run that diverged", path, err)
	}
	size, err := safetensors.HeaderSize(tensors, metadata)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if size > MaxHeaderSize {
		return fmt.Errorf("checkpoint %s: its header would be %d bytes, over the %d that Load accepts (is the metric history very long? raise log_interval)", path, size, MaxHeaderSize)
	}
	if err := safetensors.WriteFileAtomic(path, tensors, metadata); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// optimizerTensors lays out an optimizer's state as tensors named
// "optimizer.<kind>.<parameter>", and "optimizer.step" when it counts steps.
// weights are params' tensors, to check the shapes against.
func optimizerTensors(state *engine.OptimizerState, params []*engine.Param, weights []safetensors.Tensor) ([]safetensors.Tensor, error) {
	var out []safetensors.Tensor
	for _, b := range state.Buffers {
		if !slices.Contains(stateKinds, b.Kind) {
			return nil, fmt.Errorf("the optimizer keeps state %q, which checkpoints do not know", b.Kind)
		}
		if len(b.Tensors) != len(params) {
			return nil, fmt.Errorf("the optimizer has %d %s buffers for %d parameters", len(b.Tensors), b.Kind, len(params))
		}
		for i, d := range b.Tensors {
			t, err := denseTensor(optimizerSpace+b.Kind+"."+params[i].Name, d)
			if err != nil {
				return nil, err
			}
			if !slices.Equal(t.Shape, weights[i].Shape) {
				return nil, fmt.Errorf("%s buffer %d has shape %v but parameter %q has %v", b.Kind, i, t.Shape, params[i].Name, weights[i].Shape)
			}
			out = append(out, t)
		}
	}
	if state.Steps > 0 {
		out = append(out, safetensors.I64(stepTensor, []int{}, []int64{state.Steps}))
	}
	return out, nil
}

// Load reads a checkpoint written by Save, or a bare state_dict of one of
// engine.Models(), and checks that its tensors are exactly the model's and
// hold finite numbers. The header is checked before any tensor data is read,
// so a file that is not a checkpoint of ours costs no more memory than its
// header, however large it is.
func Load(path string) (*Checkpoint, error) {
	var c *Checkpoint
	f, err := safetensors.ReadFileChecked(path, MaxHeaderSize, func(header *safetensors.File) error {
		var err error
		c, err = fromHeader(header)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	c.File = f
	if err := checkFinite(f.Tensors); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w: the values are not finite numbers, as after a run that diverged; use an earlier checkpoint", path, err)
	}
	return c, nil
}

// fromFile is Load after the file is parsed.
func fromFile(f *safetensors.File) (*Checkpoint, error) {
	c, err := fromHeader(f)
	if err != nil {
		return nil, err
	}
	c.File = f
	return c, checkFinite(f.Tensors)
}

// fromHeader checks a file by its header alone: metadata, tensor names,
// dtypes and shapes. It does not look at the tensors' Data.
func fromHeader(f *safetensors.File) (*Checkpoint, error) {
	c := &Checkpoint{File: f}
	format, hasFormat := f.Metadata[keyFormat]
	// Other writers use "format" too (PyTorch's save_file writes "pt"): only
	// our own family of values means the metadata is ours.
	if !hasFormat || !strings.HasPrefix(format, formatFamily) {
		model, want, err := detect(f)
		if err != nil {
			return nil, err
		}
		if _, err := checkOptimizerState(want, f); err != nil {
			return nil, err
		}
		c.Model = model
		return c, nil
	}
	if format != Format {
		return nil, fmt.Errorf("metadata %q is %q; this program reads %q (written by a newer version?)", keyFormat, format, Format)
	}
	meta, err := decodeMeta(f.Metadata)
	if err != nil {
		return nil, err
	}
	c.Meta, c.HasMeta, c.Model = meta, true, meta.Model

	var want []spec
	if meta.Model == customModel {
		if c.network, want, c.buffers, err = customSpecs(meta.Config); err != nil {
			return nil, err
		}
	} else if want, err = modelSpecs(meta.Model); err != nil {
		return nil, fmt.Errorf("metadata %q: %w", keyModel, err)
	}
	if problems := mismatches(append(slices.Clip(want), c.buffers...), f); len(problems) > 0 {
		return nil, fmt.Errorf("tensors do not match model %q: %s", meta.Model, summarise(problems))
	}
	if _, err := checkOptimizerState(want, f); err != nil {
		return nil, err
	}
	if _, err := checkEMA(append(slices.Clip(want), c.buffers...), f); err != nil {
		return nil, err
	}
	return c, nil
}

// checkEMA checks the averaged tensors of f ("optimizer.ema.<name>") against the model's
// float tensors want, by header alone, and returns them in want's order: one for every
// parameter and float buffer, or none.
func checkEMA(want []spec, f *safetensors.File) ([]spec, error) {
	byName := make(map[string]bool, len(want))
	var averaged []spec
	for _, s := range want {
		if s.dtype == "" {
			byName[s.name] = true
			averaged = append(averaged, s)
		}
	}
	stored := 0
	for _, t := range f.Tensors {
		name, ok := strings.CutPrefix(t.Name, emaSpace)
		if !ok {
			continue
		}
		if !byName[name] {
			return nil, fmt.Errorf("averaged tensor %q belongs to no parameter or statistic of the model", t.Name)
		}
		stored++
	}
	if stored == 0 {
		return nil, nil
	}
	for _, s := range averaged {
		t, ok := f.Get(emaSpace + s.name)
		switch {
		case !ok:
			return nil, fmt.Errorf("averaged tensor %q is missing (the file averages %d of the model's %d tensors)", emaSpace+s.name, stored, len(averaged))
		case t.DType != "F32":
			return nil, fmt.Errorf("averaged tensor %q is %s, want F32", t.Name, t.DType)
		case !slices.Equal(t.Shape, s.shape):
			return nil, fmt.Errorf("averaged tensor %q has shape %v, the model's is %v", t.Name, t.Shape, s.shape)
		}
	}
	return averaged, nil
}

// LoadEMA copies the checkpoint's averaged weights and statistics into ema and marks it
// started, reporting true; a file without them leaves ema as it is and reports false (the
// average then starts afresh from the weights). On error, ema is unchanged.
func (c *Checkpoint) LoadEMA(ema *engine.EMA) (bool, error) {
	var want []spec
	var dst [][]float32
	for _, p := range ema.Params() {
		values, err := denseFloats(p.Value)
		if err != nil {
			return false, fmt.Errorf("checkpoint: averaged %q: %w", p.Name, err)
		}
		want = append(want, spec{name: p.Name, shape: p.Value.Shape()})
		dst = append(dst, values)
	}
	for _, b := range ema.Buffers() {
		want = append(want, spec{name: b.Name, shape: []int{len(b.Values)}})
		dst = append(dst, b.Values)
	}
	averaged, err := checkEMA(want, c.File)
	if err != nil || averaged == nil {
		return false, err
	}
	values := make([][]float32, len(want))
	for i, s := range want {
		t, _ := c.File.Get(emaSpace + s.name) // present, F32 and shaped right: checked above
		if values[i], err = t.Float32s(); err != nil {
			return false, fmt.Errorf("checkpoint: %w", err)
		}
	}
	for i := range dst {
		copy(dst[i], values[i])
	}
	ema.SetStarted(true)
	return true, nil
}

// checkFinite refuses a NaN or an infinity in any F32 tensor: weights like
// that come from a run that diverged, and would only give NaN losses and
// meaningless predictions.
func checkFinite(tensors []safetensors.Tensor) error {
	for _, t := range tensors {
		if t.DType != "F32" {
			continue
		}
		for i := 0; i+4 <= len(t.Data); i += 4 {
			v := math.Float32frombits(binary.LittleEndian.Uint32(t.Data[i:]))
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("tensor %q holds %v at index %v (element %d of %d)",
					t.Name, v, coordinates(i/4, t.Shape), i/4, len(t.Data)/4)
			}
		}
	}
	return nil
}

// coordinates turns a flat row-major index into one index per dim.
func coordinates(flat int, shape []int) []int {
	out := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			out[d] = flat % shape[d]
			flat /= shape[d]
		}
	}
	return out
}

// DetectModel names the model of engine.Models() whose parameter names and
// shapes are exactly f's tensors (ignoring "optimizer.*"). If none is, the
// error lists how the closest model differs.
func DetectModel(f *safetensors.File) (string, error) {
	model, _, err := detect(f)
	return model, err
}

// detect is DetectModel also returning the model's parameter specs.
func detect(f *safetensors.File) (string, []spec, error) {
	if countState(f) == 0 {
		return "", nil, fmt.Errorf("no model tensors in the file (only optimizer state or nothing); not a state_dict")
	}
	best, bestProblems := "", []string(nil)
	for _, model := range engine.Models() {
		want, err := modelSpecs(model)
		if err != nil {
			return "", nil, err
		}
		problems := mismatches(want, f)
		if len(problems) == 0 {
			return model, want, nil
		}
		if best == "" || len(problems) < len(bestProblems) {
			best, bestProblems = model, problems
		}
	}
	return "", nil, fmt.Errorf("not a state_dict of any known model (%s); closest is %q: %s",
		strings.Join(engine.Models(), ", "), best, summarise(bestProblems))
}

// LoadInto copies the checkpoint's weights into params and, when opt is
// non-nil and the file holds optimizer state, restores it (SGD's momentum,
// Adam's moments and step count; the state of another optimizer than opt is
// an error). A file without state leaves opt as it is: pass a fresh
// optimizer to start from zero, as PyTorch does. Everything is checked first: on
// error, params and opt are unchanged.
func (c *Checkpoint) LoadInto(params []*engine.Param, opt engine.Optimizer) error {
	want := make([]spec, len(params))
	dst := make([][]float32, len(params))
	for i, p := range params {
		values, err := denseFloats(p.Value)
		if err != nil {
			return fmt.Errorf("checkpoint: parameter %q: %w", p.Name, err)
		}
		want[i] = spec{name: p.Name, shape: p.Value.Shape()}
		dst[i] = values
	}
	if problems := mismatches(append(slices.Clip(want), c.buffers...), c.File); len(problems) > 0 {
		if c.Model != "" {
			return fmt.Errorf("checkpoint of model %q does not fit these parameters: %s", c.Model, summarise(problems))
		}
		return fmt.Errorf("checkpoint does not fit these parameters: %s", summarise(problems))
	}
	state, err := optimizerState(want, c.File)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}

	weights := make([][]float32, len(params))
	for i, s := range want {
		t, _ := c.File.Get(s.name) // present and F32: mismatches checked
		if weights[i], err = t.Float32s(); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	if opt != nil && state != nil {
		if err := opt.SetState(state); err != nil {
			return fmt.Errorf("checkpoint: restore the optimizer: %w", err)
		}
	}
	for i := range params {
		copy(dst[i], weights[i])
	}
	return nil
}

// spec is a tensor a model expects.
type spec struct {
	name  string
	shape []int
	dtype string // "" for F32
}

// modelSpecs lists a model's parameters by building it; a Net is the one
// place the list is written down.
func modelSpecs(model string) ([]spec, error) {
	net, err := engine.NewNet(model, 0, 1)
	if err != nil {
		return nil, err
	}
	specs := make([]spec, 0, len(net.Params()))
	for _, p := range net.Params() {
		specs = append(specs, spec{name: p.Name, shape: p.Value.Shape()})
	}
	return specs, nil
}

// mismatches lists how f's model tensors differ from want: missing, extra,
// not F32, or shaped differently. "optimizer.*" tensors are not model tensors.
func mismatches(want []spec, f *safetensors.File) []string {
	var problems []string
	expected := make(map[string]bool, len(want))
	for _, s := range want {
		expected[s.name] = true
		t, ok := f.Get(s.name)
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("tensor %q %v is missing", s.name, s.shape))
		case t.DType != cmp.Or(s.dtype, "F32"):
			problems = append(problems, fmt.Sprintf("tensor %q is %s, want %s", s.name, t.DType, cmp.Or(s.dtype, "F32")))
		case !slices.Equal(t.Shape, s.shape):
			problems = append(problems, fmt.Sprintf("tensor %q has shape %v, the model's is %v", s.name, t.Shape, s.shape))
		}
	}
	for _, t := range f.Tensors {
		if !expected[t.Name] && !strings.HasPrefix(t.Name, optimizerSpace) {
			problems = append(problems, fmt.Sprintf("tensor %q %v is not in the model", t.Name, t.Shape))
		}
	}
	return problems
}

// checkOptimizerState checks the optimizer tensors of f against the model's
// parameters want, by header alone, and returns the kinds stored. A file
// holds each kind for every parameter or for none: state for only some would
// resume a different optimisation.
func checkOptimizerState(want []spec, f *safetensors.File) ([]string, error) {
	byParam := make(map[string]bool, len(want)*len(stateKinds))
	for _, kind := range stateKinds {
		for _, s := range want {
			byParam[optimizerSpace+kind+"."+s.name] = true
		}
	}
	stored := map[string]int{}
	for _, t := range f.Tensors {
		if !strings.HasPrefix(t.Name, optimizerSpace) || t.Name == stepTensor || strings.HasPrefix(t.Name, emaSpace) {
			continue // the averages are checked by checkEMA
		}
		if !byParam[t.Name] {
			return nil, fmt.Errorf("optimizer tensor %q belongs to no parameter of the model (known state: %s)", t.Name, strings.Join(stateKinds, ", "))
		}
		kind, _, _ := strings.Cut(strings.TrimPrefix(t.Name, optimizerSpace), ".")
		stored[kind]++
	}
	var kinds []string
	for _, kind := range stateKinds {
		if stored[kind] == 0 {
			continue
		}
		kinds = append(kinds, kind)
		for _, s := range want {
			name := optimizerSpace + kind + "." + s.name
			t, ok := f.Get(name)
			switch {
			case !ok:
				return nil, fmt.Errorf("%s tensor %q is missing (the file has %s for %d of %d parameters)", kind, name, kind, stored[kind], len(want))
			case t.DType != "F32":
				return nil, fmt.Errorf("%s tensor %q is %s, want F32", kind, t.Name, t.DType)
			case !slices.Equal(t.Shape, s.shape):
				return nil, fmt.Errorf("%s tensor %q has shape %v, the parameter's is %v", kind, t.Name, t.Shape, s.shape)
			}
		}
	}
	if t, ok := f.Get(stepTensor); ok {
		if t.DType != "I64" || len(t.Shape) != 0 {
			return nil, fmt.Errorf("tensor %q is %s %v, want an I64 scalar (the optimizer's step count)", stepTensor, t.DType, t.Shape)
		}
		if len(kinds) == 0 {
			return nil, fmt.Errorf("tensor %q without the optimizer state it counts for", stepTensor)
		}
	}
	return kinds, nil
}

// optimizerState returns the optimizer state stored for want, in want's
// order, or nil if the file has none.
func optimizerState(want []spec, f *safetensors.File) (*engine.OptimizerState, error) {
	kinds, err := checkOptimizerState(want, f)
	if err != nil || len(kinds) == 0 {
		return nil, err
	}
	state := &engine.OptimizerState{}
	for _, kind := range kinds {
		b := engine.StateBuffers{Kind: kind, Tensors: make([]*tensor.Dense, len(want))}
		for i, s := range want {
			t, _ := f.Get(optimizerSpace + kind + "." + s.name) // present, F32 and shaped right: checked above
			values, err := t.Float32s()
			if err != nil {
				return nil, err
			}
			b.Tensors[i] = tensor.New(tensor.WithShape(s.shape...), tensor.WithBacking(values))
		}
		state.Buffers = append(state.Buffers, b)
	}
	if t, ok := f.Get(stepTensor); ok {
		steps, err := t.Int64s()
		if err != nil {
			return nil, err
		}
		state.Steps = steps[0]
	}
	return state, nil
}

// countState counts f's model tensors, those outside "optimizer.*".
func countState(f *safetensors.File) int {
	n := 0
	for _, t := range f.Tensors {
		if !strings.HasPrefix(t.Name, optimizerSpace) {
			n++
		}
	}
	return n
}

// summarise joins problems, sorted, keeping the message readable when a
// file belongs to a different model entirely.
func summarise(problems []string) string {
	const shown = 6
	sorted := append([]string(nil), problems...)
	sort.Strings(sorted)
	if len(sorted) <= shown {
		return strings.Join(sorted, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(sorted[:shown], "; "), len(sorted)-shown)
}

// denseTensor copies a float32 Dense into a safetensors tensor.
func denseTensor(name string, d *tensor.Dense) (safetensors.Tensor, error) {
	values, err := denseFloats(d)
	if err != nil {
		return safetensors.Tensor{}, fmt.Errorf("tensor %q: %w", name, err)
	}
	return safetensors.F32(name, d.Shape(), values), nil
}

// denseFloats returns d's backing float32 slice, refusing what cannot be
// read or written as one contiguous run in row-major order.
func denseFloats(d *tensor.Dense) ([]float32, error) {
	if d == nil {
		return nil, fmt.Errorf("tensor is nil")
	}
	if d.RequiresIterator() {
		return nil, fmt.Errorf("tensor %v is a non-contiguous view; pass a contiguous tensor", d.Shape())
	}
	values, ok := d.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("tensor %v holds %v, not a float32 array", d.Shape(), d.Dtype())
	}
	if len(values) != d.Shape().TotalSize() {
		return nil, fmt.Errorf("tensor %v has %d values, its shape needs %d", d.Shape(), len(values), d.Shape().TotalSize())
	}
	return values, nil
}
