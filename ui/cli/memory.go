package cli

import (
	"mnist-tui/engine/config"
	"mnist-tui/engine/memlimit"
)

// checkMemory refuses, as a usage error, settings whose training would not
// fit in this machine's memory.
func checkMemory(cfg config.Config) error {
	if err := memlimit.Check(cfg); err != nil {
		return usageError{err}
	}
	return nil
}
