package schedule

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"mnist-tui/engine/config"
)

// rateTol bounds |ours - PyTorch's| / PyTorch's for every step of every fixture run. Measured
// 1.9e-11 (2026-12-03; the fixture keeps 12 digits), well inside the 1e-7 issue 16 asks for.
const rateTol = 1e-10

type scheduleCase struct {
	Name           string    `json:"name"`
	Schedule       string    `json:"schedule"`
	LearningRate   float64   `json:"learning_rate"`
	WarmupSteps    int       `json:"warmup_steps"`
	StepSize       int       `json:"step_size"`
	Gamma          float64   `json:"gamma"`
	TMax           int       `json:"t_max"`
	EtaMin         float64   `json:"eta_min"`
	MaxLR          float64   `json:"max_lr"`
	PctStart       float64   `json:"pct_start"`
	DivFactor      float64   `json:"div_factor"`
	FinalDivFactor float64   `json:"final_div_factor"`
	Steps          int       `json:"steps"`
	LRs            []float64 `json:"lrs"`
	// cycle_momentum: the optimizer's momentum (SGD) or beta1 (Adam) before every step.
	Optimizer     string    `json:"optimizer"`
	CycleMomentum bool      `json:"cycle_momentum"`
	BaseMomentum  float64   `json:"base_momentum"`
	MaxMomentum   float64   `json:"max_momentum"`
	Momentums     []float64 `json:"momentums"`
}

// TestRatesFollowPyTorch compares the learning rate of every step of whole runs with
// torch.optim.lr_scheduler's (engine/pytorch/make_schedule_fixtures.py), the schedule built
// from config settings as the trainer builds it, and with cycle_momentum OneCycleLR's momentum
// (SGD) or beta1 (Adam) of every step.
func TestRatesFollowPyTorch(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "torch_schedules.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx struct{ Cases []scheduleCase }
	if err := json.Unmarshal(data, &fx); err != nil {
		t.Fatalf("torch_schedules.json: %v", err)
	}
	seen := map[string]bool{}
	worst, worstMomentum := 0.0, 0.0
	for _, c := range fx.Cases {
		cfg := config.Defaults()
		cfg.Schedule, cfg.LearningRate, cfg.WarmupSteps = c.Schedule, c.LearningRate, c.WarmupSteps
		if c.StepSize > 0 {
			cfg.StepSize, cfg.Gamma = c.StepSize, c.Gamma
		}
		cfg.TMax, cfg.EtaMin = c.TMax, c.EtaMin
		if c.Schedule == "onecycle" {
			cfg.MaxLR, cfg.PctStart, cfg.DivFactor, cfg.FinalDivFactor = c.MaxLR, c.PctStart, c.DivFactor, c.FinalDivFactor
		}
		if c.CycleMomentum {
			cfg.Optimizer, cfg.CycleMomentum, cfg.BaseMomentum, cfg.MaxMomentum = c.Optimizer, true, c.BaseMomentum, c.MaxMomentum
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%s: the fixture's settings are not a valid config: %v", c.Name, err)
		}
		if len(c.LRs) != c.Steps {
			t.Fatalf("%s: %d rates for %d steps", c.Name, len(c.LRs), c.Steps)
		}
		seen[c.Schedule] = true
		s := FromConfig(cfg, c.Steps)
		failures := 0
		for step, want := range c.LRs {
			got := s.Rate(int64(step))
			e := math.Abs(got-want) / want
			worst = max(worst, e)
			if e > rateTol && failures < 5 {
				failures++
				t.Errorf("%s: step %d: rate %.12g, PyTorch's %.12g (relative error %.2g)", c.Name, step, got, want, e)
			}
		}
		if !c.CycleMomentum {
			if _, cycles := s.Momentum(0); cycles {
				t.Errorf("%s: the schedule cycles the momentum; PyTorch's run does not", c.Name)
			}
			continue
		}
		seen["cycle_momentum with "+c.Optimizer] = true
		if len(c.Momentums) != c.Steps {
			t.Fatalf("%s: %d momentums for %d steps", c.Name, len(c.Momentums), c.Steps)
		}
		for step, want := range c.Momentums {
			got, cycles := s.Momentum(int64(step))
			if !cycles {
				t.Fatalf("%s: the schedule does not cycle the momentum", c.Name)
			}
			e := math.Abs(got-want) / want
			worstMomentum = max(worstMomentum, e)
			if e > rateTol && failures < 5 {
				failures++
				t.Errorf("%s: step %d: momentum %.12g, PyTorch's %.12g (relative error %.2g)", c.Name, step, got, want, e)
			}
		}
	}
	for _, opt := range []string{"sgd", "adam"} {
		if !seen["cycle_momentum with "+opt] {
			t.Errorf("no fixture run cycling the momentum of %s", opt)
		}
	}
	t.Logf("worst relative error of the momentums: %.3g", worstMomentum)
	for _, kind := range config.Schedules() {
		if !seen[kind] {
			t.Errorf("no fixture run for schedule %s", kind)
		}
	}
	t.Logf("worst relative error over every step: %.3g", worst)
}

// TestTMaxZeroIsTheRun: t_max 0 spans the steps after the warmup, and max_lr 0 is learning_rate.
func TestTMaxZeroIsTheRun(t *testing.T) {
	cfg := config.Defaults()
	cfg.Schedule, cfg.WarmupSteps, cfg.EtaMin = "cosine", 10, 0
	s := FromConfig(cfg, 110)
	if s.TMax != 100 {
		t.Errorf("t_max %d, want the 100 steps after the warmup", s.TMax)
	}
	if got := s.Rate(110); got > 1e-12*cfg.LearningRate {
		t.Errorf("rate after the last step %g, want eta_min 0", got)
	}
	cfg.Schedule, cfg.WarmupSteps = "onecycle", 0
	if s := FromConfig(cfg, 50); s.MaxLR != cfg.LearningRate || s.TMax != 50 {
		t.Errorf("onecycle max_lr %g over %d, want learning_rate %g over the run's 50 steps", s.MaxLR, s.TMax, cfg.LearningRate)
	}
}

// TestOneCycleDegenerate: a climb or descent of no steps, which PyTorch divides by zero on,
// and steps past t_max give finite rates within [final, max_lr].
func TestOneCycleDegenerate(t *testing.T) {
	for _, pct := range []float64{0, 0.01, 1} {
		s := Schedule{Kind: "onecycle", TMax: 20, MaxLR: 0.1, PctStart: pct, DivFactor: 25, FinalDivFactor: 1e4}
		for step := range int64(30) {
			r := s.Rate(step)
			if math.IsNaN(r) || r <= 0 || r > 0.1 {
				t.Errorf("pct_start %g: step %d: rate %g, want in (0, 0.1]", pct, step, r)
			}
		}
	}
}
