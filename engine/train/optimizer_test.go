package train

import (
	"math"
	"path/filepath"
	"reflect"
	"testing"

	"mnist-tui/engine/checkpoint"
	"mnist-tui/engine/config"
	"mnist-tui/engine/schedule"
)

// TestResumeIsExactWithEachOptimizer: with each optimizer and schedule, "train 2 epochs" and
// "train, stop, resume" end with identical weights and log points, bit for bit; a live
// learning_rate edit before the stop scales the schedule in both the same way. The logged
// rates are the schedule's.
func TestResumeIsExactWithEachOptimizer(t *testing.T) {
	data := syntheticData(320, 50, 4)
	for _, c := range []struct {
		name string
		set  func(*config.Config)
	}{
		{"sgd nesterov, step with warmup", func(c *config.Config) {
			c.Nesterov, c.Momentum, c.WeightDecay = true, 0.9, 1e-3
			c.Schedule, c.WarmupSteps, c.StepSize, c.Gamma = "step", 3, 4, 0.5
		}},
		{"adam, cosine with warmup", func(c *config.Config) {
			c.Optimizer, c.LearningRate, c.WeightDecay = "adam", 0.002, 1e-4
			c.Schedule, c.WarmupSteps, c.EtaMin = "cosine", 5, 1e-5
		}},
		{"adamw, onecycle", func(c *config.Config) {
			c.Optimizer, c.LearningRate, c.WeightDecay, c.Beta1 = "adamw", 0.001, 0.01, 0.8
			c.Schedule, c.MaxLR, c.PctStart = "onecycle", 0.004, 0.25
		}},
		{"sgd, augmented images", func(c *config.Config) {
			c.AugmentRotate, c.AugmentTranslate, c.AugmentScaleMin, c.AugmentScaleMax = 20, 0.1, 0.9, 1.1
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			newCfg := func() config.Config {
				cfg := testConfig(t)
				c.set(&cfg)
				if err := cfg.Validate(); err != nil {
					t.Fatal(err)
				}
				return cfg
			}
			const editAt, stopAt = 4, 13 // mid-epoch: 10 steps an epoch
			edited := newCfg().LearningRate * 1.5
			run := func(tr *Trainer, stop bool) Snapshot {
				tr.afterStep = func(step int64) {
					switch {
					case step == editAt:
						tr.Send(SetHyper{LearningRate: &edited})
					case step == stopAt && stop:
						tr.Send(Stop{})
					}
				}
				return runToEnd(t, tr)
			}
			whole := run(New(newCfg(), Options{Data: data}), false)
			part := run(New(newCfg(), Options{Data: data}), true)
			if part.Step != stopAt {
				t.Fatalf("stopped at step %d, want %d", part.Step, stopAt)
			}
			// As mnist-tui train --resume does: the settings the checkpoint was saved with,
			// the live edit included.
			last := filepath.Join(part.RunDir, "last.safetensors")
			ck, err := checkpoint.Load(last)
			if err != nil {
				t.Fatal(err)
			}
			saved, err := config.Parse("checkpoint", []byte(ck.Meta.Config))
			if err != nil {
				t.Fatal(err)
			}
			if saved.LearningRate != edited {
				t.Fatalf("the checkpoint's learning_rate is %g, want the edited %g", saved.LearningRate, edited)
			}
			resumed := runToEnd(t, New(saved, Options{Data: data, Resume: last}))
			if !reflect.DeepEqual(paramsOf(t, filepath.Join(whole.RunDir, "last.safetensors")), paramsOf(t, filepath.Join(resumed.RunDir, "last.safetensors"))) {
				t.Error("resumed weights differ from an uninterrupted run's")
			}
			if !reflect.DeepEqual(whole.Logs, resumed.Logs) {
				t.Errorf("log points differ:\n%+v\n%+v", whole.Logs, resumed.Logs)
			}
			// The resumed run rebuilds the rates of the steps before it, edit included.
			if !reflect.DeepEqual(whole.Rates, resumed.Rates) {
				t.Errorf("rate traces differ:\n%+v\n%+v", whole.Rates, resumed.Rates)
			}

			cfg := newCfg()
			sched := schedule.FromConfig(cfg, cfg.Epochs*10)
			for _, p := range whole.Logs {
				lr := edited
				if p.Step <= editAt {
					lr = cfg.LearningRate
				}
				if want := sched.ScaledRate(lr, p.Step-1); p.LR != want {
					t.Errorf("step %d: logged rate %g, the schedule's %g", p.Step, p.LR, want)
				}
			}
			if want := sched.ScaledRate(edited, whole.Step-1); whole.LR != want {
				t.Errorf("the snapshot's rate after the last step is %g, the schedule's %g", whole.LR, want)
			}
		})
	}
}

// TestLabelSmoothingReachesTheLoss: label_smoothing changes the loss the run trains on (the
// loss itself is checked against PyTorch in engine); from the same near-uniform start, only a
// little.
func TestLabelSmoothingReachesTheLoss(t *testing.T) {
	data := syntheticData(320, 50, 5)
	first := func(smoothing float64) float64 {
		cfg := testConfig(t)
		cfg.LabelSmoothing = smoothing
		cfg.LogInterval = 1
		tr := New(cfg, Options{Data: data})
		stopAtStep(tr, 1)
		s := runToEnd(t, tr)
		if len(s.Logs) == 0 {
			t.Fatal("no log point after one step")
		}
		return s.Logs[0].Loss
	}
	plain, smoothed := first(0), first(0.5)
	if plain == smoothed {
		t.Fatalf("the first step's loss is %v with and without label smoothing", plain)
	}
	// At initialisation the 10 probabilities are all near 1/10: both losses near log 10.
	if math.Abs(smoothed-plain) > 0.1*plain {
		t.Errorf("loss %v with smoothing 0.5, %v without: too far apart for a near-uniform start", smoothed, plain)
	}
}
