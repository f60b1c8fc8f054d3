package train

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"mnist-tui/dataset"
	"mnist-tui/dataset/augment"
	"mnist-tui/engine/config"
)

// BenchmarkAugmentationCost is what augmentation costs the training, as the
// run's loop does it (the loader's Next, the net's TrainStep, the optimizer's
// step) on the real MNIST training set with the settings below:
//
//	go test -run '^$' -bench AugmentationCost -benchtime 40x ./engine/train/
//
// Each iteration trains a block of steps on plain batches, then the same
// number on augmented ones, with the same net, so both see about the same
// load on the machine. A block's clock starts after its first batch and
// stops at its last step: it holds as many batches prepared ahead as steps,
// as a run does. throughput-loss-% is 1 - plain/augmented time of the median
// pair of blocks (the median, since other processes slow some blocks);
// the images per second are over all blocks. It is skipped when MNIST is not
// in the default cache.
func BenchmarkAugmentationCost(b *testing.B) {
	const blockSteps = 20
	settings := augment.Settings{Rotate: 15, Translate: 0.1, ScaleMin: 0.9, ScaleMax: 1.1}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	trainSet, _, err := dataset.Load(ctx, "mnist", dataset.FetchOptions{Offline: true})
	if err != nil {
		b.Skipf("MNIST is not cached (%v): run mnist-tui once to fetch it", err)
	}
	info, err := dataset.Lookup("mnist")
	if err != nil {
		b.Fatal(err)
	}
	for _, threads := range []int{0, 1} {
		b.Run(fmt.Sprintf("cnn/threads=%d", threads), func(b *testing.B) {
			cfg := config.Defaults()
			cfg.Model, cfg.Threads = "cnn", threads
			net, err := newNet(cfg)
			if err != nil {
				b.Fatal(err)
			}
			opt := newOptimizer(cfg, net.Params())
			plain := dataset.NewLoader(trainSet, info, cfg.BatchSize, true, cfg.Seed)
			augmented := dataset.NewLoader(trainSet, info, cfg.BatchSize, true, cfg.Seed)
			augmented.Augment(settings)
			defer augmented.Close()
			x, y := make([]float32, cfg.BatchSize*dataset.ImageSize), make([]int32, cfg.BatchSize)
			epoch, batch := 1, 0
			block := func(l *dataset.Loader) time.Duration {
				l.Seek(epoch, batch)
				n := l.Next(x, y)
				start := time.Now()
				for s := range blockSteps {
					net.TrainStep(x[:n*dataset.ImageSize], y[:n], n)
					opt.SetLearningRate(cfg.LearningRate)
					opt.Step()
					if s < blockSteps-1 {
						n = l.Next(x, y)
					}
				}
				took := time.Since(start)
				l.Seek(epoch, batch) // waits for the batch prepared ahead
				return took
			}
			block(plain) // sizes the net's buffers
			var plainTotal, augTotal time.Duration
			var ratios []float64
			for b.Loop() {
				p, a := block(plain), block(augmented)
				plainTotal, augTotal = plainTotal+p, augTotal+a
				ratios = append(ratios, p.Seconds()/a.Seconds())
				batch += blockSteps
				if batch+blockSteps > plain.Batches() {
					epoch, batch = epoch+1, 0
				}
			}
			slices.Sort(ratios)
			images := float64(b.N * blockSteps * cfg.BatchSize)
			b.ReportMetric(images/plainTotal.Seconds(), "plain-img/s")
			b.ReportMetric(images/augTotal.Seconds(), "augmented-img/s")
			b.ReportMetric(100*(1-ratios[len(ratios)/2]), "throughput-loss-%")
		})
	}
}
