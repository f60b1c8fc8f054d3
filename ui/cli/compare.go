package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"mnist-tui/dataset"
	"mnist-tui/engine"
	"mnist-tui/engine/atomicfile"
	"mnist-tui/engine/config"
	"mnist-tui/engine/runs"
	"mnist-tui/engine/train"
)

func runCompare(ctx context.Context, env *Env, args []string) error {
	return compare(ctx, env, args, loadSharedData)
}

// dataLoader loads the data set of a configuration. compare loads it once
// and shares it between the models; tests hand in a small set.
type dataLoader func(ctx context.Context, cfg config.Config, env *Env) (*train.Data, error)

// compare trains the listed models one after another with the same
// settings, seed and data, then prints a Markdown table of the results and
// writes it, with plots of the curves, into the runs folder.
func compare(ctx context.Context, env *Env, args []string, load dataLoader) error {
	fs := newFlagSet("compare", "compare [--models linear,cnn,inception,residual] [--epochs N] [--headless] [flags]", env)
	var cf configFlags
	cf.register(fs)
	modelList := fs.String("models", strings.Join(engine.Models(), ","), "comma-separated `list` of models to train, in order")
	headless := fs.Bool("headless", false, "print the tutorial's log lines instead of opening the dashboard")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if flagSet(fs, "model") {
		return usagef("compare trains the models given by --models (e.g. --models linear,cnn); --model is for train")
	}
	models, err := parseModels(*modelList)
	if err != nil {
		return usageError{err}
	}
	cfg, source, err := cf.load(fs, env)
	if err != nil {
		return err
	}
	for _, model := range models {
		c := cfg
		c.Model = model
		if err := checkMemory(c, fs); err != nil {
			return err
		}
	}
	if !*headless && env.IsTerminal {
		return compareDashboard(ctx, env, cfg, source, models)
	}

	data, err := load(ctx, cfg, env)
	if err != nil {
		return err
	}
	started := time.Now()
	var results []runs.Run
	for i, model := range models {
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(env.Stdout, "== %s (%d of %d) ==\n", model, i+1, len(models))
		c := cfg
		c.Model = model
		results = append(results, trainForComparison(ctx, env, c, data))
		fmt.Fprintln(env.Stdout)
	}

	report := comparisonReport(cfg, models, results, started)
	fmt.Fprint(env.Stdout, report)
	saveErr := saveComparison(env.Stdout, cfg.RunsDir, started, report, results)

	var failed []string
	for _, r := range results {
		if r.State == runs.Failed {
			failed = append(failed, r.Model)
		}
	}
	switch {
	case ctx.Err() != nil:
		return errors.Join(fmt.Errorf("interrupted: the table shows the %d of %s that ran", len(results), pluralize(len(models), "model")), saveErr)
	case len(failed) > 0:
		return errors.Join(fmt.Errorf("%d of %s failed: %s", len(failed), pluralize(len(models), "model"), strings.Join(failed, ", ")), saveErr)
	}
	return saveErr
}

// parseModels reads "linear, cnn" into known, distinct model names.
func parseModels(list string) ([]string, error) {
	var models []string
	for _, m := range strings.Split(list, ",") {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		if !slices.Contains(engine.Models(), m) {
			return nil, fmt.Errorf("--models: unknown model %q: choose from %s", m, strings.Join(engine.Models(), ", "))
		}
		if slices.Contains(models, m) {
			return nil, fmt.Errorf("--models: %s is listed twice", m)
		}
		models = append(models, m)
	}
	if len(models) == 0 {
		return nil, fmt.Errorf("--models: no model given; e.g. --models linear,cnn")
	}
	return models, nil
}

// loadSharedData loads the configured data set, fetching it if need be.
func loadSharedData(ctx context.Context, cfg config.Config, env *Env) (*train.Data, error) {
	info, err := dataset.Lookup(cfg.Dataset)
	if err != nil {
		return nil, err
	}
	opts := dataset.FetchOptions{
		DataDir:  cfg.DataDir,
		Log:      func(msg string) { fmt.Fprintln(env.Stderr, msg) },
		Progress: progressPrinter(env.Stderr),
	}
	trainSet, testSet, err := dataset.Load(ctx, cfg.Dataset, opts)
	if err != nil {
		return nil, err
	}
	return &train.Data{Info: info, Train: trainSet, Test: testSet}, nil
}

// trainForComparison trains one model, printing the tutorial's lines, and
// returns the run as its folder records it. Ctrl+C stops it at the next
// batch (saving last.safetensors) like train does.
func trainForComparison(ctx context.Context, env *Env, cfg config.Config, data *train.Data) runs.Run {
	t := train.New(cfg, train.Options{Version: Version, Data: data})
	done := make(chan error, 1)
	go func() { done <- t.Run(ctx) }()
	p := printer{w: env.Stdout}
	var runErr error
	for finished := false; !finished; {
		select {
		case <-t.Changed():
			p.print(t.Snapshot())
		case runErr = <-done:
			finished = true
		}
	}
	s := t.Snapshot()
	p.print(s)
	p.summary(s)
	return comparisonResult(s, cfg, runErr)
}

// comparisonResult is a finished run as its folder records it.
func comparisonResult(s train.Snapshot, cfg config.Config, runErr error) runs.Run {
	if s.RunDir != "" {
		if r, err := runs.Load(s.RunDir); err == nil {
			return r
		}
	}
	// The run ended before it had a folder (or the folder went away):
	// what the trainer said is all there is.
	r := runs.Run{ID: s.RunID, Dir: s.RunDir, Model: cfg.Model, Dataset: cfg.Dataset, Params: s.Params, Epochs: cfg.Epochs, State: runs.Failed}
	if runErr == nil {
		runErr = s.Err
	}
	if runErr != nil {
		r.Error = runErr.Error()
	}
	return r
}

// comparisonReport is the Markdown summary: the shared settings, then one
// row per model with its test accuracy after every epoch.
func comparisonReport(cfg config.Config, models []string, results []runs.Run, started time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Model comparison\n\n")
	threads := "all cores"
	if cfg.Threads > 0 {
		threads = strconv.Itoa(cfg.Threads) + " threads"
	}
	fmt.Fprintf(&b, "%s, %s, batch %d, lr %s, momentum %s, seed %d, %s; started %s.\n\n",
		cfg.Dataset, pluralize(cfg.Epochs, "epoch"), cfg.BatchSize, shortFloat(cfg.LearningRate), shortFloat(cfg.Momentum), cfg.Seed, threads,
		started.Format("2006-01-02 15:04"))

	epochs := cfg.Epochs
	best := math.Inf(-1)
	for _, r := range results {
		epochs = max(epochs, len(r.TestAcc))
		if r.EpochsDone > 0 {
			best = max(best, r.BestAcc)
		}
	}
	header := []string{"model", "parameters"}
	align := []string{"---", "--:"}
	for e := 1; e <= epochs; e++ {
		header = append(header, "epoch "+strconv.Itoa(e))
		align = append(align, "--:")
	}
	header = append(header, "best", "s/epoch", "images/s", "state", "run")
	align = append(align, "--:", "--:", "--:", "---", "---")
	writeMarkdownRow(&b, header)
	writeMarkdownRow(&b, align)
	for _, r := range results {
		row := []string{r.Model, thousands(float64(r.Params))}
		for e := 0; e < epochs; e++ {
			cell := ""
			if e < len(r.TestAcc) {
				cell = strconv.FormatFloat(r.TestAcc[e], 'f', 2, 64)
			}
			row = append(row, cell)
		}
		bestCell, secs, rate := "", "", ""
		if r.EpochsDone > 0 {
			bestCell = strconv.FormatFloat(r.BestAcc, 'f', 2, 64)
			if r.BestAcc == best {
				bestCell = "**" + bestCell + "**"
			}
			secs = strconv.FormatFloat(r.SecPerEpoch, 'f', 1, 64)
			rate = thousands(r.ImgPerSec)
		}
		state := string(r.State)
		if r.Error != "" {
			state += ": " + strings.ReplaceAll(r.Error, "|", `\|`)
		}
		row = append(row, bestCell, secs, rate, state, r.ID)
		writeMarkdownRow(&b, row)
	}
	for _, m := range models[len(results):] {
		row := []string{m, ""}
		for range epochs + 3 {
			row = append(row, "")
		}
		writeMarkdownRow(&b, append(row, "not run", ""))
	}
	b.WriteString("\nTest accuracy in % on the test set after each epoch; s/epoch and images/s measure training only.\n")
	return b.String()
}

func writeMarkdownRow(w io.Writer, cells []string) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
}

// saveComparison writes the report to runs/compare-<time>.md and the plots
// of the curves next to it, and says where they are.
func saveComparison(w io.Writer, runsDir string, started time.Time, report string, results []runs.Run) error {
	if err := os.MkdirAll(runsDir, 0o755); err != nil {
		return fmt.Errorf("compare: runs folder: %w", err)
	}
	base := comparisonName(runsDir, started)
	mdPath := filepath.Join(runsDir, base+".md")
	if err := atomicfile.WriteFile(mdPath, []byte(report)); err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	fmt.Fprintf(w, "\nwrote %s\n", mdPath)
	var plotted []runs.Run
	for _, r := range results {
		if len(r.TestAcc) > 0 || len(r.Losses) > 0 {
			plotted = append(plotted, r)
		}
	}
	if len(plotted) == 0 {
		return nil
	}
	written, err := runs.WritePlotsAs(runsDir, base+"-", plotted)
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	fmt.Fprintf(w, "plots: %s\n", strings.Join(written, ", "))
	return nil
}

// comparisonName is compare-<time>, with a suffix when a comparison that
// started in the same second already took the name.
func comparisonName(runsDir string, started time.Time) string {
	base := "compare-" + started.Format("20060102-150405")
	name := base
	for i := 2; i < 1000; i++ {
		// Any error but "exists" leaves the name to the write, which
		// reports it properly.
		if _, err := os.Stat(filepath.Join(runsDir, name+".md")); err != nil {
			break
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
	return name
}

// thousands writes a whole number with thousands separators: 1,234,567.
func thousands(v float64) string {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// pluralize is "1 epoch", "2 epochs": the one form every message of the
// command line uses for a count of a regular noun.
func pluralize(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func shortFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
