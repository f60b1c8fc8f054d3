package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"mnist-tui/engine"
	"mnist-tui/engine/internal/fixture"
	"mnist-tui/engine/safetensors"

	"gorgonia.org/tensor"
)

func newNet(t testing.TB, model string, seed uint64) *engine.Net {
	t.Helper()
	net, err := engine.NewNet(model, seed, 1)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// randomMomentum gives opt momentum buffers with values drawn from seed.
func randomMomentum(t testing.TB, params []*engine.Param, opt *engine.SGD, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	bufs := make([]*tensor.Dense, len(params))
	for i, p := range params {
		data := make([]float32, p.Value.Shape().TotalSize())
		for j := range data {
			data[j] = rng.Float32() - 0.5
		}
		bufs[i] = tensor.New(tensor.WithShape(p.Value.Shape()...), tensor.WithBacking(data))
	}
	if err := opt.SetBuffers(bufs); err != nil {
		t.Fatal(err)
	}
}

// snapshot copies the values of tensors, to compare before and after.
func snapshot(ds []*tensor.Dense) [][]float32 {
	if ds == nil {
		return nil
	}
	out := make([][]float32, len(ds))
	for i, d := range ds {
		out[i] = slices.Clone(d.Data().([]float32))
	}
	return out
}

func values(params []*engine.Param) []*tensor.Dense {
	out := make([]*tensor.Dense, len(params))
	for i, p := range params {
		out[i] = p.Value
	}
	return out
}

func sampleMeta(model string) Meta {
	return Meta{
		Model:   model,
		Dataset: "mnist",
		Epoch:   3,
		Batch:   17,
		Step:    2000,
		Seed:    1<<63 + 5, // does not fit an int64
		Config:  "model: " + model + "\nlr: 0.01 # \"quoted\" ünïcode\n",
		History: json.RawMessage(`{"epochs":[{"epoch":1,"test_acc":98.5}]}`),
		Version: "v0.1.0",
		RunID:   "20250101-120000-" + model,
	}
}

// stateDict is a bare state_dict of params, as PyTorch would hold it.
func stateDict(t testing.TB, params []*engine.Param) []safetensors.Tensor {
	t.Helper()
	tensors := make([]safetensors.Tensor, len(params))
	for i, p := range params {
		tensors[i] = safetensors.F32(p.Name, p.Value.Shape(), p.Value.Data().([]float32))
	}
	return tensors
}

func TestRoundTripEveryModel(t *testing.T) {
	for _, model := range engine.Models() {
		t.Run(model, func(t *testing.T) {
			src := newNet(t, model, 1)
			srcOpt := engine.NewSGD(src.Params(), 0.01, 0.5, 0)
			randomMomentum(t, src.Params(), srcOpt, 7)
			path := filepath.Join(t.TempDir(), "run.safetensors")
			if err := Save(path, src.Params(), srcOpt, sampleMeta(model)); err != nil {
				t.Fatal(err)
			}

			c, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if !c.HasMeta || c.Model != model || !reflect.DeepEqual(c.Meta, sampleMeta(model)) {
				t.Errorf("loaded HasMeta=%v Model=%q Meta=%+v, want %+v", c.HasMeta, c.Model, c.Meta, sampleMeta(model))
			}
			// PyTorch's load_state_dict finds every parameter under its bare name.
			for _, p := range src.Params() {
				if _, ok := c.File.Get(p.Name); !ok {
					t.Errorf("no tensor named %q", p.Name)
				}
			}

			dst := newNet(t, model, 2)
			dstOpt := engine.NewSGD(dst.Params(), 0.01, 0.5, 0)
			if reflect.DeepEqual(snapshot(values(dst.Params())), snapshot(values(src.Params()))) {
				t.Fatal("seeds 1 and 2 gave the same weights; the test would prove nothing")
			}
			if err := c.LoadInto(dst.Params(), dstOpt); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(snapshot(values(dst.Params())), snapshot(values(src.Params()))) {
				t.Error("weights differ after LoadInto")
			}
			if !reflect.DeepEqual(snapshot(dstOpt.Buffers()), snapshot(srcOpt.Buffers())) {
				t.Error("momentum buffers differ after LoadInto")
			}
		})
	}
}

func TestSaveWithoutMomentum(t *testing.T) {
	src := newNet(t, "cnn", 1)
	dir := t.TempDir()
	for name, opt := range map[string]engine.Optimizer{
		"nil optimizer":     nil,
		"before first step": engine.NewSGD(src.Params(), 0.01, 0.5, 0),
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		if err := Save(path, src.Params(), opt, sampleMeta("cnn")); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c, err := Load(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(c.File.Tensors) != len(src.Params()) {
			t.Errorf("%s: %d tensors, want only the %d parameters", name, len(c.File.Tensors), len(src.Params()))
		}
		dst := newNet(t, "cnn", 2)
		dstOpt := engine.NewSGD(dst.Params(), 0.01, 0.5, 0)
		if err := c.LoadInto(dst.Params(), dstOpt); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if dstOpt.Buffers() != nil {
			t.Errorf("%s: a file without momentum gave the optimizer buffers", name)
		}
		if err := c.LoadInto(dst.Params(), nil); err != nil {
			t.Errorf("%s: LoadInto with a nil optimizer: %v", name, err)
		}
	}
}

func TestBareStateDictIsDetected(t *testing.T) {
	for _, model := range engine.Models() {
		for _, metadata := range []map[string]string{nil, {"format": "pt"}} {
			src := newNet(t, model, 3)
			path := filepath.Join(t.TempDir(), model+".safetensors")
			// Reverse the order: PyTorch's writer sorts tensors its own way.
			tensors := stateDict(t, src.Params())
			slices.Reverse(tensors)
			if err := safetensors.WriteFileAtomic(path, tensors, metadata); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path)
			if err != nil {
				t.Fatalf("%s %v: %v", model, metadata, err)
			}
			if c.HasMeta || c.Model != model || !reflect.DeepEqual(c.Meta, Meta{}) {
				t.Errorf("%s %v: HasMeta=%v Model=%q Meta=%+v", model, metadata, c.HasMeta, c.Model, c.Meta)
			}
			if got, err := DetectModel(c.File); got != model || err != nil {
				t.Errorf("DetectModel = %q, %v; want %q", got, err, model)
			}
			dst := newNet(t, model, 4)
			if err := c.LoadInto(dst.Params(), nil); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(snapshot(values(dst.Params())), snapshot(values(src.Params()))) {
				t.Errorf("%s: weights differ after LoadInto", model)
			}
		}
	}
}

// The state_dicts PyTorch saved for the parity tests load as they are.
// Linear's is rebuilt from engine/pytorch/formula.py and checked byte for byte
// against the SHA-256 make_fixtures.py recorded (see fixture.StateDictPath).
func TestPyTorchStateDicts(t *testing.T) {
	for _, model := range engine.Models() {
		net := newNet(t, model, 0)
		path := fixture.StateDictPath(t, filepath.Join("..", "testdata"), model, paramSpecs(net.Params()))
		c, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if c.HasMeta || c.Model != model {
			t.Errorf("%s: HasMeta=%v Model=%q", path, c.HasMeta, c.Model)
		}
		if err := c.LoadInto(net.Params(), nil); err != nil {
			t.Fatal(err)
		}
		for _, p := range net.Params() {
			stored, _ := c.File.Get(p.Name)
			want, err := stored.Float32s()
			if err != nil || !slices.Equal(p.Value.Data().([]float32), want) {
				t.Errorf("%s: %s not loaded (%v)", path, p.Name, err)
			}
		}
	}
}

// paramSpecs lists params' names and shapes, in state_dict order.
func paramSpecs(params []*engine.Param) []fixture.Spec {
	out := make([]fixture.Spec, len(params))
	for i, p := range params {
		out[i] = fixture.Spec{Name: p.Name, Shape: slices.Clone([]int(p.Value.Shape()))}
	}
	return out
}

func TestLoadIntoRejectsMismatches(t *testing.T) {
	src := newNet(t, "cnn", 1)
	params := src.Params()
	first, last := params[0], params[len(params)-1]
	shape := first.Value.Shape()
	flat := []int{shape.TotalSize()}
	weights := stateDict(t, params)
	momentum := func(p *engine.Param) safetensors.Tensor {
		return safetensors.F32(momentumPrefix+p.Name, p.Value.Shape(), make([]float32, p.Value.Shape().TotalSize()))
	}
	replace := func(name string, with safetensors.Tensor) []safetensors.Tensor {
		out := slices.Clone(weights)
		for i := range out {
			if out[i].Name == name {
				out[i] = with
			}
		}
		return out
	}

	for _, tc := range []struct {
		name    string
		tensors []safetensors.Tensor
		want    []string
	}{
		{"wrong shape", replace(first.Name, safetensors.F32(first.Name, flat, first.Value.Data().([]float32))),
			[]string{fmt.Sprintf("%q", first.Name), fmt.Sprint(flat), fmt.Sprint([]int(shape))}},
		{"missing tensor", weights[:len(weights)-1], []string{fmt.Sprintf("%q", last.Name), "missing"}},
		{"extra tensor", append(slices.Clone(weights), safetensors.F32("head.weight", []int{1}, []float32{1})),
			[]string{`"head.weight"`, "not in the model"}},
		{"wrong dtype", replace(first.Name, safetensors.I64(first.Name, shape, make([]int64, shape.TotalSize()))),
			[]string{fmt.Sprintf("%q", first.Name), "I64"}},
		{"momentum for some parameters", append(slices.Clone(weights), momentum(first)),
			[]string{fmt.Sprintf("%q", momentumPrefix+params[1].Name), "missing"}},
		{"momentum of a wrong shape", append(slices.Clone(weights),
			safetensors.F32(momentumPrefix+first.Name, flat, make([]float32, flat[0]))),
			[]string{fmt.Sprintf("%q", momentumPrefix+first.Name), fmt.Sprint(flat), fmt.Sprint([]int(shape))}},
		{"momentum of no parameter", append(slices.Clone(weights), safetensors.F32(momentumPrefix+"ghost", []int{1}, []float32{1})),
			[]string{`"optimizer.momentum.ghost"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := newNet(t, "cnn", 2)
			opt := engine.NewSGD(dst.Params(), 0.01, 0.5, 0)
			before := snapshot(values(dst.Params()))
			c := &Checkpoint{File: &safetensors.File{Tensors: tc.tensors}}
			err := c.LoadInto(dst.Params(), opt)
			if err == nil {
				t.Fatal("LoadInto succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
			if !reflect.DeepEqual(snapshot(values(dst.Params())), before) || opt.Buffers() != nil {
				t.Error("a failed LoadInto changed the weights or the optimizer")
			}

			// The same file on disk: Load refuses it too, naming the tensor.
			path := filepath.Join(t.TempDir(), "bad.safetensors")
			if err := safetensors.WriteFileAtomic(path, tc.tensors, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(path); err == nil || !strings.Contains(err.Error(), tc.want[0]) {
				t.Errorf("Load error = %v, want one mentioning %s", err, tc.want[0])
			}
		})
	}
}

func TestLoadIntoAnotherModelNamesIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "linear.safetensors")
	if err := Save(path, newNet(t, "linear", 1).Params(), nil, sampleMeta("linear")); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cnn := newNet(t, "cnn", 1)
	err = c.LoadInto(cnn.Params(), nil)
	if err == nil || !strings.Contains(err.Error(), `model "linear"`) || !strings.Contains(err.Error(), `"conv1.0.weight"`) {
		t.Errorf("err = %v, want it to name the file's model and a missing tensor", err)
	}
}

func TestDetectModelExplains(t *testing.T) {
	if _, err := DetectModel(&safetensors.File{}); err == nil || !strings.Contains(err.Error(), "no model tensors") {
		t.Errorf("empty file: err = %v", err)
	}
	params := newNet(t, "residual", 1).Params()
	tensors := stateDict(t, params)
	dropped := tensors[3].Name
	tensors = append(tensors[:3], tensors[4:]...)
	_, err := DetectModel(&safetensors.File{Tensors: tensors})
	if err == nil || !strings.Contains(err.Error(), `closest is "residual"`) || !strings.Contains(err.Error(), fmt.Sprintf("%q", dropped)) {
		t.Errorf("err = %v, want it to name residual as closest and %q as missing", err, dropped)
	}
}

// writeWithMetadata saves a valid cnn checkpoint, then rewrites its
// metadata with edit applied.
func writeWithMetadata(t *testing.T, edit func(map[string]string)) string {
	t.Helper()
	net := newNet(t, "cnn", 1)
	md, err := sampleMeta("cnn").encode()
	if err != nil {
		t.Fatal(err)
	}
	edit(md)
	path := filepath.Join(t.TempDir(), "edited.safetensors")
	if err := safetensors.WriteFileAtomic(path, stateDict(t, net.Params()), md); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadRejectsBadMetadata(t *testing.T) {
	set := func(key, value string) func(map[string]string) {
		return func(md map[string]string) { md[key] = value }
	}
	for _, tc := range []struct {
		name string
		edit func(map[string]string)
		want string
	}{
		{"epoch not a number", set(keyEpoch, "three"), `"epoch"`},
		{"epoch zero", set(keyEpoch, "0"), `"epoch"`},
		{"batch negative", set(keyBatch, "-1"), `"batch"`},
		{"step fractional", set(keyStep, "1.5"), `"step"`},
		{"seed negative", set(keySeed, "-1"), `"seed"`},
		{"seed too big", set(keySeed, "18446744073709551616"), `"seed"`},
		{"history not JSON", set(keyHistory, "{"), `"history"`},
		{"unknown model", set(keyModel, "vgg"), `"vgg"`},
		{"other model", set(keyModel, "linear"), `model "linear"`},
		{"missing key", func(md map[string]string) { delete(md, keyRunID) }, `"run_id"`},
		{"newer format", set(keyFormat, "mnist-tui-checkpoint/2"), `"mnist-tui-checkpoint/2"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeWithMetadata(t, tc.edit)
			_, err := Load(path)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not mention %s and the path", err, tc.want)
			}
		})
	}

	// The unedited file loads, so each failure above is the edit's doing.
	if _, err := Load(writeWithMetadata(t, func(map[string]string) {})); err != nil {
		t.Fatal(err)
	}
	// Keys this version does not know are ignored.
	if _, err := Load(writeWithMetadata(t, set("comment", "added by hand"))); err != nil {
		t.Errorf("unknown metadata key: %v", err)
	}
}

func TestSaveRefusesBadInputAndKeepsOldFile(t *testing.T) {
	net := newNet(t, "cnn", 1)
	other := newNet(t, "linear", 1)
	otherOpt := engine.NewSGD(other.Params(), 0.01, 0.5, 0)
	randomMomentum(t, other.Params(), otherOpt, 1)
	badMeta := sampleMeta("cnn")
	badMeta.Epoch = 0
	badHistory := sampleMeta("cnn")
	badHistory.History = json.RawMessage("[1,")

	dir := t.TempDir()
	path := filepath.Join(dir, "run.safetensors")
	if err := Save(path, net.Params(), nil, sampleMeta("cnn")); err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opt  *engine.SGD
		meta Meta
		want string
	}{
		{"epoch 0", nil, badMeta, `"epoch"`},
		{"bad history", nil, badHistory, `"history"`},
		{"unknown model", nil, Meta{Model: "vgg", Epoch: 1}, `"vgg"`},
		{"another model's optimizer", otherOpt, sampleMeta("cnn"), "momentum buffers"},
	} {
		err := Save(path, net.Params(), tc.opt, tc.meta)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one mentioning %s", tc.name, err, tc.want)
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, old) {
			t.Errorf("%s: the previous checkpoint changed", tc.name)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want just the checkpoint", len(entries))
	}

	if err := Save(filepath.Join(dir, "missing", "run.safetensors"), net.Params(), nil, sampleMeta("cnn")); err == nil {
		t.Error("Save into a missing folder succeeded")
	}
	if _, err := Load(filepath.Join(dir, "absent.safetensors")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: err = %v, want one wrapping ErrNotExist", err)
	}
}

// FuzzLoad checks that no file panics Load, and that whatever Load accepts
// really does load into a fresh Net of the model it names.
func FuzzLoad(f *testing.F) {
	var buf bytes.Buffer
	add := func(tensors []safetensors.Tensor, md map[string]string) {
		buf.Reset()
		if err := safetensors.Encode(&buf, tensors, md); err != nil {
			f.Fatal(err)
		}
		f.Add(slices.Clone(buf.Bytes()))
	}
	net := newNet(f, "cnn", 1)
	md, _ := sampleMeta("cnn").encode()
	state := stateDict(f, net.Params())
	var withMomentum []safetensors.Tensor
	for _, t := range state {
		withMomentum = append(withMomentum, safetensors.F32(momentumPrefix+t.Name, t.Shape, make([]float32, len(t.Data)/4)))
	}
	add(state, md)
	add(append(slices.Clone(state), withMomentum...), md)
	add(state, nil)
	add(state[:1], md)
	add(nil, md)
	add([]safetensors.Tensor{safetensors.F32(state[0].Name, []int{1}, []float32{1})}, map[string]string{"format": "pt"})

	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := safetensors.Parse(data)
		if err != nil {
			return
		}
		c, err := fromFile(file)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if c.HasMeta {
			if err := c.Meta.check(); err != nil || c.Meta.Model != c.Model {
				t.Fatalf("accepted bad metadata %+v (%v)", c.Meta, err)
			}
		}
		dst, err := engine.NewNet(c.Model, 0, 1)
		if err != nil {
			t.Fatalf("accepted a file for model %q: %v", c.Model, err)
		}
		if err := c.LoadInto(dst.Params(), engine.NewSGD(dst.Params(), 0.01, 0.5, 0)); err != nil {
			t.Fatalf("Load accepted a file LoadInto refuses: %v", err)
		}
	})
}

// A checkpoint with a NaN or an infinity in its weights or its momentum is
// refused at Load, naming the tensor and where in it the first bad value is.
func TestLoadRefusesNonFiniteValues(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(-1))
	for _, tc := range []struct {
		name     string
		momentum bool // spoil a momentum buffer rather than a weight
		param    int  // which parameter
		at       int  // flat index of the bad value
		value    float32
		want     []string
	}{
		{"NaN weight", false, 0, 2*25 + 7, nan, []string{`"conv1.0.weight"`, "NaN", "[2 0 1 2]", "element 57"}},
		{"infinite bias", false, 1, 5, inf, []string{`"conv1.0.bias"`, "-Inf", "[5]"}},
		{"NaN momentum", true, 0, 0, nan, []string{`"optimizer.momentum.conv1.0.weight"`, "NaN", "[0 0 0 0]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			net := newNet(t, "cnn", 1)
			opt := engine.NewSGD(net.Params(), 0.01, 0.5, 0)
			randomMomentum(t, net.Params(), opt, 2)
			target := net.Params()[tc.param].Value
			if tc.momentum {
				target = opt.Buffers()[tc.param]
			}
			target.Data().([]float32)[tc.at] = tc.value
			// Written as Save would, but Save itself refuses such values.
			tensors := stateDict(t, net.Params())
			for i, p := range net.Params() {
				tensors = append(tensors, safetensors.F32(momentumPrefix+p.Name, p.Value.Shape(), opt.Buffers()[i].Data().([]float32)))
			}
			md, err := sampleMeta("cnn").encode()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "diverged.safetensors")
			if err := safetensors.WriteFileAtomic(path, tensors, md); err != nil {
				t.Fatal(err)
			}
			_, err = Load(path)
			if err == nil {
				t.Fatal("Load accepted non-finite values")
			}
			for _, want := range append(tc.want, path) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %s", err, want)
				}
			}
		})
	}

	// The same for a bare state_dict, as PyTorch would save it.
	net := newNet(t, "linear", 1)
	last := net.Params()[len(net.Params())-1]
	last.Value.Data().([]float32)[9] = float32(math.Inf(1))
	path := filepath.Join(t.TempDir(), "state_dict.safetensors")
	if err := safetensors.WriteFileAtomic(path, stateDict(t, net.Params()), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", last.Name)) || !strings.Contains(err.Error(), "+Inf") {
		t.Errorf("state_dict with +Inf: err = %v, want one naming %q", err, last.Name)
	}
}

// A file far larger than any model is refused before its data is read,
// whether the header admits to the extra bytes or not.
func TestLoadRefusesHugeFilesUnread(t *testing.T) {
	const extra = 256 << 20
	const budget = 32 << 20 // building the models to compare with costs a few MB
	net := newNet(t, "cnn", 1)
	var valid bytes.Buffer
	if err := safetensors.Encode(&valid, stateDict(t, net.Params()), nil); err != nil {
		t.Fatal(err)
	}
	var claims bytes.Buffer
	header := fmt.Sprintf(`{"fc.weight":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}`, extra, extra)
	claims.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(header))))
	claims.WriteString(header)

	for _, tc := range []struct {
		name string
		head []byte
		size int64
		want string
	}{
		{"trailing data", valid.Bytes(), int64(valid.Len()) + extra, "trailing bytes"},
		{"a tensor of no model", claims.Bytes(), int64(claims.Len()) + extra, "not a state_dict of any known model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "huge.safetensors")
			if err := os.WriteFile(path, tc.head, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, tc.size); err != nil { // sparse: costs no disk
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Load(path)
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("err = %v, want one naming %s and %s", err, path, tc.want)
			}
			if used := after.TotalAlloc - before.TotalAlloc; used > budget {
				t.Errorf("Load allocated %d MB to refuse a %d MB file: it read the data before checking the header", used>>20, tc.size>>20)
			}
		})
	}
}

// Decoding a header costs several times its size in memory, so checkpoints
// have a tighter header limit than the format's 100 MB: Load refuses a
// larger header unread, and Save never writes a file Load would refuse.
func TestHeaderLimit(t *testing.T) {
	net := newNet(t, "cnn", 1)
	long := sampleMeta("cnn")
	long.History = json.RawMessage(`"` + strings.Repeat("x", MaxHeaderSize) + `"`)

	dir := t.TempDir()
	path := filepath.Join(dir, "last.safetensors")
	if err := Save(path, net.Params(), nil, sampleMeta("cnn")); err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	err = Save(path, net.Params(), nil, long)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprint(MaxHeaderSize)) || !strings.Contains(err.Error(), path) {
		t.Errorf("Save of a %d-byte history: err = %v, want one naming the path and the limit", len(long.History), err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, old) {
		t.Error("the refused Save changed the previous checkpoint")
	}

	md, err := long.encode()
	if err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.safetensors")
	if err := safetensors.WriteFileAtomic(big, stateDict(t, net.Params()), md); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("Load of a header over %d bytes: err = %v, want it refused for its size", MaxHeaderSize, err)
	}
}

// Save refuses what Load would refuse: a diverged model must not replace the
// last good checkpoint.
func TestSaveRefusesNonFiniteValues(t *testing.T) {
	net := newNet(t, "cnn", 1)
	opt := engine.NewSGD(net.Params(), 0.01, 0.5, 0)
	randomMomentum(t, net.Params(), opt, 2)
	path := filepath.Join(t.TempDir(), "last.safetensors")
	if err := Save(path, net.Params(), opt, sampleMeta("cnn")); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, spoil := range map[string][]float32{
		"weight":   net.Params()[2].Value.Data().([]float32),
		"momentum": opt.Buffers()[3].Data().([]float32),
	} {
		before := spoil[4]
		spoil[4] = float32(math.NaN())
		err := Save(path, net.Params(), opt, sampleMeta("cnn"))
		spoil[4] = before
		if err == nil || !strings.Contains(err.Error(), "NaN") || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: Save of a NaN: err = %v, want one naming the path and the NaN", name, err)
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, good) {
			t.Errorf("%s: the refused Save replaced the good checkpoint", name)
		}
	}
}
