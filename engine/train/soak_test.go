package train

import (
	"bufio"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestTwoRunsNeverShareAFolder starts runs of the same model at the same
// moment in one runs folder: each must get its own.
func TestTwoRunsNeverShareAFolder(t *testing.T) {
	cfg := testConfig(t)
	cfg.Epochs = 1
	data := syntheticData(64, 16, 9)
	const n = 4
	dirs := make(chan string, n)
	for i := 0; i < n; i++ {
		go func() {
			tr := New(cfg, Options{Data: data})
			tr.Run(context.Background())
			dirs <- tr.Snapshot().RunDir
		}()
	}
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		d := <-dirs
		if d == "" || seen[d] {
			t.Fatalf("run folder %q given twice or not at all", d)
		}
		seen[d] = true
	}
}

// TestSoak trains for many epochs while pausing, resuming, saving and
// changing hyperparameters at random moments, then checks that the metrics
// and checkpoints tell one consistent story. It takes a while, so it runs
// only with MNIST_TUI_SOAK set (to a number of epochs, default 30).
func TestSoak(t *testing.T) {
	env := os.Getenv("MNIST_TUI_SOAK")
	if env == "" {
		t.Skip("set MNIST_TUI_SOAK=<epochs> to run the soak test")
	}
	epochs, err := strconv.Atoi(env)
	if err != nil || epochs < 2 {
		epochs = 30
	}
	cfg := testConfig(t)
	cfg.Epochs = epochs
	cfg.LogInterval = 7
	data := syntheticData(2000, 300, 10)
	tr := New(cfg, Options{Data: data})
	done := make(chan error, 1)
	go func() { done <- tr.Run(context.Background()) }()

	rng := rand.New(rand.NewPCG(42, 42))
	var saves, pauses, edits int
	wantLR := cfg.LearningRate
loop:
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			break loop
		case <-time.After(time.Duration(rng.IntN(40)) * time.Millisecond):
		}
		switch rng.IntN(4) {
		case 0:
			tr.Send(Pause{})
			time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
			tr.Send(Resume{})
			pauses++
		case 1:
			tr.Send(Save{})
			saves++
		case 2:
			lr := []float64{0.005, 0.01, 0.02}[rng.IntN(3)]
			wantLR = lr
			tr.Send(SetHyper{LearningRate: &lr})
			edits++
		}
	}
	s := tr.Snapshot()
	t.Logf("%d epochs, %d steps, %d pauses, %d saves, %d learning-rate edits", len(s.History), s.Step, pauses, saves, edits)
	if s.State != Done || len(s.History) != epochs {
		t.Fatalf("state %v after %d of %d epochs: %s", s.State, len(s.History), epochs, s.Message)
	}
	batches := (2000 + cfg.BatchSize - 1) / cfg.BatchSize
	if s.Step != int64(epochs*batches) {
		t.Errorf("%d steps, want %d: pauses lost or repeated batches", s.Step, epochs*batches)
	}
	if s.LR != wantLR {
		t.Errorf("final learning rate %v, want the last one sent, %v", s.LR, wantLR)
	}

	// metrics.jsonl: every line valid, epochs in order, one per epoch.
	f, err := os.Open(filepath.Join(s.RunDir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	epochLines, lastEpoch, ends := 0, 0, 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("metrics.jsonl: %v in %q", err, sc.Text())
		}
		switch m["type"] {
		case "epoch":
			epochLines++
			if e := int(m["epoch"].(float64)); e != lastEpoch+1 {
				t.Errorf("epoch %d follows epoch %d", e, lastEpoch)
			} else {
				lastEpoch = e
			}
		case "end":
			ends++
		}
	}
	if epochLines != epochs || ends != 1 {
		t.Errorf("metrics.jsonl has %d epoch lines and %d end lines, want %d and 1", epochLines, ends, epochs)
	}
	// Every checkpoint reads back and matches the model.
	files, _ := filepath.Glob(filepath.Join(s.RunDir, "*.safetensors"))
	if len(files) < 2+min(saves, 1) {
		t.Errorf("only %d checkpoints after %d saves", len(files), saves)
	}
	for _, path := range files {
		paramsOf(t, path)
	}
	last := paramsOf(t, filepath.Join(s.RunDir, "last.safetensors"))
	if len(last) == 0 {
		t.Error("last.safetensors holds nothing")
	}
}
