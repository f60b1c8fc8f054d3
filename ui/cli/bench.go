package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"mnist-tui/engine"
)

// benchResult is one model's speed, in the same JSON fields as the PyTorch
// script (engine/pytorch/bench.py) prints, so the two can be laid side by side.
type benchResult struct {
	Model         string  `json:"model"`
	Threads       int     `json:"threads"`
	Batch         int     `json:"batch"`
	TrainImgS     float64 `json:"train_img_s"`
	InferImgS     float64 `json:"infer_img_s"`
	AllocsPerStep float64 `json:"allocs_per_step"`
	PeakRSSMB     float64 `json:"peak_rss_mb"`
}

func runBench(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet("bench", "bench [--model M|all] [--batches N] [--threads T] [--json]", env)
	model := fs.String("model", "all", "model to measure: linear, cnn, inception, residual or all")
	batches := fs.Int("batches", 100, "training steps to time per model (after a warm-up)")
	threads := fs.Int("threads", 0, "worker threads (0 = all cores)")
	batch := fs.Int("batch-size", 64, "images per batch")
	asJSON := fs.Bool("json", false, "print one JSON object per model")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *batches < 1 || *batch < 1 {
		return usagef("--batches and --batch-size must be at least 1")
	}
	models := engine.Models()
	if *model != "all" {
		models = []string{*model}
	}
	if !*asJSON {
		fmt.Fprintf(env.Stdout, "%-10s %7s %12s %12s %14s %10s\n", "model", "threads", "train img/s", "infer img/s", "allocs/step", "peak RSS")
	}
	for _, m := range models {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		res, err := benchModel(m, *threads, *batch, *batches)
		if err != nil {
			return usageError{err}
		}
		if *asJSON {
			line, _ := json.Marshal(res)
			fmt.Fprintf(env.Stdout, "%s\n", line)
			continue
		}
		fmt.Fprintf(env.Stdout, "%-10s %7d %12.0f %12.0f %14.1f %7.0f MB\n", res.Model, res.Threads, res.TrainImgS, res.InferImgS, res.AllocsPerStep, res.PeakRSSMB)
	}
	return nil
}

// benchModel times training steps (forward, backward, SGD) and inference
// on random normalised images: the engine's speed, without data loading.
func benchModel(model string, threads, batch, steps int) (benchResult, error) {
	net, err := engine.NewNet(model, 1, threads)
	if err != nil {
		return benchResult{}, err
	}
	opt := engine.NewSGD(net.Params(), 0.01, 0.5, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, batch*784)
	y := make([]int32, batch)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for i := range y {
		y[i] = int32(rng.IntN(10))
	}
	step := func() {
		net.TrainStep(x, y, batch)
		opt.Step()
	}
	for i := 0; i < 5; i++ { // warm-up: workspaces, caches, page faults
		step()
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for i := 0; i < steps; i++ {
		step()
	}
	trainTime := time.Since(start)
	runtime.ReadMemStats(&after)

	const inferBatch = 1000
	xi := make([]float32, inferBatch*784)
	for i := range xi {
		xi[i] = x[i%len(x)]
	}
	logits := make([]float32, inferBatch*10)
	net.Infer(xi, inferBatch, logits)
	inferImages := 0
	start = time.Now()
	for time.Since(start) < time.Second || inferImages < 10000 {
		net.Infer(xi, inferBatch, logits)
		inferImages += inferBatch
	}
	inferTime := time.Since(start)

	return benchResult{
		Model:         model,
		Threads:       net.Threads(),
		Batch:         batch,
		TrainImgS:     float64(steps*batch) / trainTime.Seconds(),
		InferImgS:     float64(inferImages) / inferTime.Seconds(),
		AllocsPerStep: float64(after.Mallocs-before.Mallocs) / float64(steps),
		PeakRSSMB:     peakRSSMB(),
	}, nil
}

// peakRSSMB is the process's peak resident memory (VmHWM), or 0 where
// /proc is not available.
func peakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}
