package engine

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mnist-tui/engine/cputime"
	"mnist-tui/engine/kernels"
	"mnist-tui/engine/network"
)

// Benchmarks: go test -run '^$' -bench 'TrainStep|Infer' -benchmem ./engine/
// BenchmarkTrainStep and BenchmarkInfer report images/s for a batch of 64, the tutorial's, by the
// wall clock and per second of CPU time (steadier when other processes share the cores);
// BenchmarkConv and BenchmarkLinear time each layer forward and backward (BenchmarkConv by the
// CPU time too), BenchmarkSGDStep the optimiser. All report allocations, which must be 0 per
// step. They run on the best kernel set the CPU has; MNIST_TUI_KERNELS=avx2 (or avx512, go) forces one, and BenchmarkTrainStep logs
// which ran (with -v).

const benchBatch = 64

func BenchmarkTrainStep(b *testing.B) {
	b.Logf("kernels: %s", kernels.Implementation())
	for _, model := range Models() {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", model, threads), func(b *testing.B) {
				n := newTestNet(b, model, 1, threads)
				benchTrainSteps(b, n)
			})
		}
	}
}

// benchTrainSteps times n's training steps on one batch of benchBatch images, after a first
// step that sizes the buffers outside the timing, reporting images per second and per
// CPU-second and the allocations per step.
func benchTrainSteps(b *testing.B, n *Net) {
	x, y := batchOf(1, benchBatch)
	n.TrainStep(x, y, benchBatch)
	b.ReportAllocs()
	cpu0 := cputime.Process()
	for b.Loop() {
		n.TrainStep(x, y, benchBatch)
	}
	reportImageRates(b, benchBatch, cpu0)
}

func BenchmarkInfer(b *testing.B) {
	for _, model := range Models() {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", model, threads), func(b *testing.B) {
				n := newTestNet(b, model, 1, threads)
				x, _ := batchOf(1, benchBatch)
				logits := make([]float32, benchBatch*numClasses)
				n.Infer(x, benchBatch, logits)
				b.ReportAllocs()
				cpu0 := cputime.Process()
				for b.Loop() {
					n.Infer(x, benchBatch, logits)
				}
				reportImageRates(b, benchBatch, cpu0)
			})
		}
	}
}

// BenchmarkConv times the models' convolutions one layer at a time, with the activation each
// has in its model, forward and backward (the backward with the input gradient, except for first
// layers), on a 32-image chunk: one worker's share of a batch of 64 on two threads.
func BenchmarkConv(b *testing.B) {
	const chunk = 32
	layers := []struct {
		name  string
		shape convShape
		act   convAct
		first bool // no input gradient
	}{
		{"cnn.conv1", cnnConv1, actReLUPool, true},
		{"cnn.conv2", cnnConv2, actReLUPool, false},
		{"residual.conv1", resConv1, actReLUPool, true},
		{"residual.rblock1.conv1", resBlock1.conv(), actReLU, false},
		{"residual.rblock1.conv2", resBlock1.conv(), actAddReLU, false},
		{"residual.conv2", resConv2, actReLUPool, false},
		{"residual.rblock2.conv1", resBlock2.conv(), actReLU, false},
		{"inception.conv1", incConv1, actReLUPool, true},
		{"inception.incep1.branch1x1", incBlock1.b1x1(), actNone, false},
		{"inception.incep1.branch5x5_2", incBlock1.b5x5_2(), actNone, false},
		{"inception.incep1.branch3x3_2", incBlock1.b3x3_2(), actNone, false},
		{"inception.incep1.branch3x3_3", incBlock1.b3x3_3(), actNone, false},
		{"inception.conv2", incConv2, actReLUPool, false},
		{"inception.incep2.branch5x5_2", incBlock2.b5x5_2(), actNone, false},
		// issue 15's example network (testdata/example_network.yaml)
		{"example.conv1", convShape{C: 1, OC: 16, H: 28, W: 28, K: 3, Pad: 1}, actNone, true},
		{"example.conv2", convShape{C: 16, OC: 32, H: 14, W: 14, K: 3, Pad: 1}, actReLUPool, false},
	}
	for _, l := range layers {
		s := l.shape
		c := newConvCase[float32](rand.New(rand.NewPCG(1, 1)), s, l.act, chunk)
		sc := newScratch[float32](chunk, s)
		macs := float64(chunk * s.OC * s.OH() * s.OW() * s.rows()) // of one GEMM
		b.Run(l.name+"/forward", func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cputime.Process()
			for b.Loop() {
				c.forward(sc)
			}
			b.ReportMetric(2*macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			reportCPUTime(b, cpu0)
		})
		b.Run(l.name+"/backward", func(b *testing.B) {
			gemms := 2.0
			if l.first {
				gemms = 1
			}
			b.ReportAllocs()
			cpu0 := cputime.Process()
			for b.Loop() {
				convBackward(c.o, c.dy, c.dskip, c.x, c.w, gradOrNil(c.dx, !l.first), c.dw, c.db, c.B, s, sc)
			}
			b.ReportMetric(2*gemms*macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			reportCPUTime(b, cpu0)
		})
		if l.act != actReLUPool || l.first || sc.sparseFor(s) == nil {
			continue
		}
		// The same backward pass with the input gradient by the GEMM and col2im, for the
		// layers that take it from the output gradient's nonzeros (sparseBackward).
		dense := *sc
		dense.sparse = nil
		b.Run(l.name+"/backward-dense", func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cputime.Process()
			for b.Loop() {
				convBackward(c.o, c.dy, c.dskip, c.x, c.w, c.dx, c.dw, c.db, c.B, s, &dense)
			}
			b.ReportMetric(4*macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			reportCPUTime(b, cpu0)
		})
	}
}

// reportCPUTime reports the process's CPU time per operation since cpu0: on a machine other
// processes share, steadier than the wall clock for a benchmark that runs on one thread.
func reportCPUTime(b *testing.B, cpu0 time.Duration) {
	if cpu := cputime.Process() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/op")
	}
}

func gradOrNil(d []float32, want bool) []float32 {
	if want {
		return d
	}
	return nil
}

// BenchmarkLinear times the models' Linear layers, forward and backward, on a 32-image chunk.
func BenchmarkLinear(b *testing.B) {
	const chunk = 32
	for _, l := range []struct {
		name  string
		c, oc int
		first bool
	}{
		{"linear.l1", 784, 512, true},
		{"linear.l2", 512, 256, false},
		{"linear.l5", 64, 10, false},
		{"cnn.fc.0", 320, 50, false},
		{"inception.fc", incFlat, 10, false},
	} {
		rng := rand.New(rand.NewPCG(1, 1))
		x, w, bias := randn(rng, chunk*l.c, 1), randn(rng, l.oc*l.c, 0.1), randn(rng, l.oc, 0.1)
		out, dout := make([]float32, chunk*l.oc), randn(rng, chunk*l.oc, 1)
		dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(bias))
		sc := newScratch[float32](chunk)
		macs := float64(chunk * l.c * l.oc)
		b.Run(l.name+"/forward", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				linearForward(out, x, w, bias, chunk, l.c, l.oc, sc)
			}
			b.ReportMetric(2*macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(l.name+"/backward", func(b *testing.B) {
			gemms := 2.0
			if l.first {
				gemms = 1
			}
			b.ReportAllocs()
			for b.Loop() {
				linearBackward(gradOrNil(dx, !l.first), dw, db, dout, x, w, chunk, l.c, l.oc, sc)
			}
			b.ReportMetric(2*gemms*macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkSGDStep times one optimiser step over each model's parameters, which the trainer
// runs after every TrainStep.
func BenchmarkSGDStep(b *testing.B) {
	for _, model := range Models() {
		b.Run(model, func(b *testing.B) {
			n := newTestNet(b, model, 1, 1)
			x, y := batchOf(1, 8)
			n.TrainStep(x, y, 8)
			opt := NewSGD(n.Params(), 0.01, 0.5, 0)
			opt.Step()
			b.ReportAllocs()
			for b.Loop() {
				opt.Step()
			}
			b.ReportMetric(float64(n.NumParams()), "params")
		})
	}
}

// BenchmarkCustomTrainStep times a training step of issue 15's example network
// (testdata/example_network.yaml), of a BatchNorm CNN as the recipes build them
// (testdata/bn_cnn_network.yaml) and of a residual network with BatchNorms in its block
// (testdata/bn_residual_network.yaml), as BenchmarkTrainStep the built-in models;
// engine/pytorch/bench.py --network times the same networks in PyTorch.
func BenchmarkCustomTrainStep(b *testing.B) {
	for _, name := range []string{"example", "bn_cnn", "bn_residual"} {
		src, err := os.ReadFile(filepath.Join("testdata", name+"_network.yaml"))
		if err != nil {
			b.Fatal(err)
		}
		spec := mustNetwork(b, string(src))
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", name, threads), func(b *testing.B) {
				n, err := NewCustomNet(spec, 1, threads)
				if err != nil {
					b.Fatal(err)
				}
				benchTrainSteps(b, n)
			})
		}
	}
}

// BenchmarkPresetAsNetwork times the built-in models built from their network-format presets
// (network.Preset) through the custom-network path, beside BenchmarkTrainStep's hand-written
// ones: what moving the presets onto the generic path would cost or gain.
func BenchmarkPresetAsNetwork(b *testing.B) {
	for _, model := range network.Presets() {
		spec, err := network.Preset(model)
		if err != nil {
			b.Fatal(err)
		}
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", model, threads), func(b *testing.B) {
				n, err := NewCustomNet(spec, 1, threads)
				if err != nil {
					b.Fatal(err)
				}
				benchTrainSteps(b, n)
			})
		}
	}
}

// BenchmarkReLUPool2 times the 2x2 relu-pooling of rows of any width (kernels.AffineReLUPool2),
// on a 32-image chunk of the example network's BatchNorm (16x28x28, with its scale) and conv2
// (32x14x14).
func BenchmarkReLUPool2(b *testing.B) {
	for _, c := range []struct {
		name       string
		planes, hw int
		a          float32
	}{{"bn28", 32 * 16, 28, 1.3}, {"conv14", 32 * 32, 14, 1}} {
		rng := rand.New(rand.NewPCG(1, 1))
		src := randn(rng, c.planes*c.hw*c.hw, 1)
		ph := (c.hw / 2) * (c.hw / 2)
		dst, arg := make([]float32, c.planes*ph), make([]uint8, c.planes*ph)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				for p := range c.planes {
					kernels.AffineReLUPool2(dst[p*ph:], arg[p*ph:], src[p*c.hw*c.hw:], c.a, 0.1, c.hw, c.hw)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*c.planes*ph), "ns/window")
		})
	}
}
