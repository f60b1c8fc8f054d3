package engine_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"mnist-tui/engine"
	"mnist-tui/engine/internal/fixture"
	"mnist-tui/engine/schedule"

	"gorgonia.org/tensor"
)

// extrasTol bounds max|got - want| / max|want| of every tensor after each of five steps against
// engine/pytorch/make_training_extras_fixtures.py. Measured 8.9e-8 for clipping (its
// coefficient comes from a float64 norm where PyTorch's is float32) and 1.3e-7 for the cycled
// momentum (2026-12-03, the worst the tests log), well inside the 1e-5 issue 16 asks of
// update rules.
const extrasTol = 5e-7

// emaTol bounds the averaged weights and statistics: measured 1.7e-8 (2026-12-03), within the
// 1e-6 the brief asks for.
const emaTol = 5e-8

type optimizerSettings struct {
	Name        string     `json:"name"`
	Optimizer   string     `json:"optimizer"`
	LR          float64    `json:"lr"`
	Momentum    float64    `json:"momentum"`
	WeightDecay float64    `json:"weight_decay"`
	Betas       [2]float64 `json:"betas"`
	Eps         float64    `json:"eps"`
}

type extrasFixture struct {
	Shapes       [][2]json.RawMessage `json:"shapes"`
	BufferShapes [][2]json.RawMessage `json:"buffer_shapes"`
	ParamStream  int                  `json:"param_stream"`
	GradStream   int                  `json:"grad_stream"`
	BufferStream int                  `json:"buffer_stream"`
	Clip         []struct {
		optimizerSettings
		MaxNorm float64                `json:"max_norm"`
		Norms   []float64              `json:"norms"`
		Steps   []map[string][]float64 `json:"steps"`
	} `json:"clip"`
	Cycle []struct {
		optimizerSettings
		MaxLR          float64                `json:"max_lr"`
		PctStart       float64                `json:"pct_start"`
		DivFactor      float64                `json:"div_factor"`
		FinalDivFactor float64                `json:"final_div_factor"`
		BaseMomentum   float64                `json:"base_momentum"`
		MaxMomentum    float64                `json:"max_momentum"`
		Steps          []map[string][]float64 `json:"steps"`
	} `json:"cycle"`
	EMA []struct {
		Name     string                 `json:"name"`
		Decay    float64                `json:"decay"`
		LR       float64                `json:"lr"`
		Momentum float64                `json:"momentum"`
		Steps    []map[string][]float64 `json:"steps"`
	} `json:"ema"`
}

func readExtras(t *testing.T) (extrasFixture, []fixture.Spec, []fixture.Spec) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "torch_training_extras.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx extrasFixture
	if err := json.Unmarshal(data, &fx); err != nil {
		t.Fatalf("torch_training_extras.json: %v", err)
	}
	return fx, specsOf(t, fx.Shapes), specsOf(t, fx.BufferShapes)
}

func specsOf(t *testing.T, shapes [][2]json.RawMessage) []fixture.Spec {
	t.Helper()
	var specs []fixture.Spec
	for _, s := range shapes {
		var spec fixture.Spec
		if err := json.Unmarshal(s[0], &spec.Name); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(s[1], &spec.Shape); err != nil {
			t.Fatal(err)
		}
		specs = append(specs, spec)
	}
	return specs
}

// fixtureParams builds the fixture's parameters from stream, with zero gradients.
func fixtureParams(stream int, specs []fixture.Spec) []*engine.Param {
	start := fixture.State(stream, specs)
	params := make([]*engine.Param, len(specs))
	for i, s := range specs {
		params[i] = &engine.Param{
			Name:  s.Name,
			Value: tensor.New(tensor.WithShape(s.Shape...), tensor.WithBacking(start[i])),
			Grad:  tensor.New(tensor.WithShape(s.Shape...), tensor.WithBacking(make([]float32, len(start[i])))),
		}
	}
	return params
}

func setFixtureGrads(params []*engine.Param, stream int, specs []fixture.Spec) {
	for i, g := range fixture.State(stream, specs) {
		copy(params[i].Grad.Data().([]float32), g)
	}
}

func newFixtureOptimizer(t *testing.T, s optimizerSettings, params []*engine.Param) engine.Optimizer {
	t.Helper()
	switch s.Optimizer {
	case "sgd":
		return engine.NewSGD(params, s.LR, s.Momentum, s.WeightDecay)
	case "adam":
		return engine.NewAdam(params, s.LR, s.Betas[0], s.Betas[1], s.Eps, s.WeightDecay, false)
	}
	t.Fatalf("optimizer %q", s.Optimizer)
	return nil
}

// compareStep checks every named tensor of want against got's, returning the worst error.
func compareStep(t *testing.T, step int, got map[string][]float32, want map[string][]float64, tol float64) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("step %d: %d tensors, PyTorch's %d", step+1, len(got), len(want))
	}
	worst := 0.0
	for name, w := range want {
		e := relErr(got[name], w)
		worst = max(worst, e)
		if e > tol {
			t.Errorf("step %d: %s off by %.2g (relative to its largest value), over %g", step+1, name, e, tol)
		}
	}
	return worst
}

func valuesByName(params []*engine.Param) map[string][]float32 {
	out := map[string][]float32{}
	for _, p := range params {
		out[p.Name] = p.Value.Data().([]float32)
	}
	return out
}

// TestGradClippingFollowsPyTorch: clip_grad_norm_ before SGD and Adam steps, clipping every
// step, and a max_norm too large to clip, for five steps: the norms and the parameters after
// every step.
func TestGradClippingFollowsPyTorch(t *testing.T) {
	fx, specs, _ := readExtras(t)
	if len(fx.Clip) < 3 {
		t.Fatalf("%d clipping runs, want the 3 the script writes", len(fx.Clip))
	}
	worst := 0.0
	for _, run := range fx.Clip {
		t.Run(run.Name, func(t *testing.T) {
			params := fixtureParams(fx.ParamStream, specs)
			opt := newFixtureOptimizer(t, run.optimizerSettings, params)
			clip := engine.NewGradClipper(params, run.MaxNorm)
			for step, want := range run.Steps {
				setFixtureGrads(params, fx.GradStream+step, specs)
				norm := clip.Clip()
				if e := math.Abs(norm-run.Norms[step]) / run.Norms[step]; e > extrasTol {
					t.Errorf("step %d: norm %g, PyTorch's %g", step+1, norm, run.Norms[step])
				}
				opt.Step()
				worst = max(worst, compareStep(t, step, valuesByName(params), want, extrasTol))
			}
		})
	}
	t.Logf("worst error: %.3g", worst)
}

// TestCycledMomentumMovesTheOptimizer: OneCycleLR with cycle_momentum over five steps changes
// SGD's momentum or Adam's beta1 every step; schedule.Momentum, handed to the optimizer with
// SetMomentum, moves the parameters as PyTorch's did.
func TestCycledMomentumMovesTheOptimizer(t *testing.T) {
	fx, specs, _ := readExtras(t)
	if len(fx.Cycle) < 2 {
		t.Fatalf("%d cycling runs, want the 2 the script writes", len(fx.Cycle))
	}
	worst := 0.0
	for _, run := range fx.Cycle {
		t.Run(run.Name, func(t *testing.T) {
			params := fixtureParams(fx.ParamStream, specs)
			opt := newFixtureOptimizer(t, run.optimizerSettings, params)
			sched := schedule.Schedule{Kind: "onecycle", TMax: len(run.Steps), MaxLR: run.MaxLR, PctStart: run.PctStart,
				DivFactor: run.DivFactor, FinalDivFactor: run.FinalDivFactor,
				CycleMomentum: true, BaseMomentum: run.BaseMomentum, MaxMomentum: run.MaxMomentum}
			for step, want := range run.Steps {
				setFixtureGrads(params, fx.GradStream+step, specs)
				opt.SetLearningRate(sched.Rate(int64(step)))
				m, ok := sched.Momentum(int64(step))
				if !ok {
					t.Fatal("the schedule does not cycle the momentum")
				}
				opt.SetMomentum(m)
				opt.Step()
				worst = max(worst, compareStep(t, step, valuesByName(params), want, extrasTol))
			}
		})
	}
	t.Logf("worst error: %.3g", worst)
}

// TestEMAFollowsAveragedModel: the average of the weights and of two BatchNorm statistics
// after each of five SGD steps, against AveragedModel(use_buffers=True) with the EMA avg_fn.
func TestEMAFollowsAveragedModel(t *testing.T) {
	fx, specs, bufSpecs := readExtras(t)
	if len(fx.EMA) < 2 {
		t.Fatalf("%d EMA runs, want the 2 the script writes", len(fx.EMA))
	}
	worst := 0.0
	for _, run := range fx.EMA {
		t.Run(run.Name, func(t *testing.T) {
			params := fixtureParams(fx.ParamStream, specs)
			opt := engine.NewSGD(params, run.LR, run.Momentum, 0)
			var tracked int64
			bufs := make([]engine.Buffer, len(bufSpecs))
			for i, s := range bufSpecs {
				bufs[i] = engine.Buffer{Name: s.Name, Values: make([]float32, s.Shape[0])}
			}
			// A num_batches_tracked, which the average leaves out.
			bufs = append(bufs, engine.Buffer{Name: "num_batches_tracked", Tracked: &tracked})
			ema := engine.NewEMA(params, bufs, run.Decay)
			for step, want := range run.Steps {
				setFixtureGrads(params, fx.GradStream+step, specs)
				opt.Step()
				for i, v := range fixture.State(fx.BufferStream+step, bufSpecs) {
					copy(bufs[i].Values, v)
				}
				tracked++
				ema.Update()
				got := valuesByName(ema.Params())
				for _, b := range ema.Buffers() {
					got[b.Name] = b.Values
				}
				worst = max(worst, compareStep(t, step, got, want, emaTol))
			}
		})
	}
	t.Logf("worst error: %.3g", worst)
}

// TestEMASwapIsExact: Swap puts the averages in the weights' place and a second Swap puts
// everything back, bit for bit.
func TestEMASwapIsExact(t *testing.T) {
	fx, specs, _ := readExtras(t)
	params := fixtureParams(fx.ParamStream, specs)
	bufs := []engine.Buffer{{Name: "running_mean", Values: []float32{1, 2, 3}}}
	ema := engine.NewEMA(params, bufs, 0.5)
	ema.Update()
	setFixtureGrads(params, fx.GradStream, specs)
	engine.NewSGD(params, 0.1, 0, 0).Step()
	bufs[0].Values[0] = 5
	ema.Update()
	weights := clone(valuesByName(params))
	averages := clone(valuesByName(ema.Params()))
	ema.Swap()
	if got := valuesByName(params); !equalValues(got, averages) {
		t.Errorf("after Swap the weights are %v, want the averages %v", got, averages)
	}
	if bufs[0].Values[0] != 3 { // 0.5*1 + 0.5*5
		t.Errorf("after Swap running_mean[0] is %v, want the average 3", bufs[0].Values[0])
	}
	ema.Swap()
	if got := valuesByName(params); !equalValues(got, weights) || bufs[0].Values[0] != 5 {
		t.Errorf("a second Swap did not put the weights back: %v, want %v", got, weights)
	}
}

func clone(m map[string][]float32) map[string][]float32 {
	out := map[string][]float32{}
	for k, v := range m {
		out[k] = append([]float32(nil), v...)
	}
	return out
}

func equalValues(a, b map[string][]float32) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w := b[k]
		if len(v) != len(w) {
			return false
		}
		for i := range v {
			if math.Float32bits(v[i]) != math.Float32bits(w[i]) {
				return false
			}
		}
	}
	return true
}
