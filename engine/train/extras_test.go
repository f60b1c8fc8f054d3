package train

import (
	"context"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"mnist-tui/dataset"
	"mnist-tui/engine"
	"mnist-tui/engine/checkpoint"
	"mnist-tui/engine/config"
	"mnist-tui/engine/runs"
	"mnist-tui/engine/schedule"
)

// TestResumeIsExactWithTrainingExtras: with gradient clipping, the average of the weights and
// cycled momentum (SGD) or beta1 (AdamW), alone and together, and on a network with BatchNorm,
// "train 2 epochs" and "train, stop mid-epoch, resume" end with the same bits: weights,
// optimizer state, averaged weights and statistics, log points and every epoch's test results
// (measured on the average).
func TestResumeIsExactWithTrainingExtras(t *testing.T) {
	data := syntheticData(320, 50, 6)
	for _, c := range []struct {
		name   string
		custom bool
		set    func(*config.Config)
	}{
		{"sgd, clipping and ema", false, func(c *config.Config) { c.ClipGradNorm, c.EMADecay = 0.5, 0.9 }},
		{"sgd nesterov, onecycle cycling momentum, clipping", false, func(c *config.Config) {
			c.Momentum, c.Nesterov, c.ClipGradNorm = 0.9, true, 1
			c.Schedule, c.MaxLR, c.CycleMomentum, c.BaseMomentum, c.MaxMomentum = "onecycle", 0.05, true, 0.8, 0.95
		}},
		{"adamw, onecycle cycling beta1, ema", false, func(c *config.Config) {
			c.Optimizer, c.LearningRate, c.WeightDecay = "adamw", 0.002, 0.01
			c.Schedule, c.CycleMomentum, c.EMADecay = "onecycle", true, 0.95
		}},
		{"custom network with batchnorm, ema and clipping", true, func(c *config.Config) { c.ClipGradNorm, c.EMADecay = 2, 0.8 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			newCfg := func() config.Config {
				cfg := testConfig(t)
				if c.custom {
					cfg = customConfig(t)
				}
				c.set(&cfg)
				if err := cfg.Validate(); err != nil {
					t.Fatal(err)
				}
				return cfg
			}
			whole := runToEnd(t, New(newCfg(), Options{Data: data}))
			first := New(newCfg(), Options{Data: data})
			stopAtStep(first, 13)
			part := runToEnd(t, first)
			last := filepath.Join(part.RunDir, "last.safetensors")
			ck, err := checkpoint.Load(last)
			if err != nil {
				t.Fatal(err)
			}
			saved, err := config.Parse("checkpoint", []byte(ck.Meta.Config))
			if err != nil {
				t.Fatal(err)
			}
			if live, restart := config.Diff(saved, newCfg()); len(live) > 0 || !reflect.DeepEqual(restart, []string{"runs_dir"}) {
				t.Fatalf("the checkpoint's config differs from the run's in %v %v", live, restart)
			}
			resumed := runToEnd(t, New(saved, Options{Data: data, Resume: last}))

			want := stateOf(t, filepath.Join(whole.RunDir, "last.safetensors"))
			if got := stateOf(t, filepath.Join(resumed.RunDir, "last.safetensors")); !reflect.DeepEqual(want, got) {
				for name := range want {
					if !reflect.DeepEqual(want[name], got[name]) {
						t.Errorf("%s differs from an uninterrupted run's", name)
					}
				}
				t.Errorf("resumed checkpoint differs: %d tensors against %d", len(got), len(want))
			}
			averaged := 0
			for name := range want {
				if strings.HasPrefix(name, "optimizer.ema.") {
					averaged++
				}
			}
			if ema := newCfg().EMADecay > 0; ema != (averaged > 0) {
				t.Errorf("ema_decay %g, and last.safetensors holds %d averaged tensors", newCfg().EMADecay, averaged)
			}
			if !reflect.DeepEqual(whole.Logs, resumed.Logs) {
				t.Errorf("log points differ:\n%+v\n%+v", whole.Logs, resumed.Logs)
			}
			if len(whole.Rates.Rates) != 20 || !reflect.DeepEqual(whole.Rates, resumed.Rates) {
				t.Errorf("rate traces differ:\n%+v\n%+v", whole.Rates, resumed.Rates)
			}
			if len(whole.History) != 2 || len(resumed.History) != 2 {
				t.Fatalf("%d and %d epochs, want 2", len(whole.History), len(resumed.History))
			}
			for i := range whole.History {
				w, g := whole.History[i], resumed.History[i]
				if w.TrainLoss != g.TrainLoss || w.TestAcc != g.TestAcc || w.TestLoss != g.TestLoss {
					t.Errorf("epoch %d differs: %+v vs %+v", i+1, w, g)
				}
			}
		})
	}
}

// TestCycledMomentumReachesTheOptimizer: a run with onecycle's cycle_momentum ends with the
// weights of the same steps done by hand with the schedule's rate and momentum of every step;
// with the momentum of the config instead, they differ.
func TestCycledMomentumReachesTheOptimizer(t *testing.T) {
	for _, optimizer := range []string{"sgd", "adam"} {
		t.Run(optimizer, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Threads, cfg.Epochs = 1, 1
			cfg.Optimizer, cfg.Schedule, cfg.CycleMomentum, cfg.BaseMomentum, cfg.MaxMomentum = optimizer, "onecycle", true, 0.5, 0.9
			if optimizer == "adam" {
				cfg.LearningRate = 0.002
			}
			data := syntheticData(320, 50, 9)
			s := runToEnd(t, New(cfg, Options{Data: data}))
			got := paramsOf(t, filepath.Join(s.RunDir, "last.safetensors"))

			byHand := func(cycle bool) map[string][]float32 {
				net, err := engine.NewNet(cfg.Model, cfg.Seed, 1)
				if err != nil {
					t.Fatal(err)
				}
				opt := newOptimizer(cfg, net.Params())
				loader := dataset.NewLoader(data.Train, data.Info, cfg.BatchSize, true, cfg.Seed)
				defer loader.Close()
				sched := schedule.FromConfig(cfg, loader.Batches())
				loader.Seek(1, 0)
				x, y := make([]float32, cfg.BatchSize*784), make([]int32, cfg.BatchSize)
				for step := int64(0); ; step++ {
					n := loader.Next(x, y)
					if n == 0 {
						break
					}
					net.TrainStep(x[:n*784], y[:n], n)
					opt.SetLearningRate(sched.Rate(step))
					if m, ok := sched.Momentum(step); ok && cycle {
						opt.SetMomentum(m)
					}
					opt.Step()
				}
				out := map[string][]float32{}
				for _, p := range net.Params() {
					out[p.Name] = p.Value.Data().([]float32)
				}
				return out
			}
			for name, want := range byHand(true) {
				if !reflect.DeepEqual(got[name], want) {
					t.Errorf("%s differs from the steps done by hand with the cycled momentum", name)
				}
			}
			if optimizer == "sgd" {
				sched := schedule.FromConfig(cfg, int(s.Step))
				if want, _ := sched.Momentum(s.Step - 1); s.Momentum != want {
					t.Errorf("the snapshot shows momentum %g, the last step's is %g", s.Momentum, want)
				}
			}
			if fixed := byHand(false); reflect.DeepEqual(got, fixed) {
				t.Error("the run's weights are those of the config's own momentum: the cycled one never reached the optimizer")
			}
		})
	}
}

// TestEvaluationUsesTheAverage: with ema_decay, the epoch's test loss and accuracy are those of
// the averaged weights saved in last.safetensors (not of the weights themselves), and
// best.safetensors holds the averaged weights.
func TestEvaluationUsesTheAverage(t *testing.T) {
	cfg := testConfig(t)
	cfg.Epochs, cfg.EMADecay, cfg.LearningRate = 1, 0.7, 0.05
	data := syntheticData(320, 200, 10)
	tr := New(cfg, Options{Data: data})
	s := runToEnd(t, tr)
	ck, err := checkpoint.Load(filepath.Join(s.RunDir, "last.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	net, err := engine.NewNet(cfg.Model, cfg.Seed, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := ck.LoadInto(net.Params(), nil); err != nil {
		t.Fatal(err)
	}
	var scratch EvalScratch
	live := Evaluate(net, data.Test, data.Info, evalBatch, &scratch)
	ema := engine.NewEMA(net.Params(), nil, cfg.EMADecay)
	if found, err := ck.LoadEMA(ema); err != nil || !found {
		t.Fatalf("last.safetensors: averaged weights found %v, err %v", found, err)
	}
	ema.Swap()
	averaged := Evaluate(net, data.Test, data.Info, evalBatch, &scratch)
	got := s.History[0]
	if got.TestLoss != averaged.Loss || got.TestAcc != averaged.Accuracy() {
		t.Errorf("epoch 1: test loss %v, accuracy %v; the average's are %v, %v (the weights' %v, %v)",
			got.TestLoss, got.TestAcc, averaged.Loss, averaged.Accuracy(), live.Loss, live.Accuracy())
	}
	if live.Loss == averaged.Loss {
		t.Fatal("the average evaluates as the weights do: the test cannot tell them apart")
	}
	best := paramsOf(t, filepath.Join(s.RunDir, "best.safetensors"))
	// The draw page's copy of the finished run's weights.
	drawn, err := engine.NewNet(cfg.Model, cfg.Seed+1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.CopyWeights(context.Background(), drawn.Params()); err != nil {
		t.Fatal(err)
	}
	for i, p := range net.Params() { // swapped: the averages
		if !reflect.DeepEqual(best[p.Name], p.Value.Data().([]float32)) {
			t.Errorf("best.safetensors' %s is not the averaged weights", p.Name)
		}
		if !reflect.DeepEqual(drawn.Params()[i].Value.Data(), p.Value.Data()) {
			t.Errorf("CopyWeights gives %s not averaged", p.Name)
		}
	}
}

// TestClippingBoundsTheFirstStep: SGD's first step moves the weights by learning_rate times
// the gradient, so with clip_grad_norm it moves them by at most learning_rate*clip_grad_norm;
// without, much further.
func TestClippingBoundsTheFirstStep(t *testing.T) {
	data := syntheticData(320, 50, 11)
	moved := func(clip float64) float64 {
		cfg := testConfig(t)
		cfg.ClipGradNorm = clip
		tr := New(cfg, Options{Data: data})
		stopAtStep(tr, 1)
		s := runToEnd(t, tr)
		net, err := engine.NewNet(cfg.Model, cfg.Seed, 1)
		if err != nil {
			t.Fatal(err)
		}
		after := paramsOf(t, filepath.Join(s.RunDir, "last.safetensors"))
		sum := 0.0
		for _, p := range net.Params() {
			for j, w := range p.Value.Data().([]float32) {
				d := float64(after[p.Name][j]) - float64(w)
				sum += d * d
			}
		}
		return math.Sqrt(sum)
	}
	const clip, lr = 0.01, 0.01 // testConfig's learning rate
	clipped, free := moved(clip), moved(0)
	// The update's float32 rounding adds a few ulps to each weight.
	if clipped > lr*clip*(1+1e-4) {
		t.Errorf("with clip_grad_norm %g the first step moved the weights by %g, over %g", clip, clipped, lr*clip)
	}
	if free < 10*lr*clip {
		t.Errorf("without clipping the first step moved the weights by %g: too little for the test to tell", free)
	}
}

// TestLiveLearningRateEditScalesTheSchedule: with a cosine schedule, learning_rate edited at
// step 4 scales the rate from step 5 on (the log points' rates are the schedule's times
// new/old), and the edit is recorded in metrics.jsonl and the snapshot.
func TestLiveLearningRateEditScalesTheSchedule(t *testing.T) {
	cfg := testConfig(t)
	cfg.Schedule, cfg.LogInterval = "cosine", 1
	const editAt = 4
	edited := cfg.LearningRate * 3
	tr := New(cfg, Options{Data: syntheticData(320, 50, 12)})
	tr.afterStep = func(step int64) {
		if step == editAt {
			tr.Send(SetHyper{LearningRate: &edited})
		}
	}
	s := runToEnd(t, tr)
	sched := schedule.FromConfig(cfg, cfg.Epochs*10)
	for _, p := range s.Logs {
		want := sched.Rate(p.Step - 1)
		if p.Step > editAt {
			want *= edited / cfg.LearningRate
		}
		if math.Abs(p.LR-want) > 1e-15*want {
			t.Errorf("step %d: rate %g, want %g", p.Step, p.LR, want)
		}
	}
	change := runs.Change{Step: editAt, Key: "learning_rate", Old: cfg.LearningRate, New: edited}
	found := false
	for _, rec := range records(t, s.RunDir) {
		if c, ok := rec.(runs.Change); ok {
			found = found || c == change
		}
	}
	if !found {
		t.Errorf("metrics.jsonl does not record %+v", change)
	}
	if len(s.Changes) != 1 || s.Changes[0] != (HyperChange{Step: editAt, Key: "learning_rate", Old: cfg.LearningRate, New: edited}) {
		t.Errorf("the snapshot's changes are %+v", s.Changes)
	}
	// The dashboard's line: every step's rate, the edit included.
	if s.Rates.Stride != 1 || len(s.Rates.Rates) != int(s.Step) {
		t.Fatalf("rate trace of stride %d holds %d rates, want every one of the %d steps", s.Rates.Stride, len(s.Rates.Rates), s.Step)
	}
	for step, got := range s.Rates.Rates {
		lr := cfg.LearningRate
		if step >= editAt {
			lr = edited
		}
		if want := sched.ScaledRate(lr, int64(step)); got != want {
			t.Errorf("rate trace: step %d has %g, the schedule %g", step, got, want)
		}
	}
}

// A rate trace keeps at most maxRates rates, halving its resolution when full, and never
// changes a slice a reader holds.
func TestRateTraceStaysSmall(t *testing.T) {
	var tr RateTrace
	var held []float64
	for step := range int64(5000) {
		tr = tr.Add(step, float64(step))
		if step == 1000 {
			held = tr.Rates
		}
	}
	if len(tr.Rates) > maxRates || tr.Stride != 8 {
		t.Fatalf("%d rates at stride %d after 5000 steps, want at most %d at stride 8", len(tr.Rates), tr.Stride, maxRates)
	}
	for i, r := range tr.Rates {
		if r != float64(int64(i)*tr.Stride) {
			t.Fatalf("rate %d is step %g's, want step %d's", i, r, int64(i)*tr.Stride)
		}
	}
	for i, r := range held {
		if r != float64(i) {
			t.Fatalf("a reader's slice changed: element %d is %g", i, r)
		}
	}
	back := tr.Before(801)
	if len(back.Rates) != 101 || back.Next() != 808 || &back.Rates[0] == &tr.Rates[0] {
		t.Errorf("Before(801) holds %d rates, next %d, want 101 in a new slice, next 808", len(back.Rates), back.Next())
	}
}

// After a divergence the average restarts from the epoch boundary too: the diverging steps'
// weights, which it took in before the loss showed them, leave no trace. Diverging in the first
// epoch, the recovered run ends exactly as a run at the lowered rate from the start: weights,
// optimizer state and average.
func TestDivergenceRestoresTheAverage(t *testing.T) {
	cfg := testConfig(t)
	cfg.LearningRate, cfg.Epochs, cfg.EMADecay = 10, 1, 0.9
	data := syntheticData(640, 50, 4)
	tr := New(cfg, Options{Data: data})
	done := make(chan error, 1)
	go func() { done <- tr.Run(context.Background()) }()
	deadline := time.After(time.Minute)
	for diverged := false; !diverged; {
		select {
		case <-tr.Changed():
		case err := <-done:
			t.Fatalf("run ended before diverging: %v", err)
		case <-deadline:
			t.Fatal("lr 10 did not diverge within a minute")
		}
		s := tr.Snapshot()
		diverged = s.State == Paused && s.Err != nil
	}
	lr := 0.01
	tr.Send(SetHyper{LearningRate: &lr})
	tr.Send(Resume{})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s := tr.Snapshot()
	if s.State != Done || len(s.History) != 1 || math.IsNaN(s.History[0].TestLoss) {
		t.Fatalf("after recovery: state %v, epochs %+v", s.State, s.History)
	}
	cfg.LearningRate = lr
	fresh := runToEnd(t, New(cfg, Options{Data: data}))
	want := stateOf(t, filepath.Join(fresh.RunDir, "last.safetensors"))
	got := stateOf(t, filepath.Join(s.RunDir, "last.safetensors"))
	if _, ok := want["optimizer.ema.conv1.0.weight"]; !ok {
		t.Fatalf("no average in the checkpoint: %d tensors", len(want))
	}
	for name, w := range want {
		if !reflect.DeepEqual(got[name], w) {
			t.Errorf("%s differs from a run at lr %g from the start", name, lr)
		}
	}
	// The dashboard's rate line is the steps trained again, not the diverged ones.
	if !reflect.DeepEqual(s.Rates, fresh.Rates) {
		t.Errorf("rate trace after recovery %+v, a run at lr %g from the start %+v", s.Rates, lr, fresh.Rates)
	}
}
