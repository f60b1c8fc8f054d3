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
	"mnist-tui/engine/cputime"
)

// BenchmarkAugmentationCost is what augmentation costs the training, as the
// run's loop does it (the loader's Next, the net's TrainStep, the optimizer's
// step) on the real MNIST training set with the settings below:
//
//	go test -run '^$' -bench AugmentationCost -benchtime 60x ./engine/train/
//
// Each iteration trains a block of steps on plain batches, then the same
// number on augmented ones, with the same net, so both see about the same
// load on the machine. A block's clocks start after its first batch and
// stop at its last step: it holds as many batches prepared ahead as steps,
// as a run does. Of the pairs of blocks, the median (other processes slow
// some) gives throughput-loss-%, 1 - plain/augmented wall-clock time, and
// cpu-extra-%, the CPU time the process spends more with augmentation. When
// every core trains, the two agree on a quiet machine; on a busy
// one the wall clock flatters augmentation (the process with one goroutine
// more gets a larger share of the cores) and the CPU time does not. The
// images per second are over all blocks. It is skipped when MNIST is not
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
			block := func(l *dataset.Loader) (wall, cpu time.Duration) {
				l.Seek(epoch, batch)
				n := l.Next(x, y)
				start, cpu0 := time.Now(), cputime.Process()
				for s := range blockSteps {
					net.TrainStep(x[:n*dataset.ImageSize], y[:n], n)
					opt.SetLearningRate(cfg.LearningRate)
					opt.Step()
					if s < blockSteps-1 {
						n = l.Next(x, y)
					}
				}
				wall, cpu = time.Since(start), cputime.Process()-cpu0
				l.Seek(epoch, batch) // waits for the batch prepared ahead
				return wall, cpu
			}
			block(plain) // sizes the net's buffers
			var plainTotal, augTotal time.Duration
			var wallRatios, cpuRatios []float64
			for b.Loop() {
				p, pCPU := block(plain)
				a, aCPU := block(augmented)
				plainTotal, augTotal = plainTotal+p, augTotal+a
				wallRatios = append(wallRatios, p.Seconds()/a.Seconds())
				cpuRatios = append(cpuRatios, aCPU.Seconds()/max(pCPU.Seconds(), 1e-9))
				batch += blockSteps
				if batch+blockSteps > plain.Batches() {
					epoch, batch = epoch+1, 0
				}
			}
			slices.Sort(wallRatios)
			slices.Sort(cpuRatios)
			images := float64(b.N * blockSteps * cfg.BatchSize)
			b.ReportMetric(images/plainTotal.Seconds(), "plain-img/s")
			b.ReportMetric(images/augTotal.Seconds(), "augmented-img/s")
			b.ReportMetric(100*(1-wallRatios[len(wallRatios)/2]), "throughput-loss-%")
			if cputime.Process() > 0 {
				b.ReportMetric(100*(cpuRatios[len(cpuRatios)/2]-1), "cpu-extra-%")
			}
		})
	}
}
