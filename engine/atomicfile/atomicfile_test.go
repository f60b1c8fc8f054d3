package atomicfile

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is filtered by the umask
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// onlyFiles fails the test when dir holds anything but the named files, such
// as a leftover temporary file.
func onlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("folder holds %v, want only %v", got, names)
	}
}

func TestWriteFileReplacesAndKeepsMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, "epochs: 1\n", 0o640)

	if err := WriteFile(path, []byte("epochs: 2\n")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "epochs: 2\n" {
		t.Errorf("content %q", got)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the old file's 0640", info.Mode().Perm())
	}
	onlyFiles(t, dir, "config.yaml")
}

func TestWriteFileNewFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "new.yaml")
	if err := WriteFile(path, []byte("x: 1\n")); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o644 || readFile(t, path) != "x: 1\n" {
		t.Errorf("new file: mode %v content %q", info.Mode().Perm(), readFile(t, path))
	}
}

func TestWriteFileThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.yaml")
	link := filepath.Join(dir, "link.yaml")
	writeFile(t, real, "old\n", 0o600)
	if err := os.Symlink("real.yaml", link); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	if err := WriteFile(link, []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Lstat(link); err != nil || info.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link was replaced by a file (%v)", err)
	}
	if got := readFile(t, real); got != "new\n" {
		t.Errorf("the link's target holds %q", got)
	}
}

func TestWriteFileRefusesAFolder(t *testing.T) {
	dir := t.TempDir()
	if err := WriteFile(dir, []byte("x")); err == nil {
		t.Error("writing over a folder succeeded")
	}
}

// failingFile lets the first few bytes through and then fails, like a disk
// that fills up halfway.
type failingFile struct {
	*os.File
	allow int
}

func (f *failingFile) Write(p []byte) (int, error) {
	if len(p) <= f.allow {
		return f.File.Write(p)
	}
	n, _ := f.File.Write(p[:f.allow])
	return n, errors.New("no space left on device")
}

func TestWriteFileFailuresKeepTheOldFile(t *testing.T) {
	failWrite := fileOps{
		createTemp: func(dir, pattern string) (tempFile, error) {
			f, err := os.CreateTemp(dir, pattern)
			if err != nil {
				return nil, err
			}
			return &failingFile{File: f, allow: 3}, nil
		},
		rename: os.Rename,
	}
	failRename := osFiles
	failRename.rename = func(string, string) error { return errors.New("rename refused") }
	failCreate := osFiles
	failCreate.createTemp = func(string, string) (tempFile, error) { return nil, errors.New("read-only file system") }

	for name, ops := range map[string]fileOps{"write": failWrite, "rename": failRename, "create": failCreate} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "config.yaml")
			writeFile(t, path, "epochs: 1\n", 0o644)

			err := ops.write(path, func(w io.Writer) error {
				_, err := io.WriteString(w, "epochs: 2 # a longer new content\n")
				return err
			})
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v, want one naming %s", err, path)
			}
			if got := readFile(t, path); got != "epochs: 1\n" {
				t.Errorf("the old file now holds %q", got)
			}
			onlyFiles(t, dir, "config.yaml")
		})
	}
}

// The same with a folder the system really refuses to write.
func TestWriteFileReadOnlyFolder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, "epochs: 1\n", 0o644)
	makeReadOnly(t, dir)

	if err := WriteFile(path, []byte("epochs: 2\n")); err == nil {
		t.Fatal("writing into a read-only folder succeeded")
	}
	if got := readFile(t, path); got != "epochs: 1\n" {
		t.Errorf("the old file now holds %q", got)
	}
	onlyFiles(t, dir, "config.yaml")
}

// makeReadOnly makes dir refuse new files until the test ends. Permission
// bits do that for a user but not for root, who writes through them (CI
// runs as root); for root the folder is made immutable (chattr +i), which
// root too must undo before writing. The test is skipped, saying why, only
// when neither works.
func makeReadOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
		return
	}
	out, err := exec.Command("chattr", "+i", dir).CombinedOutput()
	if err != nil {
		t.Skipf("running as root, which ignores permission bits, and chattr +i failed (%v: %s): "+
			"cannot make a folder root may not write; run as another user or on a file system with immutable flags",
			err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("chattr", "-i", dir).CombinedOutput(); err != nil {
			t.Errorf("chattr -i %s: %v: %s", dir, err, out)
		}
	})
}

// A writer that fails halfway (an encoder meeting bad data, say) must leave
// the old file as it was, and its error must come back unchanged.
func TestWriteFillFailureKeepsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	writeFile(t, path, "old", 0o644)
	errHalfway := errors.New("tensor 3 is invalid")

	err := Write(path, func(w io.Writer) error {
		if _, err := w.Write(bytes.Repeat([]byte("n"), 100_000)); err != nil {
			return err
		}
		return errHalfway
	})
	if !errors.Is(err, errHalfway) || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v, want the writer's own, naming %s", err, path)
	}
	if got := readFile(t, path); got != "old" {
		t.Errorf("the old file now holds %d bytes", len(got))
	}
	onlyFiles(t, dir, "model.safetensors")
}

// Content larger than the write buffer arrives whole and in order.
func TestWriteStreamsLargeContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big")
	want := make([]byte, 300_000)
	for i := range want {
		want[i] = byte(i % 251)
	}
	err := Write(path, func(w io.Writer) error {
		for chunk := range slices.Chunk(want, 7_001) {
			if _, err := w.Write(chunk); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != string(want) {
		t.Errorf("file holds %d bytes, not the %d written", len(got), len(want))
	}
}
