package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"mnist-tui/engine/config"
	"mnist-tui/engine/recipe"
)

// The listing names every recipe with its summary, network and target.
func TestRecipesListsEveryRecipe(t *testing.T) {
	code, stdout, stderr := run(t, t.TempDir(), "recipes")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, name := range recipe.Names() {
		r, _ := recipe.Lookup(name)
		cfg, err := config.Recipe(name)
		if err != nil {
			t.Fatal(err)
		}
		block := regexp.MustCompile(`(?m)^` + name + ` +` + regexp.QuoteMeta(r.Summary) + `\n +network ` +
			regexp.QuoteMeta(cfg.Label()) + ` \([0-9,]+ params, [0-9.]+ M mult-adds an image\); ` +
			strconv.Itoa(cfg.Epochs) + ` epochs?, batch ` + strconv.Itoa(cfg.BatchSize) + `.*\n +target +` + regexp.QuoteMeta(r.Target) + `$`)
		if !block.MatchString(stdout) {
			t.Errorf("no block for %s in:\n%s", name, stdout)
		}
	}
}

// What `recipes NAME` prints is a config file that trains the recipe.
func TestRecipesPrintsAValidConfig(t *testing.T) {
	for _, name := range recipe.Names() {
		code, stdout, stderr := run(t, t.TempDir(), "recipes", name)
		if code != exitOK {
			t.Fatalf("recipes %s: exit %d: %s", name, code, stderr)
		}
		got, err := config.Parse(name+".yaml", []byte(stdout))
		if err != nil {
			t.Fatalf("recipes %s does not parse: %v", name, err)
		}
		want, _ := config.Recipe(name)
		if !sameSettings(got, want) {
			t.Errorf("recipes %s reads as\n%s\nwant\n%s", name, got.Marshal(), want.Marshal())
		}
		if !strings.HasPrefix(stdout, "# "+name+": ") {
			t.Errorf("recipes %s does not start with its comment:\n%s", name, stdout)
		}
	}
	code, _, stderr := run(t, t.TempDir(), "recipes", "fsat")
	if code != exitUsage || !strings.Contains(stderr, "did you mean fast?") {
		t.Errorf("recipes fsat: exit %d, %q", code, stderr)
	}
}

// --recipe starts from the recipe alone (./config.yaml, which sets every
// key, is not read); a --config file's keys override it; flags override both.
func TestRecipeFlagOverrideOrder(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("config.yaml", "epochs: 1\nruns_dir: here\n")
	write("mine.yaml", "recipe: tutorial\nbatch_size: 32\n")
	fast, _ := config.Recipe("fast")
	load := func(args ...string) config.Config {
		t.Helper()
		env := &Env{Stdout: &bytes.Buffer{}}
		fs, cf, _, _, _ := trainFlagSet(env)
		if err := parse(fs, args); err != nil {
			t.Fatal(err)
		}
		cfg, _, err := cf.load(fs, env)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return cfg
	}
	if got := load("--recipe", "fast"); !sameSettings(got, fast) {
		t.Errorf("--recipe fast:\n%s\nwant the recipe:\n%s", got.Marshal(), fast.Marshal())
	}
	want := fast
	want.BatchSize, want.Epochs = 32, 2
	if got := load("--recipe", "fast", "--config", "mine.yaml", "--epochs", "2"); !sameSettings(got, want) {
		t.Errorf("--recipe fast --config mine.yaml --epochs 2:\n%s\nwant\n%s", got.Marshal(), want.Marshal())
	}
	// Without --recipe, the file's own recipe key.
	tutorial, _ := config.Recipe("tutorial")
	tutorial.BatchSize = 32
	if got := load("--config", "mine.yaml"); !sameSettings(got, tutorial) {
		t.Errorf("--config mine.yaml:\n%s", got.Marshal())
	}
	code, _, stderr := run(t, dir, "train", "--recipe", "fast", "--resume", "runs/x/last.safetensors")
	if code != exitUsage || !strings.Contains(stderr, "--resume continues a run with its own settings") {
		t.Errorf("--recipe with --resume: exit %d, %q", code, stderr)
	}
	code, _, stderr = run(t, dir, "train", "--recipe", "bset")
	if code != exitUsage || !strings.Contains(stderr, "--recipe: ") || !strings.Contains(stderr, "did you mean best?") {
		t.Errorf("--recipe bset: exit %d, %q", code, stderr)
	}
}

func TestBenchRecipeFlagsAreChecked(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--seeds", "3"}, exitUsage, "say which with --recipe NAME or --config FILE"},
		{[]string{"--to-accuracy", "99"}, exitUsage, "--recipe NAME or --config FILE"},
		{[]string{"--recipe", "fast", "--model", "cnn"}, exitUsage, "--model measures the engine's speed"},
		{[]string{"--recipe", "fast", "--batches", "3"}, exitUsage, "--batches"},
		{[]string{"--recipe", "fast", "--seeds", "0"}, exitUsage, "--seeds must be from 1 to 100 (got 0)"},
		{[]string{"--recipe", "fast", "--to-accuracy", "101"}, exitUsage, "--to-accuracy must be"},
		{[]string{"--recipe", "fast", "--to-accuracy", "NaN"}, exitUsage, "--to-accuracy must be"},
		{[]string{"--recipe", "fsat"}, exitUsage, "did you mean fast?"},
		{[]string{"--recipe", "fast", "--batch-size", "0"}, exitUsage, "batch_size"},
		{[]string{"--config", "missing.yaml"}, exitFailure, "missing.yaml"},
	}
	for _, c := range cases {
		code, _, stderr := run(t, t.TempDir(), append([]string{"bench"}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("bench %v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

// bench trains seed after seed and reports each run's accuracy and time,
// the mean and deviation over them, and which runs reached the target.
func TestBenchTrainsEverySeed(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on a slice of real MNIST")
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "small.yaml")
	if err := os.WriteFile(cfgPath, []byte("recipe: fast\nepochs: 2\nbatch_size: 32\nthreads: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	benchOut := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		err := bench(context.Background(), &Env{Stdout: &out, Stderr: &errOut}, args, smallMNIST(t, 600, 200))
		if err != nil {
			t.Fatalf("bench %v: %v\n%s", args, err, errOut.String())
		}
		return out.String()
	}
	jsonOut := benchOut("--config", cfgPath, "--seeds", "2", "--to-accuracy", "50", "--json")
	lines := strings.Split(strings.TrimSpace(jsonOut), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one JSON line per seed:\n%s", jsonOut)
	}
	var runs []recipeRun
	for i, line := range lines {
		var r recipeRun
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v in %q", err, line)
		}
		if r.Seed != uint64(i+1) || r.Recipe != "fast" || r.Epochs != 2 || r.Batch != 32 || r.Threads != 1 {
			t.Errorf("run %d: %+v", i+1, r)
		}
		if r.TestAcc < 50 || r.TrainSeconds <= 0 || r.TrainImgS <= 0 {
			t.Errorf("run %d learned nothing or took no time: %+v", i+1, r)
		}
		if r.ReachedEpoch < 1 || r.ReachedEpoch > 2 || r.SecondsToTarget <= 0 || r.SecondsToTarget > r.TrainSeconds {
			t.Errorf("run %d reached 50 %% at epoch %d after %g s of %g", i+1, r.ReachedEpoch, r.SecondsToTarget, r.TrainSeconds)
		}
		runs = append(runs, r)
	}
	if runs[0].TestAcc == runs[1].TestAcc && runs[0].TrainSeconds == runs[1].TrainSeconds {
		t.Error("the two seeds gave the same run")
	}

	text := benchOut("--config", cfgPath, "--seeds", "2", "--to-accuracy", "100")
	m := regexp.MustCompile(`(?m)^mean +(\d+\.\d\d) % ± (\d+\.\d\d), training`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no mean line:\n%s", text)
	}
	// The same seeds train the same way: the mean is the JSON runs'.
	mean, _ := meanStd([]float64{runs[0].TestAcc, runs[1].TestAcc})
	if m[1] != fmt.Sprintf("%.2f", mean) {
		t.Errorf("mean %s, want %.2f from the runs %v and %v", m[1], mean, runs[0].TestAcc, runs[1].TestAcc)
	}
	if !strings.Contains(text, "target 100.00 %: the mean is "+m[1]+" %, not met; 0 of 2 runs reached it") {
		t.Errorf("no verdict on the unreachable target:\n%s", text)
	}
	if !strings.Contains(text, "without loading the data set and without the test passes") {
		t.Errorf("the report does not say what the time counts:\n%s", text)
	}
}

func TestMeanStd(t *testing.T) {
	mean, std := meanStd([]float64{1, 2, 3, 4})
	if mean != 2.5 || math.Abs(std-math.Sqrt(5.0/3)) > 1e-15 {
		t.Errorf("meanStd(1..4) = %g, %g; want 2.5, %g", mean, std, math.Sqrt(5.0/3))
	}
	if mean, std := meanStd([]float64{7}); mean != 7 || std != 0 {
		t.Errorf("one value: %g ± %g", mean, std)
	}
}

// sameSettings compares two configurations key by key, as Marshal writes
// them: a network read from two files differs in where its layers were.
func sameSettings(a, b config.Config) bool { return string(a.Marshal()) == string(b.Marshal()) }
