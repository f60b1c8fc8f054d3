package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"mnist-tui/engine/network"
)

// everyLayer uses each layer and block of the format, strides and padding included.
const everyLayer = `network:
  - conv: {out: 4, kernel: 3, stride: 2, padding: 1}
  - batchnorm
  - leaky_relu: 0.1
  - residual:
      - conv: {out: 4, kernel: 3, padding: 1, bias: false}
      - tanh
      - avgpool: {kernel: 3, stride: 1, padding: 1}
  - branches:
      - - maxpool: {kernel: 3, stride: 2, padding: 1}
        - sigmoid
      - - conv: {out: 3, kernel: 2, stride: 2}
        - gelu
  - relu
  - global_avgpool
  - flatten
  - dropout: 0.3
  - linear: 6
  - batchnorm
  - relu
  - linear: {out: 10, bias: false}
`

func mustNetwork(t testing.TB, src string) *network.Network {
	t.Helper()
	n, err := network.ParseFile("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The backward pass of every layer, checked against central differences of the loss in
// float64, in training mode (BatchNorm on batch statistics, dropout with a fixed stream).
func TestCustomGradientsFloat64(t *testing.T) {
	for name, src := range map[string]string{"everyLayer": everyLayer, "bnCNN": bnCNN, "nestedBN": nestedBN} {
		t.Run(name, func(t *testing.T) { checkCustomGradients(t, mustNetwork(t, src)) })
	}
}

// bnCNN has the fusions of a BatchNorm CNN: a padded conv whose backward pass takes its
// output gradient from the BatchNorm, ReLU and pooling after it (bnPoolGrad), then conv, ReLU
// and pooling in one.
const bnCNN = `network:
  - conv: {out: 3, kernel: 3, padding: 1}
  - batchnorm
  - relu
  - maxpool: 2
  - conv: {out: 4, kernel: 5}
  - batchnorm
  - relu
  - maxpool: 2
  - flatten
  - linear: 10
`

// nestedBN has BatchNorms inside blocks, where a training step's passes stop and resume too:
// first in a body that reads the images (no input gradient), after a conv, last in a residual
// body and in a branch (their output gradient is the block's), after a conv whose output
// gradient it writes (bnPoolGrad) in a branch, in a residual block in a branch, and the
// network's last layer.
const nestedBN = `network:
  - residual:
      - batchnorm
      - conv: {out: 1, kernel: 3, padding: 1}
  - conv: {out: 3, kernel: 3, stride: 2, padding: 1}
  - residual:
      - batchnorm
      - relu
      - conv: {out: 3, kernel: 3, padding: 1}
      - batchnorm
  - branches:
      - - conv: {out: 2, kernel: 3, padding: 1}
        - batchnorm
        - relu
        - maxpool: 2
      - - maxpool: 2
        - batchnorm
      - - residual: [batchnorm, relu]
        - maxpool: 2
  - flatten
  - dropout: 0.2
  - linear: 10
  - batchnorm
`

func checkCustomGradients(t *testing.T, spec *network.Network) {
	var list binder[float64]
	bindCustom(&list, spec)
	values32 := make([]float32, list.off)
	initParams(values32, list.specs, 3)
	values, grads := make([]float64, list.off), make([]float64, list.off)
	for i, v := range values32 {
		values[i] = float64(v)
	}
	st := newCustomState(spec, 5)
	m := newCustom(spec, st, values, grads)
	const B = 3
	m.reserve(B)
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, B*imageSize)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	y := []int32{3, 7, 1}
	logits, dlogits := make([]float64, B*10), make([]float64, B*10)
	loss := func() float64 {
		st.step = 0 // the same dropout masks every time
		m.forwardTrain(x, B, logits)
		l, _ := crossEntropyForwardBackward(dlogits, logits, y, B, 10, B)
		return l
	}
	loss()
	clear(grads)
	m.backward(x, dlogits, B)

	off := 0
	for _, s := range list.specs {
		for _, i := range []int{0, s.size() / 2, s.size() - 1} {
			at := off + i
			const h = 1e-6
			v := values[at]
			values[at] = v + h
			up := loss()
			values[at] = v - h
			down := loss()
			values[at] = v
			num := (up - down) / (2 * h)
			if diff := math.Abs(num - grads[at]); diff > 1e-6*max(1, math.Abs(num)) {
				t.Errorf("%s[%d]: backward %.9g, central difference %.9g", s.name, i, grads[at], num)
			}
		}
		off += s.size()
	}
}

// BatchNorm's statistics are the whole batch's however many threads train: on two threads the
// batch runs in chunks whose passes stop at each BatchNorm, in blocks too, for the batch's
// statistics (and backward for its sums), and dropout draws each image's mask whatever chunk
// holds it, so training matches one thread's single chunk up to float rounding. Had each chunk
// normalised by its own statistics, or drawn masks by chunk, they would differ by far more.
func TestBatchNormSeesTheWholeBatch(t *testing.T) {
	top := "network:\n  - conv: {out: 3, kernel: 5, stride: 3}\n  - batchnorm\n  - relu\n" +
		"  - conv: {out: 4, kernel: 3, padding: 1}\n  - relu\n  - maxpool: 2\n  - flatten\n  - dropout: 0.3\n" +
		"  - linear: 12\n  - batchnorm\n  - relu\n  - linear: 10\n"
	for name, src := range map[string]string{"top-level": top, "nestedBN": nestedBN} {
		t.Run(name, func(t *testing.T) { checkWholeBatchStatistics(t, mustNetwork(t, src)) })
	}
}

func checkWholeBatchStatistics(t *testing.T, spec *network.Network) {
	rng := rand.New(rand.NewPCG(4, 4))
	const B = 16
	x := make([]float32, B*imageSize)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := make([]int32, B)
	for i := range y {
		y[i] = int32(i % 10)
	}
	type result struct {
		losses, weights, stats []float32
	}
	train := func(threads int) result {
		net, err := NewCustomNet(spec, 9, threads)
		if err != nil {
			t.Fatal(err)
		}
		if threads > 1 && len(net.phase.grads) < 2 {
			t.Fatalf("%d threads run a batch as %d chunk", threads, len(net.phase.grads))
		}
		var r result
		opt := NewSGD(net.Params(), 0.1, 0.5, 0)
		for range 3 {
			loss, _ := net.TrainStep(x, y, B)
			r.losses = append(r.losses, float32(loss))
			opt.Step()
		}
		r.weights = append([]float32(nil), net.values...)
		for _, b := range net.Buffers() {
			r.stats = append(r.stats, b.Values...)
		}
		return r
	}
	one, two := train(1), train(2)
	// Measured: up to 5.9e-8 (weights), 8.3e-8 (running statistics), 1.3e-8 (losses), and
	// 1.2e-7 for the weights with other masks: float32 rounding of sums taken in another order.
	const tol = 5e-7
	for _, c := range []struct {
		what      string
		got, want []float32
	}{{"losses", two.losses, one.losses}, {"weights", two.weights, one.weights}, {"running statistics", two.stats, one.stats}} {
		if e := maxRelErr(c.got, c.want); !(e <= tol) {
			t.Errorf("%s: two threads differ from one by %.3g (max|diff|/max|ref|), want <= %g", c.what, e, tol)
		} else {
			t.Logf("%s: %.3g", c.what, e)
		}
	}
}

// The same seed gives the same weights, dropout masks and BatchNorm statistics, step after
// step; another seed other ones.
func TestCustomNetDeterministic(t *testing.T) {
	spec := mustNetwork(t, everyLayer)
	rng := rand.New(rand.NewPCG(5, 5))
	const B = 6
	x := make([]float32, B*imageSize)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := []int32{0, 1, 2, 3, 4, 5}
	train := func(seed uint64) ([]float32, []float32) {
		net, err := NewCustomNet(spec, seed, 2)
		if err != nil {
			t.Fatal(err)
		}
		opt := NewSGD(net.Params(), 0.1, 0.5, 0)
		for range 3 {
			net.TrainStep(x, y, B)
			opt.Step()
		}
		return append([]float32(nil), net.values...), append([]float32(nil), net.Buffers()[1].Values...)
	}
	w1, s1 := train(1)
	w2, s2 := train(1)
	w3, _ := train(2)
	if !slices.Equal(w1, w2) || !slices.Equal(s1, s2) {
		t.Error("the same seed trained to different weights or statistics")
	}
	if slices.Equal(w1, w3) {
		t.Error("seeds 1 and 2 trained to the same weights")
	}
}

// A network without BatchNorm or dropout keeps the engine's chunks, one batch on every
// core; its workers then share nothing they write (CI runs this package under -race).
func TestStatelessCustomNetworkRunsInChunks(t *testing.T) {
	spec := mustNetwork(t, "network:\n  - conv: {out: 2, kernel: 3, stride: 2}\n  - relu\n  - flatten\n  - linear: 10\n")
	net, err := NewCustomNet(spec, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if chunks := len(net.phase.grads); chunks < 2 {
		t.Errorf("%d chunks a batch on 2 threads, want several", chunks)
	}
	x := make([]float32, 16*imageSize)
	y := make([]int32, 16)
	for range 5 {
		net.TrainStep(x, y, 16)
	}
}

// The fusions chosen when a network is built (conv+relu, conv+relu+maxpool 2, batchnorm+relu,
// batchnorm+relu+maxpool 2, the 2x2 pooling loop) compute what the layers one by one do: the
// same network with a dropout of 0 (an identity) between the layers, which stops every fusion,
// trains and evaluates alike on two threads, from the same weights.
func TestFusedLayersMatchUnfused(t *testing.T) {
	fused := "network:\n  - conv: {out: 4, kernel: 3, padding: 1}\n  - batchnorm\n  - relu\n  - maxpool: 2\n" +
		"  - conv: {out: 6, kernel: 3, padding: 1}\n  - relu\n  - maxpool: 2\n  - conv: {out: 6, kernel: 3}\n  - relu\n" +
		"  - batchnorm\n  - relu\n  - maxpool: 2\n  - flatten\n  - linear: 10\n"
	unfused := "network:\n  - conv: {out: 4, kernel: 3, padding: 1}\n  - batchnorm\n  - dropout: 0\n  - relu\n  - dropout: 0\n  - maxpool: 2\n" +
		"  - conv: {out: 6, kernel: 3, padding: 1}\n  - dropout: 0\n  - relu\n  - dropout: 0\n  - maxpool: {kernel: 2, stride: 2, padding: 0}\n" +
		"  - conv: {out: 6, kernel: 3}\n  - dropout: 0\n  - relu\n  - batchnorm\n  - dropout: 0\n  - relu\n  - dropout: 0\n  - maxpool: {kernel: 2, stride: 2}\n  - flatten\n  - linear: 10\n"
	rng := rand.New(rand.NewPCG(6, 6))
	const B = 12
	x := make([]float32, B*imageSize)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := make([]int32, B)
	for i := range y {
		y[i] = int32(i % 10)
	}
	type result struct{ losses, grads, weights, stats, logits []float32 }
	run := func(src string) result {
		net, err := NewCustomNet(mustNetwork(t, src), 3, 2)
		if err != nil {
			t.Fatal(err)
		}
		var r result
		opt := NewSGD(net.Params(), 0.1, 0.5, 0)
		for s := range 3 {
			loss, _ := net.TrainStep(x, y, B)
			r.losses = append(r.losses, float32(loss))
			if s == 0 {
				r.grads = append([]float32(nil), net.grads...)
			}
			opt.Step()
		}
		r.weights = append([]float32(nil), net.values...)
		for _, b := range net.Buffers() {
			r.stats = append(r.stats, b.Values...)
		}
		r.logits = make([]float32, B*10)
		net.Infer(x, B, r.logits)
		return r
	}
	f, u := run(fused), run(unfused)
	// conv · batchnorm+relu+pool · conv+relu+pool · conv+relu · batchnorm+relu+pool · flatten · linear
	spec := mustNetwork(t, fused)
	if nodes := len(newCustom(spec, newCustomState(spec, 1), make([]float32, 1<<14), make([]float32, 1<<14)).nodes); nodes != 7 {
		t.Errorf("the fused network runs as %d nodes, want 7", nodes)
	}
	// Measured, worst over the kernel sets (avx512, avx2, purego): losses 8.3e-8, gradients
	// 2.6e-7, weights 1.7e-7, statistics 7.1e-8, evaluation logits 2.55e-6 (avx512 with its
	// 4x4 dot tiles; avx2 1.7e-6, go 6.6e-7) (float32 sums in another order: the fused
	// convolution sums its bias gradient as it goes, the fused BatchNorm adds its winners'
	// gradient terms apart from the others and writes its input gradient into the convolution
	// before it, which sums it again; three steps at lr 0.1 amplify that in the logits). arm64
	// (under qemu, neon and go kernels) measures the same: the unfused layers' Go loops round
	// every product, which Go's arm64 compiler would otherwise fuse into the sum (the logits
	// differed by 6.92e-6 there before they did).
	const tol = 3.5e-6
	for _, c := range []struct {
		what      string
		got, want []float32
	}{{"losses", f.losses, u.losses}, {"gradients", f.grads, u.grads}, {"weights", f.weights, u.weights},
		{"running statistics", f.stats, u.stats}, {"evaluation logits", f.logits, u.logits}} {
		if e := maxRelErr(c.got, c.want); !(e <= tol) {
			t.Errorf("%s: fused and unfused differ by %.3g (max|diff|/max|ref|), want <= %g", c.what, e, tol)
		} else {
			t.Logf("%s: %.3g", c.what, e)
		}
	}
}

// A custom network's training step, in passes or not, and its inference allocate nothing once
// sized, on one thread and on two (see TestNoAllocations for the mean over runs).
func TestCustomNetNoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	src, err := os.ReadFile(filepath.Join("testdata", "example_network.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"example": string(src), "everyLayer": everyLayer, "nestedBN": nestedBN} {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads=%d", name, threads), func(t *testing.T) {
				n, err := NewCustomNet(mustNetwork(t, text), 1, threads)
				if err != nil {
					t.Fatal(err)
				}
				opt := NewSGD(n.Params(), 0.01, 0.5, 0)
				x, y := batchOf(1, 8)
				logits := make([]float32, 8*numClasses)
				for range 3 {
					n.TrainStep(x, y, 8)
					n.Infer(x, 8, logits)
					opt.Step()
				}
				for _, c := range []struct {
					name string
					f    func()
				}{
					{"TrainStep(8)", func() { n.TrainStep(x, y, 8) }},
					{"TrainStep(5)", func() { n.TrainStep(x, y, 5) }},
					{"Infer(8)", func() { n.Infer(x, 8, logits) }},
				} {
					if a := testing.AllocsPerRun(allocRuns(), c.f); a != 0 {
						t.Errorf("%s: %v allocations per call", c.name, a)
					}
				}
			})
		}
	}
}

// The presets of package network list the built-in models' parameters in the hand-written
// models' order with their shapes, so that putting the presets on the custom-network path can
// keep today's names (conv1.0.weight, incep1.branch1x1.bias, ...) with one name per position.
func TestPresetsListTheBuiltInParametersInOrder(t *testing.T) {
	for _, model := range network.Presets() {
		spec, err := network.Preset(model)
		if err != nil {
			t.Fatal(err)
		}
		hand, err := NewNet(model, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		gen, want := spec.Params(), hand.Params()
		if len(gen) != len(want) {
			t.Errorf("%s: the preset has %d parameters, the built-in model %d", model, len(gen), len(want))
			continue
		}
		for i, p := range gen {
			if !slices.Equal(p.Shape, []int(want[i].Value.Shape())) {
				t.Errorf("%s: parameter %d is %s %v in the preset, %s %v in the built-in model",
					model, i, p.Name, p.Shape, want[i].Name, want[i].Value.Shape())
			}
		}
	}
}

// Label smoothing reaches the loss of a network whose step runs in passes (a top-level
// BatchNorm on several threads), as it does for the others: with smoothing 0.1 the loss is
// the smoothed one, which the 1-thread net of the same weights computes too.
func TestLabelSmoothingReachesStagedNetworks(t *testing.T) {
	spec := mustNetwork(t, everyLayer)
	x, y := batchOf(3, 32)
	loss := func(threads int, s float64) float64 {
		n, err := NewCustomNet(spec, 1, threads)
		if err != nil {
			t.Fatal(err)
		}
		n.SetLabelSmoothing(s)
		l, _ := n.TrainStep(x, y, 32)
		return l
	}
	plain, smoothed := loss(2, 0), loss(2, 0.1)
	if plain == smoothed {
		t.Errorf("2 threads: loss %v with smoothing 0.1 and without: the smoothing never reached it", plain)
	}
	if one := loss(1, 0.1); math.Abs(one-smoothed) > 1e-6*math.Abs(one) {
		t.Errorf("smoothed loss %v on 2 threads, %v on 1", smoothed, one)
	}
}

// Dropout's mask keeps an element when u = r/2³² >= p, r a 32-bit half of a draw from the
// image's stream, the high half for one element and the low half for the next; drawMask
// decides it on the integers, which must give the same masks. Rows of odd length (5 here: the
// last element takes the high half of a draw of its own) and p near a threshold step check
// the edges.
func TestDropoutMaskIsTheFloatRule(t *testing.T) {
	for _, p := range []float64{0, 0.1, 0.25, 1.0 / 3, 0.5, 0.9, 1 - 1.0/(1<<32)} {
		for _, width := range []int{4, 5} {
			spec := mustNetwork(t, fmt.Sprintf("network:\n  - flatten\n  - linear: %d\n  - dropout: %v\n  - linear: 10\n", width, p))
			st := newCustomState(spec, 9)
			st.step = 4
			m := newCustom(spec, st, make([]float32, 1<<16), make([]float32, 1<<16))
			const B = 3
			m.reserve(B)
			m.lo = 5
			n := m.nodes[2]
			m.drawMask(n, B)
			var rng rand.PCG
			for i := range B {
				rng.Seed(9, maskStream(4, 0, 5+i))
				var r uint64
				for j := range n.out {
					half := r & (1<<32 - 1) // the low half of the last draw
					if j%2 == 0 {
						r = rng.Uint64()
						half = r >> 32
					}
					want := uint8(0)
					if float64(half)/(1<<32) >= p {
						want = 1
					}
					if got := n.mask[i*n.out+j]; got != want {
						t.Fatalf("p %v width %d image %d element %d: mask %d, want %d", p, width, i, j, got, want)
					}
				}
			}
		}
	}
}

// The masks keep a share 1−p of the elements, image by image: two decisions per draw take
// nothing from the Bernoulli(1−p) of PyTorch's dropout.
func TestDropoutMaskKeepsOneMinusP(t *testing.T) {
	for _, p := range []float64{0.1, 0.25, 0.5, 0.9} {
		spec := mustNetwork(t, fmt.Sprintf("network:\n  - flatten\n  - dropout: %v\n  - linear: 10\n", p))
		st := newCustomState(spec, 3)
		m := newCustom(spec, st, make([]float32, 1<<14), make([]float32, 1<<14))
		const B = 64
		m.reserve(B)
		n := m.nodes[1]
		m.drawMask(n, B)
		kept := 0
		for _, k := range n.mask[:B*n.out] {
			kept += int(k)
		}
		// Within 5 standard deviations of B·784·(1−p) keeps.
		N := float64(B * n.out)
		if d := float64(kept) - N*(1-p); math.Abs(d) > 5*math.Sqrt(N*p*(1-p)) {
			t.Errorf("p %v: %d of %v elements kept, want about %.0f", p, kept, N, N*(1-p))
		}
	}
}
