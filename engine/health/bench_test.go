package health

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"mnist-tui/engine"
	"mnist-tui/engine/runs"
)

// BenchmarkTrainStep is the cost of layer health on training: a training
// step (TrainStep and the SGD step, batch 64) with health measured every
// `every` steps (0: never; 300: the tutorial's log interval; 1: the worst
// case, log_interval 1). Compare the off and on rows, run interleaved:
//
//	go test -run '^$' -bench TrainStep -count 6 ./engine/health/
func BenchmarkTrainStep(b *testing.B) {
	for _, model := range []string{"cnn", "linear"} {
		for _, every := range []int{0, 300, 1} {
			b.Run(fmt.Sprintf("%s/health-every=%d", model, every), func(b *testing.B) {
				net, err := engine.NewNet(model, 1, 2)
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
				net.TrainStep(x, y, batch)
				b.ReportAllocs()
				step := 0
				for b.Loop() {
					net.TrainStep(x, y, batch)
					opt.Step()
					step++
					if every > 0 && step%every == 0 {
						layers = m.Measure(opt.LR, layers)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "img/s")
			})
		}
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
