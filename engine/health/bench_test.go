package health

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"mnist-tui/engine"
	"mnist-tui/engine/cputime"
	"mnist-tui/engine/runs"
)

// BenchmarkTrainStep is the cost of layer health on training: a training
// step (TrainStep and the SGD step, batch 64, one thread) with health
// (norms and activations) measured every `every` steps (0: never; 300: the tutorial's log
// interval; 1: the worst case, log_interval 1). It reports the process's
// CPU time per step too, steadier than the wall clock when other
// processes share the cores. Compare the rows run interleaved, e.g.:
//
//	go test -c -o h.test ./engine/health/
//	for i in 1 2 3 4 5 6; do for e in 0 300 1; do
//	  ./h.test -test.run '^$' -test.bench "TrainStep/cnn/health-every=$e\$"; done; done
func BenchmarkTrainStep(b *testing.B) {
	for _, model := range []string{"cnn", "linear"} {
		for _, every := range []int{0, 300, 1} {
			b.Run(fmt.Sprintf("%s/health-every=%d", model, every), func(b *testing.B) {
				net, err := engine.NewNet(model, 1, 1)
				if err != nil {
					b.Fatal(err)
				}
				opt := engine.NewSGD(net.Params(), 0.01, 0.5, 0)
				rng := rand.New(rand.NewPCG(1, 2))
				const batch = 64
				x := make([]float32, batch*28*28)
				y := make([]int32, batch)
				for i := range x {
					x[i] = rng.Float32()
				}
				for i := range y {
					y[i] = int32(rng.IntN(10))
				}
				m := NewMeter(net.Params())
				var layers []runs.LayerHealth
				var acts []engine.LayerActivations
				net.TrainStep(x, y, batch)
				b.ReportAllocs()
				cpu0 := cputime.Process()
				step := 0
				for b.Loop() {
					net.TrainStep(x, y, batch)
					opt.Step()
					step++
					if every > 0 && step%every == 0 {
						layers = m.Measure(opt.LR, layers)
						acts = net.MeasureActivations(x, batch, acts)
						AddActivations(layers, acts)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "img/s")
				if cpu := cputime.Process() - cpu0; cpu > 0 {
					b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
				}
			})
		}
	}
}

// BenchmarkMeasureActivations is one measurement of the activations
// alone, after a training step: a forward pass of the batch on one core
// and the statistics.
func BenchmarkMeasureActivations(b *testing.B) {
	for _, model := range []string{"cnn", "linear"} {
		b.Run(model, func(b *testing.B) {
			net, err := engine.NewNet(model, 1, 2)
			if err != nil {
				b.Fatal(err)
			}
			const batch = 64
			x := make([]float32, batch*28*28)
			y := make([]int32, batch)
			net.TrainStep(x, y, batch)
			acts := net.MeasureActivations(x, batch, nil)
			b.ReportAllocs()
			for b.Loop() {
				acts = net.MeasureActivations(x, batch, acts)
			}
		})
	}
}

// BenchmarkMeasure is one measurement alone.
func BenchmarkMeasure(b *testing.B) {
	for _, model := range []string{"cnn", "linear"} {
		b.Run(model, func(b *testing.B) {
			net, err := engine.NewNet(model, 1, 1)
			if err != nil {
				b.Fatal(err)
			}
			m := NewMeter(net.Params())
			layers := m.Measure(0.01, nil)
			b.ReportAllocs()
			for b.Loop() {
				layers = m.Measure(0.01, layers)
			}
		})
	}
}
