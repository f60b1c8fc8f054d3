package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"mnist-tui/engine/config"
)

// configFlags are the flags that override config.yaml for one run.
type configFlags struct {
	path      string
	model     string
	dataset   string
	dataDir   string
	runsDir   string
	epochs    int
	batchSize int
	lr        float64
	momentum  float64
	seed      uint64
	threads   int
	kernels   string
}

func (f *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.path, "config", "", "configuration `file` (default ./config.yaml, else the built-in default)")
	fs.StringVar(&f.model, "model", "", "model: linear, cnn, inception or residual")
	fs.StringVar(&f.dataset, "dataset", "", "data set: mnist or fashion-mnist")
	fs.StringVar(&f.dataDir, "data-dir", "", "`folder` holding the data set's four .gz files")
	fs.StringVar(&f.runsDir, "runs-dir", "", "`folder` for run outputs (checkpoints, metrics)")
	fs.IntVar(&f.epochs, "epochs", 0, "number of epochs")
	fs.IntVar(&f.batchSize, "batch-size", 0, "images per training batch")
	fs.Float64Var(&f.lr, "lr", 0, "learning rate")
	fs.Float64Var(&f.momentum, "momentum", 0, "SGD momentum")
	fs.Uint64Var(&f.seed, "seed", 0, "random seed (initial weights and shuffling)")
	fs.IntVar(&f.threads, "threads", 0, "worker threads (0 = all cores)")
	fs.StringVar(&f.kernels, "kernels", "", kernelsUsage)
}

// load reads the configuration and applies the flags the user set.
func (f *configFlags) load(fs *flag.FlagSet, env *Env) (config.Config, string, error) {
	if err := selectKernels(f.kernels); err != nil {
		return config.Config{}, "", err
	}
	cfg, source, err := config.Load(f.path, env.DefaultConfig)
	if err != nil {
		return cfg, source, err
	}
	cfg = f.apply(fs, cfg)
	if err := cfg.Validate(); err != nil {
		return cfg, source, usageError{err}
	}
	return cfg, source, nil
}

// apply overrides cfg with the flags that were given on the command line.
func (f *configFlags) apply(fs *flag.FlagSet, cfg config.Config) config.Config {
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "model":
			cfg.Model = f.model
		case "dataset":
			cfg.Dataset = f.dataset
		case "data-dir":
			cfg.DataDir = f.dataDir
		case "runs-dir":
			cfg.RunsDir = f.runsDir
		case "epochs":
			cfg.Epochs = f.epochs
		case "batch-size":
			cfg.BatchSize = f.batchSize
		case "lr":
			cfg.LearningRate = f.lr
		case "momentum":
			cfg.Momentum = f.momentum
		case "seed":
			cfg.Seed = f.seed
		case "threads":
			cfg.Threads = f.threads
		}
	})
	return cfg
}

// newFlagSet makes a flag set whose errors come back to us (exit code 2)
// and whose --help goes to stdout.
func newFlagSet(name, usage string, env *Env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(env.Stdout, "Usage: mnist-tui %s\n\nFlags:\n", usage)
		fs.SetOutput(env.Stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parse parses args; a bad flag is a usage error, --help prints the usage.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fs.Usage()
			return err
		}
		return usageError{err}
	}
	return nil
}

// flagSet reports whether the named flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// reorderArgs moves positional arguments after the flags, so that
// "eval run.safetensors --dataset mnist" works as users type it (the flag
// package stops at the first positional argument).
func reorderArgs(fs *flag.FlagSet, args []string) []string {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		// A flag that takes a value consumes the next argument.
		if f := fs.Lookup(name); f != nil {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !(ok && b.IsBoolFlag()) && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		}
	}
	return append(append(flags, "--"), positional...)
}
