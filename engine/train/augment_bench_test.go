package train

import (
	"context"
	"fmt"
	"testing"
	"time"

	"mnist-tui/dataset"
	"mnist-tui/dataset/augment"
	"mnist-tui/engine/config"
	"mnist-tui/engine/cputime"
)

// BenchmarkAugmentationCost is what augmentation costs the training, as the
// run's loop does it (the loader's Next, the net's TrainStep, the optimizer's
// step) on the real MNIST training set with the settings below:
//
//	go test -run '^$' -bench AugmentationCost -benchtime 20x ./engine/train/
//
// Each iteration trains a block of steps on plain batches, then a block on
// augmented ones, with the same net, so both see the same machine load; the
// ratio of the two is the cost, reported as throughput-loss-% (the images per
// second augmentation takes away) and cpu-extra-% (the process's CPU time it
// adds). A block ends by waiting for the batch
// the loader prepared ahead, so the augmented block pays for all its images.
// It is skipped when MNIST is not in the default cache.
func BenchmarkAugmentationCost(b *testing.B) {
	const blockSteps = 50
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
			block := func(l *dataset.Loader) (wall, cpu time.Duration) {
				start, cpu0 := time.Now(), cputime.Process()
				l.Seek(epoch, batch)
				for range blockSteps {
					n := l.Next(x, y)
					net.TrainStep(x[:n*dataset.ImageSize], y[:n], n)
					opt.SetLearningRate(cfg.LearningRate)
					opt.Step()
				}
				l.Seek(epoch, batch) // waits for the batch prepared ahead
				return time.Since(start), cputime.Process() - cpu0
			}
			block(plain) // sizes the net's buffers
			var plainWall, plainCPU, augWall, augCPU time.Duration
			for b.Loop() {
				w, c := block(plain)
				plainWall, plainCPU = plainWall+w, plainCPU+c
				w, c = block(augmented)
				augWall, augCPU = augWall+w, augCPU+c
				batch += blockSteps
				if batch+blockSteps > plain.Batches() {
					epoch, batch = epoch+1, 0
				}
			}
			images := float64(b.N * blockSteps * cfg.BatchSize)
			b.ReportMetric(images/plainWall.Seconds(), "plain-img/s")
			b.ReportMetric(images/augWall.Seconds(), "augmented-img/s")
			b.ReportMetric(100*(1-plainWall.Seconds()/augWall.Seconds()), "throughput-loss-%")
			if plainCPU > 0 {
				b.ReportMetric(100*(augCPU.Seconds()/plainCPU.Seconds()-1), "cpu-extra-%")
			}
		})
	}
}
