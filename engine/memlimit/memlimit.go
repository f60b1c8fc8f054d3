// Package memlimit decides whether a run's settings fit in this machine's
// memory, before anything is allocated: a batch too large for the machine
// would otherwise end in Go's fatal out-of-memory error, which no one can
// catch.
package memlimit

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"mnist-tui/engine"
	"mnist-tui/engine/config"
	"mnist-tui/engine/network"
)

// Share is the part of the machine's memory a run's workspace may take: a quarter. Go's
// collector lets the heap grow to about twice what is live before it collects (GOGC=100), so a
// quarter can mean half the memory at the peak; the other half stays for the data set (about
// 220 MB as floats), the rest of the program and the other programs on the machine.
const Share = 4

// CheckAgainst refuses a configuration whose model, batch and threads would need more than
// 1/Share of memory bytes (0: unknown, nothing is refused), naming the largest batch
// that fits. It runs before training starts, where a too-large batch would otherwise end in
// Go's fatal out-of-memory error.
func CheckAgainst(cfg config.Config, memory int64, memoryName string) error {
	if memory <= 0 {
		return nil
	}
	limit := memory / Share
	need, err := workspace(cfg, cfg.BatchSize)
	if err != nil || need <= limit {
		return err
	}
	// WorkspaceBytes grows with the batch: find the largest that fits.
	lo, hi := 0, cfg.BatchSize // lo fits (or is 0), hi does not
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if b, err := workspace(cfg, mid); err == nil && b <= limit {
			lo = mid
		} else {
			hi = mid
		}
	}
	threads := "all cores"
	if cfg.Threads > 0 {
		threads = strconv.Itoa(cfg.Threads) + " threads"
	}
	msg := fmt.Sprintf("batch_size %d: %s on %s would need %s for training, more than %s, the quarter of %s (%s) a run may take",
		cfg.BatchSize, cfg.Model, threads, showBytes(need), showBytes(limit), memoryName, showBytes(memory))
	if lo == 0 {
		return fmt.Errorf("%s; even one image does not fit: use fewer threads or a smaller model", msg)
	}
	return fmt.Errorf("%s; use batch_size %d or less (--batch-size %d)", msg, lo, lo)
}

// workspace is what training cfg's model on batch images needs: the engine's count for a
// built-in model, the network summary's estimate for a custom one.
func workspace(cfg config.Config, batch int) (int64, error) {
	if cfg.Model == config.Custom && cfg.Network != nil {
		return int64(network.Summarize(cfg.Name, cfg.Network, batch).TrainingBytes), nil
	}
	return engine.WorkspaceBytes(cfg.Model, batch, cfg.Threads)
}

// Check is CheckAgainst this machine's memory.
func Check(cfg config.Config) error {
	memory, name := Machine()
	return CheckAgainst(cfg, memory, name)
}

// Machine is the memory this process may use: the machine's, or its container's limit
// when that is lower, with a name for messages. 0 when unknown (not Linux).
func Machine() (int64, string) {
	total, name := int64(0), "this machine's memory"
	if f, err := os.Open("/proc/meminfo"); err == nil {
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			if rest, ok := strings.CutPrefix(s.Text(), "MemTotal:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				if err == nil {
					total = kb << 10
				}
			}
		}
	}
	// cgroup v2, then v1; "max" or an absurd number means no limit.
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if limit, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64); err == nil && limit > 0 && (total == 0 || limit < total) {
			total, name = limit, "this container's memory limit"
		}
		break
	}
	return total, name
}

func showBytes(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GB", float64(b)/(1<<30))
	default:
		return fmt.Sprintf("%d MB", (b+1<<20-1)>>20)
	}
}
