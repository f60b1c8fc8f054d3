package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"mnist-tui/dataset"
)

func runData(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet("data", "data [--dataset mnist|fashion-mnist] [--data-dir DIR]", env)
	var cf configFlags
	fs.StringVar(&cf.path, "config", "", "configuration `file` (default ./config.yaml, else the built-in default)")
	fs.StringVar(&cf.dataset, "dataset", "", "data set: mnist or fashion-mnist")
	fs.StringVar(&cf.dataDir, "data-dir", "", "`folder` to keep the data set's four .gz files in")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	cfg, _, err := cf.load(fs, env)
	if err != nil {
		return err
	}
	info, err := dataset.Lookup(cfg.Dataset)
	if err != nil {
		return usageError{err}
	}
	opts := dataset.FetchOptions{
		DataDir:  cfg.DataDir,
		Log:      func(msg string) { fmt.Fprintln(env.Stderr, msg) },
		Progress: progressPrinter(env.Stderr),
	}
	dir, err := dataset.Fetch(ctx, cfg.Dataset, opts)
	if err != nil {
		return err
	}
	opts.DataDir, opts.Log = dir, nil // Fetch has said where each file came from
	trainSet, testSet, err := dataset.Load(ctx, cfg.Dataset, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s in %s (all four files verified by SHA-256)\n", cfg.Dataset, dir)
	for _, set := range []struct {
		name string
		s    *dataset.Set
	}{{"train", trainSet}, {"test", testSet}} {
		fmt.Fprintf(env.Stdout, "  %-5s %6d images of 28x28, labels:", set.name, set.s.N)
		writeHistogram(env.Stdout, set.s, info)
	}
	return nil
}

// writeHistogram prints how many images each class has.
func writeHistogram(w io.Writer, s *dataset.Set, info dataset.Info) {
	var counts [10]int
	for _, l := range s.Labels {
		counts[l]++
	}
	var b strings.Builder
	for c, n := range counts {
		fmt.Fprintf(&b, " %s:%d", info.Classes[c], n)
	}
	fmt.Fprintln(w, b.String())
}

// progressPrinter reports download progress at most once per 10 % of a file.
func progressPrinter(w io.Writer) func(dataset.Progress) {
	lastFile, lastTenth := "", int64(-1)
	return func(p dataset.Progress) {
		if p.File != lastFile {
			lastFile, lastTenth = p.File, -1
		}
		if p.Total <= 0 {
			return
		}
		tenth := 10 * p.Done / p.Total
		if tenth != lastTenth {
			lastTenth = tenth
			fmt.Fprintf(w, "fetching %s: %d %%\n", p.File, 10*tenth)
		}
	}
}
