// Package schedule gives the learning rate of every optimizer step, as
// torch.optim.lr_scheduler computes it when its step() is called after every
// batch: every length here (warmup, step_size, t_max) counts optimizer steps,
// not epochs. Stepping per batch is what OneCycleLR expects, and it lets
// StepLR and CosineAnnealingLR express any per-epoch setting too (an epoch is
// a known number of steps, 938 for MNIST at batch 64), while a per-epoch
// schedule could not express a per-batch one.
package schedule

import (
	"fmt"
	"math"

	"mnist-tui/engine/config"
)

// Schedule is one of config.Schedules() with its settings. The zero
// Warmup is none.
type Schedule struct {
	Kind   string  // constant, step, cosine or onecycle
	BaseLR float64 // learning_rate: the rate of constant, step and cosine at their step 0
	Warmup int     // steps of linear warmup before the schedule (not with onecycle)

	StepSize int     // step: multiply by Gamma every StepSize steps
	Gamma    float64 //
	TMax     int     // cosine and onecycle: the steps they span
	EtaMin   float64 // cosine: the rate at TMax

	MaxLR, PctStart, DivFactor, FinalDivFactor float64 // onecycle

	// onecycle's cycle_momentum: the momentum (or Adam's beta1) goes from MaxMomentum down to
	// BaseMomentum while the rate climbs, and back while it falls.
	CycleMomentum             bool
	BaseMomentum, MaxMomentum float64
}

// FromConfig builds the schedule of cfg for a run of totalSteps optimizer
// steps: t_max 0 means the steps the run has after its warmup (at least 1),
// and max_lr 0 means learning_rate.
func FromConfig(cfg config.Config, totalSteps int) Schedule {
	s := Schedule{
		Kind: cfg.Schedule, BaseLR: cfg.LearningRate, Warmup: cfg.WarmupSteps,
		StepSize: cfg.StepSize, Gamma: cfg.Gamma, TMax: cfg.TMax, EtaMin: cfg.EtaMin,
		MaxLR: cfg.MaxLR, PctStart: cfg.PctStart, DivFactor: cfg.DivFactor, FinalDivFactor: cfg.FinalDivFactor,
		CycleMomentum: cfg.CycleMomentum && cfg.Schedule == "onecycle", BaseMomentum: cfg.BaseMomentum, MaxMomentum: cfg.MaxMomentum,
	}
	if s.TMax == 0 {
		s.TMax = max(totalSteps-s.Warmup, 1)
	}
	if s.MaxLR == 0 {
		s.MaxLR = s.BaseLR
	}
	return s
}

// Rate returns the learning rate of step (counted from 0: the rate the
// optimizer's first step uses is Rate(0)).
func (s Schedule) Rate(step int64) float64 {
	if step < int64(s.Warmup) {
		// LinearLR(start_factor=1/(W+1), end_factor=1, total_iters=W):
		// base*(s + (1-s)*t/W), which is base*(t+1)/(W+1).
		return s.BaseLR * float64(step+1) / float64(s.Warmup+1)
	}
	t := step - int64(s.Warmup)
	switch s.Kind {
	case "step":
		return s.BaseLR * math.Pow(s.Gamma, float64(t/int64(s.StepSize)))
	case "cosine":
		// CosineAnnealingLR's closed form; past TMax it climbs back up, as
		// PyTorch's does.
		return s.EtaMin + (s.BaseLR-s.EtaMin)*(1+math.Cos(math.Pi*float64(t)/float64(s.TMax)))/2
	case "onecycle":
		climbing, pct := s.oneCyclePhase(t)
		initial := s.MaxLR / s.DivFactor
		if climbing {
			return annealCos(initial, s.MaxLR, pct)
		}
		return annealCos(s.MaxLR, initial/s.FinalDivFactor, pct)
	}
	return s.BaseLR
}

// Momentum returns the momentum (SGD) or beta1 (Adam, AdamW) of step, counted as Rate counts,
// and true, when the schedule cycles it; otherwise false, and the optimizer keeps its own.
// Like OneCycleLR's, it moves with the rate's phases: down from MaxMomentum to BaseMomentum
// while the rate climbs, back up while it falls.
func (s Schedule) Momentum(step int64) (float64, bool) {
	if !s.CycleMomentum || s.Kind != "onecycle" {
		return 0, false
	}
	climbing, pct := s.oneCyclePhase(step)
	if climbing {
		return annealCos(s.MaxMomentum, s.BaseMomentum, pct), true
	}
	return annealCos(s.BaseMomentum, s.MaxMomentum, pct), true
}

// ScaledRate is Rate with the whole schedule scaled by lr/BaseLR, for a
// learning_rate changed during the run to lr. After its warmup, a constant
// schedule's rate is lr itself, exactly.
func (s Schedule) ScaledRate(lr float64, step int64) float64 {
	switch {
	case lr == s.BaseLR:
		return s.Rate(step)
	case s.Kind == "constant" && step >= int64(s.Warmup):
		return lr
	}
	return lr / s.BaseLR * s.Rate(step)
}

// oneCyclePhase is where step t is in OneCycleLR's two phases (anneal_strategy "cos"): the
// climb, from MaxLR/DivFactor up to MaxLR until step PctStart*TMax - 1, or the descent, to
// MaxLR/(DivFactor*FinalDivFactor) at step TMax - 1; and how far along it, from 0 to 1.
// PyTorch refuses to step past TMax; here the schedule then stays where it ended.
func (s Schedule) oneCyclePhase(t int64) (climbing bool, pct float64) {
	upEnd := s.PctStart*float64(s.TMax) - 1
	downEnd := float64(s.TMax - 1)
	step := min(float64(t), float64(s.TMax))
	if upEnd > 0 && step <= upEnd {
		return true, step / upEnd
	}
	// PyTorch divides by zero for a climb or a descent of no steps; here
	// they are skipped.
	pct = 1.0
	if downEnd > upEnd {
		pct = min((step-upEnd)/(downEnd-upEnd), 1)
	}
	return false, pct
}

// annealCos is PyTorch's _annealing_cos: from start at pct 0 to end at pct 1.
func annealCos(start, end, pct float64) float64 {
	return end + (start-end)/2*(math.Cos(math.Pi*pct)+1)
}

// String describes the schedule for the dashboard and logs.
func (s Schedule) String() string {
	warm := ""
	if s.Warmup > 0 {
		warm = fmt.Sprintf(", warmup %d", s.Warmup)
	}
	switch s.Kind {
	case "step":
		return fmt.Sprintf("step ×%g every %d%s", s.Gamma, s.StepSize, warm)
	case "cosine":
		return fmt.Sprintf("cosine over %d to %g%s", s.TMax, s.EtaMin, warm)
	case "onecycle":
		if s.CycleMomentum {
			return fmt.Sprintf("onecycle over %d, peak %g, momentum %g-%g", s.TMax, s.MaxLR, s.BaseMomentum, s.MaxMomentum)
		}
		return fmt.Sprintf("onecycle over %d, peak %g", s.TMax, s.MaxLR)
	}
	return "constant" + warm
}
