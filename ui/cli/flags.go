package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"mnist-tui/engine/config"
)

// configFlags are the flags that override config.yaml for one run.
type configFlags struct {
	path      string
	recipe    string
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

	// The training recipe's levers (issue 16), as config.yaml names them.
	optimizer      string
	weightDecay    float64
	schedule       string
	warmupSteps    int
	maxLR          float64
	cycleMomentum  bool
	labelSmoothing float64
	clipGradNorm   float64
	emaDecay       float64
	ttaShift       int
}

func (f *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.path, "config", "", "configuration `file` (default ./config.yaml, else the built-in default)")
	f.registerRecipe(fs)
	f.registerOverrides(fs)
}

// registerRecipe registers --recipe, which train and bench take.
func (f *configFlags) registerRecipe(fs *flag.FlagSet) {
	fs.StringVar(&f.recipe, "recipe", "", "start from the built-in recipe `name`: tutorial, fast or best (mnist-tui recipes lists them); ./config.yaml is not read, a --config file's keys override the recipe, flags override both")
}

// registerOverrides registers every flag but --config, for compare, whose
// --config may be given more than once.
func (f *configFlags) registerOverrides(fs *flag.FlagSet) {
	fs.StringVar(&f.model, "model", "", "model: linear, cnn, inception or residual, or custom (the config's network:)")
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
	fs.StringVar(&f.optimizer, "optimizer", "", "optimizer: "+strings.Join(config.Optimizers(), ", "))
	fs.Float64Var(&f.weightDecay, "weight-decay", 0, "weight decay (L2 for sgd and adam, decoupled for adamw)")
	fs.StringVar(&f.schedule, "schedule", "", "learning-rate schedule: "+strings.Join(config.Schedules(), ", "))
	fs.IntVar(&f.warmupSteps, "warmup-steps", 0, "steps of linear warmup before the schedule")
	fs.Float64Var(&f.maxLR, "max-lr", 0, "onecycle's peak learning rate (0 = the learning rate)")
	fs.BoolVar(&f.cycleMomentum, "cycle-momentum", false, "onecycle: cycle the momentum (adam: beta1) against the rate")
	fs.Float64Var(&f.labelSmoothing, "label-smoothing", 0, "label smoothing of the loss, 0 to 1")
	fs.Float64Var(&f.clipGradNorm, "clip-grad-norm", 0, "clip the gradients' norm to this before each step (0 = off)")
	fs.Float64Var(&f.emaDecay, "ema-decay", 0, "evaluate an average of the weights with this decay, e.g. 0.999 (0 = off)")
	fs.IntVar(&f.ttaShift, "tta-shift", 0, "test-time augmentation: also evaluate images shifted this many `pixels` four ways (0 = off)")
}

// load reads the configuration and applies the flags the user set.
func (f *configFlags) load(fs *flag.FlagSet, env *Env) (config.Config, string, error) {
	if err := selectKernels(f.kernels); err != nil {
		return config.Config{}, "", err
	}
	cfg, source, err := f.loadFile(env)
	if err != nil {
		return cfg, source, err
	}
	cfg = f.apply(fs, cfg)
	if err := cfg.Validate(); err != nil {
		return cfg, source, usageError{err}
	}
	return cfg, source, nil
}

// loadFile reads the configuration the flags name, before the other flags
// apply: the --config file (else ./config.yaml, else the built-in default),
// or with --recipe that recipe with the --config file's keys over it. A
// recipe alone reports source "" (the editor then writes ./config.yaml): the
// shipped ./config.yaml sets every key, which would override all of it.
func (f *configFlags) loadFile(env *Env) (config.Config, string, error) {
	if f.recipe == "" {
		return config.Load(f.path, env.DefaultConfig)
	}
	var cfg config.Config
	var err error
	if f.path == "" {
		cfg, err = config.Recipe(f.recipe)
	} else {
		var data []byte
		if data, err = config.ReadFile(f.path); err != nil {
			if !errors.As(err, new(*config.Error)) { // those name the file already
				err = fmt.Errorf("config %s: %w", f.path, err)
			}
			return config.Config{}, f.path, err
		}
		cfg, err = config.ParseRecipe(f.path, data, f.recipe)
	}
	var cerr *config.Error
	if errors.As(err, &cerr) && cerr.File == "" && cerr.Key == "recipe" {
		return cfg, f.path, usagef("--recipe: %s", cerr.Msg)
	}
	return cfg, f.path, err
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
		case "optimizer":
			cfg.Optimizer = f.optimizer
		case "weight-decay":
			cfg.WeightDecay = f.weightDecay
		case "schedule":
			cfg.Schedule = f.schedule
		case "warmup-steps":
			cfg.WarmupSteps = f.warmupSteps
		case "max-lr":
			cfg.MaxLR = f.maxLR
		case "cycle-momentum":
			cfg.CycleMomentum = f.cycleMomentum
		case "label-smoothing":
			cfg.LabelSmoothing = f.labelSmoothing
		case "clip-grad-norm":
			cfg.ClipGradNorm = f.clipGradNorm
		case "ema-decay":
			cfg.EMADecay = f.emaDecay
		case "tta-shift":
			cfg.TTAShift = f.ttaShift
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
		fmt.Fprintf(env.Stdout, "Usage: mnist-tui %s\n", usage)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags { // a command without flags (models) prints no empty list
			fmt.Fprint(env.Stdout, "\nFlags:\n")
			printFlags(env.Stdout, fs)
		}
	}
	return fs
}

// printFlags lists the flags as the README writes them, with two dashes
// (the flag package accepts one or two, and prints one), one per line with
// its usage and any default that is not the zero value.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	type line struct{ left, usage string }
	var lines []line
	width := 0
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		left := "--" + f.Name
		if arg != "" {
			left += " " + arg
		}
		switch f.DefValue {
		case "", "0", "false":
		default:
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		lines = append(lines, line{left, usage})
		width = max(width, len(left))
	})
	for _, l := range lines {
		fmt.Fprintf(w, "  %-*s  %s\n", width, l.left, l.usage)
	}
}

// parse parses args; a bad flag is a usage error, --help prints the usage
// once. The flag package calls Usage itself on --help and on every error;
// it is silenced during Parse so that --help prints it exactly once and an
// error prints only the error (Main adds how to get help).
func parse(fs *flag.FlagSet, args []string) error {
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	if err == flag.ErrHelp {
		usage()
		return err
	}
	if err != nil {
		return usageError{twoDashes(err)}
	}
	return nil
}

// twoDashes rewrites the flag package's "-name" in its error messages as
// "--name", the form the help and the README use.
func twoDashes(err error) error {
	msg := err.Error()
	for _, prefix := range []string{"flag provided but not defined: -", "flag needs an argument: -"} {
		if rest, ok := strings.CutPrefix(msg, prefix); ok && !strings.HasPrefix(rest, "-") {
			return errors.New(prefix + "-" + rest)
		}
	}
	if before, after, ok := strings.Cut(msg, " for flag -"); ok && !strings.HasPrefix(after, "-") {
		return errors.New(before + " for flag --" + after)
	}
	return err
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
