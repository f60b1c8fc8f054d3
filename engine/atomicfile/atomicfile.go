// Package atomicfile replaces files so that a reader, or a crash, sees either
// the old content or the new, never a half-written file. Every file the
// program writes for the user (configuration, checkpoints, plots, reports)
// goes through it.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// WriteFile replaces the file at path with data. See Write.
func WriteFile(path string, data []byte) error {
	return osFiles.write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write replaces the file at path with what fill writes, streamed through a
// buffer: the content goes to a temporary file in the same folder (a rename
// is only atomic within one file system), is flushed to disk, and is then
// renamed over path. An existing file keeps its permission bits; a new one
// gets 0644. When path is a symbolic link, the file it points to is replaced
// and the link is kept. If fill or anything else fails, the old file is left
// as it was, the temporary file is removed, and the error names path.
func Write(path string, fill func(io.Writer) error) error {
	return osFiles.write(path, fill)
}

// tempFile is the part of *os.File that write uses, so that tests can make a
// write fail halfway.
type tempFile interface {
	io.Writer
	Name() string
	Chmod(mode fs.FileMode) error
	Sync() error
	Close() error
}

// fileOps are the file-system calls write makes that can fail in ways a test
// cannot provoke with real files (a full disk, say).
type fileOps struct {
	createTemp func(dir, pattern string) (tempFile, error)
	rename     func(oldpath, newpath string) error
}

// osFiles is the real file system.
var osFiles = fileOps{
	createTemp: func(dir, pattern string) (tempFile, error) {
		f, err := os.CreateTemp(dir, pattern)
		if err != nil {
			return nil, err // not a typed nil *os.File inside the interface
		}
		return f, nil
	},
	rename: os.Rename,
}

func (ops fileOps) write(path string, fill func(io.Writer) error) error {
	target := path
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		target = resolved
	}
	mode := fs.FileMode(0o644)
	info, err := os.Stat(target)
	switch {
	case err == nil && !info.Mode().IsRegular():
		return fmt.Errorf("write %s: not a regular file", path)
	case err == nil:
		mode = info.Mode().Perm()
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("write %s: %w", path, err)
	}

	dir := filepath.Dir(target)
	tmp, err := ops.createTemp(dir, "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: create a temporary file next to it: %w", path, err)
	}
	err = fillTemp(tmp, fill, mode)
	if closeErr := tmp.Close(); err == nil && closeErr != nil {
		err = fmt.Errorf("close: %w", closeErr)
	}
	if err == nil {
		err = ops.rename(tmp.Name(), target)
	}
	if err != nil {
		_ = os.Remove(tmp.Name()) // the old file is intact; leave no debris next to it
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("write %s: the new file is in place but may not survive a crash: %w", path, err)
	}
	return nil
}

// fillTemp writes the content to the temporary file, gives it its final mode
// and flushes it to disk, so that the rename never exposes an empty file
// after a crash.
func fillTemp(tmp tempFile, fill func(io.Writer) error, mode fs.FileMode) error {
	bw := bufio.NewWriterSize(tmp, 64<<10)
	if err := fill(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	return nil
}

// syncDir flushes the folder entry of the rename to disk. Some file systems
// cannot sync a folder at all; that is not a failure of this write.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		err = nil
	}
	return errors.Join(err, d.Close())
}
