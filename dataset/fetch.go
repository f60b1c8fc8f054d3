package dataset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// Progress reports how much of one file has been copied from a source.
type Progress struct {
	File        string
	Done, Total int64 // Total -1 if unknown
}

// FetchOptions says where the files of a data set live and how to report on
// getting them. The zero value uses the default data dir and sources.
type FetchOptions struct {
	DataDir  string           // "" = the user cache folder's mnist-tui/<name>
	Progress func(Progress)   // may be nil; called from the fetching goroutine
	Log      func(msg string) // may be nil; human-readable notes ("using verified ...", "... re-fetching it")
	// Sources replaces the data set's default sources (public mirrors, then
	// the Go module or Debian folder), tried in order after DataDir. nil
	// means the defaults.
	Sources []Source
	// Offline uses only the files already in DataDir.
	Offline bool
	// HTTPClient is used by the default mirror sources; nil = a client with
	// short connect timeouts.
	HTTPClient *http.Client
}

// defaultDir is where a data set is cached when no data dir is given:
// os.UserCacheDir()/mnist-tui/<name>.
func defaultDir(name string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("dataset: no default data dir (%w); pass --data-dir DIR", err)
	}
	return filepath.Join(cache, "mnist-tui", name), nil
}

// Fetch makes sure the data dir holds a verified copy of each of the four
// files of the named data set, copying missing or corrupt ones from the
// sources, and returns the data dir.
func Fetch(ctx context.Context, name string, opts FetchOptions) (dir string, err error) {
	e, err := lookupEntry(name)
	if err != nil {
		return "", err
	}
	return fetchEntry(ctx, e, opts)
}

func fetchEntry(ctx context.Context, e entry, opts FetchOptions) (dir string, err error) {
	f, err := newFetcher(e, opts)
	if err != nil {
		return "", err
	}
	defer f.close()
	f.removeStaleTemps()
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		return "", fmt.Errorf("dataset %s: cannot create the data dir: %w", e.info.Name, err)
	}
	for _, spec := range e.files {
		if _, err := f.obtain(ctx, spec, false); err != nil {
			return "", err
		}
	}
	return f.dir, nil
}

// Load returns the train and test sets of the named data set, fetching
// files as Fetch does. Every file's SHA-256 is checked on every load, while
// it is parsed, so a file that rotted on disk is never used.
func Load(ctx context.Context, name string, opts FetchOptions) (train, test *Set, err error) {
	e, err := lookupEntry(name)
	if err != nil {
		return nil, nil, err
	}
	return loadEntry(ctx, e, opts)
}

func loadEntry(ctx context.Context, e entry, opts FetchOptions) (train, test *Set, err error) {
	name := e.info.Name
	f, err := newFetcher(e, opts)
	if err != nil {
		return nil, nil, err
	}
	defer f.close()
	f.removeStaleTemps()
	var parts [4]decoded
	for i, spec := range e.files {
		if parts[i], err = f.obtain(ctx, spec, true); err != nil {
			return nil, nil, err
		}
	}
	path := func(i int) string { return filepath.Join(f.dir, e.files[i].gzName()) }
	train, err = newSet(name+" train", path(trainImages), parts[trainImages], path(trainLabels), parts[trainLabels])
	if err != nil {
		return nil, nil, err
	}
	test, err = newSet(name+" test", path(testImages), parts[testImages], path(testLabels), parts[testLabels])
	if err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// ChecksumError reports a file whose decompressed contents do not have the
// expected SHA-256.
type ChecksumError struct {
	File      string
	Want, Got string // hex SHA-256
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("dataset: %s: SHA-256 of the decompressed data is %s, want %s (corrupt or not the expected file)",
		e.File, e.Got, e.Want)
}

// Attempt is one place a file was looked for, and why it was not used.
type Attempt struct {
	Source string
	Err    error
}

// FetchError reports a file that no source could provide.
type FetchError struct {
	Dataset  string
	File     string    // e.g. "train-images-idx3-ubyte.gz"
	Attempts []Attempt // in the order tried; the data dir first
	Needed   []string  // the four file names, for the how-to-fix line
}

func (e *FetchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dataset %s: no usable copy of %s; tried:", e.Dataset, e.File)
	for _, a := range e.Attempts {
		fmt.Fprintf(&b, "\n  - %s: %v", a.Source, a.Err)
	}
	fmt.Fprintf(&b, "\nTo provide the files yourself, put %s in a folder and pass --data-dir DIR.",
		strings.Join(e.Needed, ", "))
	return b.String()
}

// Unwrap exposes each attempt's error to errors.Is and errors.As.
func (e *FetchError) Unwrap() []error {
	errs := make([]error, len(e.Attempts))
	for i, a := range e.Attempts {
		errs[i] = a.Err
	}
	return errs
}

var errNotInDir = errors.New("no copy there")

// fetcher gets the files of one data set for one Fetch or Load call.
type fetcher struct {
	entry   entry
	dir     string
	sources []Source
	failed  []error // per source: why it failed earlier in this call
	opts    FetchOptions

	ownClient *http.Client // default HTTP client made for this call, if any
}

func newFetcher(e entry, opts FetchOptions) (*fetcher, error) {
	dir := opts.DataDir
	if dir == "" {
		var err error
		if dir, err = defaultDir(e.info.Name); err != nil {
			return nil, err
		}
	}
	f := &fetcher{entry: e, dir: dir, sources: opts.Sources, opts: opts}
	switch {
	case opts.Offline:
		f.sources = nil
	case f.sources == nil:
		client := opts.HTTPClient
		if client == nil {
			client = defaultHTTPClient()
			f.ownClient = client
		}
		f.sources = e.sources(client)
	}
	f.failed = make([]error, len(f.sources))
	return f, nil
}

// close releases the idle connections of the HTTP client the fetcher made,
// which would otherwise keep goroutines alive after the call.
func (f *fetcher) close() {
	if f.ownClient != nil {
		f.ownClient.CloseIdleConnections()
	}
}

func (f *fetcher) logf(format string, args ...any) {
	if f.opts.Log != nil {
		f.opts.Log(fmt.Sprintf(format, args...))
	}
}

// obtain returns one verified file: from the data dir if a good copy is
// there, else from the first source that delivers a good copy, which is
// then saved into the data dir. parse selects Load (decode the file) or
// Fetch (only verify it).
func (f *fetcher) obtain(ctx context.Context, spec fileSpec, parse bool) (decoded, error) {
	dirLabel := "data dir " + f.dir
	got, path, err := f.readCached(spec, parse)
	if err == nil {
		f.logf("using verified %s", path)
		return got, nil
	}
	var attempts []Attempt
	if errors.Is(err, errNotInDir) {
		attempts = append(attempts, Attempt{Source: dirLabel, Err: err})
	} else {
		err = fmt.Errorf("%w; delete it, or run `mnist-tui data` to fetch it again", err)
		attempts = append(attempts, Attempt{Source: dirLabel, Err: err})
		if len(f.sources) > 0 {
			f.logf("%s is unusable, re-fetching it: %v", path, err)
		}
	}

	for i, src := range f.sources {
		if ctx.Err() != nil {
			return decoded{}, fmt.Errorf("dataset %s: fetching %s: %w", f.entry.info.Name, spec.gzName(), ctx.Err())
		}
		if f.failed[i] != nil {
			attempts = append(attempts, Attempt{Source: src.String(), Err: fmt.Errorf("skipped, it failed earlier: %w", f.failed[i])})
			continue
		}
		got, err := f.fetchFrom(ctx, src, spec, parse)
		if err == nil {
			return got, nil
		}
		if ctx.Err() != nil {
			return decoded{}, fmt.Errorf("dataset %s: fetching %s: %w", f.entry.info.Name, spec.gzName(), ctx.Err())
		}
		var cacheErr *cacheError
		if errors.As(err, &cacheErr) {
			return decoded{}, err // every source would fail the same way
		}
		// A missing file says nothing about the source's other files; any
		// other failure (no network, bad data) most likely repeats.
		if !errors.Is(err, fs.ErrNotExist) {
			f.failed[i] = err
		}
		f.logf("%s: %v", src, err)
		attempts = append(attempts, Attempt{Source: src.String(), Err: err})
	}

	needed := make([]string, len(f.entry.files))
	for i, s := range f.entry.files {
		needed[i] = s.gzName()
	}
	return decoded{}, &FetchError{Dataset: f.entry.info.Name, File: spec.gzName(), Attempts: attempts, Needed: needed}
}

// readCached verifies (and if parse, decodes) the data dir's copy of a file.
// It accepts the file gzipped under its .gz name or, for people who
// unpacked it, raw under its bare name.
func (f *fetcher) readCached(spec fileSpec, parse bool) (decoded, string, error) {
	for _, name := range []string{spec.gzName(), spec.base} {
		path := filepath.Join(f.dir, name)
		file, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return decoded{}, path, err
		}
		got, err := verify(path, file, spec, parse)
		file.Close()
		return got, path, err
	}
	return decoded{}, "", errNotInDir
}

// cacheError reports that a fetched file could not be saved into the data
// dir.
type cacheError struct{ err error }

func (e *cacheError) Error() string { return "cannot save into the data dir: " + e.err.Error() }
func (e *cacheError) Unwrap() error { return e.err }

// fetchFrom streams one file from a source through verification (and
// decoding) while writing it to a temporary file in the data dir, renamed
// into place only once verified. A Load still succeeds when the data dir
// cannot be written (it logs why); a Fetch, whose job is the data dir,
// fails.
func (f *fetcher) fetchFrom(ctx context.Context, src Source, spec fileSpec, parse bool) (decoded, error) {
	rc, size, err := src.Open(ctx, spec.gzName())
	if err != nil {
		return decoded{}, err
	}
	defer rc.Close()
	f.logf("fetching %s from %s", spec.gzName(), src)

	tmp, err := f.createTemp(spec)
	if err != nil {
		if !parse {
			return decoded{}, &cacheError{err}
		}
		f.logf("cannot cache %s (%v); using it without saving", spec.gzName(), err)
	}
	var in io.Reader = &progressReader{r: rc, report: f.opts.Progress, p: Progress{File: spec.gzName(), Total: size}}
	if tmp != nil {
		defer tmp.discard()
		in = io.TeeReader(in, tmp.file)
	}

	label := spec.gzName() + " from " + src.String()
	got, err := verify(label, in, spec, parse)
	if err != nil {
		return decoded{}, err
	}
	if tmp == nil {
		return got, nil
	}
	final := filepath.Join(f.dir, spec.gzName())
	if err := tmp.commit(final); err != nil {
		if !parse {
			return decoded{}, &cacheError{err}
		}
		f.logf("cannot cache %s (%v); using it without saving", spec.gzName(), err)
		return got, nil
	}
	f.logf("saved verified %s", final)
	return got, nil
}

// verify reads a whole file once: it decompresses, hashes and (if parse)
// decodes it, and accepts it only if the hash is the expected one.
func verify(label string, r io.Reader, spec fileSpec, parse bool) (decoded, error) {
	sum := sha256.New()
	got, err := decodeIDX(label, r, spec.kind, spec.count, sum, parse)
	if err != nil {
		return decoded{}, err
	}
	if hexSum := hex.EncodeToString(sum.Sum(nil)); hexSum != spec.sha256 {
		return decoded{}, &ChecksumError{File: label, Want: spec.sha256, Got: hexSum}
	}
	return got, nil
}

// tempFile is a download in progress, named uniquely so that two processes
// fetching into the same folder never write to the same file.
type tempFile struct {
	file *os.File
	done bool
}

// It is locked for as long as it is open (see tryLock), which is how a
// later fetch tells it from one abandoned by a killed process.
func (f *fetcher) createTemp(spec fileSpec) (*tempFile, error) {
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		return nil, err
	}
	// Between creating and locking, another process's clean-up may take the
	// new file for abandoned and remove it: then try again.
	for range 3 {
		file, err := os.CreateTemp(f.dir, tempPattern(spec))
		if err != nil {
			return nil, err
		}
		if ok, err := tryLock(file); !ok || err != nil {
			file.Close()
			os.Remove(file.Name())
			return nil, fmt.Errorf("cannot lock %s: %v", file.Name(), err)
		}
		if stillThere(file) {
			return &tempFile{file: file}, nil
		}
		file.Close()
	}
	return nil, fmt.Errorf("cannot keep a temporary file in %s: something removes them as they are made", f.dir)
}

// tempPattern names the downloads of one file in progress: hidden, with a
// random part, ending in .tmp.
func tempPattern(spec fileSpec) string { return "." + spec.gzName() + ".*.tmp" }

// stillThere reports whether file's name still leads to file.
func stillThere(file *os.File) bool {
	opened, err := file.Stat()
	if err != nil {
		return false
	}
	named, err := os.Stat(file.Name())
	return err == nil && os.SameFile(opened, named)
}

// removeStaleTemps deletes the downloads a killed process left in the data
// dir: only files named as this package names them (tempPattern of one of
// the set's four files), and only when no process holds their lock, i.e.
// no download is writing them. Failures are logged, never fatal: a stale
// file costs only space.
func (f *fetcher) removeStaleTemps() {
	if !canTellStale {
		return
	}
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return // no data dir yet, or unreadable: the fetch will say so
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !f.isOurTemp(e.Name()) {
			continue
		}
		path := filepath.Join(f.dir, e.Name())
		file, err := os.OpenFile(path, os.O_RDONLY, 0)
		if err != nil {
			continue
		}
		if abandoned, err := tryLock(file); err == nil && abandoned {
			if err := os.Remove(path); err == nil {
				f.logf("removed %s, left by an interrupted download", path)
			} else {
				f.logf("cannot remove %s, left by an interrupted download: %v", path, err)
			}
		}
		file.Close()
	}
}

func (f *fetcher) isOurTemp(name string) bool {
	for _, spec := range f.entry.files {
		if ok, _ := filepath.Match(tempPattern(spec), name); ok {
			return true
		}
	}
	return false
}

// commit makes the temporary file durable and atomically gives it its final
// name: a reader sees the old file or the complete new one, never a part.
func (t *tempFile) commit(final string) error {
	if err := t.file.Chmod(0o644); err != nil {
		return err
	}
	if err := t.file.Sync(); err != nil {
		return err
	}
	if err := t.file.Close(); err != nil {
		return err
	}
	if err := os.Rename(t.file.Name(), final); err != nil {
		return err
	}
	t.done = true
	syncDir(filepath.Dir(final))
	return nil
}

// discard removes the temporary file unless it was committed.
func (t *tempFile) discard() {
	if t.done {
		return
	}
	t.file.Close()
	os.Remove(t.file.Name())
}

// syncDir makes a rename durable. It is best effort: the file is complete
// either way, and some systems cannot sync a folder.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// progressReader reports bytes read from a source, at most every
// progressStep bytes plus once at the start and once at the end, so a
// dashboard is not flooded with one message per 32 KB read.
type progressReader struct {
	r      io.Reader
	report func(Progress)
	p      Progress
	last   int64
	begun  bool
}

const progressStep = 256 << 10

func (r *progressReader) Read(b []byte) (int, error) {
	if r.report != nil && !r.begun {
		r.begun = true
		r.report(r.p)
	}
	n, err := r.r.Read(b)
	r.p.Done += int64(n)
	if r.report != nil && (r.p.Done-r.last >= progressStep || (err == io.EOF && r.p.Done != r.last)) {
		r.last = r.p.Done
		r.report(r.p)
	}
	return n, err
}
