package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"

	"mnist-tui/engine/config"
	"mnist-tui/engine/kernels"
	"mnist-tui/engine/train"
)

// recipeBench is what bench --recipe/--config measures: whole training runs
// of one configuration, one per seed.
type recipeBench struct {
	cfg    config.Config
	what   string  // "recipe fast", "best.yaml", ...
	seeds  int     // seeds 1..seeds
	target float64 // test accuracy to reach, %; 0 for none
	asJSON bool
}

// recipeRun is one seed's run, one JSON line with --json.
type recipeRun struct {
	Recipe  string `json:"recipe,omitempty"`
	Network string `json:"network"`
	Seed    uint64 `json:"seed"`
	Epochs  int    `json:"epochs"`
	Batch   int    `json:"batch"`
	// TestAcc is the test accuracy after the last epoch, %.
	TestAcc float64 `json:"test_acc"`
	// TrainSeconds is the wall time of the training steps of every epoch:
	// batching, augmentation, forward, backward and the optimizer, without
	// loading the data set and without the test passes.
	TrainSeconds float64 `json:"train_seconds"`
	TrainImgS    float64 `json:"train_img_s"`
	Target       float64 `json:"target,omitempty"`
	// ReachedEpoch is the first epoch whose test accuracy reached Target (0:
	// none did), and SecondsToTarget the training time up to its end.
	ReachedEpoch    int     `json:"reached_epoch,omitempty"`
	SecondsToTarget float64 `json:"seconds_to_target,omitempty"`
	Threads         int     `json:"threads"` // as configured: 0 is all cores
	Kernels         string  `json:"kernels"`
}

// recipeBenchFlags reads bench's flags for whole runs. They are used when
// --recipe, --config, --to-accuracy or --seeds is given; the speed
// measurement's --model, --batches and --repeat do not mix with them.
func recipeBenchFlags(fs *flag.FlagSet, cf *configFlags, seeds int, target float64, asJSON bool) (*recipeBench, error) {
	for _, name := range []string{"model", "batches", "repeat"} {
		if flagSet(fs, name) {
			return nil, usagef("--%s measures the engine's speed; with --recipe or --config bench trains whole runs, so leave it out", name)
		}
	}
	if cf.recipe == "" && cf.path == "" {
		return nil, usagef("--to-accuracy and --seeds train whole runs: say which with --recipe NAME or --config FILE")
	}
	if seeds < 1 || seeds > 100 {
		return nil, usagef("--seeds must be from 1 to 100 (got %d)", seeds)
	}
	if math.IsNaN(target) || target < 0 || target > 100 {
		return nil, usagef("--to-accuracy must be a test accuracy in %%, from 0 to 100 (got %g)", target)
	}
	b := &recipeBench{seeds: seeds, target: target, asJSON: asJSON}
	var err error
	if b.cfg, _, err = cf.loadFile(&Env{}); err != nil {
		return nil, err
	}
	// bench's own --threads and --batch-size, when given, override the run's.
	if flagSet(fs, "threads") {
		b.cfg.Threads = cf.threads
	}
	if flagSet(fs, "batch-size") {
		b.cfg.BatchSize = cf.batchSize
	}
	if err := b.cfg.Validate(); err != nil {
		return nil, usageError{err}
	}
	b.what = cf.path
	if cf.recipe != "" {
		b.what = "recipe " + cf.recipe
		if cf.path != "" {
			b.what += " under " + cf.path
		}
	}
	return b, nil
}

// run trains seed after seed on the same images and prints each run and,
// in text, the mean and standard deviation over them.
func (b *recipeBench) run(ctx context.Context, env *Env, load dataLoader) error {
	if err := checkMemory(b.cfg, nil); err != nil {
		return err
	}
	data, err := load(ctx, b.cfg, env)
	if err != nil {
		return err
	}
	// The runs are measurements: their checkpoints are not kept.
	runsDir, err := os.MkdirTemp("", "mnist-tui-bench-")
	if err != nil {
		return fmt.Errorf("bench: a folder for the runs: %w", err)
	}
	defer os.RemoveAll(runsDir)

	if !b.asJSON {
		fmt.Fprintf(env.Stdout, "%s: %s, %s, batch %d, %s, %s; kernels %s\n", b.what, b.cfg.Label(),
			pluralize(b.cfg.Epochs, "epoch"), b.cfg.BatchSize, b.cfg.Optimizer, b.cfg.Schedule, kernels.Implementation())
		fmt.Fprintln(env.Stdout, "training time: wall time of the training steps (batching, augmentation, forward, backward, optimizer),")
		fmt.Fprintln(env.Stdout, "without loading the data set and without the test passes")
		reached := ""
		if b.target > 0 {
			reached = fmt.Sprintf("  reached %.2f %%", b.target)
		}
		fmt.Fprintf(env.Stdout, "%4s %9s %9s %8s%s\n", "seed", "test acc", "train s", "img/s", reached)
	}
	var runs []recipeRun
	for seed := uint64(1); seed <= uint64(b.seeds); seed++ {
		cfg := b.cfg
		cfg.Seed, cfg.RunsDir = seed, runsDir
		r, err := b.train(ctx, cfg, data)
		if err != nil {
			return fmt.Errorf("seed %d: %w", seed, err)
		}
		runs = append(runs, r)
		b.printRun(env.Stdout, r)
	}
	if !b.asJSON {
		b.printSummary(env.Stdout, runs)
	}
	return nil
}

// train runs one seed to its end. A run that diverges stops (nobody can
// lower its learning rate here) and is an error.
func (b *recipeBench) train(ctx context.Context, cfg config.Config, data *train.Data) (recipeRun, error) {
	t := train.New(cfg, train.Options{Data: data, Version: Version})
	done := make(chan error, 1)
	go func() { done <- t.Run(ctx) }()
	var diverged error
	for {
		select {
		case <-t.Changed():
			if s := t.Snapshot(); s.State == train.Paused && s.Err != nil && diverged == nil {
				diverged = s.Err
				t.Send(train.Stop{})
			}
			continue
		case err := <-done:
			if err == nil {
				err = diverged
			}
			if err == nil && ctx.Err() != nil {
				err = ctx.Err()
			}
			if err != nil {
				return recipeRun{}, err
			}
		}
		break
	}
	s := t.Snapshot()
	if len(s.History) == 0 {
		return recipeRun{}, errors.New("no epoch finished")
	}
	r := recipeRun{Recipe: cfg.Recipe, Network: cfg.Label(), Seed: cfg.Seed, Epochs: len(s.History), Batch: cfg.BatchSize,
		TestAcc: s.History[len(s.History)-1].TestAcc, Target: b.target, Threads: cfg.Threads, Kernels: kernels.Implementation()}
	images := 0.0
	for _, e := range s.History {
		r.TrainSeconds += e.Seconds
		images += e.ImagesPerSec * e.Seconds
		if b.target > 0 && r.ReachedEpoch == 0 && e.TestAcc >= b.target {
			r.ReachedEpoch, r.SecondsToTarget = e.Epoch, r.TrainSeconds
		}
	}
	if r.TrainSeconds > 0 {
		r.TrainImgS = images / r.TrainSeconds
	}
	return r, nil
}

func (b *recipeBench) printRun(w io.Writer, r recipeRun) {
	if b.asJSON {
		line, _ := json.Marshal(r)
		fmt.Fprintf(w, "%s\n", line)
		return
	}
	reached := ""
	switch {
	case b.target <= 0:
	case r.ReachedEpoch > 0:
		reached = fmt.Sprintf("  epoch %d (%.2f s)", r.ReachedEpoch, r.SecondsToTarget)
	default:
		reached = "  no"
	}
	fmt.Fprintf(w, "%4d %7.2f %% %9.2f %8.0f%s\n", r.Seed, r.TestAcc, r.TrainSeconds, r.TrainImgS, reached)
}

// printSummary writes the mean ± standard deviation (of the sample, n-1) of
// the accuracy and the training time, and whether the mean met the target.
func (b *recipeBench) printSummary(w io.Writer, runs []recipeRun) {
	acc, secs := make([]float64, len(runs)), make([]float64, len(runs))
	reached, slowest := 0, 0.0
	for i, r := range runs {
		acc[i], secs[i] = r.TestAcc, r.TrainSeconds
		slowest = max(slowest, r.TrainSeconds)
		if r.ReachedEpoch > 0 {
			reached++
		}
	}
	accMean, accStd := meanStd(acc)
	secMean, secStd := meanStd(secs)
	fmt.Fprintf(w, "mean %7.2f %% ± %.2f, training %.2f s ± %.2f (slowest %.2f s) over %s\n",
		accMean, accStd, secMean, secStd, slowest, pluralize(len(runs), "seed"))
	if b.target > 0 {
		verdict := "met"
		if accMean < b.target {
			verdict = "not met"
		}
		fmt.Fprintf(w, "target %.2f %%: the mean is %.2f %%, %s; %d of %d runs reached it\n", b.target, accMean, verdict, reached, len(runs))
	}
}

// meanStd is the mean and the sample standard deviation (0 for one value).
func meanStd(v []float64) (mean, std float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) < 2 {
		return mean, 0
	}
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(v)-1))
}
