package runs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// lockFile is the file a trainer holds locked while it writes a run folder.
const lockFile = ".lock"

// errNoLocking is tryLock's answer on systems without flock.
var errNoLocking = errors.New("no file locking on this system")

// ErrBusy is returned by Lock when another live process holds the folder.
var ErrBusy = errors.New("another process is training this run")

// Lock is a run folder held by this process: while it is held no other
// trainer writes there, so a temporary file of an atomic write found in the
// folder belongs to no live process.
//
// It is an advisory lock (flock) on runs/<id>/.lock rather than a process
// id written into each temporary's name: the kernel drops the lock when its
// holder dies, even by kill -9, so "no live owner" is exact, without the
// guess a recycled pid would make, and whatever names the atomic writes
// give their temporaries.
type Lock struct{ f *os.File }

// LockRun takes the lock of the run folder dir, failing with ErrBusy if a
// live process holds it.
func LockRun(dir string) (*Lock, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("run folder %s: lock: %w", dir, err)
	}
	if err := tryLock(f); err != nil {
		f.Close()
		if errors.Is(err, errNoLocking) {
			return &Lock{}, nil // held by nobody: nothing is removed as stale
		}
		if errors.Is(err, ErrBusy) {
			return nil, fmt.Errorf("run folder %s: %w; wait for it to stop, or resume another checkpoint (it becomes a new run)", dir, ErrBusy)
		}
		return nil, fmt.Errorf("run folder %s: lock: %w", dir, err)
	}
	return &Lock{f: f}, nil
}

// Unlock releases the folder. The lock file stays: removing it would let a
// process that opened it just before lock an unlinked file.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing drops the flock
	l.f = nil
	return err
}

// RemoveStaleTemps deletes the temporaries that atomic writes left in the
// run folder dir when their process died mid-write (".last.safetensors.tmp-123"):
// only names of that pattern, and only while l holds the folder, so none of
// them can belong to a live writer. It returns the names removed.
func (l *Lock) RemoveStaleTemps(dir string) ([]string, error) {
	if l == nil || l.f == nil {
		return nil, nil // not held (no locking here): a temporary may be a live writer's
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("run folder %s: %w", dir, err)
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		if !IsTempName(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		err := os.Remove(filepath.Join(dir, e.Name()))
		switch {
		case err == nil:
			removed = append(removed, e.Name())
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// IsTempName tells whether name is a temporary of an atomic write in a run
// folder: "." + the target's name + ".tmp-" + a random suffix.
func IsTempName(name string) bool {
	rest, ok := strings.CutPrefix(name, ".")
	if !ok {
		return false
	}
	i := strings.LastIndex(rest, ".tmp-")
	return i > 0 && i+len(".tmp-") < len(rest)
}
