package cli

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mnist-tui/dataset"
	"mnist-tui/engine"
	"mnist-tui/engine/memlimit"
)

// configPath is the repository's config.yaml, resolved before any test
// changes the working folder.
var configPath, _ = filepath.Abs("../../config.yaml")

// run runs mnist-tui with args in a fresh folder and returns the exit code
// and what it printed.
func run(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	defaultConfig, err := os.ReadFile(configPath)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	t.Chdir(dir)
	code = Main(args, &Env{Stdout: &out, Stderr: &errOut, DefaultConfig: defaultConfig})
	return code, out.String(), errOut.String()
}

func TestUsageErrorsExitTwo(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"train", "--epochs", "many"}, "invalid value"},
		{[]string{"train", "--no-such-flag"}, "no-such-flag"},
		{[]string{"train", "--lr", "-1"}, "learning_rate"},
		{[]string{"train", "--model", "transformer"}, "linear"},
		{[]string{"eval"}, "checkpoint"},
		{[]string{"predict", "only-a-checkpoint.safetensors"}, "at least one image"},
		{[]string{"bench", "--batches", "0"}, "at least 1"},
		{[]string{"data", "--dataset", "cifar"}, "fashion-mnist"},
	}
	for _, c := range cases {
		code, _, stderr := run(t, t.TempDir(), c.args...)
		if code != exitUsage {
			t.Errorf("%v: exit code %d, want %d (stderr %q)", c.args, code, exitUsage, stderr)
		}
		if !strings.Contains(stderr, c.want) {
			t.Errorf("%v: stderr %q does not mention %q", c.args, stderr, c.want)
		}
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"train", "--help"}, {"data", "-h"}, {"eval", "--help"}, {"predict", "--help"}, {"bench", "--help"}} {
		code, stdout, _ := run(t, t.TempDir(), args...)
		if code != exitOK || !strings.Contains(stdout, "Usage") {
			t.Errorf("%v: exit %d, stdout %q", args, code, stdout)
		}
	}
}

func TestBadConfigFileNamesTheLine(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("model: cnn\nepochs: 3\nbatch_size: 0\n"), 0o644)
	code, _, stderr := run(t, dir, "train", "--headless")
	if code == exitOK || !strings.Contains(stderr, "config.yaml:3") || !strings.Contains(stderr, "batch_size") {
		t.Errorf("exit %d, stderr %q: want the file, line 3 and the key", code, stderr)
	}
}

// TestHeadlessTrainingPrintsTheTutorialsLines trains the linear model for one
// epoch on real MNIST and checks the output a tutorial user lays beside theirs.
func TestHeadlessTrainingPrintsTheTutorialsLines(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on real MNIST")
	}
	dir := t.TempDir()
	code, stdout, stderr := run(t, dir, "train", "--headless", "--model", "linear", "--epochs", "1", "--data-dir", dataDir(t))
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	logLine := regexp.MustCompile(`(?m)^\[1,   (300|600|900)\]: loss: \d\.\d{3} , acc: \d{2}\.\d{2} %$`)
	if n := len(logLine.FindAllString(stdout, -1)); n != 3 {
		t.Errorf("%d log lines of the tutorial's form, want 3:\n%s", n, stdout)
	}
	m := regexp.MustCompile(`(?m)^\[1 / 1\]: Accuracy on test set: (\d+\.\d\d) %$`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no test accuracy line:\n%s", stdout)
	}
	if m[1] < "85.00" {
		t.Errorf("linear model after one epoch: %s %%, want above 85", m[1])
	}
	runs, _ := filepath.Glob(filepath.Join(dir, "runs", "*", "last.safetensors"))
	if len(runs) != 1 {
		t.Fatalf("want one run with last.safetensors, found %v", runs)
	}

	// eval of the checkpoint gives the accuracy training reported.
	code, evalOut, stderr := run(t, dir, "eval", runs[0], "--data-dir", dataDir(t))
	if code != exitOK || !strings.Contains(evalOut, "Accuracy on test set: "+m[1]+" %") {
		t.Errorf("eval: exit %d, want accuracy %s %%:\n%s%s", code, m[1], evalOut, stderr)
	}
	for _, want := range []string{"Per-class accuracy", "Confusion matrix", "(linear)"} {
		if !strings.Contains(evalOut, want) {
			t.Errorf("eval output lacks %q", want)
		}
	}

	// predict reads test digits from PNG files; a bad file is named and the
	// others still get answers.
	images := writeTestDigits(t, dir, 5)
	bad := filepath.Join(dir, "notes.png")
	os.WriteFile(bad, []byte("not a picture"), 0o644)
	code, predOut, stderr := run(t, dir, append([]string{"predict", runs[0], "--top", "3", bad}, images...)...)
	if code != exitFailure {
		t.Errorf("predict with one bad image: exit %d, want %d", code, exitFailure)
	}
	if !strings.Contains(stderr, "notes.png: ") {
		t.Errorf("the bad image is not named: %q", stderr)
	}
	right := 0
	for i, img := range images {
		label := strings.TrimSuffix(filepath.Base(img), ".png")[len(fmt.Sprint(i))+1:]
		line := regexp.MustCompile(regexp.QuoteMeta(img) + `: (\d) \(p=[01]\.\d\d\), \d \(p=[01]\.\d\d\), \d \(p=[01]\.\d\d\)`).FindStringSubmatch(predOut)
		if line == nil {
			t.Errorf("no top-3 line for %s in:\n%s", img, predOut)
			continue
		}
		if line[1] == label {
			right++
		}
	}
	if right < 4 {
		t.Errorf("predict got %d of 5 test digits right, want at least 4:\n%s", right, predOut)
	}
}

// writeTestDigits saves the first n MNIST test images as PNG files named
// <index>-<label>.png, black ink on white paper as a user would draw them.
func writeTestDigits(t *testing.T, dir string, n int) []string {
	t.Helper()
	_, test, err := dataset.Load(context.Background(), "mnist", dataset.FetchOptions{DataDir: dataDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for i := 0; i < n; i++ {
		img := image.NewGray(image.Rect(0, 0, 28, 28))
		for p, v := range test.Image(i) {
			img.Pix[p] = 255 - v
		}
		path := filepath.Join(dir, fmt.Sprintf("%d-%d.png", i, test.Labels[i]))
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		png.Encode(f, img)
		f.Close()
		paths = append(paths, path)
	}
	return paths
}

func TestEvalTakesABarePyTorchStateDict(t *testing.T) {
	if testing.Short() {
		t.Skip("reads real MNIST")
	}
	path, _ := filepath.Abs("../../engine/testdata/torch_cnn_state_dict.safetensors")
	code, stdout, stderr := run(t, t.TempDir(), "eval", path, "--data-dir", dataDir(t))
	if code != exitOK || !strings.Contains(stdout, "(cnn)") || !strings.Contains(stdout, "Accuracy on test set: ") {
		t.Errorf("eval of a PyTorch state_dict: exit %d\n%s%s", code, stdout, stderr)
	}
}

// dataDir is a folder holding verified MNIST, fetched once per test binary.
func dataDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "mnist-tui-test-data", "mnist")
	var out, errOut bytes.Buffer
	cfg, _ := os.ReadFile(configPath)
	if code := Main([]string{"data", "--data-dir", dir}, &Env{Stdout: &out, Stderr: &errOut, DefaultConfig: cfg}); code != exitOK {
		t.Fatalf("fetching MNIST: exit %d: %s", code, errOut.String())
	}
	return dir
}

func TestDataSummarisesMNIST(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := run(t, dir, "data", "--data-dir", filepath.Join(dir, "mnist"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"verified", "train  60000 images", "test   10000 images", "1:6742", "1:1135"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
}

func TestDivergenceStopsHeadlessTrainingWithAClearMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on real MNIST")
	}
	dir := t.TempDir()
	code, stdout, stderr := run(t, dir, "train", "--headless", "--model", "cnn", "--lr", "10", "--epochs", "1", "--data-dir", dataDir(t))
	if code != exitFailure {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitFailure, stdout, stderr)
	}
	for _, want := range []string{"diverged", "lower the learning rate", "step "} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "runs", "*", "last.safetensors")); len(m) != 0 {
		t.Errorf("a checkpoint of diverged weights was written: %v", m)
	}
}

// The command line refuses a batch too large for memory before loading
// data or building the model, as a usage error naming the largest batch.
func TestTrainRefusesABatchTooLargeForMemory(t *testing.T) {
	memory, _ := memlimit.Machine()
	if memory == 0 {
		t.Skip("the machine's memory is unknown here")
	}
	if need, _ := engine.WorkspaceBytes("inception", 60000, 2); need <= memory/memlimit.Share {
		t.Skipf("the share of this machine's memory (%d bytes) holds inception in one batch", memory/memlimit.Share)
	}
	code, _, stderr := run(t, t.TempDir(), "train", "--headless", "--model", "inception", "--batch-size", "60000", "--threads", "2", "--data-dir", t.TempDir())
	if code != exitUsage || !strings.Contains(stderr, "use batch_size") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
