package dataset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder collects Log and Progress callbacks; safe for concurrent use.
type recorder struct {
	mu       sync.Mutex
	logs     []string
	progress []Progress
}

func (r *recorder) log(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, msg)
}

func (r *recorder) prog(p Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.progress = append(r.progress, p)
}

func (r *recorder) logged(substr string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.logs {
		if strings.Contains(l, substr) {
			return true
		}
	}
	return false
}

func (r *recorder) opts(dataDir string, sources ...Source) FetchOptions {
	if sources == nil {
		sources = []Source{}
	}
	return FetchOptions{DataDir: dataDir, Sources: sources, Log: r.log, Progress: r.prog}
}

// assertNoTempFiles checks that no download was left half-written.
func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left in %s", e.Name(), dir)
		}
	}
}

// assertSameFiles checks that dir holds exactly the set's gzipped files.
func assertSameFiles(t *testing.T, set fakeSet, dir string) {
	t.Helper()
	for name, want := range set.files {
		if got := readFileBytes(t, filepath.Join(dir, name)); !bytes.Equal(got, want) {
			t.Errorf("%s in %s differs from the source's copy", name, dir)
		}
	}
	assertNoTempFiles(t, dir)
}

func TestFetchCopiesVerifiedFilesIntoDataDir(t *testing.T) {
	set := newFakeSet(t)
	src := set.writeTo(t, t.TempDir())
	dataDir := filepath.Join(t.TempDir(), "nested", "cache")
	var rec recorder

	dir, err := fetchEntry(context.Background(), set.entry, rec.opts(dataDir, DirSource(src)))
	if err != nil {
		t.Fatal(err)
	}
	if dir != dataDir {
		t.Errorf("Fetch returned %s, want the data dir %s", dir, dataDir)
	}
	assertSameFiles(t, set, dataDir)
	if !rec.logged("fetching") || !rec.logged("saved verified") {
		t.Errorf("log %q does not tell what was fetched and saved", rec.logs)
	}

	// Progress ends at the full size of every file.
	for name, data := range set.files {
		var last Progress
		for _, p := range rec.progress {
			if p.File == name {
				if p.Done < last.Done {
					t.Errorf("%s: progress went back from %d to %d", name, last.Done, p.Done)
				}
				last = p
			}
		}
		if size := int64(len(data)); last.Done != size || last.Total != size {
			t.Errorf("%s: last progress %+v, want Done = Total = %d", name, last, size)
		}
	}

	// A second run is served from the data dir alone.
	var rec2 recorder
	if _, err := fetchEntry(context.Background(), set.entry, rec2.opts(dataDir, DirSource(t.TempDir()))); err != nil {
		t.Fatalf("second fetch: %v", err)
	}
	if rec2.logged("fetching") || !rec2.logged("using verified") {
		t.Errorf("second fetch log %q, want only cached files used", rec2.logs)
	}
}

func TestLoadFromDataDir(t *testing.T) {
	set := newFakeSet(t)
	dataDir := set.writeTo(t, t.TempDir())
	train, test, err := loadEntry(context.Background(), set.entry, FetchOptions{DataDir: dataDir, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	if train.N != fakeTrainN || test.N != fakeTestN {
		t.Fatalf("got %d train and %d test images, want %d and %d", train.N, test.N, fakeTrainN, fakeTestN)
	}
	if !bytes.Equal(train.Images, fakeImageBody(fakeTrainN)) || !bytes.Equal(test.Labels, fakeLabelBody(fakeTestN)) {
		t.Error("loaded data differs from the files")
	}
	if !strings.Contains(train.Name, "train") || !strings.Contains(test.Name, "test") {
		t.Errorf("set names %q and %q do not say which split they are", train.Name, test.Name)
	}
}

func TestLoadAcceptsUnpackedFilesInDataDir(t *testing.T) {
	set := newFakeSet(t)
	dataDir := t.TempDir()
	for _, spec := range set.entry.files {
		writeFile(t, filepath.Join(dataDir, spec.base), set.raw[spec.gzName()])
	}
	if _, _, err := loadEntry(context.Background(), set.entry, FetchOptions{DataDir: dataDir, Offline: true}); err != nil {
		t.Fatal(err)
	}
}

// corruptPixel returns the set's test-images file with one pixel changed,
// re-gzipped so the gzip layer is valid and only the hash can tell.
func corruptPixel(t *testing.T, set fakeSet) (name string, gz []byte, rawSum string) {
	spec := set.entry.files[testImages]
	raw := bytes.Clone(set.raw[spec.gzName()])
	raw[16+ImageSize+100] ^= 0x01
	return spec.gzName(), gzipBytes(t, raw), sha256Hex(raw)
}

func TestLoadDetectsFlippedByteInCache(t *testing.T) {
	set := newFakeSet(t)
	dataDir := set.writeTo(t, t.TempDir())
	name, gz, badSum := corruptPixel(t, set)
	path := filepath.Join(dataDir, name)
	writeFile(t, path, gz)

	_, _, err := loadEntry(context.Background(), set.entry, FetchOptions{DataDir: dataDir, Offline: true})
	if err == nil {
		t.Fatal("a corrupt cached file was used")
	}
	var ce *ChecksumError
	if !errors.As(err, &ce) {
		t.Fatalf("got %T %v, want a ChecksumError", err, err)
	}
	wantSum := sha256Hex(set.raw[name])
	for _, want := range []string{path, wantSum, badSum, "delete it", "mnist-tui data", "--data-dir"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestLoadDetectsFlippedCompressedByteInCache(t *testing.T) {
	set := newFakeSet(t)
	dataDir := set.writeTo(t, t.TempDir())
	name := set.entry.files[trainImages].gzName()
	gz := bytes.Clone(set.files[name])
	gz[len(gz)/2] ^= 0x10
	path := filepath.Join(dataDir, name)
	writeFile(t, path, gz)

	for _, mode := range []string{"load", "fetch"} {
		var err error
		opts := FetchOptions{DataDir: dataDir, Offline: true}
		if mode == "load" {
			_, _, err = loadEntry(context.Background(), set.entry, opts)
		} else {
			_, err = fetchEntry(context.Background(), set.entry, opts)
		}
		if err == nil {
			t.Fatalf("%s: a corrupt cached file was used", mode)
		}
		var fe *FormatError
		var ce *ChecksumError
		if !errors.As(err, &fe) && !errors.As(err, &ce) {
			t.Errorf("%s: got %v, want a format or checksum error", mode, err)
		}
		if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "delete it") {
			t.Errorf("%s: error %q does not name %s and say how to fix it", mode, err, path)
		}
	}
}

func TestCorruptCacheIsRefetched(t *testing.T) {
	set := newFakeSet(t)
	src := set.writeTo(t, t.TempDir())
	dataDir := set.writeTo(t, t.TempDir())
	name, gz, _ := corruptPixel(t, set)
	writeFile(t, filepath.Join(dataDir, name), gz)
	var rec recorder

	train, test, err := loadEntry(context.Background(), set.entry, rec.opts(dataDir, DirSource(src)))
	if err != nil {
		t.Fatal(err)
	}
	if train.N != fakeTrainN || !bytes.Equal(test.Images, fakeImageBody(fakeTestN)) {
		t.Error("loaded data is not the good copy")
	}
	if !rec.logged("unusable, re-fetching") {
		t.Errorf("log %q does not report the re-fetch", rec.logs)
	}
	assertSameFiles(t, set, dataDir)
}

func TestCorruptSourceIsRejected(t *testing.T) {
	set := newFakeSet(t)
	src := set.writeTo(t, t.TempDir())
	name, gz, badSum := corruptPixel(t, set)
	writeFile(t, filepath.Join(src, name), gz)
	dataDir := t.TempDir()

	_, err := fetchEntry(context.Background(), set.entry, FetchOptions{DataDir: dataDir, Sources: []Source{DirSource(src)}})
	var fetchErr *FetchError
	if !errors.As(err, &fetchErr) {
		t.Fatalf("got %v, want a FetchError", err)
	}
	if fetchErr.File != name {
		t.Errorf("FetchError names %s, want %s", fetchErr.File, name)
	}
	var ce *ChecksumError
	if !errors.As(err, &ce) || ce.Got != badSum {
		t.Errorf("error %v does not carry the checksum mismatch (got %s)", err, badSum)
	}
	if _, err := os.Stat(filepath.Join(dataDir, name)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the corrupt file was saved into the data dir (stat: %v)", err)
	}
	assertNoTempFiles(t, dataDir)
}

// closedPortURL is a loopback URL nothing listens on: connecting fails at
// once, like the DNS failure of an offline machine.
func closedPortURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/"
}

func TestSourcesAreTriedInOrder(t *testing.T) {
	set := newFakeSet(t)
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	src := set.writeTo(t, t.TempDir())
	dataDir := t.TempDir()
	unreachable := closedPortURL(t)
	var rec recorder

	start := time.Now()
	dir, err := fetchEntry(context.Background(), set.entry, rec.opts(dataDir,
		HTTPSource(unreachable, nil), HTTPSource(notFound.URL+"/", nil), DirSource(src)))
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("falling through dead sources took %v", elapsed)
	}
	assertSameFiles(t, set, dir)
	if !rec.logged(unreachable) || !rec.logged("404") {
		t.Errorf("log %q does not say why the first two sources failed", rec.logs)
	}
}

func TestAllSourcesFailingListsEveryAttempt(t *testing.T) {
	set := newFakeSet(t)
	unreachable := closedPortURL(t)
	emptyDir := t.TempDir()
	dataDir := filepath.Join(t.TempDir(), "data")

	_, _, err := loadEntry(context.Background(), set.entry, FetchOptions{
		DataDir: dataDir, Sources: []Source{HTTPSource(unreachable, nil), DirSource(emptyDir)}})
	var fetchErr *FetchError
	if !errors.As(err, &fetchErr) {
		t.Fatalf("got %v, want a FetchError", err)
	}
	if len(fetchErr.Attempts) != 3 {
		t.Errorf("got %d attempts, want data dir + 2 sources: %v", len(fetchErr.Attempts), err)
	}
	msg := err.Error()
	for _, want := range append([]string{"data dir " + dataDir, unreachable, "folder " + emptyDir, "--data-dir DIR"}, set.names()...) {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
}

func TestOfflineUsesDataDirOnly(t *testing.T) {
	set := newFakeSet(t)
	src := set.writeTo(t, t.TempDir())
	_, err := fetchEntry(context.Background(), set.entry, FetchOptions{
		DataDir: t.TempDir(), Offline: true, Sources: []Source{DirSource(src)}})
	var fetchErr *FetchError
	if !errors.As(err, &fetchErr) || len(fetchErr.Attempts) != 1 {
		t.Fatalf("got %v, want a FetchError naming only the data dir", err)
	}
}

func TestDeadSourceIsSkippedForLaterFiles(t *testing.T) {
	set := newFakeSet(t)
	var hits sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Store(r.URL.Path, true)
		http.Error(w, "broken", http.StatusInternalServerError)
	}))
	defer srv.Close()
	src := set.writeTo(t, t.TempDir())

	if _, err := fetchEntry(context.Background(), set.entry,
		FetchOptions{DataDir: t.TempDir(), Sources: []Source{HTTPSource(srv.URL+"/", nil), DirSource(src)}}); err != nil {
		t.Fatal(err)
	}
	n := 0
	hits.Range(func(_, _ any) bool { n++; return true })
	if n != 1 {
		t.Errorf("a failing server was asked for %d files, want 1 (then skipped)", n)
	}
}

func TestHTTPSourceDownloadsWithProgress(t *testing.T) {
	set := newFakeSet(t)
	// One big file so progress is reported more than at start and end.
	bigCount := 3*progressStep/ImageSize + 1
	big := gzipBytes(t, idxBytes([]uint32{uint32(bigCount), Rows, Cols}, randomBytes(bigCount*ImageSize)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Accept-Encoding"); got != "identity" {
			t.Errorf("request asks for encoding %q; a transparently decompressed .gz would be cached raw", got)
		}
		name := strings.TrimPrefix(r.URL.Path, "/mirror/")
		data, ok := set.files[name]
		if name == set.entry.files[trainImages].gzName() {
			data = big
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data)
	}))
	defer srv.Close()

	// Serve "big" in place of train-images: the source must deliver it
	// intact (hash of big's contents), with a known length and progress.
	set.entry.files[trainImages] = fileSpec{base: set.entry.files[trainImages].base,
		sha256: sha256Hex(gunzipBytes(t, big)), kind: set.entry.files[trainImages].kind, count: bigCount}
	var rec recorder
	dataDir := t.TempDir()
	if _, err := fetchEntry(context.Background(), set.entry, rec.opts(dataDir, HTTPSource(srv.URL+"/mirror/", srv.Client()))); err != nil {
		t.Fatal(err)
	}
	name := set.entry.files[trainImages].gzName()
	if !bytes.Equal(readFileBytes(t, filepath.Join(dataDir, name)), big) {
		t.Error("downloaded file differs from the server's")
	}
	var reports []Progress
	for _, p := range rec.progress {
		if p.File == name {
			reports = append(reports, p)
		}
	}
	if len(reports) < 3 {
		t.Fatalf("got %d progress reports for a %d-byte download, want several", len(reports), len(big))
	}
	if first, last := reports[0], reports[len(reports)-1]; first.Done != 0 || last.Done != int64(len(big)) || last.Total != int64(len(big)) {
		t.Errorf("progress went from %+v to %+v, want 0 to %d of %d", first, last, len(big), len(big))
	}
}

// randomBytes returns incompressible data, so its gzip is as big as itself.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func TestConcurrentFetchesIntoOneDir(t *testing.T) {
	set := newFakeSet(t)
	src := set.writeTo(t, t.TempDir())
	dataDir := t.TempDir()

	const fetchers = 4
	var wg sync.WaitGroup
	errs := make([]error, fetchers)
	for i := range fetchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A fresh source per goroutine, like separate processes.
			_, errs[i] = fetchEntry(context.Background(), set.entry, FetchOptions{DataDir: dataDir, Sources: []Source{DirSource(src)}})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("fetcher %d: %v", i, err)
		}
	}
	assertSameFiles(t, set, dataDir)
	if _, _, err := loadEntry(context.Background(), set.entry, FetchOptions{DataDir: dataDir, Offline: true}); err != nil {
		t.Errorf("loading what the concurrent fetches left: %v", err)
	}
}

func TestLoadWithoutWritableDataDirStillLoads(t *testing.T) {
	set := newFakeSet(t)
	src := set.writeTo(t, t.TempDir())
	// A folder under a regular file cannot be created, even by root (who
	// would write through permission bits).
	blocker := filepath.Join(t.TempDir(), "file")
	writeFile(t, blocker, []byte("not a folder"))
	dataDir := filepath.Join(blocker, "data")
	var rec recorder

	train, _, err := loadEntry(context.Background(), set.entry, rec.opts(dataDir, DirSource(src)))
	if err != nil {
		t.Fatalf("load failed although a source works: %v", err)
	}
	if train.N != fakeTrainN || !rec.logged("cannot cache") {
		t.Errorf("got N=%d, log %q; want the data loaded and the caching failure logged", train.N, rec.logs)
	}

	_, err = fetchEntry(context.Background(), set.entry, rec.opts(dataDir, DirSource(src)))
	if err == nil || !strings.Contains(err.Error(), "data dir") {
		t.Errorf("Fetch into an unusable data dir: got %v, want an error about the data dir", err)
	}
}

func TestCancelledContextStopsFetching(t *testing.T) {
	set := newFakeSet(t)
	src := set.writeTo(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := fetchEntry(ctx, set.entry, FetchOptions{DataDir: t.TempDir(), Sources: []Source{DirSource(src)}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// fakeGoTool writes a script that answers `go mod download -json` like the
// go tool does, with the given JSON and exit status.
func fakeGoTool(t *testing.T, json string, exit int) string {
	path := filepath.Join(t.TempDir(), "go")
	script := fmt.Sprintf("#!/bin/sh\ncat <<'EOF'\n%s\nEOF\nexit %d\n", json, exit)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestGoModuleSource(t *testing.T) {
	set := newFakeSet(t)
	modDir := t.TempDir()
	set.writeTo(t, filepath.Join(modDir, "data"))

	t.Run("module folder", func(t *testing.T) {
		src := &goModuleSource{module: "example.com/m", version: "v1.0.0",
			goTool: fakeGoTool(t, fmt.Sprintf(`{"Path": "example.com/m", "Dir": %q}`, modDir), 0)}
		dataDir := t.TempDir()
		if _, err := fetchEntry(context.Background(), set.entry, FetchOptions{DataDir: dataDir, Sources: []Source{src}}); err != nil {
			t.Fatal(err)
		}
		assertSameFiles(t, set, dataDir)
	})
	t.Run("download error", func(t *testing.T) {
		src := &goModuleSource{module: "example.com/m", version: "v1.0.0",
			goTool: fakeGoTool(t, `{"Path": "example.com/m", "Error": "reading proxy: 403 Forbidden"}`, 1)}
		_, _, err := src.Open(context.Background(), "x.gz")
		if err == nil || !strings.Contains(err.Error(), "403 Forbidden") {
			t.Errorf("got %v, want the go tool's error", err)
		}
	})
	t.Run("no go tool", func(t *testing.T) {
		src := &goModuleSource{module: "example.com/m", version: "v1.0.0", goTool: "no-such-go-tool-here"}
		_, _, err := src.Open(context.Background(), "x.gz")
		if err == nil || !strings.Contains(err.Error(), "not on PATH") {
			t.Errorf("got %v, want an error saying the go tool is missing", err)
		}
	})
	t.Run("garbage output", func(t *testing.T) {
		src := &goModuleSource{module: "example.com/m", version: "v1.0.0", goTool: fakeGoTool(t, "hello", 0)}
		_, _, err := src.Open(context.Background(), "x.gz")
		if err == nil || !strings.Contains(err.Error(), "unreadable output") {
			t.Errorf("got %v, want an error about the output", err)
		}
	})
}

func TestLookup(t *testing.T) {
	mnist, err := Lookup("mnist")
	if err != nil {
		t.Fatal(err)
	}
	if mnist.Name != "mnist" || mnist.Mean != 0.1307 || mnist.Std != 0.3081 || mnist.Classes[7] != "7" {
		t.Errorf("mnist info %+v", mnist)
	}
	fashion, err := Lookup("fashion-mnist")
	if err != nil {
		t.Fatal(err)
	}
	if fashion.Classes[0] != "T-shirt/top" || fashion.Classes[9] != "Ankle boot" {
		t.Errorf("fashion-mnist classes %q", fashion.Classes)
	}
	for _, name := range Names() {
		if _, err := Lookup(name); err != nil {
			t.Errorf("Names lists %q but Lookup says %v", name, err)
		}
	}
	_, err = Lookup("cifar")
	if err == nil || !strings.Contains(err.Error(), `"cifar"`) || !strings.Contains(err.Error(), "mnist, fashion-mnist") {
		t.Errorf("unknown name: got %v, want an error listing the valid names", err)
	}
}

func TestFetchWithoutDataDirUsesTheUserCache(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir()) // on macOS the cache dir derives from HOME
	set := newFakeSet(t)
	src := set.writeTo(t, t.TempDir())
	var rec recorder
	opts := rec.opts("", DirSource(src))
	dir, err := fetchEntry(context.Background(), set.entry, opts)
	if err != nil {
		t.Fatal(err)
	}
	userCache, _ := os.UserCacheDir()
	if want := filepath.Join(userCache, "mnist-tui", "fake"); dir != want {
		t.Errorf("Fetch without a data dir used %s, want %s", dir, want)
	}
	assertSameFiles(t, set, dir)
}

func TestFileNamesAreTheStandardOnes(t *testing.T) {
	for _, name := range Names() {
		e, _ := lookupEntry(name)
		var got []string
		for _, f := range e.files {
			got = append(got, f.gzName())
		}
		want := []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}
		if !slices.Equal(got, want) {
			t.Errorf("%s files %q, want %q", name, got, want)
		}
	}
}

// The attack of issue 14 through Load and Fetch: a cached train-images file whose
// header claims 9 999 999 images over megabytes of zeros is refused by its
// header and named, whatever follows.
func TestLoadRefusesAFileClaimingTooManyImages(t *testing.T) {
	set := newFakeSet(t)
	dir := set.writeTo(t, t.TempDir())
	name := set.entry.files[trainImages].gzName()
	writeFile(t, filepath.Join(dir, name),
		gzipBytes(t, idxBytes([]uint32{9_999_999, Rows, Cols}, make([]byte, 8<<20))))
	var rec recorder
	opts := rec.opts(dir)
	opts.Offline = true
	want := fmt.Sprintf("header claims 9999999 images, want %d", fakeTrainN)
	_, _, err := loadEntry(context.Background(), set.entry, opts)
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), name) {
		t.Errorf("Load: got %v, want an error naming %s with %q", err, name, want)
	}
	_, err = fetchEntry(context.Background(), set.entry, opts)
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), name) {
		t.Errorf("Fetch: got %v, want an error naming %s with %q", err, name, want)
	}

	// The same file from a mirror, into an empty data dir.
	attack := readFileBytes(t, filepath.Join(dir, name))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/"+name) {
			w.Write(attack)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	mirror := HTTPSource(srv.URL+"/", srv.Client())
	_, _, err = loadEntry(context.Background(), set.entry, rec.opts(t.TempDir(), mirror))
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), srv.URL) {
		t.Errorf("Load from a mirror: got %v, want an error naming the mirror with %q", err, want)
	}
}

// A download killed mid-way leaves its temporary file; the next fetch or
// load removes it, but never a download still being written (its lock is
// held) nor any file that is not one of ours.
func TestStaleDownloadsAreRemovedLiveOnesKept(t *testing.T) {
	if !canTellStale {
		t.Skip("no flock on this system: stale downloads are kept")
	}
	for _, op := range []string{"fetch", "load"} {
		t.Run(op, func(t *testing.T) {
			set := newFakeSet(t)
			dir := set.writeTo(t, t.TempDir())
			var rec recorder
			live, err := (&fetcher{entry: set.entry, dir: dir}).createTemp(set.entry.files[testLabels])
			if err != nil {
				t.Fatal(err)
			}
			defer live.discard()
			stale := filepath.Join(dir, "."+set.entry.files[trainImages].gzName()+".123456.tmp")
			writeFile(t, stale, []byte("half a download"))
			notOurs := []string{
				filepath.Join(dir, ".other.gz.1.tmp"),
				filepath.Join(dir, "notes.tmp"),
				filepath.Join(dir, set.entry.files[trainImages].gzName()+".1.tmp"), // not hidden: not our name
			}
			for _, p := range notOurs {
				writeFile(t, p, []byte("someone else's"))
			}

			opts := rec.opts(dir)
			opts.Offline = true
			if op == "fetch" {
				_, err = fetchEntry(context.Background(), set.entry, opts)
			} else {
				_, _, err = loadEntry(context.Background(), set.entry, opts)
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the abandoned download %s is still there (stat: %v)", stale, err)
			}
			if !rec.logged("removed " + stale) {
				t.Errorf("the removal was not logged: %q", rec.logs)
			}
			for _, p := range append(notOurs, live.file.Name()) {
				if _, err := os.Stat(p); err != nil {
					t.Errorf("%s was removed: %v", p, err)
				}
			}
		})
	}
}
