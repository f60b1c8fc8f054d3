package cli

import (
	"flag"

	"mnist-tui/engine/config"
	"mnist-tui/engine/memlimit"
)

// checkMemory refuses settings whose training would not fit in this
// machine's memory. The refusal is a usage error (exit 2) only when the
// command line chose what does not fit; settings from a config file are a
// file that is not what it should be (exit 1), as the README's exit codes say.
func checkMemory(cfg config.Config, fs *flag.FlagSet) error {
	err := memlimit.Check(cfg)
	if err == nil {
		return nil
	}
	if fs != nil && setOnCommandLine(fs, "model", "models", "batch-size", "threads") {
		return usageError{err}
	}
	return err
}

// setOnCommandLine tells whether any of the flags names was given.
func setOnCommandLine(fs *flag.FlagSet, names ...string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		for _, n := range names {
			set = set || f.Name == n
		}
	})
	return set
}
