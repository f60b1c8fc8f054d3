package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"mnist-tui/dataset"
	"mnist-tui/engine"
	"mnist-tui/engine/checkpoint"
	"mnist-tui/engine/config"
)

// syntheticData makes a small, learnable data set: each class is a bright
// bar at its own place, with noise, so a few epochs reach high accuracy.
func syntheticData(nTrain, nTest int, seed uint64) *Data {
	rng := rand.New(rand.NewPCG(seed, 1))
	make1 := func(n int) *dataset.Set {
		s := &dataset.Set{Images: make([]uint8, n*784), Labels: make([]uint8, n), N: n}
		for i := 0; i < n; i++ {
			c := rng.IntN(10)
			s.Labels[i] = uint8(c)
			img := s.Images[i*784 : (i+1)*784]
			for p := range img {
				img[p] = uint8(rng.IntN(40))
			}
			row := 3 + 2*c
			for x := 4; x < 24; x++ {
				img[row*28+x] = 255
				img[(row+1)*28+x] = 200
			}
		}
		return s
	}
	info, _ := dataset.Lookup("mnist")
	return &Data{Info: info, Train: make1(nTrain), Test: make1(nTest)}
}

func testConfig(t *testing.T) config.Config {
	cfg := config.Defaults()
	cfg.Model = "cnn"
	cfg.Epochs = 2
	cfg.BatchSize = 32
	cfg.LogInterval = 5
	cfg.Threads = 2
	cfg.RunsDir = t.TempDir()
	return cfg
}

// hangDeadline is when a test stops waiting for training and calls it hung: shortly before go
// test's own -timeout, not after a fixed wait, so that a slow machine (qemu emulating arm64 runs
// these steps tens of times slower) is not taken for a hang, while a real hang still fails with
// the trainer's snapshot rather than only go test's goroutine dump.
func hangDeadline(t *testing.T) time.Time {
	if d, ok := t.Deadline(); ok {
		return d.Add(-30 * time.Second)
	}
	return time.Now().Add(10 * time.Minute)
}

// runToEnd runs a trainer to completion and returns its final snapshot.
func runToEnd(t *testing.T, tr *Trainer) Snapshot {
	t.Helper()
	ctx, cancel := context.WithDeadline(context.Background(), hangDeadline(t))
	defer cancel()
	if err := tr.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return tr.Snapshot()
}

func paramsOf(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	ck, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, tensor := range ck.File.Tensors {
		if tensor.DType != "F32" {
			continue // Adam's step count: compared through the weights it moves
		}
		v, err := tensor.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		out[tensor.Name] = v
	}
	return out
}

func TestTrainsAndWritesRunFiles(t *testing.T) {
	cfg := testConfig(t)
	cfg.LearningRate = 0.05 // 40 steps in all: let them count
	data := syntheticData(640, 200, 1)
	s := runToEnd(t, New(cfg, Options{Data: data}))
	if s.State != Done {
		t.Fatalf("state %v, want DONE (message %q)", s.State, s.Message)
	}
	if len(s.History) != 2 {
		t.Fatalf("%d epoch results, want 2", len(s.History))
	}
	if got := s.History[1].TestAcc; got < 90 {
		t.Errorf("test accuracy after 2 epochs on an easy synthetic set: %.2f %%, want >= 90", got)
	}
	// 640/32 = 20 batches per epoch, a log point every 5.
	if len(s.Logs) != 8 || s.Logs[3].Batch != 20 || s.Logs[4].Epoch != 2 {
		t.Errorf("log points %+v", s.Logs)
	}
	if len(s.Samples) != 8 {
		t.Errorf("%d samples, want 8", len(s.Samples))
	}
	for _, name := range []string{"config.yaml", "metrics.jsonl", "last.safetensors", "best.safetensors", "accuracy.svg", "accuracy.png", "loss.svg", "loss.png"} {
		if _, err := os.Stat(filepath.Join(s.RunDir, name)); err != nil {
			t.Errorf("run folder lacks %s: %v", name, err)
		}
	}
	metrics, _ := os.ReadFile(filepath.Join(s.RunDir, "metrics.jsonl"))
	if n := strings.Count(string(metrics), "\n"); n != 20 {
		t.Errorf("metrics.jsonl has %d lines, want start + 8 log + 8 health + 2 epoch + end lines:\n%s", n, metrics)
	}
}

func TestSameSeedSameWeights(t *testing.T) {
	data := syntheticData(320, 50, 2)
	a := runToEnd(t, New(testConfig(t), Options{Data: data}))
	b := runToEnd(t, New(testConfig(t), Options{Data: data}))
	if !reflect.DeepEqual(paramsOf(t, filepath.Join(a.RunDir, "last.safetensors")), paramsOf(t, filepath.Join(b.RunDir, "last.safetensors"))) {
		t.Error("two runs with the same seed and threads ended with different weights")
	}
	for i := range a.Logs {
		if a.Logs[i].Loss != b.Logs[i].Loss {
			t.Fatalf("log %d: loss %v vs %v", i, a.Logs[i].Loss, b.Logs[i].Loss)
		}
	}
}

// TestResumeIsExact: "train 2 epochs" and "train, stop mid-epoch, resume"
// end with identical weights and metrics, bit for bit.
func TestResumeIsExact(t *testing.T) {
	data := syntheticData(320, 50, 3)
	whole := runToEnd(t, New(testConfig(t), Options{Data: data}))

	for _, stopAfter := range []int64{10, 13} { // an epoch boundary, and mid-epoch
		cfg := testConfig(t)
		first := New(cfg, Options{Data: data})
		stopAtStep(first, stopAfter)
		part := runToEnd(t, first)
		if part.Step != stopAfter {
			t.Fatalf("stopped at step %d, want %d", part.Step, stopAfter)
		}
		resumed := runToEnd(t, New(cfg, Options{Data: data, Resume: filepath.Join(part.RunDir, "last.safetensors")}))

		wantW := paramsOf(t, filepath.Join(whole.RunDir, "last.safetensors"))
		gotW := paramsOf(t, filepath.Join(resumed.RunDir, "last.safetensors"))
		if !reflect.DeepEqual(wantW, gotW) {
			t.Errorf("stop after %d: resumed weights differ from an uninterrupted run", stopAfter)
		}
		if !reflect.DeepEqual(whole.Logs, resumed.Logs) {
			t.Errorf("stop after %d: log points differ:\n%+v\n%+v", stopAfter, whole.Logs, resumed.Logs)
		}
		for i := range whole.History {
			w, g := whole.History[i], resumed.History[i]
			if w.TrainLoss != g.TrainLoss || w.TestAcc != g.TestAcc || w.TestLoss != g.TestLoss {
				t.Errorf("stop after %d: epoch %d differs: %+v vs %+v", stopAfter, i+1, w, g)
			}
		}
	}
}

// stopAtStep makes the trainer receive Stop right after its n-th step, so
// the stop lands at exactly that step whatever the scheduler does.
func stopAtStep(tr *Trainer, n int64) {
	tr.afterStep = func(step int64) {
		if step == n {
			tr.Send(Stop{})
		}
	}
}

func TestDivergencePausesAndRecovers(t *testing.T) {
	cfg := testConfig(t)
	cfg.LearningRate = 10
	cfg.Epochs = 1
	tr := New(cfg, Options{Data: syntheticData(640, 50, 4)})
	done := make(chan error, 1)
	go func() { done <- tr.Run(context.Background()) }()
	deadline := time.After(time.Until(hangDeadline(t)))
	for {
		select {
		case <-tr.Changed():
		case err := <-done:
			t.Fatalf("run ended before diverging: %v (%+v)", err, tr.Snapshot().History)
		case <-deadline:
			t.Fatal("lr 10 did not diverge before the test's deadline")
		}
		if s := tr.Snapshot(); s.State == Paused && s.Err != nil {
			if !strings.Contains(s.Message, "lower the learning rate") {
				t.Errorf("message does not say what to do: %q", s.Message)
			}
			break
		}
	}
	lr := 0.01
	tr.Send(SetHyper{LearningRate: &lr})
	tr.Send(Resume{})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s := tr.Snapshot()
	if s.State != Done || len(s.History) != 1 {
		t.Fatalf("after recovery: state %v, %d epochs", s.State, len(s.History))
	}
	if s.History[0].TrainLoss != s.History[0].TrainLoss { // NaN
		t.Error("train loss of the recovered epoch is NaN")
	}
	if len(s.Changes) != 1 || s.Changes[0].New != 0.01 {
		t.Errorf("learning-rate change not recorded: %+v", s.Changes)
	}
}

func TestPauseHoldsPosition(t *testing.T) {
	cfg := testConfig(t)
	tr := New(cfg, Options{Data: syntheticData(640, 50, 5)})
	done := make(chan error, 1)
	go func() { done <- tr.Run(context.Background()) }()
	tr.Send(Pause{})
	waitFor(t, tr, func(s Snapshot) bool { return s.State == Paused })
	at := tr.Snapshot().Step
	time.Sleep(100 * time.Millisecond)
	if s := tr.Snapshot(); s.Step != at {
		t.Fatalf("step moved from %d to %d while paused", at, s.Step)
	}
	tr.Send(Save{})
	waitFor(t, tr, func(s Snapshot) bool { return strings.HasPrefix(s.Message, "saved ") })
	tr.Send(Resume{})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := tr.Snapshot(); s.Step != 40 {
		t.Errorf("after resume the run took %d steps, want 40", s.Step)
	}
}

func TestSaveFailureIsReportedAndTrainingGoesOn(t *testing.T) {
	cfg := testConfig(t)
	cfg.Epochs = 1
	tr := New(cfg, Options{Data: syntheticData(320, 50, 6)})
	tr.Send(Pause{})
	done := make(chan error, 1)
	go func() { done <- tr.Run(context.Background()) }()
	waitFor(t, tr, func(s Snapshot) bool { return s.State == Paused })
	dir := tr.Snapshot().RunDir
	// A folder where the checkpoint file should be makes every save fail,
	// even for root (who ignores permission bits).
	blocker := filepath.Join(dir, "step-0.safetensors")
	if err := os.Mkdir(blocker, 0o755); err != nil {
		t.Fatal(err)
	}
	tr.Send(Save{})
	waitFor(t, tr, func(s Snapshot) bool { return s.Err != nil })
	if msg := tr.Snapshot().Message; !strings.Contains(msg, "training goes on") {
		t.Errorf("message %q", msg)
	}
	tr.Send(Resume{})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("a temporary file was left behind: %s", e.Name())
		}
	}
}

func waitFor(t *testing.T, tr *Trainer, cond func(Snapshot) bool) {
	t.Helper()
	deadline := time.After(time.Until(hangDeadline(t)))
	for !cond(tr.Snapshot()) {
		select {
		case <-tr.Changed():
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("condition not reached; snapshot %+v", tr.Snapshot())
		}
	}
}

func TestBadConfigFails(t *testing.T) {
	cfg := testConfig(t)
	cfg.Model = "transformer"
	tr := New(cfg, Options{Data: syntheticData(10, 10, 7)})
	err := tr.Run(context.Background())
	if err == nil || tr.Snapshot().State != Failed {
		t.Fatalf("unknown model: err %v, state %v", err, tr.Snapshot().State)
	}
	var cerr *config.Error
	if !errors.As(err, &cerr) && !strings.Contains(err.Error(), "transformer") {
		t.Errorf("error does not name the model: %v", err)
	}
}

// TestLiveLearningRateChangeAppliesFromTheNextStep changes the learning rate
// after step k and checks step k+1 against SGD's rule done by hand:
// buf = momentum*buf + grad; w -= lr*buf, with the new lr.
func TestLiveLearningRateChangeAppliesFromTheNextStep(t *testing.T) {
	cfg := testConfig(t)
	cfg.Threads = 1
	data := syntheticData(640, 50, 8)
	const k = 7
	newLR := 0.05
	tr := New(cfg, Options{Data: data})
	tr.afterStep = func(step int64) {
		switch step {
		case k:
			tr.Send(Save{})
			tr.Send(SetHyper{LearningRate: &newLR})
		case k + 1:
			tr.Send(Stop{})
		}
	}
	s := runToEnd(t, tr)
	if len(s.Changes) != 1 || s.Changes[0].Step != k || s.Changes[0].Old != cfg.LearningRate {
		t.Fatalf("change not recorded at step %d: %+v", k, s.Changes)
	}

	// Step k+1 by hand, from the weights and momentum saved at step k.
	ck, err := checkpoint.Load(filepath.Join(s.RunDir, fmt.Sprintf("step-%d.safetensors", k)))
	if err != nil {
		t.Fatal(err)
	}
	net, err := engine.NewNet(cfg.Model, cfg.Seed, 1)
	if err != nil {
		t.Fatal(err)
	}
	opt := engine.NewSGD(net.Params(), cfg.LearningRate, cfg.Momentum, 0)
	if err := ck.LoadInto(net.Params(), opt); err != nil {
		t.Fatal(err)
	}
	loader := dataset.NewLoader(data.Train, data.Info, cfg.BatchSize, true, cfg.Seed)
	loader.Seek(1, k)
	x, y := make([]float32, cfg.BatchSize*784), make([]int32, cfg.BatchSize)
	n := loader.Next(x, y)
	net.TrainStep(x[:n*784], y[:n], n)

	got := paramsOf(t, filepath.Join(s.RunDir, "last.safetensors"))
	mom, lr := float32(cfg.Momentum), float32(newLR)
	for i, p := range net.Params() {
		w := p.Value.Data().([]float32)
		g := p.Grad.Data().([]float32)
		buf := opt.Buffers()[i].Data().([]float32)
		for j := range w {
			b := mom*buf[j] + g[j]
			want := w[j] - lr*b
			oldRate := w[j] - float32(cfg.LearningRate)*b
			if d := math.Abs(float64(got[p.Name][j] - want)); d > 1e-6*math.Max(1, math.Abs(float64(want))) {
				t.Fatalf("%s[%d] after the change: %v, SGD's rule with lr %v gives %v (with the old rate: %v)", p.Name, j, got[p.Name][j], newLR, want, oldRate)
			}
		}
	}
}
