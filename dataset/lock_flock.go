//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package dataset

import (
	"errors"
	"os"
	"syscall"
)

// canTellStale reports whether this system can tell an abandoned download
// from a live one (by its lock); where it cannot, none is removed.
const canTellStale = true

// tryLock takes an exclusive advisory lock on f without waiting. It reports
// false when another open file holds one. The kernel drops the lock when
// its holder closes the file or dies, however it dies (kill -9 included),
// so a held lock means a live download.
func tryLock(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}
