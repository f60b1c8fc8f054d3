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
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"mnist-tui/dataset"
	"mnist-tui/engine"
	"mnist-tui/engine/checkpoint"
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
		{[]string{"predict", "only-a-checkpoint.safetensors"}, "at least one image, got 1 argument"},
		{[]string{"eval", "a", "b"}, "got 2 arguments"},
		{[]string{"eval", "--nope"}, "flag provided but not defined: --nope"},
		{[]string{"train", "--epochs"}, "flag needs an argument: --epochs"},
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
		if strings.Contains(stderr, " 1 arguments") || !strings.Contains(stderr, "--help' for") {
			t.Errorf("%v: stderr %q: want \"1 argument\" and how to get help", c.args, stderr)
		}
	}
}

// Every command's --help prints its usage once, its flags written with two
// dashes as the README writes them; the top-level help lists train's flags.
func TestHelpPrintsUsageOnceWithTwoDashes(t *testing.T) {
	for _, c := range commands() {
		code, stdout, stderr := run(t, t.TempDir(), c.name, "--help")
		if code != exitOK || stderr != "" {
			t.Errorf("%s --help: exit %d, stderr %q", c.name, code, stderr)
		}
		if n := strings.Count(stdout, "Usage:"); n != 1 {
			t.Errorf("%s --help prints its usage %d times:\n%s", c.name, n, stdout)
		}
		flags := regexp.MustCompile(`(?m)^  (-+)[a-z]`).FindAllStringSubmatch(stdout, -1)
		if len(flags) == 0 && strings.Contains(stdout, "Flags:") {
			t.Errorf("%s --help lists no flags under its Flags: heading:\n%s", c.name, stdout)
		}
		for _, f := range flags {
			if f[1] != "--" {
				t.Errorf("%s --help lists a flag with %q:\n%s", c.name, f[1], stdout)
			}
		}
	}
	_, stdout, _ := run(t, t.TempDir(), "--help")
	for _, want := range []string{"--batch-size int", "--headless", "--resume file", "--model string", "--version", "Exit codes: 0"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the top-level help lacks %q:\n%s", want, stdout)
		}
	}
}

func TestVersionNamesTheBuild(t *testing.T) {
	code, stdout, _ := run(t, t.TempDir(), "--version")
	if code != exitOK || !strings.HasPrefix(stdout, "mnist-tui ") || !strings.Contains(stdout, runtime.Version()) {
		t.Errorf("--version: exit %d, output %q: want the program and %s", code, stdout, runtime.Version())
	}
	info := &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Path: "mnist-tui", Version: "v0.0.0-20261203-abcdef"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abcdef0123"}, {Key: "vcs.modified", Value: "true"},
			{Key: "vcs.time", Value: "2026-12-03T05:00:00Z"}, {Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "amd64"}}}
	want := "mnist-tui " + Version + "\nmodule mnist-tui v0.0.0-20261203-abcdef\nrevision abcdef0123 with uncommitted changes (committed 2026-12-03T05:00:00Z)\nbuilt with go1.99.1 for linux/amd64\n"
	if got := versionText(info, true); got != want {
		t.Errorf("versionText = %q, want %q", got, want)
	}
	if got := versionText(&debug.BuildInfo{GoVersion: "go1.99.1"}, true); !strings.Contains(got, "revision unknown") {
		t.Errorf("without VCS information: %q, want \"revision unknown\"", got)
	}
}

// --model is honoured by eval and predict wherever it stands: naming the wrong model
// for a CNN's state_dict fails on the tensors, not on an empty model name.
func TestEvalHonoursModelFlagInEitherOrder(t *testing.T) {
	path, _ := filepath.Abs("../../engine/testdata/torch_cnn_state_dict.safetensors")
	image := writeBlankPicture(t, t.TempDir())
	for _, args := range [][]string{{"eval", path, "--model", "linear"}, {"eval", "--model", "linear", path},
		{"predict", path, image, "--model", "linear"}, {"predict", "--model", "linear", path, image}} {
		code, _, stderr := run(t, t.TempDir(), args...)
		if code != exitFailure || strings.Contains(stderr, "must be one of") || !strings.Contains(stderr, path) {
			t.Errorf("%v: exit %d, stderr %q: want exit 1 because the file holds no linear model", args, code, stderr)
		}
	}
	if testing.Short() {
		return
	}
	for _, args := range [][]string{{"eval", path, "--model", "cnn"}, {"eval", "--model", "cnn", path}} {
		code, stdout, stderr := run(t, t.TempDir(), append(args, "--data-dir", dataDir(t))...)
		if code != exitOK || !strings.Contains(stdout, "(cnn)") {
			t.Errorf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
}

// A checkpoint naming a data set this program does not know is a bad file,
// not a bad command line: exit 1, with the fix. The same name given with
// --dataset is the command line's fault: exit 2.
func TestCheckpointNamingAnUnknownDatasetExitsOne(t *testing.T) {
	dir := t.TempDir()
	net, err := engine.NewNet("linear", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(dir, "cifar.safetensors")
	meta := checkpoint.Meta{Model: "linear", Dataset: "cifar", Epoch: 1, Config: "model: linear\ndataset: cifar\n"}
	if err := checkpoint.Save(ckpt, net.Params(), nil, meta); err != nil {
		t.Fatal(err)
	}
	image := writeBlankPicture(t, dir)
	for _, args := range [][]string{{"eval", ckpt}, {"predict", ckpt, image}} {
		code, _, stderr := run(t, dir, args...)
		if code != exitFailure || !strings.Contains(stderr, `data set "cifar"`) || !strings.Contains(stderr, "--dataset") {
			t.Errorf("%v: exit %d, stderr %q: want exit 1 naming the data set and --dataset", args, code, stderr)
		}
	}
	if code, _, stderr := run(t, dir, "train", "--resume", ckpt, "--headless"); code != exitFailure || !strings.Contains(stderr, `"cifar"`) {
		t.Errorf("train --resume: exit %d, stderr %q: want exit 1 naming the data set", code, stderr)
	}
	for _, args := range [][]string{{"eval", ckpt, "--dataset", "cifar"}, {"predict", ckpt, image, "--dataset", "cifar"}} {
		if code, _, stderr := run(t, dir, args...); code != exitUsage {
			t.Errorf("%v: exit %d, stderr %q: want exit 2", args, code, stderr)
		}
	}
}

// writeBlankPicture saves a small white PNG and returns its path.
func writeBlankPicture(t *testing.T, dir string) string {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	path := filepath.Join(dir, "blank.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return path
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
	if code != exitFailure || !strings.Contains(stderr, "config.yaml:3") || !strings.Contains(stderr, "batch_size") {
		t.Errorf("exit %d, stderr %q: want exit 1 (a bad file, not a bad command line) with the file, line 3 and the key", code, stderr)
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
	// Compared as numbers: as strings "9.80" < "85.00" is false.
	if acc, err := strconv.ParseFloat(m[1], 64); err != nil || acc < 85 {
		t.Errorf("linear model after one epoch: %s %% (%v), want above 85", m[1], err)
	}
	if !strings.Contains(stdout, "linear on mnist: 1 epoch in ") {
		t.Errorf("the summary does not say \"1 epoch\":\n%s", stdout)
	}
	if strings.Contains(stdout, "doctor: ") {
		t.Errorf("the training doctor speaks on the healthy tutorial run:\n%s", stdout)
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
	// The same settings from a config file: the command line is not what
	// is wrong (exit 2 says it is), the file is.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big.yaml"), []byte("model: inception\nbatch_size: 60000\nthreads: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, dir, "train", "--headless", "--config", "big.yaml", "--data-dir", t.TempDir())
	if code != exitFailure || !strings.Contains(stderr, "use batch_size") || strings.Contains(stderr, "--help") {
		t.Errorf("from a config file: exit %d, stderr %q; want exit 1 with the largest batch, no usage", code, stderr)
	}
}
