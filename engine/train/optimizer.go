package train

import (
	"mnist-tui/engine"
	"mnist-tui/engine/config"
	"mnist-tui/engine/schedule"
)

// newOptimizer builds the optimizer cfg names over params.
func newOptimizer(cfg config.Config, params []*engine.Param) engine.Optimizer {
	switch cfg.Optimizer {
	case "adam", "adamw":
		return engine.NewAdam(params, cfg.LearningRate, cfg.Beta1, cfg.Beta2, cfg.Eps, cfg.WeightDecay, cfg.Optimizer == "adamw")
	}
	sgd := engine.NewSGD(params, cfg.LearningRate, cfg.Momentum, cfg.WeightDecay)
	sgd.Nesterov = cfg.Nesterov
	return sgd
}

// applySchedule sets the optimizer's learning rate for step and, with
// cycle_momentum, its momentum (Adam's beta1).
func (r *run) applySchedule(step int64) {
	r.opt.SetLearningRate(r.scheduledRate(step))
	if m, cycled := r.sched.Momentum(step); cycled {
		r.opt.SetMomentum(m)
	}
}

// scheduledRate is the learning rate of step: the schedule's, scaled by the
// live edits of learning_rate since the run started.
func (r *run) scheduledRate(step int64) float64 {
	return r.sched.ScaledRate(r.cfg.LearningRate, step)
}

// startSchedule builds the run's schedule from its settings as they were when
// it started: live edits since then (recorded in the history, the first one's
// Old being the starting value) do not rebuild it — learning_rate scales it,
// and epochs leave a t_max of 0 as the run's first length — so a resumed run
// gets the rates the original run would have.
func (r *run) startSchedule() {
	cfg := r.cfg
	seen := map[string]bool{}
	for _, ch := range r.hist.Changes {
		if seen[ch.Key] {
			continue
		}
		seen[ch.Key] = true
		switch ch.Key {
		case "learning_rate":
			cfg.LearningRate = ch.Old
		case "epochs":
			cfg.Epochs = int(ch.Old)
		}
	}
	r.sched = schedule.FromConfig(cfg, cfg.Epochs*r.loader.Batches())
}

// tracePastRates records the rates of the steps a resumed run has already
// taken, for the dashboard's line: the schedule's, scaled by the
// learning_rate edits the history records, as they were applied.
func (r *run) tracePastRates() {
	for step := r.rates.Next(); step < r.step; step = r.rates.Next() {
		lr := r.sched.BaseLR
		for _, ch := range r.hist.Changes {
			if ch.Key == "learning_rate" && ch.Step <= step {
				lr = ch.New
			}
		}
		r.rates = r.rates.Add(step, r.sched.ScaledRate(lr, step))
	}
}
