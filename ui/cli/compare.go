package cli

import (
	"context"
	"errors"
	"flag"
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

// contender is one configuration of a comparison, and the label of its
// row: the model's name with --models, the file's with --config.
type contender struct {
	label string
	path  string // the configuration file; "" for a model of --models
	cfg   config.Config
}

// contenderNoun is what the contenders are, for messages.
func contenderNoun(cs []contender) string {
	if len(cs) > 0 && cs[0].path != "" {
		return "configuration"
	}
	return "model"
}

func labels(cs []contender) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.label
	}
	return out
}

// compare trains the listed models, or the listed configurations, one
// after another on the same data, then prints a Markdown table of the
// results and writes it, with plots of the curves, into the runs folder.
func compare(ctx context.Context, env *Env, args []string, load dataLoader) error {
	fs := newFlagSet("compare", "compare [--models linear,cnn,inception,residual | --config A.yaml --config B.yaml ...] [--epochs N] [--headless] [flags]", env)
	var cf configFlags
	var configs []string
	fs.Func("config", "configuration `file`; give two or more to compare them (networks or settings) instead of --models", func(path string) error {
		configs = append(configs, path)
		return nil
	})
	cf.registerOverrides(fs)
	modelList := fs.String("models", strings.Join(engine.Models(), ","), "comma-separated `list` of models to train, in order, with the settings of the one --config")
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
	var contenders []contender
	var source string
	if len(configs) > 1 {
		if flagSet(fs, "models") {
			return usagef("--models and several --config do not mix: compare either models (--models linear,cnn, with the settings of one --config) or configurations (--config a.yaml --config b.yaml, each with its own model)")
		}
		var err error
		if contenders, err = loadContenders(fs, &cf, env, configs); err != nil {
			return err
		}
		source = configs[0]
	} else {
		if len(configs) == 1 {
			cf.path = configs[0]
		}
		cfg, src, err := cf.load(fs, env)
		if err != nil {
			return err
		}
		source = src
		models, err := parseModels(*modelList, cfg.Network != nil)
		if err != nil {
			return usageError{err}
		}
		for _, model := range models {
			c := cfg
			c.Model = model
			contenders = append(contenders, contender{label: c.Label(), cfg: c})
		}
	}
	for _, c := range contenders {
		if err := checkMemory(c.cfg, fs); err != nil {
			return fmt.Errorf("%s: %w", c.label, err)
		}
	}
	if !*headless && env.IsTerminal {
		return compareDashboard(ctx, env, contenders, source)
	}

	data, err := load(ctx, contenders[0].cfg, env)
	if err != nil {
		return err
	}
	started := time.Now()
	var results []runs.Run
	for i, c := range contenders {
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(env.Stdout, "== %s (%d of %d) ==\n", c.label, i+1, len(contenders))
		results = append(results, trainForComparison(ctx, env, c.cfg, data))
		fmt.Fprintln(env.Stdout)
	}

	report := comparisonReport(contenders, results, started)
	fmt.Fprint(env.Stdout, report)
	saveErr := saveComparison(env.Stdout, contenders[0].cfg.RunsDir, started, report, results)
	return comparisonError(ctx, contenders, results, saveErr)
}

// comparisonError says how a comparison ended: interrupted, with failures,
// or (nil) with every contender trained.
func comparisonError(ctx context.Context, contenders []contender, results []runs.Run, saveErr error) error {
	var failed []string
	for i, r := range results {
		if r.State == runs.Failed {
			failed = append(failed, contenders[i].label)
		}
	}
	noun := contenderNoun(contenders)
	switch {
	case ctx.Err() != nil:
		return errors.Join(fmt.Errorf("interrupted: the table shows the %d of %s that ran", len(results), pluralize(len(contenders), noun)), saveErr)
	case len(failed) > 0:
		return errors.Join(fmt.Errorf("%d of %s failed: %s", len(failed), pluralize(len(contenders), noun), strings.Join(failed, ", ")), saveErr)
	}
	return saveErr
}

// loadContenders reads the configurations to compare, each with the flags
// applied on top, and checks that they can be compared: the same images
// (a data set of their own would make the accuracies incomparable) and
// one runs folder for the report and the compare page.
func loadContenders(fs *flag.FlagSet, cf *configFlags, env *Env, paths []string) ([]contender, error) {
	var cs []contender
	for i, path := range paths {
		if slices.Index(paths, path) < i {
			return nil, usagef("--config %s is given twice: each configuration is trained once", path)
		}
		cfg, _, err := config.Load(path, env.DefaultConfig)
		if err != nil {
			return nil, err
		}
		cfg = cf.apply(fs, cfg)
		if err := cfg.Validate(); err != nil {
			return nil, usageError{fmt.Errorf("%s: %w", path, err)}
		}
		cs = append(cs, contender{label: configLabel(path, paths), path: path, cfg: cfg})
	}
	first := cs[0].cfg
	for i, c := range cs[1:] {
		path := paths[i+1]
		switch {
		case c.cfg.Dataset != first.Dataset:
			return nil, usagef("%s trains on %s but %s on %s: a comparison trains every configuration on the same images, or its accuracies would not compare; set the same dataset: in both files, or give --dataset",
				paths[0], first.Dataset, path, c.cfg.Dataset)
		case c.cfg.DataDir != first.DataDir:
			return nil, usagef("%s reads its images from %q but %s from %q: a comparison loads one data set for all; set the same data_dir: in both files, or give --data-dir",
				paths[0], first.DataDir, path, c.cfg.DataDir)
		case c.cfg.RunsDir != first.RunsDir:
			return nil, usagef("%s saves its runs in %q but %s in %q: a comparison keeps its runs and report in one folder; set the same runs_dir: in both files, or give --runs-dir",
				paths[0], first.RunsDir, path, c.cfg.RunsDir)
		}
	}
	return cs, nil
}

// configLabel names a configuration in the table: its file name without
// .yaml, or the path as given when two files share a name.
func configLabel(path string, paths []string) string {
	base := func(p string) string {
		return strings.TrimSuffix(strings.TrimSuffix(filepath.Base(p), ".yaml"), ".yml")
	}
	for _, other := range paths {
		if other != path && base(other) == base(path) {
			return path
		}
	}
	return base(path)
}

// parseModels reads "linear, cnn" into known, distinct model names;
// custom, the configuration's own network, when it has one.
func parseModels(list string, hasNetwork bool) ([]string, error) {
	known := engine.Models()
	if hasNetwork {
		known = append(known, config.Custom)
	}
	var models []string
	for _, m := range strings.Split(list, ",") {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		if m == config.Custom && !hasNetwork {
			return nil, fmt.Errorf("--models: custom is the network of the --config file, and it has none: list its layers under network: (see mnist-tui models cnn)")
		}
		if !slices.Contains(known, m) {
			return nil, fmt.Errorf("--models: unknown model %q: choose from %s", m, strings.Join(known, ", "))
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

// comparisonReport is the Markdown summary: the settings every contender
// shares, then one row per contender with the settings that tell it apart
// and its test accuracy after every epoch.
func comparisonReport(contenders []contender, results []runs.Run, started time.Time) string {
	var b strings.Builder
	cfgs := make([]config.Config, len(contenders))
	for i, c := range contenders {
		cfgs[i] = c.cfg
	}
	differing := config.Differing(cfgs)
	byModel := contenders[0].path == ""
	title, first := "Configuration comparison", "config"
	if byModel {
		// The label column is the model: no column repeats it.
		title, first = "Model comparison", "model"
		differing = slices.DeleteFunc(differing, func(k string) bool { return k == "model" })
	}
	fmt.Fprintf(&b, "# %s\n\n", title)
	fmt.Fprintf(&b, "%s; started %s.\n\n", sharedSettings(cfgs[0], differing, byModel), started.Format("2006-01-02 15:04"))

	epochs := 0
	best := math.Inf(-1)
	for _, c := range cfgs {
		epochs = max(epochs, c.Epochs)
	}
	for _, r := range results {
		epochs = max(epochs, len(r.TestAcc))
		if r.EpochsDone > 0 {
			best = max(best, r.BestAcc)
		}
	}
	header := []string{first}
	align := []string{"---"}
	for _, k := range differing {
		header = append(header, config.ShortKey(k))
		align = append(align, "---")
	}
	header = append(header, "parameters")
	align = append(align, "--:")
	for e := 1; e <= epochs; e++ {
		header = append(header, "epoch "+strconv.Itoa(e))
		align = append(align, "--:")
	}
	header = append(header, "best", "s/epoch", "images/s", "state", "run")
	align = append(align, "--:", "--:", "--:", "---", "---")
	writeMarkdownRow(&b, header)
	writeMarkdownRow(&b, align)
	for i, c := range contenders {
		row := []string{markdownCell(c.label)}
		for _, k := range differing {
			row = append(row, markdownCell(c.cfg.Setting(k)))
		}
		if i >= len(results) {
			row = append(row, "")
			for range epochs + 3 {
				row = append(row, "")
			}
			writeMarkdownRow(&b, append(row, "not run", ""))
			continue
		}
		r := results[i]
		row = append(row, thousands(float64(r.Params)))
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
			state += ": " + markdownCell(r.Error)
		}
		row = append(row, bestCell, secs, rate, state, r.ID)
		writeMarkdownRow(&b, row)
	}
	b.WriteString("\nTest accuracy in % on the test set after each epoch; s/epoch and images/s measure training only.\n")
	return b.String()
}

// sharedSettings is the line above the table: the settings that are the
// same for every row (those in differing have a column of their own).
func sharedSettings(cfg config.Config, differing []string, byModel bool) string {
	threads := "all cores"
	if cfg.Threads > 0 {
		threads = pluralize(cfg.Threads, "thread")
	}
	items := []struct{ key, text string }{
		{"model", "model " + cfg.Label()},
		{"dataset", cfg.Dataset},
		{"epochs", pluralize(cfg.Epochs, "epoch")},
		{"batch_size", "batch " + strconv.Itoa(cfg.BatchSize)},
		{"learning_rate", "lr " + shortFloat(cfg.LearningRate)},
		{"momentum", "momentum " + shortFloat(cfg.Momentum)},
		{"weight_decay", "weight decay " + shortFloat(cfg.WeightDecay)},
		{"seed", "seed " + strconv.FormatUint(cfg.Seed, 10)},
		{"threads", threads},
	}
	var parts []string
	for _, it := range items {
		if slices.Contains(differing, it.key) || (it.key == "weight_decay" && cfg.WeightDecay == 0) {
			continue
		}
		if it.key == "model" && byModel {
			continue // the first column
		}
		parts = append(parts, it.text)
	}
	return strings.Join(parts, ", ")
}

// markdownCell keeps a cell's text from ending the cell early.
func markdownCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

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
