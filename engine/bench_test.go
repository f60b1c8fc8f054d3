package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Benchmarks: go test -run '^$' -bench . ./engine/
// BenchmarkTrainStep and BenchmarkInfer report images/s for a batch of 64, the tutorial's.

const benchBatch = 64

func BenchmarkTrainStep(b *testing.B) {
	for _, model := range Models() {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", model, threads), func(b *testing.B) {
				n := newTestNet(b, model, 1, threads)
				x, y := batchOf(1, benchBatch)
				n.TrainStep(x, y, benchBatch) // size the buffers outside the timing
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					n.TrainStep(x, y, benchBatch)
				}
				b.ReportMetric(float64(benchBatch*b.N)/b.Elapsed().Seconds(), "images/s")
			})
		}
	}
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
				b.ResetTimer()
				for b.Loop() {
					n.Infer(x, benchBatch, logits)
				}
				b.ReportMetric(float64(benchBatch*b.N)/b.Elapsed().Seconds(), "images/s")
			})
		}
	}
}

// BenchmarkConv2d times the models' convolutions one layer at a time, forward and backward (the
// backward with the input gradient, except for first layers), on a 32-image chunk: one worker's
// share of a batch of 64 on two threads.
func BenchmarkConv2d(b *testing.B) {
	const chunk = 32
	layers := []struct {
		name  string
		shape convShape
		first bool // no input gradient
	}{
		{"cnn.conv1", cnnConv1, true},
		{"cnn.conv2", cnnConv2, false},
		{"inception.conv2", incConv2, false},
		{"inception.incep1.branch1x1", incBlock1.b1x1(), false},
		{"inception.incep1.branch5x5_2", incBlock1.b5x5_2(), false},
		{"inception.incep1.branch3x3_3", incBlock1.b3x3_3(), false},
		{"residual.conv1", resConv1, true},
		{"residual.rblock1.conv1", resBlock1.conv(), false},
		{"residual.conv2", resConv2, false},
	}
	for _, l := range layers {
		s := l.shape
		rng := rand.New(rand.NewPCG(1, 1))
		x, w, bias := randn(rng, chunk*s.C*s.H*s.W, 1), randn(rng, s.OC*s.rows(), 0.1), randn(rng, s.OC, 0.1)
		out, dout := make([]float32, chunk*s.OC*s.OH()*s.OW()), randn(rng, chunk*s.OC*s.OH()*s.OW(), 1)
		dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(bias))
		if l.first {
			dx = nil
		}
		ws := newConvWork[float32](chunk, s)
		flops := 2 * float64(chunk*s.OC*s.OH()*s.OW()*s.rows()) // multiply-adds of one GEMM
		b.Run(l.name+"/forward", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				conv2dForward(out, x, w, bias, chunk, s, ws)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(l.name+"/backward", func(b *testing.B) {
			gemms := 1.0
			if dx != nil {
				gemms = 2
			}
			b.ReportAllocs()
			for b.Loop() {
				conv2dBackward(dx, dw, db, dout, x, w, chunk, s, ws)
			}
			b.ReportMetric(gemms*flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
