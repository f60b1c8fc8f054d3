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

	"mnist-tui/dataset"
	"mnist-tui/engine"
	"mnist-tui/engine/cputime"
	"mnist-tui/engine/kernels"
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
	Kernels       string  `json:"kernels"` // the kernel set that ran: "avx512", "avx2" or "go"
	// Images per second of the process's CPU time (all threads, best run), as bench.py reports
	// PyTorch's: steadier than the wall clock when other processes share the cores. Left out
	// where the CPU time cannot be read.
	TrainImgCPUS float64 `json:"train_img_cpu_s,omitempty"`
	InferImgCPUS float64 `json:"infer_img_cpu_s,omitempty"`
}

// Inference is timed as bench.py times PyTorch's: a pass over benchInferImages images in
// batches of benchInferBatch.
const (
	benchInferImages = 10000
	benchInferBatch  = 1000
)

func runBench(ctx context.Context, env *Env, args []string) error {
	return bench(ctx, env, args, loadSharedData)
}

// bench measures the engine's speed, or with --recipe or --config trains
// whole runs over seeds (see bench_recipe.go); load gives those runs their
// images.
func bench(ctx context.Context, env *Env, args []string, load dataLoader) error {
	fs := newFlagSet("bench", "bench [--model M|all] [--batches N] [--repeat R] [--threads T] [--json]\n"+
		"       mnist-tui bench --recipe NAME | --config FILE [--to-accuracy A] [--seeds N] [--threads T] [--json]", env)
	model := fs.String("model", "all", "model to measure: linear, cnn, inception, residual or all")
	batches := fs.Int("batches", 100, "training steps per timed run (after a warm-up)")
	repeat := fs.Int("repeat", 3, "timed runs of each measurement; the fastest counts, as in bench.py")
	var cf configFlags
	fs.IntVar(&cf.threads, "threads", 0, "worker threads (0 = all cores)")
	fs.IntVar(&cf.batchSize, "batch-size", 64, "images per training batch (with --recipe or --config: the configuration's unless given)")
	asJSON := fs.Bool("json", false, "print one JSON object per model, or per run")
	kernelSet := fs.String("kernels", "", kernelsUsage)
	fs.StringVar(&cf.path, "config", "", "train this configuration `file` once per seed instead, and report accuracy and training time")
	cf.registerRecipe(fs)
	fs.Lookup("recipe").Usage = "train the built-in recipe `name` (tutorial, fast or best) once per seed instead; with --config, the file's keys override it"
	seeds := fs.Int("seeds", 1, "with --recipe or --config: train seeds 1 to `N`")
	target := fs.Float64("to-accuracy", 0, "with --recipe or --config: the test accuracy (`percent`) to reach; says which runs reached it, when, and whether the mean did")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := selectKernels(*kernelSet); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if flagSet(fs, "recipe") || flagSet(fs, "config") || flagSet(fs, "seeds") || flagSet(fs, "to-accuracy") {
		b, err := recipeBenchFlags(fs, &cf, *seeds, *target, *asJSON)
		if err != nil {
			return err
		}
		return b.run(ctx, env, load)
	}
	threads, batch := &cf.threads, &cf.batchSize
	if *batches < 1 || *batch < 1 || *repeat < 1 {
		return usagef("--batches, --batch-size and --repeat must be at least 1")
	}
	models := engine.Models()
	if *model != "all" {
		models = []string{*model}
	}
	if !*asJSON {
		fmt.Fprintf(env.Stdout, "kernels: %s (this CPU runs %s)\n", kernels.Implementation(), strings.Join(kernels.Supported(), ", "))
		fmt.Fprintf(env.Stdout, "%-10s %7s %12s %12s %12s %10s\n", "model", "threads", "train img/s", "infer img/s", "allocs/step", "peak RSS")
	}
	for _, m := range models {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		res, err := benchModel(ctx, m, *threads, *batch, *batches, *repeat)
		if err != nil {
			return err
		}
		if *asJSON {
			line, _ := json.Marshal(res)
			fmt.Fprintf(env.Stdout, "%s\n", line)
			continue
		}
		fmt.Fprintf(env.Stdout, "%-10s %7d %12.0f %12.0f %12.1f %7.0f MB\n", res.Model, res.Threads, res.TrainImgS, res.InferImgS, res.AllocsPerStep, res.PeakRSSMB)
	}
	return nil
}

// kernelsUsage documents --kernels, which bench and the commands that train take.
const kernelsUsage = "kernel `set`: auto, avx512 or avx2 (amd64), neon (arm64), go (default $" + kernels.EnvVar + ", else auto: the best this CPU runs)"

// selectKernels makes the kernel set name (from --kernels) the one the engine runs; "" keeps
// the one chosen at start-up and reports a bad environment variable.
func selectKernels(name string) error {
	err := kernels.Select(name)
	if err != nil && name != "" {
		err = fmt.Errorf("--kernels: %w", err)
	}
	if err != nil {
		return usageError{err}
	}
	return nil
}

// benchModel times training steps (forward, backward, SGD) and inference on random normalised
// images: the engine's speed, without data loading. Each is timed repeat times and the fastest
// run counts: on a shared machine the slow runs measure the neighbours, not the model.
func benchModel(ctx context.Context, model string, threads, batch, steps, repeat int) (benchResult, error) {
	net, err := engine.NewNet(model, 1, threads)
	if err != nil {
		return benchResult{}, usageError{err}
	}
	// The peak memory is this model's: forget the last model's (and the start-up's) peak.
	runtime.GC()
	resetPeakRSS()

	opt := engine.NewSGD(net.Params(), 0.01, 0.5, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, batch*dataset.ImageSize)
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
	for range 5 { // warm-up: workspaces, caches, page faults
		step()
	}

	var stepTime, stepCPU time.Duration
	var mallocs uint64
	for r := range repeat {
		if ctx.Err() != nil {
			return benchResult{}, ctx.Err()
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start, cpu0 := time.Now(), cputime.Process()
		for range steps {
			step()
		}
		elapsed, cpu := time.Since(start), cputime.Process()-cpu0
		runtime.ReadMemStats(&after)
		if r == 0 || cpu < stepCPU {
			stepCPU = cpu
		}
		mallocs += after.Mallocs - before.Mallocs
		if r == 0 || elapsed < stepTime {
			stepTime = elapsed
		}
	}

	xi := make([]float32, benchInferBatch*dataset.ImageSize)
	for i := range xi {
		xi[i] = x[i%len(x)]
	}
	logits := make([]float32, benchInferBatch*dataset.NumClasses)
	net.Infer(xi, benchInferBatch, logits)
	var inferTime, inferCPU time.Duration
	for r := range repeat {
		if ctx.Err() != nil {
			return benchResult{}, ctx.Err()
		}
		start, cpu0 := time.Now(), cputime.Process()
		for range benchInferImages / benchInferBatch {
			net.Infer(xi, benchInferBatch, logits)
		}
		if elapsed := time.Since(start); r == 0 || elapsed < inferTime {
			inferTime = elapsed
		}
		if cpu := cputime.Process() - cpu0; r == 0 || cpu < inferCPU {
			inferCPU = cpu
		}
	}
	perCPU := func(images int, cpu time.Duration) float64 {
		if cpu <= 0 {
			return 0
		}
		return float64(images) / cpu.Seconds()
	}

	return benchResult{
		Model:         model,
		Threads:       net.Threads(),
		Batch:         batch,
		TrainImgS:     float64(steps*batch) / stepTime.Seconds(),
		InferImgS:     benchInferImages / inferTime.Seconds(),
		AllocsPerStep: float64(mallocs) / float64(steps*repeat),
		PeakRSSMB:     peakRSSMB(),
		Kernels:       kernels.Implementation(),
		TrainImgCPUS:  perCPU(steps*batch, stepCPU),
		InferImgCPUS:  perCPU(benchInferImages, inferCPU),
	}, nil
}

// resetPeakRSS restarts the kernel's count of the process's peak resident memory, where Linux
// allows it; elsewhere the peak stays the process's.
func resetPeakRSS() {
	// "5" resets the peak resident set size (see proc(5), /proc/[pid]/clear_refs).
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
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
