package doctor

import (
	"bufio"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"mnist-tui/engine/runs"
)

// feed gives the doctor a run's records in the trainer's order (a health
// record before the log line of its step) and returns every note.
func feed(d *Doctor, recs []runs.Record) []runs.Note {
	var notes []runs.Note
	for _, rec := range recs {
		switch r := rec.(type) {
		case runs.Log:
			notes = append(notes, d.Log(r)...)
		case runs.Health:
			notes = append(notes, d.Health(r)...)
		case runs.Epoch:
			notes = append(notes, d.Epoch(r)...)
		case runs.Change:
			d.Changed(r)
		}
	}
	return notes
}

// readRecords reads a metrics.jsonl (or --json output) file.
func readRecords(t *testing.T, path string) []runs.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []runs.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		rec, err := runs.UnmarshalRecord(sc.Bytes())
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		recs = append(recs, rec)
	}
	return recs
}

// healthOrderFirst moves each health record before the log line of its
// step, as the trainer hands them to the doctor (the file has the log
// line first, as the tutorial prints it).
func healthOrderFirst(recs []runs.Record) []runs.Record {
	out := append([]runs.Record(nil), recs...)
	for i := 1; i < len(out); i++ {
		if _, ok := out[i].(runs.Health); ok {
			if _, ok := out[i-1].(runs.Log); ok {
				out[i-1], out[i] = out[i], out[i-1]
			}
		}
	}
	return out
}

func rules(notes []runs.Note) []string {
	var out []string
	for _, n := range notes {
		out = append(out, n.Rule)
	}
	return out
}

// The real tutorial runs (lr 0.01, momentum 0.5, seed 1, as `train
// --json` wrote them, activations included: the cnn's ten epochs, the
// first epoch of linear and residual) are healthy: not one note.
func TestNoNoteOnTheTutorialRun(t *testing.T) {
	for _, path := range []string{"testdata/cnn-tutorial.jsonl", "testdata/linear-epoch1.jsonl", "testdata/residual-epoch1.jsonl"} {
		recs := readRecords(t, path)
		var logs, health, epochs int
		for _, r := range recs {
			switch r.(type) {
			case runs.Log:
				logs++
			case runs.Health:
				health++
				if !slices.ContainsFunc(r.(runs.Health).Layers, func(l runs.LayerHealth) bool { return l.Act != nil && l.Act.ReLUs > 0 }) {
					t.Errorf("%s: a health line without ReLU activations: the dead ReLU rule is not tried", path)
				}
			case runs.Epoch:
				epochs++
			}
		}
		if logs == 0 || health != logs || epochs == 0 {
			t.Fatalf("%s: %d log, %d health, %d epoch lines: not a whole run", path, logs, health, epochs)
		}
		if notes := feed(New(), healthOrderFirst(recs)); len(notes) > 0 {
			t.Errorf("%s: notes on a healthy run: %+v", path, notes)
		}
	}
}

// layers makes a health record of three layers with the given gradient
// norms and update ratios.
func layers(step int64, lr float64, grads, ratios [3]float64) runs.Health {
	h := runs.Health{Epoch: 1, Batch: int(step), Step: step, LR: lr}
	for i, name := range []string{"conv1.0", "conv2.0", "fc"} {
		h.Layers = append(h.Layers, runs.LayerHealth{Name: name, WeightNorm: 3, GradNorm: grads[i], UpdateRatio: ratios[i]})
	}
	return h
}

func healthy(step int64) runs.Health {
	return layers(step, 0.01, [3]float64{0.3, 1.5, 2}, [3]float64{1e-3, 5e-3, 6e-3})
}

// withDead is h with conv2.0's 20 ReLUs dead in share dead of the batch
// and conv1.0's 10 all alive.
func withDead(h runs.Health, dead float64) runs.Health {
	h.Layers = append([]runs.LayerHealth(nil), h.Layers...)
	h.Layers[0].Act = &runs.Activations{Mean: 0.5, Std: 0.6, ReLUs: 10}
	h.Layers[1].Act = &runs.Activations{Mean: 0.1, Std: 0.2, ReLUs: 20, Dead: dead}
	h.Layers[2].Act = &runs.Activations{Mean: 0, Std: 1} // no ReLU
	return h
}

func log(step int64, loss float64) runs.Log {
	return runs.Log{Epoch: 1, Batch: int(step), Step: step, Loss: loss, Acc: 50, LR: 0.01}
}

// Each rule, on a sequence made to show it, gives its note once (at the
// step the condition is first established) with its fix; nothing else
// speaks.
func TestEachRuleOnARunMadeToShowIt(t *testing.T) {
	cases := []struct {
		name      string
		recs      []runs.Record
		rule      string
		step      int64
		fixFactor float64
		mention   string
	}{
		{
			// What --lr 0.00001 does to the cnn: the loss stays at ln 10.
			name: "stuck", rule: RuleStuck, step: 600, fixFactor: 10, mention: "2.303",
			recs: []runs.Record{healthy(300), log(300, 2.304), healthy(600), log(600, 2.304), healthy(900), log(900, 2.302), healthy(1200), log(1200, 2.301)},
		},
		{
			// Without the change, 600 steps at ln 10 would be noted at 600.
			name: "stuck after a change waits for new evidence", rule: RuleStuck, step: 900, fixFactor: 10,
			recs: []runs.Record{log(200, 2.3), log(400, 2.3), runs.Change{Step: 400, Key: "learning_rate"}, log(600, 2.3), log(800, 2.3), log(900, 2.3)},
		},
		{
			name: "rising", rule: RuleRising, step: 1200, fixFactor: 0.1, mention: "rising",
			recs: []runs.Record{healthy(300), log(300, 0.7), healthy(600), log(600, 0.3), healthy(900), log(900, 0.5), healthy(1200), log(1200, 0.9), healthy(1500), log(1500, 1.5)},
		},
		{
			// What --lr 0.5 does to the cnn in its first 300 steps.
			name: "worse than guessing", rule: RuleRising, step: 300, fixFactor: 0.1, mention: "2.303",
			recs: []runs.Record{healthy(300), log(300, 4917)},
		},
		{
			name: "exploding", rule: RuleExploding, step: 1500, fixFactor: 0.1, mention: "conv2.0",
			recs: []runs.Record{healthy(300), healthy(600), healthy(900),
				layers(1200, 0.01, [3]float64{0.3, 20, 2}, [3]float64{1e-3, 5e-3, 6e-3}),
				layers(1500, 0.01, [3]float64{0.3, 40, 2}, [3]float64{1e-3, 5e-3, 6e-3})},
		},
		{
			name: "vanishing", rule: RuleVanishing, step: 300, mention: "conv1.0",
			recs: []runs.Record{layers(300, 0.01, [3]float64{1e-5, 1.5, 2}, [3]float64{1e-3, 5e-3, 6e-3})},
		},
		{
			name: "dead layer", rule: RuleVanishing, step: 300, mention: "dead",
			recs: []runs.Record{layers(300, 0.01, [3]float64{0, 1.5, 2}, [3]float64{1e-3, 5e-3, 6e-3})},
		},
		{
			// What --lr 2 does to the cnn's conv2 before the loss turns NaN.
			name: "dead ReLUs", rule: RuleDeadReLUs, step: 900, fixFactor: 0.1, mention: "85 % of conv2.0's 20 ReLUs",
			recs: []runs.Record{withDead(healthy(300), 0.2), withDead(healthy(600), 0.85), withDead(healthy(900), 0.85)},
		},
		{
			// Half dead is not more than half; one batch is not enough.
			name: "dead ReLUs on two records in a row", rule: RuleDeadReLUs, step: 1800, fixFactor: 0.1, mention: "conv2.0",
			recs: []runs.Record{withDead(healthy(300), 0.5), withDead(healthy(600), 0.5), withDead(healthy(900), 0.9),
				withDead(healthy(1200), 0.1), withDead(healthy(1500), 0.6), withDead(healthy(1800), 0.55)},
		},
		{
			// Small steps did not kill them: no learning rate fix.
			name: "dead ReLUs with small steps", rule: RuleDeadReLUs, step: 600, mention: "initialisation",
			recs: []runs.Record{
				withDead(layers(300, 0.01, [3]float64{0.3, 1.5, 2}, [3]float64{1e-4, 2e-4, 3e-4}), 0.7),
				withDead(layers(600, 0.01, [3]float64{0.3, 1.5, 2}, [3]float64{1e-4, 2e-4, 3e-4}), 0.7)},
		},
		{
			name: "steps too small", rule: RuleStepTooLow, step: 600, fixFactor: 10, mention: "too low",
			recs: []runs.Record{
				layers(300, 1e-5, [3]float64{0.3, 1.5, 2}, [3]float64{1e-6, 5e-6, 6e-6}),
				layers(600, 1e-5, [3]float64{0.3, 1.5, 2}, [3]float64{1e-6, 5e-6, 6e-6})},
		},
		{
			name: "steps too large", rule: RuleStepTooHigh, step: 600, fixFactor: 0.1, mention: "too high",
			recs: []runs.Record{
				layers(300, 1, [3]float64{0.3, 1.5, 2}, [3]float64{0.1, 0.5, 0.6}),
				layers(600, 1, [3]float64{0.3, 1.5, 2}, [3]float64{0.1, 0.5, 0.6})},
		},
		{
			name: "overfitting", rule: RuleOverfitting, step: 0, mention: "epoch 2",
			recs: []runs.Record{
				runs.Epoch{Epoch: 1, TrainAcc: 95, TestAcc: 97},
				runs.Epoch{Epoch: 2, TrainAcc: 97, TestAcc: 98.5},
				runs.Epoch{Epoch: 3, TrainAcc: 98, TestAcc: 98.3},
				runs.Epoch{Epoch: 4, TrainAcc: 99, TestAcc: 98.1},
				runs.Epoch{Epoch: 5, TrainAcc: 99.5, TestAcc: 97.9}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			notes := feed(New(), c.recs)
			if len(notes) != 1 || notes[0].Rule != c.rule {
				t.Fatalf("notes %v, want one %s: %+v", rules(notes), c.rule, notes)
			}
			n := notes[0]
			if n.Step != c.step {
				t.Errorf("note at step %d, want %d", n.Step, c.step)
			}
			if n.FixFactor != c.fixFactor || (c.fixFactor != 0) != (n.FixKey == LearningRate) {
				t.Errorf("fix %s x%g, want learning_rate x%g", n.FixKey, n.FixFactor, c.fixFactor)
			}
			if !strings.Contains(n.Text, c.mention) {
				t.Errorf("the note does not mention %q: %s", c.mention, n.Text)
			}
		})
	}
}

// A dead network's loss also sits at ln 10, but a higher learning rate
// would not revive it: the stuck note then offers no fix, and tiny steps
// are not blamed on the learning rate.
func TestDeadNetworkIsNotToldToRaiseTheLearningRate(t *testing.T) {
	dead := func(step int64) runs.Health {
		return layers(step, 0.5, [3]float64{0, 1e-3, 2e-3}, [3]float64{0, 1e-6, 2e-6})
	}
	notes := feed(New(), []runs.Record{dead(300), log(300, 2.31), dead(600), log(600, 2.30), dead(900), log(900, 2.30)})
	for _, n := range notes {
		if n.FixFactor > 1 {
			t.Errorf("%s note offers to raise the learning rate on a dead network: %s", n.Rule, n.Text)
		}
	}
	if got := rules(notes); len(got) != 2 || got[0] != RuleVanishing || got[1] != RuleStuck {
		t.Errorf("notes %v, want vanishing then stuck", got)
	}
}

// A layer with no gradient behind one whose ReLUs are all dead (what
// --lr 0.4 does to the cnn: conv2's die, conv1's stay alive) is blamed on
// the dead layer, not on its own units.
func TestNoGradientIsBlamedOnTheDeadLayerAfterIt(t *testing.T) {
	h := withDead(layers(300, 0.4, [3]float64{0, 0, 0.2}, [3]float64{0, 0, 3e-3}), 1)
	notes := feed(New(), []runs.Record{h})
	if len(notes) != 1 || notes[0].Rule != RuleVanishing || !strings.Contains(notes[0].Text, "conv1.0 gets no gradient") ||
		!strings.Contains(notes[0].Text, "every ReLU of conv2.0 gave 0") {
		t.Errorf("notes %+v, want conv1.0's missing gradient blamed on conv2.0's dead ReLUs", notes)
	}
	// Without activations (an older run) the layer itself is named.
	h = layers(300, 0.4, [3]float64{0, 0, 0.2}, [3]float64{0, 0, 3e-3})
	if notes := feed(New(), []runs.Record{h}); len(notes) != 1 || !strings.Contains(notes[0].Text, "its units are off") {
		t.Errorf("notes %+v without activations", notes)
	}
}

// What --lr 0.5 does to the cnn: the loss runs away in the first 300
// steps and conv2's ReLUs are all dead after it, when the dead network's
// own steps are small. The steps that killed them were large: the note
// still offers a lower learning rate.
func TestDeadReLUsAfterTheLossRanAwayBlameTheLearningRate(t *testing.T) {
	small := func(step int64) runs.Health {
		return withDead(layers(step, 0.5, [3]float64{0.3, 1.5, 2}, [3]float64{1e-6, 3e-6, 6e-6}), 1)
	}
	notes := feed(New(), []runs.Record{small(300), log(300, 4917), small(600), log(600, 2.39)})
	var dead []runs.Note
	for _, n := range notes {
		if n.Rule == RuleDeadReLUs {
			dead = append(dead, n)
		}
	}
	if len(dead) != 1 || dead[0].FixFactor != 0.1 || dead[0].FixKey != LearningRate || !strings.Contains(dead[0].Text, "100 % of conv2.0") {
		t.Errorf("dead ReLU notes %+v, want one offering learning rate /10", dead)
	}
	// Without the runaway loss the same records blame the start.
	notes = feed(New(), []runs.Record{small(300), log(300, 1.2), small(600), log(600, 1.1)})
	spoke := 0
	for _, n := range notes {
		if n.Rule == RuleDeadReLUs {
			spoke++
			if n.FixFactor != 0 || !strings.Contains(n.Text, "initialisation") {
				t.Errorf("dead ReLUs with small steps all along: %+v, want no learning rate fix", n)
			}
		}
	}
	if spoke != 1 {
		t.Errorf("%d dead ReLU notes with small steps all along, want 1", spoke)
	}
}

// A rule speaks once while its condition lasts, again after it cleared,
// and again after a change of the learning rate (a fix that did not help).
func TestRulesSpeakOncePerEpisode(t *testing.T) {
	low := func(step int64) runs.Health {
		return layers(step, 1e-5, [3]float64{0.3, 1.5, 2}, [3]float64{1e-6, 5e-6, 6e-6})
	}
	d := New()
	n := len(feed(d, []runs.Record{low(100), low(200), low(300), low(400)}))
	if n != 1 {
		t.Errorf("%d notes over a lasting condition, want 1", n)
	}
	if n := len(feed(d, []runs.Record{healthy(500), low(600), low(700)})); n != 1 {
		t.Errorf("%d notes after the condition cleared and came back, want 1", n)
	}
	if n := len(feed(d, []runs.Record{runs.Change{Step: 700, Key: "learning_rate"}, low(800), low(900)})); n != 1 {
		t.Errorf("%d notes after a change that did not help, want 1", n)
	}
}

func TestDivergedNote(t *testing.T) {
	notes := New().Diverged(1, 5, 5, math.NaN(), 2)
	if len(notes) != 1 || notes[0].Rule != RuleDiverged || notes[0].FixFactor != 0.1 || !strings.Contains(notes[0].Text, "NaN") {
		t.Errorf("%+v", notes)
	}
}

func TestFixText(t *testing.T) {
	for _, c := range []struct {
		n    runs.Note
		lr   float64
		want string
	}{
		{runs.Note{FixKey: LearningRate, FixFactor: 10}, 1e-5, "learning rate x10 (0.0001)"},
		{runs.Note{FixKey: LearningRate, FixFactor: 0.1}, 2, "learning rate /10 (0.2)"},
		{runs.Note{FixKey: LearningRate, FixFactor: 0.1}, 0.4, "learning rate /10 (0.04)"}, // not 0.04000000000000001
		{runs.Note{}, 2, ""},
	} {
		if got := FixText(c.n, c.lr); got != c.want {
			t.Errorf("FixText(%+v, %g) = %q, want %q", c.n, c.lr, got, c.want)
		}
	}
}

// After a change of the learning rate the loss is judged against its own
// lowest since: a loss that was lower under the old rate is no
// divergence (a lower rate may well start a little higher).
func TestRisingIsJudgedSinceTheLastChange(t *testing.T) {
	recs := []runs.Record{log(100, 0.3), runs.Change{Step: 100, Key: "learning_rate"}, log(200, 0.6), log(300, 0.7), log(400, 0.8)}
	if notes := feed(New(), recs); len(notes) != 0 {
		t.Errorf("notes %+v, want none", notes)
	}
	recs[1] = runs.Change{Step: 100, Key: "epochs"} // not a change of the steps: the evidence stands
	if got := rules(feed(New(), recs)); len(got) != 1 || got[0] != RuleRising {
		t.Errorf("notes %v, want rising", got)
	}
}
