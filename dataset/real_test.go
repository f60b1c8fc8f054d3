package dataset

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pixelStats returns the mean and (population) standard deviation of all
// pixels of a set, scaled to 0-1, as torchvision's normalisation constants
// are computed.
func pixelStats(s *Set) (mean, std float64) {
	var hist [256]int64
	for _, px := range s.Images {
		hist[px]++
	}
	n := float64(len(s.Images))
	for v, c := range hist {
		mean += float64(c) * float64(v) / 255
	}
	mean /= n
	for v, c := range hist {
		d := float64(v)/255 - mean
		std += float64(c) * d * d
	}
	return mean, math.Sqrt(std / n)
}

// checkRealSet checks what any real set of the family must satisfy, and
// that Info's constants are the train set's statistics rounded to 4
// decimals.
func checkRealSet(t *testing.T, name string, train, test *Set) {
	t.Helper()
	if train.N != 60000 || test.N != 10000 {
		t.Fatalf("%s: %d train and %d test images, want 60000 and 10000", name, train.N, test.N)
	}
	var perClass [NumClasses]int
	for _, l := range train.Labels {
		perClass[l]++
	}
	for c, k := range perClass {
		if k < 5000 {
			t.Errorf("%s: class %d has %d train images; the sets are roughly balanced", name, c, k)
		}
	}
	info, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	mean, std := pixelStats(train)
	if math.Abs(mean-float64(info.Mean)) > 5e-5 || math.Abs(std-float64(info.Std)) > 5e-5 {
		t.Errorf("%s: train pixels have mean %.5f std %.5f; Info says %v %v", name, mean, std, info.Mean, info.Std)
	}
}

// TestRealMNISTViaGoModule is the path CI takes: the only network there is
// the Go module proxy.
func TestRealMNISTViaGoModule(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("loads the real MNIST (55 MB) through the go tool")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go tool is not on PATH, so the Go module source cannot work here")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dataDir := t.TempDir()
	var rec recorder
	opts := rec.opts(dataDir, GoModuleSource(GoMNISTModule, GoMNISTVersion))

	train, test, err := Load(ctx, "mnist", opts)
	if err != nil {
		t.Fatal(err)
	}
	checkRealSet(t, "mnist", train, test)
	if !rec.logged("Go module " + GoMNISTModule) {
		t.Errorf("log %q does not say the files came from the Go module", rec.logs)
	}
	for _, name := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		if _, err := os.Stat(filepath.Join(dataDir, name)); err != nil {
			t.Errorf("%s was not cached: %v", name, err)
		}
	}
	assertNoTempFiles(t, dataDir)

	// A label flipped in the cached copy (gzip intact) is caught offline,
	// then replaced by a good copy once a source is reachable. Only this
	// small file is checked again, to keep the test fast.
	e, _ := lookupEntry("mnist")
	spec := e.files[testLabels]
	labelsPath := filepath.Join(dataDir, spec.gzName())
	good := readFileBytes(t, labelsPath)
	raw := gunzipBytes(t, good)
	raw[8+123] = (raw[8+123] + 1) % NumClasses
	writeFile(t, labelsPath, gzipBytes(t, raw))

	offline, err := newFetcher(e, FetchOptions{DataDir: dataDir, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = offline.obtain(ctx, spec, false)
	var ce *ChecksumError
	if !errors.As(err, &ce) {
		t.Fatalf("corrupt cached labels: got %v, want a ChecksumError", err)
	}
	for _, want := range []string{labelsPath, spec.sha256, sha256Hex(raw), "delete it"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}

	var rec2 recorder
	online, err := newFetcher(e, rec2.opts(dataDir, GoModuleSource(GoMNISTModule, GoMNISTVersion)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := online.obtain(ctx, spec, true); err != nil {
		t.Fatal(err)
	}
	if !rec2.logged("re-fetching") {
		t.Errorf("log %q does not report the re-fetch", rec2.logs)
	}
	if !bytes.Equal(readFileBytes(t, labelsPath), good) {
		t.Error("the corrupt labels file was not replaced by the good one")
	}
}

func TestRealFashionMNISTFromDebian(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("loads the real Fashion-MNIST (55 MB)")
	}
	if raceEnabled {
		t.Skip("too slow under -race (26 MB of gzip to inflate); run without -race")
	}
	if _, err := os.Stat(DebianFashionMNISTDir); err != nil {
		t.Skipf("%s not present (Debian package dataset-fashion-mnist): %v", DebianFashionMNISTDir, err)
	}
	dataDir := t.TempDir()
	train, test, err := Load(context.Background(), "fashion-mnist",
		FetchOptions{DataDir: dataDir, Sources: []Source{DirSource(DebianFashionMNISTDir)}})
	if err != nil {
		t.Fatal(err)
	}
	checkRealSet(t, "fashion-mnist", train, test)
	assertNoTempFiles(t, dataDir)
}
