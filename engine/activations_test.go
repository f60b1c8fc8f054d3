package engine

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func randomBatch(seed uint64, B int) ([]float32, []int32) {
	rng := rand.New(rand.NewPCG(seed, seed))
	x := make([]float32, B*imageSize)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := make([]int32, B)
	for i := range y {
		y[i] = int32(rng.IntN(numClasses))
	}
	return x, y
}

func findLayer(t *testing.T, acts []LayerActivations, name string) LayerActivations {
	t.Helper()
	for _, a := range acts {
		if a.Layer == name {
			return a
		}
	}
	t.Fatalf("no activations of %s in %+v", name, acts)
	return LayerActivations{}
}

// The linear model's first layer, relu(l1(x)), measured on two threads (the batch in chunks)
// against the same statistics computed here in float64 from the weights.
func TestMeasureActivationsMatchesADirectComputation(t *testing.T) {
	const B = 13 // chunks of unequal size
	net, err := NewNet("linear", 5, 2)
	if err != nil {
		t.Fatal(err)
	}
	x, y := randomBatch(1, B)
	net.TrainStep(x, y, B)
	got := findLayer(t, net.MeasureActivations(x, B, nil), "l1")

	w, b := net.params[0].Value.Data().([]float32), net.params[1].Value.Data().([]float32)
	var sum, sumSq float64
	alive := make([]bool, 512)
	for img := range B {
		for o := range 512 {
			v := float64(b[o])
			for i := range imageSize {
				v += float64(w[o*imageSize+i]) * float64(x[img*imageSize+i])
			}
			v = max(v, 0)
			sum += v
			sumSq += v * v
			alive[o] = alive[o] || v > 0
		}
	}
	n := float64(B * 512)
	mean := sum / n
	std := math.Sqrt(sumSq/n - mean*mean)
	dead := 0
	for _, a := range alive {
		if !a {
			dead++
		}
	}
	// Measured: 2e-7 relative (float32 GEMM against float64 sums).
	if math.Abs(got.Mean-mean) > 1e-5*mean || math.Abs(got.Std-std) > 1e-5*std {
		t.Errorf("l1: mean %g std %g, want %g %g", got.Mean, got.Std, mean, std)
	}
	if got.Units != 512 || got.Dead != dead || got.Images != B {
		t.Errorf("l1: %d of %d units dead over %d images, want %d of 512 over %d", got.Dead, got.Units, got.Images, dead, B)
	}
}

// A layer whose biases are far below anything its inputs can reach has every unit off for
// every image: all dead, and an output of zeros.
func TestMeasureActivationsFindsDeadUnits(t *testing.T) {
	const B = 16
	x, y := randomBatch(2, B)
	for _, c := range []struct {
		model, layer, bias string
		kill, units        int
	}{
		{"linear", "l2", "l2.bias", 256, 256},
		{"cnn", "conv1.0", "conv1.0.bias", 6, 10}, // six of the ten filters
		{"residual", "rblock1.conv1", "rblock1.conv1.bias", 16, 16},
	} {
		net, err := NewNet(c.model, 3, 2)
		if err != nil {
			t.Fatal(err)
		}
		net.TrainStep(x, y, B)
		before := findLayer(t, net.MeasureActivations(x, B, nil), c.layer)
		if before.Dead >= c.units/2 || before.Units != c.units || !(before.Std > 0) {
			t.Errorf("%s %s at init: %+v, want most of %d units live, with some spread", c.model, c.layer, before, c.units)
		}
		for _, p := range net.params {
			if p.Name == c.bias {
				bias := p.Value.Data().([]float32)
				for i := range c.kill {
					bias[i] = -1e4
				}
			}
		}
		net.TrainStep(x, y, B)
		after := findLayer(t, net.MeasureActivations(x, B, nil), c.layer)
		// The killed units, and perhaps some of those dead before.
		if after.Dead < c.kill || after.Dead > c.kill+before.Dead || after.DeadFraction() != float64(after.Dead)/float64(c.units) {
			t.Errorf("%s %s with %d biases at -1e4 (%d dead before): %d of %d dead", c.model, c.layer, c.kill, before.Dead, after.Dead, after.Units)
		}
		if c.kill == c.units && (after.Mean != 0 || after.Std != 0) {
			t.Errorf("%s %s all dead: mean %g std %g, want 0 0", c.model, c.layer, after.Mean, after.Std)
		}
	}
}

// A custom network's statistics are read from every chunk its step kept: two threads (the
// batch in chunks, BatchNorm on the whole batch) measure what one does.
func TestMeasureActivationsOfACustomNetwork(t *testing.T) {
	spec := mustNetwork(t, "network:\n  - conv: {out: 4, kernel: 3, stride: 2}\n  - relu\n"+
		"  - conv: {out: 6, kernel: 3, padding: 1}\n  - batchnorm\n  - relu\n  - maxpool: 2\n  - flatten\n"+
		"  - linear: 12\n  - relu\n  - linear: 10\n")
	const B = 11
	x, y := randomBatch(3, B)
	measure := func(threads int, kill bool) []LayerActivations {
		net, err := NewCustomNet(spec, 4, threads)
		if err != nil {
			t.Fatal(err)
		}
		if kill {
			for _, p := range net.params {
				if p.Name == "7.bias" {
					for i, b := 0, p.Value.Data().([]float32); i < 5; i++ {
						b[i] = -1e4
					}
				}
			}
		}
		net.TrainStep(x, y, B)
		return net.MeasureActivations(nil, B, nil)
	}
	one, two := measure(1, false), measure(2, false)
	var names []string
	for _, a := range one {
		names = append(names, a.Layer)
	}
	if want := []string{"0", "2", "3", "7", "9"}; !slices.Equal(names, want) {
		t.Fatalf("layers measured: %v, want %v", names, want)
	}
	for i := range one {
		a, b := one[i], two[i]
		// Measured: 1e-7 relative (sums taken in another order).
		if a.Layer != b.Layer || a.Units != b.Units || a.Dead != b.Dead || a.Images != B || b.Images != B ||
			math.Abs(a.Mean-b.Mean) > 1e-5*math.Abs(a.Mean)+1e-7 || math.Abs(a.Std-b.Std) > 1e-5*a.Std {
			t.Errorf("layer %d: one thread %+v, two %+v", i, a, b)
		}
	}
	relus := map[string]int{"0": 4, "2": 0, "3": 6, "7": 12, "9": 0}
	for _, a := range one {
		if a.Units != relus[a.Layer] {
			t.Errorf("layer %s: %d ReLU units, want %d", a.Layer, a.Units, relus[a.Layer])
		}
	}
	killed := measure(2, true)
	before := findLayer(t, two, "7")
	if a := findLayer(t, killed, "7"); a.Dead < 5 || a.Dead > 5+before.Dead {
		t.Errorf("linear 7 with five biases at -1e4 (%d dead before): %d of %d dead, want the five and no others", before.Dead, a.Dead, a.Units)
	}
}

// Measuring changes nothing: training with a measurement after every step
// gives the same weights, bit for bit, as training without.
func TestMeasureActivationsLeavesTrainingAsItWas(t *testing.T) {
	custom := "network:\n  - conv: {out: 4, kernel: 3}\n  - batchnorm\n  - relu\n  - maxpool: 2\n  - flatten\n  - dropout: 0.2\n  - linear: 10\n"
	for _, model := range []string{"cnn", "linear", "inception", "residual", "custom"} {
		train := func(measure bool) []float32 {
			var net *Net
			var err error
			if model == "custom" {
				net, err = NewCustomNet(mustNetwork(t, custom), 2, 2)
			} else {
				net, err = NewNet(model, 2, 2)
			}
			if err != nil {
				t.Fatal(err)
			}
			opt := NewSGD(net.Params(), 0.05, 0.5, 0)
			var acts []LayerActivations
			for step := range 4 {
				x, y := randomBatch(uint64(10+step), 12)
				net.TrainStep(x, y, 12)
				if measure {
					acts = net.MeasureActivations(x, 12, acts)
				}
				opt.Step()
			}
			return append([]float32(nil), net.values...)
		}
		if !slices.Equal(train(false), train(true)) {
			t.Errorf("%s: measuring after each step changed the weights", model)
		}
	}
}
