package cli

import (
	"context"
	"fmt"

	"mnist-tui/engine/config"
	"mnist-tui/engine/network"
)

// runSummary prints the torchinfo-like table of a network: the configuration's (its custom
// network, or the built-in model it names) or, with --model, a built-in one.
func runSummary(_ context.Context, env *Env, args []string) error {
	fs := newFlagSet("summary", "summary [--config FILE | --recipe NAME | --model M] [--batch-size N]", env)
	var cf configFlags
	fs.StringVar(&cf.path, "config", "", "configuration `file` (default ./config.yaml, else the built-in default)")
	cf.registerRecipe(fs)
	fs.StringVar(&cf.model, "model", "", "a built-in model instead: linear, cnn, inception or residual")
	fs.IntVar(&cf.batchSize, "batch-size", 0, "images per training batch (default: the configuration's)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if flagSet(fs, "config") && flagSet(fs, "model") {
		return usagef("--config and --model both name a network; give one")
	}
	cfg, _, err := cf.load(fs, env)
	if err != nil {
		return err
	}
	net, name := cfg.Network, cfg.Name
	if cfg.Model != config.Custom {
		if net, err = network.Preset(cfg.Model); err != nil {
			return usageError{err}
		}
		name = cfg.Model
		if note := cfg.NetworkUnused(); note != "" && !flagSet(fs, "model") {
			fmt.Fprintln(env.Stderr, "note: "+note)
		}
	}
	fmt.Fprint(env.Stdout, network.Summarize(name, net, cfg.BatchSize))
	return nil
}
