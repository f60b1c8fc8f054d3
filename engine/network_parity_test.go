package engine

// Parity of the network format's layers and of one whole custom network with PyTorch, against
// the fixtures engine/pytorch/make_network_fixtures.py writes (inputs and weights from the
// formula of engine/pytorch/formula.py, stream 4 for the layers and 5 for the network). Errors
// are max|got − want| / max|want| over a tensor, as in parity_test.go.

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"mnist-tui/engine/internal/fixture"
	"mnist-tui/engine/network"
	"mnist-tui/engine/safetensors"
)

// The tolerances are the largest errors measured, times a margin: 2.1e-7 over the layers'
// cases (a convolution's output), 5.8e-6 over the whole network (a momentum buffer after three
// steps: BatchNorm's backward on five images amplifies float32 rounding; its gradients
// alone reach 3.3e-6).
const (
	layerParityTol   = 1e-6
	networkParityTol = 1e-5
)

type layerCase struct {
	Name   string `json:"name"`
	Layer  any    `json:"layer"`
	B      int    `json:"B"`
	In     []int  `json:"in"`
	X      int    `json:"x"`
	DY     int    `json:"dy"`
	Params map[string]struct {
		Index int `json:"index"`
		FanIn int `json:"fan_in"`
	} `json:"params"`
}

// relErr is max|got−want| / max|want|; NaN anywhere makes it +Inf. A tensor that is zero up
// to rounding (max|want| below 1e-5 of scale, the size of its kind of tensor across the
// network) is measured against scale instead: the gradient of a bias followed by a BatchNorm
// is exactly zero in real numbers, and both sides' float32 noise (about 1e-7 against gradients
// of 0.5) would otherwise count as a 100 % error.
func relErr(got, want []float32, scale float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var maxErr, maxRef float64
	for i := range got {
		e := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(e) {
			return math.Inf(1)
		}
		maxErr, maxRef = max(maxErr, e), max(maxRef, math.Abs(float64(want[i])))
	}
	if maxRef < 1e-5*scale {
		maxRef = scale
	}
	if maxRef == 0 {
		return maxErr
	}
	return maxErr / maxRef
}

// parityReport collects each comparison's error, to fail on the ones above the tolerance and
// to log the largest.
type parityReport struct {
	t     *testing.T
	worst float64
	what  string
	scale float64 // see relErr; 0 for tensors compared on their own
	tol   float64
}

func (r *parityReport) check(what string, got, want []float32) {
	r.t.Helper()
	e := relErr(got, want, r.scale)
	if e > r.worst || math.IsInf(e, 1) {
		r.worst, r.what = e, what
	}
	if !(e <= r.tol) {
		r.t.Errorf("%s: max|err|/max|ref| = %.3g > %g", what, e, r.tol)
	}
}

// caseLayer turns a fixture case into a checked layer: the case's item parsed as the only
// layer of a network whose input is the case's shape.
func caseLayer(t *testing.T, c layerCase) network.Layer {
	t.Helper()
	item, err := json.Marshal(c.Layer) // JSON is YAML: the item as config.yaml would hold it
	if err != nil {
		t.Fatal(err)
	}
	spec, err := network.Read("case", []byte("network: ["+string(item)+"]\n"))
	if err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	if err := spec.CheckFrom(network.Shape(c.In)); err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	return spec.Layers[0]
}

func TestNetworkLayersParityWithPyTorch(t *testing.T) {
	fx := fixture.Read(t, filepath.Join("testdata", "torch_network_layers.safetensors"), "make_network_fixtures.py")
	var cases []layerCase
	if err := json.Unmarshal([]byte(fx.Metadata["cases"]), &cases); err != nil {
		t.Fatal(err)
	}
	const stream = 4
	if fx.Metadata["stream"] != fmt.Sprint(stream) {
		t.Fatalf("fixture stream %s, want %d", fx.Metadata["stream"], stream)
	}
	r := &parityReport{t: t, tol: layerParityTol}
	for _, c := range cases {
		l := caseLayer(t, c)
		spec := &network.Network{Layers: []network.Layer{l}, Checked: true}
		st := newCustomState(spec, 0)
		params := spec.Params()
		values, grads := make([][]float32, len(params)), make([][]float32, len(params))
		for i, p := range params {
			name := p.Name[strings.IndexByte(p.Name, '.')+1:] // "0.weight" -> "weight"
			info, ok := c.Params[name]
			if !ok {
				t.Fatalf("%s: fixture has no %s", c.Name, name)
			}
			values[i] = fixture.Values(stream, info.Index, p.Shape, info.FanIn)
			grads[i] = make([]float32, p.Size())
		}
		m := &customNet[float32]{spec: spec, st: st, p: values, g: grads}
		param, stat, drop := 0, 0, 0
		m.nodes = buildNodes[float32](spec.Layers, &param, &stat, &drop, true)
		m.reserve(c.B)
		n := m.nodes[0]
		if l.Kind == network.Dropout {
			mask := fixture.Float32s(t, fx, c.Name+".mask")
			st.maskSource = func(dst []uint8, from int) {
				for i := range dst {
					dst[i] = uint8(mask[from+i])
				}
			}
		}
		x := fixture.Values(stream, c.X, append([]int{c.B}, c.In...), 1)
		dy := fixture.Values(stream, c.DY, append([]int{c.B}, l.OutShape...), 1)
		dx := make([]float32, len(x))
		m.nodeForward(n, x, c.B, true)
		m.nodeBackward(n, x, dx, dy, c.B)
		r.check(c.Name+".y", n.y, fixture.Float32s(t, fx, c.Name+".y"))
		r.check(c.Name+".dx", dx, fixture.Float32s(t, fx, c.Name+".dx"))
		for i, p := range params {
			name := p.Name[strings.IndexByte(p.Name, '.')+1:]
			r.check(c.Name+".grad."+name, grads[i], fixture.Float32s(t, fx, c.Name+".grad."+name))
		}
		if l.Kind == network.BatchNorm {
			r.check(c.Name+".running_mean", st.stats[0], fixture.Float32s(t, fx, c.Name+".running_mean"))
			r.check(c.Name+".running_var", st.stats[1], fixture.Float32s(t, fx, c.Name+".running_var"))
			if st.tracked[0] != 1 {
				t.Errorf("%s: num_batches_tracked %d, want 1", c.Name, st.tracked[0])
			}
			m.nodeForward(n, x, c.B, false)
			r.check(c.Name+".y_eval", n.y, fixture.Float32s(t, fx, c.Name+".y_eval"))
		}
	}
	t.Logf("%d cases; largest error %.3g (%s)", len(cases), r.worst, r.what)
}

// One whole network with BatchNorm (after a conv and after a linear), dropout (PyTorch's masks
// injected), a residual block and a branches block: evaluation logits, training loss, every
// gradient, three SGD steps, the running statistics, on one and two threads.
func TestCustomNetworkParityWithPyTorch(t *testing.T) {
	fx := fixture.Read(t, filepath.Join("testdata", "torch_network.safetensors"), "make_network_fixtures.py")
	const stream = 5
	if fx.Metadata["stream"] != fmt.Sprint(stream) || fx.Metadata["lr"] != "0.01" || fx.Metadata["momentum"] != "0.5" {
		t.Fatalf("fixture metadata %v: want stream %d, lr 0.01, momentum 0.5", fx.Metadata, stream)
	}
	src := "network:\n  " + strings.ReplaceAll(strings.TrimSpace(fx.Metadata["network"]), "\n", "\n  ") + "\n"
	spec, err := network.ParseFile("fixture", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var pairs [][2]json.RawMessage
	if err := json.Unmarshal([]byte(fx.Metadata["params"]), &pairs); err != nil {
		t.Fatal(err)
	}
	var tracked map[string]int64
	if err := json.Unmarshal([]byte(fx.Metadata["tracked"]), &tracked); err != nil {
		t.Fatal(err)
	}
	x := fixture.Float32s(t, fx, "input")
	target, _ := fx.Get("target")
	y64, err := target.Int64s()
	if err != nil {
		t.Fatal(err)
	}
	y := make([]int32, len(y64))
	for i, v := range y64 {
		y[i] = int32(v)
	}
	B := len(y)

	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) {
			net, err := NewCustomNet(spec, 1, threads)
			if err != nil {
				t.Fatal(err)
			}
			if len(pairs) != len(net.Params()) {
				t.Fatalf("%d parameters, PyTorch's state_dict has %d", len(net.Params()), len(pairs))
			}
			specs := make([]fixture.Spec, len(net.Params()))
			for i, p := range net.Params() {
				var name string
				if err := json.Unmarshal(pairs[i][0], &name); err != nil || name != p.Name {
					t.Fatalf("parameter %d is %s, PyTorch's is %s", i, p.Name, name)
				}
				specs[i] = fixture.Spec{Name: p.Name, Shape: []int(p.Value.Shape())}
			}
			for i, v := range fixture.State(stream, specs) {
				copy(net.Params()[i].Value.Data().([]float32), v)
			}
			step := 0
			net.buffers.maskSource = func(dst []uint8, from int) {
				mask := fixture.Float32s(t, fx, fmt.Sprintf("mask%d.7", step))
				for i := range dst {
					dst[i] = uint8(mask[from+i])
				}
			}
			r := &parityReport{t: t, tol: networkParityTol}

			logits := make([]float32, B*10)
			net.Infer(x, B, logits)
			r.check("logits_eval", logits, fixture.Float32s(t, fx, "logits_eval"))

			opt := NewSGD(net.Params(), 0.01, 0.5, 0)
			losses := make([]float32, 3)
			for s := range losses {
				step = s + 1
				loss, _ := net.TrainStep(x, y, B)
				losses[s] = float32(loss)
				if s == 0 {
					r.check("loss", losses[:1], fixture.Float32s(t, fx, "loss"))
					r.scale = maxAbsGrad(t, fx, net)
					for _, p := range net.Params() {
						r.check("grad."+p.Name, p.Grad.Data().([]float32), fixture.Float32s(t, fx, "grad."+p.Name))
					}
					r.scale = 0
				}
				opt.Step()
			}
			r.check("losses3", losses, fixture.Float32s(t, fx, "losses3"))
			for i, p := range net.Params() {
				r.check("after3."+p.Name, p.Value.Data().([]float32), fixture.Float32s(t, fx, "after3."+p.Name))
				r.scale = maxAbsGrad(t, fx, net) // the momentum buffers are sums of gradients
				r.check("momentum."+p.Name, opt.Buffers()[i].Data().([]float32), fixture.Float32s(t, fx, "momentum."+p.Name))
				r.scale = 0
			}
			for _, b := range net.Buffers() {
				if b.Tracked != nil {
					if want, ok := tracked[b.Name]; !ok || *b.Tracked != want {
						t.Errorf("%s = %d, PyTorch's %d", b.Name, *b.Tracked, want)
					}
					continue
				}
				r.check("buffer."+b.Name, b.Values, fixture.Float32s(t, fx, "buffer."+b.Name))
			}
			if len(net.Buffers()) != 3*len(tracked) {
				t.Errorf("%d buffers, want %d", len(net.Buffers()), 3*len(tracked))
			}
			t.Logf("largest error %.3g (%s)", r.worst, r.what)
		})
	}
}

// maxAbsGrad is the largest |gradient| of PyTorch's first step, over every parameter.
func maxAbsGrad(t *testing.T, fx *safetensors.File, net *Net) float64 {
	var m float64
	for _, p := range net.Params() {
		for _, v := range fixture.Float32s(t, fx, "grad."+p.Name) {
			m = max(m, math.Abs(float64(v)))
		}
	}
	return m
}
