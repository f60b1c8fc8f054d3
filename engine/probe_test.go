package engine

import (
	"math"
	"slices"
	"strconv"
	"testing"

	"mnist-tui/engine/network"
)

// probeTol bounds |probe − Infer| / max|Infer| over the logits: the probe runs the same layer
// functions unfused (a convolution, then its ReLU and pooling), which rounds the same; the
// largest error measured over the presets and the custom network was 3.7e-7 (the test logs it).
const probeTol = 1e-6

// The probe of a built-in model, loaded with the hand-written model's weights, ends in the
// logits that model's Infer gives, and so does the probe of a custom network with every layer
// and block (BatchNorm's running statistics moved by a training step).
func TestProbeEndsInTheNetworksLogits(t *testing.T) {
	x, y := batchOf(7, 4)
	type pair struct {
		name string
		spec *network.Network
		net  *Net
	}
	var cases []pair
	for _, model := range network.Presets() {
		spec, err := network.Preset(model)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, pair{model, spec, newTestNet(t, model, 3, 1)})
	}
	spec := mustNetwork(t, everyLayer)
	custom, err := NewCustomNet(spec, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	custom.TrainStep(x, y, 4)
	cases = append(cases, pair{"custom", spec, custom})

	worst := 0.0
	for _, c := range cases {
		p, err := NewProbe(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Load(c.net.Params()); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for img := range 4 {
			want := make([]float32, numClasses)
			c.net.Infer(x[img*imageSize:][:imageSize], 1, want)
			outs, err := p.Run(x[img*imageSize:][:imageSize])
			if err != nil {
				t.Fatal(err)
			}
			last := lastTopLevel(outs)
			if last.Path != strconv.Itoa(len(c.spec.Layers)-1) {
				t.Fatalf("%s: the last top-level output is %s's", c.name, last.Path)
			}
			if len(last.Values) != numClasses {
				t.Fatalf("%s: %d logits", c.name, len(last.Values))
			}
			e := maxRelErr(last.Values, want)
			worst = max(worst, e)
			if e > probeTol {
				t.Errorf("%s image %d: probe logits %v, Infer %v (error %.2g)", c.name, img, last.Values, want, e)
			}
		}
	}
	t.Logf("largest error %.3g", worst)
}

func lastTopLevel(outs []LayerOutput) LayerOutput {
	for i := len(outs) - 1; i >= 0; i-- {
		if outs[i].Depth == 0 {
			return outs[i]
		}
	}
	return LayerOutput{}
}

// Every layer's output, a block's parts included, against values worked out by hand for a
// small network: conv weights 1 and −1 (bias 0.5 and 0), a ReLU, a residual ReLU (r + relu(r)
// = 2r), global average pooling, and a linear layer that sums the two channels into class 0.
func TestProbeGivesEachLayersOutput(t *testing.T) {
	spec := mustNetwork(t, `network:
  - conv: {out: 2, kernel: 1}
  - relu
  - residual:
      - relu
  - global_avgpool
  - flatten
  - linear: 10
`)
	p, err := NewProbe(spec)
	if err != nil {
		t.Fatal(err)
	}
	params := p.spec.Params() // 0.weight [2,1,1,1], 0.bias [2], 5.weight [10,2], 5.bias [10]
	copy(params[0].Value.Data().([]float32), []float32{1, -1})
	copy(params[1].Value.Data().([]float32), []float32{0.5, 0})
	lw := params[2].Value.Data().([]float32)
	clear(lw)
	lw[0], lw[1] = 1, 1 // class 0 = channel 0 + channel 1
	clear(params[3].Value.Data().([]float32))

	x, _ := batchOf(11, 1)
	outs, err := p.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, o := range outs {
		paths = append(paths, o.Path)
	}
	if want := []string{"0", "1", "2", "2.0", "3", "4", "5"}; !slices.Equal(paths, want) {
		t.Fatalf("outputs of %v, want %v", paths, want)
	}
	if outs[3].Depth != 1 || outs[2].Depth != 0 {
		t.Errorf("depths %d (residual) and %d (its relu), want 0 and 1", outs[2].Depth, outs[3].Depth)
	}
	relu := func(v float32) float32 { return max(v, 0) }
	var sum [2]float64
	for i, v := range x {
		conv := [2]float32{v + 0.5, -v}
		for c := range 2 {
			r := relu(conv[c])
			checks := []struct {
				layer int
				want  float32
			}{{0, conv[c]}, {1, r}, {2, 2 * r}, {3, r}}
			for _, k := range checks {
				if got := outs[k.layer].Values[c*imageSize+i]; math.Abs(float64(got-k.want)) > 1e-6 {
					t.Fatalf("layer %s channel %d pixel %d: %v, want %v", outs[k.layer].Path, c, i, got, k.want)
				}
			}
			sum[c] += float64(2 * r)
		}
	}
	gap := []float32{float32(sum[0] / imageSize), float32(sum[1] / imageSize)}
	if e := maxRelErr(outs[4].Values, gap); e > 1e-6 {
		t.Errorf("global average pooling %v, want %v", outs[4].Values, gap)
	}
	if e := maxRelErr(outs[6].Values[:1], []float32{gap[0] + gap[1]}); e > 1e-6 || slices.ContainsFunc(outs[6].Values[1:], func(v float32) bool { return v != 0 }) {
		t.Errorf("logits %v, want %v then zeros", outs[6].Values, gap[0]+gap[1])
	}
	if !slices.Equal(outs[0].Weight, []float32{1, -1}) || outs[1].Weight != nil {
		t.Errorf("conv weight %v (want [1 -1]), relu weight %v (want none)", outs[0].Weight, outs[1].Weight)
	}

	// The outputs are the caller's: a second image leaves them as they were.
	before := slices.Clone(outs[0].Values)
	x2, _ := batchOf(12, 1)
	if _, err := p.Run(x2); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(before, outs[0].Values) {
		t.Error("a second Run changed the first one's outputs")
	}
}

// Loading another network's weights, or running a wrong-sized image, is an error, not a panic.
func TestProbeRefusesAnotherNetwork(t *testing.T) {
	spec, err := network.Preset("cnn")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProbe(spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, model := range []string{"linear", "residual"} {
		if err := p.Load(newTestNet(t, model, 1, 1).Params()); err == nil {
			t.Errorf("a cnn probe loaded %s's weights", model)
		}
	}
	if _, err := p.Run(make([]float32, 10)); err == nil {
		t.Error("a 10-value image ran")
	}
}
