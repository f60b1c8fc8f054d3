package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// batchOf returns batch synthetic images, roughly like normalised MNIST (mean 0, spread ~1), and
// labels.
func batchOf(seed uint64, batch int) ([]float32, []int32) {
	rng := rand.New(rand.NewPCG(seed, 77))
	x := randn(rng, batch*imageSize, 1)
	y := make([]int32, batch)
	for i := range y {
		y[i] = int32(rng.IntN(numClasses))
	}
	return x, y
}

func newTestNet(t testing.TB, model string, seed uint64, threads int) *Net {
	t.Helper()
	n, err := NewNet(model, seed, threads)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// meanLoss is the batch-mean cross-entropy of logits, computed here independently of the engine's
// loss code.
func meanLoss(logits []float32, y []int32) float64 {
	var sum float64
	for i, label := range y {
		row := logits[i*numClasses : (i+1)*numClasses]
		m := float64(slices.Max(row))
		var z float64
		for _, v := range row {
			z += math.Exp(float64(v) - m)
		}
		sum += m + math.Log(z) - float64(row[label])
	}
	return sum / float64(len(y))
}

// Whole-model gradient checks run on float64 instances of the models, built from the same generic
// code as the engine's float32 ones (only the GEMM differs: a plain loop instead of
// kernels.Sgemm, which the kernels package tests on its own). In float64 the loss can be
// differenced with a tiny step, so the check is tight: the step is too small to cross more than
// the odd ReLU or max-pool kink, and rounding stays far below the tolerance.
//
// Perturbing one weight at a time would take thousands of forward passes, so each parameter tensor
// is checked along random directions v (entries ±1): the central difference of the loss along v
// against g·v. The error is |g·v − numeric| / ‖g‖, relative to the gradient's norm, which is the
// typical size of g·v for a random v (so a near-zero g·v cannot inflate it). The threads and the
// reduction over workers are not part of this check: TestThreadsAgree holds multi-threaded
// gradients to the single-threaded ones.
const (
	modelEps = 1e-6
	modelTol = 1e-6
)

// model64 is a float64 copy of a Net's model, run directly (one worker, no Net around it).
type model64 struct {
	net            chunkNet[float64]
	values, grads  []float64
	params         []*Param // the float32 Net's, for names and sizes
	logits, dlogit []float64
}

func newModel64(t *testing.T, model string, seed uint64, batch int) *model64 {
	t.Helper()
	n := newTestNet(t, model, seed, 1)
	m := &model64{
		values: make([]float64, len(n.values)),
		grads:  make([]float64, len(n.values)),
		params: n.params,
		logits: make([]float64, batch*numClasses),
		dlogit: make([]float64, batch*numClasses),
	}
	for i, v := range n.values {
		m.values[i] = float64(v)
	}
	switch model {
	case "linear":
		m.net = newMLP(m.values, m.grads)
	case "cnn":
		m.net = newCNN(m.values, m.grads)
	case "inception":
		m.net = newInception(m.values, m.grads)
	case "residual":
		m.net = newResidual(m.values, m.grads)
	default:
		t.Fatalf("no float64 constructor for %s", model)
	}
	m.net.reserve(batch)
	return m
}

func (m *model64) loss(x []float64, y []int32) float64 {
	m.net.forward(x, len(y), m.logits)
	l, _ := crossEntropyForwardBackward(m.dlogit, m.logits, y, len(y), numClasses, len(y))
	return l
}

// gradient leaves d(mean loss)/d(values) in m.grads.
func (m *model64) gradient(x []float64, y []int32) {
	m.loss(x, y)
	clear(m.grads)
	m.net.backward(x, m.dlogit, len(y))
}

// kinks returns the ReLU outputs and max-pool choices of the last forward pass: where the loss
// is not smooth. While none of them changes, the logits are affine in any one parameter tensor.
func (m *model64) kinks() (relus [][]float64, pools [][]uint8) {
	switch n := m.net.(type) {
	case *mlpModel[float64]:
		return [][]float64{n.a.r1, n.a.r2, n.a.r3, n.a.r4}, nil
	case *cnnModel[float64]:
		return [][]float64{n.a.pool1, n.a.pool2}, [][]uint8{n.a.pool1Arg, n.a.pool2Arg}
	case *inceptionModel[float64]:
		return [][]float64{n.a.relu1, n.a.relu2}, [][]uint8{n.a.pool1Arg, n.a.pool2Arg}
	case *residualModel[float64]:
		b1, b2 := &n.a.rblock1, &n.a.rblock2
		return [][]float64{n.a.pool1, n.a.pool2, b1.r1, b1.out, b2.r1, b2.out}, [][]uint8{n.a.pool1Arg, n.a.pool2Arg}
	}
	panic(fmt.Sprintf("kinks: unknown model type %T", m.net))
}

// pattern records which ReLUs pass and which max-pool inputs win.
func (m *model64) pattern() []int32 {
	relus, pools := m.kinks()
	var p []int32
	for _, r := range relus {
		for _, v := range r {
			if v > 0 {
				p = append(p, 1)
			} else {
				p = append(p, 0)
			}
		}
	}
	for _, arg := range pools {
		for _, a := range arg {
			p = append(p, int32(a))
		}
	}
	return p
}

// directionalError returns the worst error of grads (normally m.grads; a test may pass a
// corrupted copy) along two random directions in parameter tensor i. A direction whose step
// crosses a kink is drawn again: there the difference quotient is not the derivative.
func (m *model64) directionalError(x []float64, y []int32, grads []float64, i int, rng *rand.Rand) float64 {
	off := 0
	for _, p := range m.params[:i] {
		off += p.Value.Shape().TotalSize()
	}
	size := m.params[i].Value.Shape().TotalSize()
	value, g := m.values[off:off+size], grads[off:off+size]
	orig := slices.Clone(value)
	var norm float64
	for _, gj := range g {
		norm += gj * gj
	}
	norm = math.Sqrt(norm)

	m.loss(x, y)
	base := m.pattern()
	worst := 0.0
	for checked, tries := 0, 0; checked < 2; tries++ {
		if tries == 10 {
			panic(fmt.Sprintf("%s: 10 random directions all cross a kink", m.params[i].Name))
		}
		v := make([]float64, size)
		var analytic float64
		for j := range v {
			v[j] = float64(2*rng.IntN(2) - 1)
			analytic += g[j] * v[j]
		}
		for j := range value {
			value[j] = orig[j] + modelEps*v[j]
		}
		lp := m.loss(x, y)
		smooth := slices.Equal(m.pattern(), base)
		for j := range value {
			value[j] = orig[j] - modelEps*v[j]
		}
		lm := m.loss(x, y)
		smooth = smooth && slices.Equal(m.pattern(), base)
		copy(value, orig)
		if !smooth {
			continue
		}
		numeric := (lp - lm) / (2 * modelEps)
		worst = max(worst, math.Abs(analytic-numeric)/norm)
		checked++
	}
	return worst
}

func batch64(seed uint64, batch int) ([]float64, []int32) {
	x32, y := batchOf(seed, batch)
	x := make([]float64, len(x32))
	for i, v := range x32 {
		x[i] = float64(v)
	}
	return x, y
}

// TestModelGradients checks every model's backward against its forward, for every parameter.
func TestModelGradients(t *testing.T) {
	for _, model := range Models() {
		t.Run(model, func(t *testing.T) {
			const batch = 2
			m := newModel64(t, model, 1, batch)
			x, y := batch64(2, batch)
			m.gradient(x, y)
			rng := rand.New(rand.NewPCG(3, 3))
			for i, p := range m.params {
				if raceEnabled && i%4 != 0 {
					continue // a quarter of the tensors is enough to look for races
				}
				if e := m.directionalError(x, y, m.grads, i, rng); !(e <= modelTol) {
					t.Errorf("%s: g·v off by %.3g of ‖g‖ (tolerance %g)", p.Name, e, modelTol)
				}
			}
		})
	}
}

// TestModelGradCheckCatchesMistakes shows the check has teeth: for every tensor of the cnn, a
// gradient 0.1% too large, or with one entry off by 1% of the largest, fails it.
func TestModelGradCheckCatchesMistakes(t *testing.T) {
	const batch = 2
	m := newModel64(t, "cnn", 1, batch)
	x, y := batch64(2, batch)
	m.gradient(x, y)
	off := 0
	for i, p := range m.params {
		size := p.Value.Shape().TotalSize()
		g := m.grads[off : off+size]
		largest := 0
		for j := range g {
			if math.Abs(g[j]) > math.Abs(g[largest]) {
				largest = j
			}
		}
		for _, mistake := range []struct {
			name  string
			apply func(g []float64)
		}{
			{"0.1% too large", func(g []float64) {
				for j := range g {
					g[j] *= 1.001
				}
			}},
			{"one entry off by 1% of the largest", func(g []float64) { g[size/2] += 0.01 * g[largest] }},
		} {
			wrong := slices.Clone(m.grads)
			mistake.apply(wrong[off : off+size])
			if e := m.directionalError(x, y, wrong, i, rand.New(rand.NewPCG(3, 3))); e <= modelTol {
				t.Errorf("%s %s: error %.3g is within the tolerance %g", p.Name, mistake.name, e, modelTol)
			}
		}
		off += size
	}
}

func gradsOf(n *Net) [][]float32 {
	g := make([][]float32, len(n.params))
	for i, p := range n.params {
		g[i] = slices.Clone(p.Grad.Data().([]float32))
	}
	return g
}

// TestThreadsAgree checks that splitting a batch over workers gives the gradient of the whole
// batch: threads 1, 2, 3 and 4 on a batch of 7 (chunks of 7; 4+3; 3+3+1; 2+2+2+1), then on a
// batch of 2, which leaves workers idle whose gradients of the batch before must not count.
// The linear and inception models have enough parameters for the workers to share the
// summing of the gradients.
func TestThreadsAgree(t *testing.T) {
	for _, model := range Models() {
		t.Run(model, func(t *testing.T) {
			one := newTestNet(t, model, 9, 1)
			nets := map[int]*Net{}
			for _, threads := range []int{2, 3, 4} {
				nets[threads] = newTestNet(t, model, 9, threads)
			}
			for _, batch := range []int{7, 2} {
				x, y := batchOf(uint64(batch), batch)
				wantLoss, wantCorrect := one.TrainStep(x, y, batch)
				want := gradsOf(one)
				for _, threads := range []int{2, 3, 4} {
					n := nets[threads]
					loss, correct := n.TrainStep(x, y, batch)
					if math.Abs(loss-wantLoss) > 1e-6*wantLoss || correct != wantCorrect {
						t.Errorf("batch %d, threads %d: loss %g correct %d, one thread %g %d", batch, threads, loss, correct, wantLoss, wantCorrect)
					}
					for i, g := range gradsOf(n) {
						if e := maxRelErr(g, want[i]); e > 1e-5 {
							t.Errorf("batch %d, threads %d: %s differs from one thread's by %.3g", batch, threads, n.params[i].Name, e)
						}
					}
				}
			}
		})
	}
}

func maxRelErr(got, want []float32) float64 {
	var maxErr, maxRef float64
	for i := range got {
		maxErr = max(maxErr, math.Abs(float64(got[i])-float64(want[i])))
		maxRef = max(maxRef, math.Abs(float64(want[i])))
	}
	return maxErr / maxRef
}

// TestDeterministic trains two nets with the same seed and thread count for a few steps and
// expects bit-identical losses and weights; a third with another seed must differ.
func TestDeterministic(t *testing.T) {
	for _, model := range Models() {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads=%d", model, threads), func(t *testing.T) {
				run := func(seed uint64) ([]float64, []float32) {
					n := newTestNet(t, model, seed, threads)
					opt := NewSGD(n.Params(), 0.05, 0.5, 1e-4)
					var losses []float64
					for step := range 3 {
						x, y := batchOf(uint64(step), 6)
						loss, _ := n.TrainStep(x, y, 6)
						losses = append(losses, loss)
						opt.Step()
					}
					return losses, slices.Clone(n.values)
				}
				l1, w1 := run(42)
				l2, w2 := run(42)
				if !slices.Equal(l1, l2) {
					t.Errorf("losses %v then %v", l1, l2)
				}
				expectSame(t, "weights after 3 steps", w2, w1)
				if l1[0] == l1[2] {
					t.Errorf("loss did not change over 3 steps: %v", l1)
				}
				if _, w3 := run(43); slices.Equal(w1, w3) {
					t.Error("seeds 42 and 43 give the same weights")
				}
			})
		}
	}
}

// TestInferMatchesTraining checks Infer against TrainStep's loss and against itself: one batch
// at once, or one image at a time, and a batch larger than inferChunk so it runs in pieces.
func TestInferMatchesTraining(t *testing.T) {
	for _, model := range Models() {
		t.Run(model, func(t *testing.T) {
			n := newTestNet(t, model, 3, 2)
			const batch = 2*inferChunk + 5
			x, y := batchOf(8, batch)
			logits := make([]float32, batch*numClasses)
			n.Infer(x, batch, logits)
			for _, i := range []int{0, inferChunk + 1, batch - 1} {
				single := make([]float32, numClasses)
				n.Infer(x[i*imageSize:(i+1)*imageSize], 1, single)
				if e := maxRelErr(single, logits[i*numClasses:(i+1)*numClasses]); e > 1e-5 {
					t.Errorf("image %d alone: logits differ from the batch's by %.3g", i, e)
				}
			}
			loss, _ := n.TrainStep(x[:7*imageSize], y[:7], 7)
			if want := meanLoss(logits[:7*numClasses], y[:7]); math.Abs(loss-want) > 1e-5*want {
				t.Errorf("TrainStep loss %g, Infer's logits give %g", loss, want)
			}
		})
	}
}

// TestInferKeepsGradients checks that Infer leaves the last TrainStep's gradients alone.
func TestInferKeepsGradients(t *testing.T) {
	n := newTestNet(t, "residual", 1, 2)
	x, y := batchOf(1, 4)
	n.TrainStep(x, y, 4)
	before := slices.Clone(n.grads)
	n.Infer(x, 4, make([]float32, 4*numClasses))
	expectSame(t, "gradients after Infer", n.grads, before)
}

// TestNoAllocations: after the first call with the largest batch, TrainStep, Infer (smaller
// batches included, as the last partial batch and evaluation use) and SGD.Step do not allocate.
//
// AllocsPerRun reports the mean over its runs rounded down. With several threads the Go runtime
// may still allocate now and then outside the engine's control (a semaphore wait record when a
// goroutine parks on a P whose cache is empty; kernels.Sgemm's sync.Pool refilling after a GC),
// so the mean over 20 runs is what is held to zero: any allocation the engine made on every call
// would show as at least 1. With -short (arm64 emulated by qemu in CI, where inception's calls
// take minutes) the mean is over allocRuns() = 5 calls, which shows such an allocation as well.
func TestNoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates, and makes sync.Pool drop items")
	}
	for _, model := range Models() {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads=%d", model, threads), func(t *testing.T) {
				n := newTestNet(t, model, 1, threads)
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
					{"Infer(3)", func() { n.Infer(x, 3, logits) }},
					{"SGD.Step", opt.Step},
				} {
					if a := testing.AllocsPerRun(allocRuns(), c.f); a != 0 {
						t.Errorf("%s: %v allocations per call", c.name, a)
					}
				}
			})
		}
	}
}

// A step grows every worker's buffers before it hands out chunks, not the worker that claims
// a chunk: a worker another process kept off its core through the first steps must not
// allocate on a later one (TestNoAllocations failed now and then on a loaded machine). A
// one-image batch is a single chunk, which one worker runs while the other waits.
func TestEveryWorkerReservedBeforeItsFirstChunk(t *testing.T) {
	for _, model := range []string{"cnn", "residual"} {
		n := newTestNet(t, model, 1, 2)
		x, y := batchOf(1, 1)
		n.TrainStep(x, y, 1)
		for i, w := range n.workers {
			if w.capacity < 1 {
				t.Errorf("%s: after a one-image TrainStep worker %d holds buffers for %d images, want 1", model, i, w.capacity)
			}
		}
		n = newTestNet(t, model, 1, 2)
		n.Infer(x, 1, make([]float32, numClasses))
		for i, w := range n.workers {
			if w.capacity < 1 {
				t.Errorf("%s: after a one-image Infer worker %d holds buffers for %d images, want 1", model, i, w.capacity)
			}
		}
	}
}

// allocRuns is how many calls the allocation tests average over: 20, or 5 with -short.
func allocRuns() int {
	if testing.Short() {
		return 5
	}
	return 20
}

func TestNewNet(t *testing.T) {
	// Counted from the layer sizes: weights in*out (times the kernel area) and one bias per output.
	inceptionA := func(c int) int {
		return (16*c + 16) + (16*c + 16) + (24*16*25 + 24) + (16*c + 16) + (24*16*9 + 24) + (24*24*9 + 24) + (24*c + 24)
	}
	wantParams := map[string]int{
		"linear":    784*512 + 512 + 512*256 + 256 + 256*128 + 128 + 128*64 + 64 + 64*10 + 10,
		"cnn":       10*25 + 10 + 20*10*25 + 20 + 320*50 + 50 + 50*10 + 10,
		"inception": 10*25 + 10 + inceptionA(10) + 20*88*25 + 20 + inceptionA(20) + 1408*10 + 10,
		"residual":  16*25 + 16 + 2*(16*16*9+16) + 32*16*25 + 32 + 2*(32*32*9+32) + 512*10 + 10,
	}
	if got := Models(); !slices.Equal(got, []string{"linear", "cnn", "inception", "residual"}) {
		t.Errorf("Models() = %v", got)
	}
	for _, model := range Models() {
		n := newTestNet(t, model, 1, 0)
		if n.Model() != model || n.Threads() != runtime.NumCPU() {
			t.Errorf("%s: Model() %q Threads() %d, want %q and NumCPU %d", model, n.Model(), n.Threads(), model, runtime.NumCPU())
		}
		if n.NumParams() != wantParams[model] {
			t.Errorf("%s: %d parameters, want %d", model, n.NumParams(), wantParams[model])
		}
		total := 0
		for _, p := range n.Params() {
			v, g := p.Value.Data().([]float32), p.Grad.Data().([]float32)
			if len(v) != p.Value.Shape().TotalSize() || !slices.Equal(p.Value.Shape(), p.Grad.Shape()) || len(g) != len(v) {
				t.Errorf("%s: Value %v (%d values) and Grad %v (%d)", p.Name, p.Value.Shape(), len(v), p.Grad.Shape(), len(g))
			}
			total += len(v)
		}
		if total != n.NumParams() {
			t.Errorf("%s: Params hold %d values, NumParams says %d", model, total, n.NumParams())
		}
	}

	_, err := NewNet("lenet", 1, 1)
	if err == nil || !strings.Contains(err.Error(), `"lenet"`) || !strings.Contains(err.Error(), "linear, cnn, inception, residual") {
		t.Errorf("unknown model: error %v, want one naming it and the valid models", err)
	}
	if _, err := NewNet("cnn", 1, maxThreads+1); err == nil {
		t.Errorf("%d threads: no error", maxThreads+1)
	}
}

// TestParamsAreViews checks that writing through Param.Value changes what the net computes, which
// is how checkpoints are loaded.
func TestParamsAreViews(t *testing.T) {
	n := newTestNet(t, "linear", 1, 1)
	x, _ := batchOf(1, 1)
	logits := make([]float32, numClasses)
	bias := n.Params()[len(n.Params())-1] // l5.bias, added straight to the logits
	if bias.Name != "l5.bias" {
		t.Fatalf("last param is %s, want l5.bias", bias.Name)
	}
	n.Infer(x, 1, logits)
	before := logits[3]
	bias.Value.Data().([]float32)[3] += 1
	n.Infer(x, 1, logits)
	if got := logits[3] - before; math.Abs(float64(got)-1) > 1e-5 {
		t.Errorf("raising l5.bias[3] by 1 moved logit 3 by %g", got)
	}
}

// TestInit checks PyTorch's default bounds: every weight and bias within ±1/sqrt(fan_in), and
// spread over it (a uniform draw of thousands of values comes close to both ends).
func TestInit(t *testing.T) {
	n := newTestNet(t, "cnn", 7, 1)
	fanIn := map[string]int{"conv1.0": 25, "conv2.0": 250, "fc.0": 320, "fc.1": 50}
	for _, p := range n.Params() {
		layer := p.Name[:strings.LastIndex(p.Name, ".")]
		bound := 1 / math.Sqrt(float64(fanIn[layer]))
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range p.Value.Data().([]float32) {
			lo, hi = min(lo, float64(v)), max(hi, float64(v))
		}
		if lo < -bound || hi > bound {
			t.Errorf("%s: values in [%g, %g], want within ±%g", p.Name, lo, hi, bound)
		}
		if size := p.Value.Shape().TotalSize(); size >= 1000 && (lo > -0.99*bound || hi < 0.99*bound) {
			t.Errorf("%s: %d values only reach [%g, %g] of ±%g", p.Name, size, lo, hi, bound)
		}
	}
}

// TestPoolStops checks that a dropped multi-threaded Net stops its worker goroutines: the
// cleanup closes the channels that wake them, which ends their loops.
func TestPoolStops(t *testing.T) {
	n := newTestNet(t, "cnn", 1, 3)
	x, y := batchOf(1, 3)
	n.TrainStep(x, y, 3)
	p := n.pool // holds the channels, not the Net
	n = nil
	closed := func() bool {
		for _, ch := range p.tokens {
			select {
			case _, ok := <-ch:
				if ok {
					return false // a wake-up token still waiting: the channel is open
				}
			default:
				return false // open and empty
			}
		}
		return true
	}
	deadline := time.Now().Add(5 * time.Second)
	for !closed() {
		if time.Now().After(deadline) {
			t.Fatal("the worker channels are still open 5 s after the Net was dropped")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBadInputPanicsWithMessage(t *testing.T) {
	n := newTestNet(t, "cnn", 1, 2)
	x, y := batchOf(1, 4)
	for _, c := range []struct {
		name, want string
		f          func()
	}{
		{"short x", "x holds", func() { n.TrainStep(x[:100], y, 4) }},
		{"short y", "labels", func() { n.TrainStep(x, y[:2], 4) }},
		{"bad label", "label 2 of the batch is 10", func() { n.TrainStep(x, []int32{0, 1, 10, 3}, 4) }},
		{"empty batch", "batch 0", func() { n.TrainStep(x, y, 0) }},
		{"short logits", "logits holds", func() { n.Infer(x, 4, make([]float32, 10)) }},
	} {
		func() {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.Contains(msg, c.want) {
					t.Errorf("%s: panic %q, want one saying %q", c.name, msg, c.want)
				}
			}()
			c.f()
		}()
	}
	n.Infer(x, 0, nil) // nothing to do, nothing to complain about
}
