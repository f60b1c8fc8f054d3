package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mnist-tui/dataset"
	"mnist-tui/engine/config"
	"mnist-tui/engine/runs"
	"mnist-tui/engine/train"
)

// testMNIST is real MNIST, loaded once per test binary (decoding and
// verifying it takes seconds, more under the race detector).
var testMNIST struct {
	once sync.Once
	data *train.Data
	err  error
}

// smallMNIST is a loader with the first nTrain and nTest images of real
// MNIST, so that comparing models takes seconds.
func smallMNIST(t *testing.T, nTrain, nTest int) dataLoader {
	t.Helper()
	testMNIST.once.Do(func() {
		dir := dataDir(t)
		info, err := dataset.Lookup("mnist")
		if err != nil {
			testMNIST.err = err
			return
		}
		trainSet, testSet, err := dataset.Load(context.Background(), "mnist", dataset.FetchOptions{DataDir: dir, Offline: true})
		testMNIST.data, testMNIST.err = &train.Data{Info: info, Train: trainSet, Test: testSet}, err
	})
	if testMNIST.err != nil || testMNIST.data == nil {
		t.Fatalf("loading MNIST: %v", testMNIST.err)
	}
	full := testMNIST.data
	return func(context.Context, config.Config, *Env) (*train.Data, error) {
		return &train.Data{Info: full.Info, Train: firstImages(full.Train, nTrain), Test: firstImages(full.Test, nTest)}, nil
	}
}

func firstImages(s *dataset.Set, n int) *dataset.Set {
	return &dataset.Set{Name: s.Name, Images: s.Images[:n*dataset.ImageSize], Labels: s.Labels[:n], N: n}
}

// runCompareIn runs compare in dir (with a config.yaml that logs every 10
// batches and learns fast enough for a small data set) and returns its
// error and output.
func runCompareIn(t *testing.T, ctx context.Context, dir string, load dataLoader, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	defaultConfig, readErr := os.ReadFile(configPath)
	if readErr != nil {
		t.Fatal(readErr)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("log_interval: 10\nthreads: 2\nlearning_rate: 0.05\nbatch_size: 32\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	var out, errOut bytes.Buffer
	err = compare(ctx, &Env{Stdout: &out, Stderr: &errOut, DefaultConfig: defaultConfig}, args, load)
	return out.String(), errOut.String(), err
}

func TestCompareTwoModels(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two models on a slice of real MNIST")
	}
	dir := t.TempDir()
	stdout, stderr, err := runCompareIn(t, context.Background(), dir, smallMNIST(t, 1000, 300),
		"--models", "linear,cnn", "--epochs", "2", "--headless")
	if err != nil {
		t.Fatalf("compare: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	for _, want := range []string{"== linear (1 of 2) ==", "== cnn (2 of 2) ==", "[2 / 2]: Accuracy on test set:",
		"| model | parameters | epoch 1 | epoch 2 | best | s/epoch | images/s | state | run |"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(stdout, "\n") {
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) == 9 && (cells[0] == "linear" || cells[0] == "cnn") {
			rows[cells[0]] = cells
		}
	}
	if len(rows) != 2 {
		t.Fatalf("want a row for each model:\n%s", stdout)
	}
	for model, cells := range rows {
		if !regexp.MustCompile(`^\d{1,3}(,\d{3})+$`).MatchString(cells[1]) {
			t.Errorf("%s: parameters %q, want thousands grouped", model, cells[1])
		}
		if cells[7] != "done" || !strings.HasSuffix(cells[8], "-"+model) {
			t.Errorf("%s: state %q run %q", model, cells[7], cells[8])
		}
		// The numbers are those the run recorded, and it learned something.
		r, err := runs.Load(filepath.Join(dir, "runs", cells[8]))
		if err != nil || len(r.TestAcc) != 2 {
			t.Fatalf("%s: run folder: %v, %d epochs", model, err, len(r.TestAcc))
		}
		for e, acc := range r.TestAcc {
			if want := strconv.FormatFloat(acc, 'f', 2, 64); cells[2+e] != want {
				t.Errorf("%s epoch %d: table says %q, the run %s", model, e+1, cells[2+e], want)
			}
		}
		if r.BestAcc < 20 {
			t.Errorf("%s: best accuracy %.2f %%, want well above chance (10 %%)", model, r.BestAcc)
		}
	}
	// Exactly one best, in bold.
	if n := strings.Count(stdout, "**"); n != 2 {
		t.Errorf("%d bold markers, want one bold best:\n%s", n, stdout)
	}

	reports, _ := filepath.Glob(filepath.Join(dir, "runs", "compare-*.md"))
	if len(reports) != 1 {
		t.Fatalf("reports %v, want one", reports)
	}
	report, _ := os.ReadFile(reports[0])
	if !strings.Contains(stdout, string(report)) || !strings.HasPrefix(string(report), "# Model comparison") {
		t.Errorf("the saved report is not the printed one:\n%s", report)
	}
	base := strings.TrimSuffix(reports[0], ".md")
	for _, suffix := range []string{"-accuracy.svg", "-accuracy.png", "-loss.svg", "-loss.png"} {
		if info, err := os.Stat(base + suffix); err != nil || info.Size() == 0 {
			t.Errorf("plot %s: %v", base+suffix, err)
		}
	}
}

// Ctrl+C during the first model stops it (it keeps its checkpoint), skips
// the rest and still prints and saves the table.
func TestCompareInterruptedShowsWhatRan(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on a slice of real MNIST")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Interrupt once the first model has logged.
		for ctx.Err() == nil {
			matches, _ := filepath.Glob(filepath.Join(dir, "runs", "*", "metrics.jsonl"))
			for _, m := range matches {
				if data, _ := os.ReadFile(m); bytes.Contains(data, []byte(`"type":"log"`)) {
					cancel()
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	stdout, stderr, err := runCompareIn(t, ctx, dir, smallMNIST(t, 20000, 500),
		"--models", "cnn,linear", "--epochs", "3", "--headless")
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err %v, want interrupted\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	if !regexp.MustCompile(`(?m)^\| cnn \| [\d,]+ \|.*\| stopped \| \d{8}-\d{6}-cnn \|$`).MatchString(stdout) {
		t.Errorf("no stopped cnn row:\n%s", stdout)
	}
	if !regexp.MustCompile(`(?m)^\| linear \|.*\| not run \|  \|$`).MatchString(stdout) {
		t.Errorf("no 'not run' linear row:\n%s", stdout)
	}
	if strings.Contains(stdout, "== linear") {
		t.Error("the second model started after the interrupt")
	}
	if last, _ := filepath.Glob(filepath.Join(dir, "runs", "*-cnn", "last.safetensors")); len(last) != 1 {
		t.Errorf("the stopped model has no last.safetensors: %v", last)
	}
	if reports, _ := filepath.Glob(filepath.Join(dir, "runs", "compare-*.md")); len(reports) != 1 {
		t.Errorf("reports %v, want one", reports)
	}
}

func TestCompareUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"compare", "--models", "linear,transformer"}, `unknown model "transformer"`},
		{[]string{"compare", "--models", "cnn, cnn"}, "cnn is listed twice"},
		{[]string{"compare", "--models", " , "}, "no model given"},
		{[]string{"compare", "--models", "cnn,custom"}, "custom is the network of the --config file, and it has none"},
		{[]string{"compare", "--model", "cnn"}, "--models"},
		{[]string{"compare", "--epochs", "0"}, "epochs"},
		{[]string{"compare", "extra"}, `unexpected argument "extra"`},
	}
	for _, c := range cases {
		code, _, stderr := run(t, t.TempDir(), c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d mentioning %q", c.args, code, stderr, exitUsage, c.want)
		}
	}
	code, stdout, _ := run(t, t.TempDir(), "compare", "--help")
	if code != exitOK || !strings.Contains(stdout, "--models") {
		t.Errorf("--help: exit %d, %q", code, stdout)
	}
}

func TestThousands(t *testing.T) {
	for v, want := range map[float64]string{0: "", 7: "7", 999: "999", 1000: "1,000", 7850: "7,850", 1234567: "1,234,567", 21839.6: "21,840"} {
		if got := thousands(v); got != want {
			t.Errorf("thousands(%v) = %q, want %q", v, got, want)
		}
	}
}

// writeFiles writes name: text pairs into dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Two configurations, a custom network and the CNN at another learning
// rate, trained side by side: one row each, named for its file, with the
// settings that differ as columns and those they share above the table.
func TestCompareConfigurations(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two networks on a slice of real MNIST")
	}
	dir := t.TempDir()
	const shared = "log_interval: 10\nthreads: 2\nbatch_size: 32\nepochs: 1\n"
	writeFiles(t, dir, map[string]string{
		"tiny.yaml": shared + "learning_rate: 0.05\nmodel: custom\nname: tiny-mlp\nnetwork:\n  - flatten\n  - linear: 32\n  - relu\n  - linear: 10\n",
		"cnn.yaml":  shared + "learning_rate: 0.02\nmodel: cnn\n",
	})
	stdout, stderr, err := runCompareIn(t, context.Background(), dir, smallMNIST(t, 1000, 300),
		"--config", "tiny.yaml", "--config", "cnn.yaml", "--headless")
	if err != nil {
		t.Fatalf("compare: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	for _, want := range []string{"== tiny (1 of 2) ==", "== cnn (2 of 2) ==", "# Configuration comparison",
		"mnist, 1 epoch, batch 32, momentum 0.5, seed 1, 2 threads;",
		"| config | model | lr | parameters | epoch 1 | best | s/epoch | images/s | state | run |"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	for _, row := range []string{`(?m)^\| tiny \| tiny-mlp \| 0\.05 \| 25,450 \| [\d.]+ \|.*\| done \| \d{8}-\d{6}-tiny-mlp \|$`,
		`(?m)^\| cnn \| cnn \| 0\.02 \| 21,840 \| [\d.]+ \|.*\| done \| \d{8}-\d{6}-cnn \|$`} {
		if !regexp.MustCompile(row).MatchString(stdout) {
			t.Errorf("no row matching %s:\n%s", row, stdout)
		}
	}
	if reports, _ := filepath.Glob(filepath.Join(dir, "runs", "compare-*-accuracy.svg")); len(reports) != 1 {
		t.Errorf("plots %v, want one accuracy plot", reports)
	}
}

func TestCompareConfigurationErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.yaml":         "learning_rate: 0.05\n",
		"b.yaml":         "momentum: 0.9\n",
		"fashion.yaml":   "dataset: fashion-mnist\n",
		"elsewhere.yaml": "runs_dir: other\n",
		"bad.yaml":       "model: custom\nnetwork:\n  - flatten\n  - linaer: 10\n",
		"big.yaml":       "batch_size: 60000\nmodel: custom\nnetwork:\n  - conv: {out: 256, kernel: 3, padding: 1}\n  - flatten\n  - linear: 10\n",
	})
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"compare", "--config", "a.yaml", "--config", "b.yaml", "--models", "cnn"}, exitUsage, "--models and several --config do not mix"},
		{[]string{"compare", "--config", "a.yaml", "--config", "a.yaml"}, exitUsage, "--config a.yaml is given twice"},
		{[]string{"compare", "--config", "a.yaml", "--config", "fashion.yaml"}, exitUsage, "a.yaml trains on mnist but fashion.yaml on fashion-mnist: a comparison trains every configuration on the same images"},
		{[]string{"compare", "--config", "a.yaml", "--config", "elsewhere.yaml"}, exitUsage, `set the same runs_dir: in both files, or give --runs-dir`},
		{[]string{"compare", "--config", "a.yaml", "--config", "bad.yaml"}, exitFailure, "bad.yaml:4:5"},
		{[]string{"compare", "--config", "a.yaml", "--config", "missing.yaml"}, exitFailure, "missing.yaml"},
		{[]string{"compare", "--config", "a.yaml", "--config", "big.yaml"}, exitFailure, "big: batch_size 60000: custom"},
	}
	for _, c := range cases {
		code, _, stderr := run(t, dir, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d mentioning %q", c.args[1:], code, stderr, c.code, c.want)
		}
	}
}

func TestSharedSettingsLeaveOutWhatDiffers(t *testing.T) {
	cfg := config.Defaults()
	cfg.Threads = 1
	if got, want := sharedSettings(cfg, []string{"learning_rate"}, false), "model cnn, mnist, 10 epochs, batch 64, momentum 0.5, seed 1, 1 thread"; got != want {
		t.Errorf("sharedSettings = %q, want %q", got, want)
	}
	if got, want := sharedSettings(cfg, []string{"model", "batch_size"}, false), "mnist, 10 epochs, lr 0.01, momentum 0.5, seed 1, 1 thread"; got != want {
		t.Errorf("sharedSettings = %q, want %q", got, want)
	}
	if got := sharedSettings(cfg, nil, true); strings.Contains(got, "model") {
		t.Errorf("sharedSettings by model = %q: the model has a column of its own", got)
	}
}

// With one --config that declares a network, --models may list it as
// custom beside the built-in models; its row is named by its name.
func TestCompareModelsWithTheConfigsNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two models on a slice of real MNIST")
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"mine.yaml": "log_interval: 10\nthreads: 2\nbatch_size: 32\nlearning_rate: 0.05\nname: tiny\nnetwork:\n  - flatten\n  - linear: 10\n"})
	stdout, stderr, err := runCompareIn(t, context.Background(), dir, smallMNIST(t, 500, 200),
		"--config", "mine.yaml", "--models", "custom,linear", "--epochs", "1", "--headless")
	if err != nil {
		t.Fatalf("compare: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	for _, want := range []string{"== tiny (1 of 2) ==", "== linear (2 of 2) ==", "| model | parameters | epoch 1 |"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if !regexp.MustCompile(`(?m)^\| tiny \| 7,850 \|.*\| done \| \d{8}-\d{6}-tiny \|$`).MatchString(stdout) {
		t.Errorf("no row for the custom network:\n%s", stdout)
	}
}

func TestConfigLabelIsTheFileNameUnlessTwoShareIt(t *testing.T) {
	paths := []string{"exp/wide.yaml", "a/base.yaml", "b/base.yml"}
	for path, want := range map[string]string{"exp/wide.yaml": "wide", "a/base.yaml": "a/base.yaml", "b/base.yml": "b/base.yml"} {
		if got := configLabel(path, paths); got != want {
			t.Errorf("configLabel(%q) = %q, want %q", path, got, want)
		}
	}
}
