// Package doctor recognises the classic ways training goes wrong while it
// happens — a loss that does not move, a loss that runs away, gradients
// that explode or vanish, a layer whose ReLUs have mostly died, steps
// far too small or too large for the
// weights, a model that memorises instead of learning — and explains each
// in plain words, with a one-key fix where one exists.
//
// The doctor only reads the run's own records (log, health and epoch
// lines), so it works for every model and can be tested on made-up
// sequences. Each rule speaks once when its condition begins and again
// only after the condition has cleared, or after a hyperparameter changed
// (the evidence gathered before the change says nothing about after).
package doctor

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"mnist-tui/engine/runs"
)

// The rules, as they appear in Note.Rule.
const (
	RuleStuck       = "stuck"        // loss at ln 10 for many steps
	RuleDiverged    = "diverged"     // loss not a number
	RuleRising      = "rising"       // loss rising fast
	RuleExploding   = "exploding"    // a layer's gradient growing fast
	RuleVanishing   = "vanishing"    // a layer's gradient next to nothing
	RuleDeadReLUs   = "dead_relus"   // most of a layer's ReLUs off for a whole batch
	RuleStepTooLow  = "step_too_low" // update-to-weight ratio far below 1e-3
	RuleStepTooHigh = "step_too_high"
	RuleOverfitting = "overfitting"
)

// LearningRate is the live-editable key the doctor's fixes change.
const LearningRate = "learning_rate"

// Thresholds. They are wide on purpose: a note must mean something is
// wrong, and the tutorial's runs of every model stay well inside them.
const (
	chance = math.Ln10 // the loss of a network that guesses among 10 classes

	stuckBand  = 0.05 // a loss within this of ln 10 has not moved
	stuckSteps = 500  // for at least this many steps

	risingFactor = 1.5 // the loss is this many times its lowest since the last change,
	risingMargin = 0.1 // and this much above it, after rising twice in a row
	// worseThanGuessing: a mean loss this far above ln 10 is worse than
	// an untrained network's.
	worseThanGuessing = 0.3

	explodeFactor = 10   // a layer's gradient this many times its median so far
	vanishRatio   = 1e-4 // a layer's gradient this small next to the largest layer's
	deadGradient  = 1e-7 // every gradient below this: nothing flows back at all

	ratioCheck = 2 // on this many health records in a row

	// DeadShare: more than this share of a layer's ReLU units zero for a
	// whole batch, on deadCheck health records in a row (a unit that
	// fires for none of 64 images may still fire for the next 64).
	DeadShare = 0.5
	deadCheck = 2
	wildSteps = 1e-2 // an update ratio ten times the healthy one
)

// The update-to-weight ratio (of the median layer) the doctor calls far
// too small or too large; about 1e-3 is healthy. The low bound is two
// orders below it: the tutorial cnn's last epoch comes down to 1e-4.
const (
	RatioLow  = 1e-5
	RatioHigh = 1e-1
)

// Doctor watches one run. The zero value is not ready: use New.
type Doctor struct {
	logs    []runs.Log           // since the last change
	since   int64                // step of the last change (0: the start)
	grads   map[string][]float64 // each layer's gradient norms since the last change
	explode int                  // health records in a row with a layer far above its usual gradient
	low     int                  // health records in a row with the median ratio below RatioLow
	high    int
	dead    bool // the last health record had a layer with no gradient at all
	deadRe  int  // health records in a row with a layer's ReLUs mostly dead
	// wild: since the last change, the loss ran away or the steps were
	// far too large: what kills ReLUs, and may have before they were seen.
	wild   bool
	epochs []runs.Epoch
	active map[string]bool
}

// New returns a doctor for a run that starts now.
func New() *Doctor {
	return &Doctor{grads: map[string][]float64{}, active: map[string]bool{}}
}

// Changed tells the doctor a hyperparameter changed live. A change of
// the steps (learning rate, momentum) makes what it learnt before say
// nothing about training from now on; others (epochs, log interval) do
// not matter to it.
func (d *Doctor) Changed(c runs.Change) {
	if c.Key != LearningRate && c.Key != "momentum" {
		return
	}
	d.logs = d.logs[:0]
	d.since = c.Step
	clear(d.grads)
	d.explode, d.low, d.high, d.dead, d.deadRe, d.wild = 0, 0, 0, false, 0, false
	clear(d.active)
}

// speak returns n if rule is not already active, and marks it; when on is
// false the rule is cleared, so that it may speak again.
func (d *Doctor) speak(rule string, on bool, n func() runs.Note) []runs.Note {
	if !on {
		delete(d.active, rule)
		return nil
	}
	if d.active[rule] {
		return nil
	}
	d.active[rule] = true
	note := n()
	note.Rule = rule
	return []runs.Note{note}
}

// Log looks at a log line: the loss stuck at chance, or rising fast.
func (d *Doctor) Log(l runs.Log) []runs.Note {
	d.logs = append(d.logs, l)
	at := func(text string, key string, factor float64) func() runs.Note {
		return func() runs.Note {
			return runs.Note{Epoch: l.Epoch, Batch: l.Batch, Step: l.Step, Text: text, FixKey: key, FixFactor: factor}
		}
	}
	var notes []runs.Note

	// Stuck: every log line of the last stuckSteps steps within the band.
	from := d.since
	stuck := false
	for i := len(d.logs) - 1; i >= 0 && math.Abs(d.logs[i].Loss-chance) < stuckBand; i-- {
		from = d.since
		if i > 0 {
			from = d.logs[i-1].Step
		}
		stuck = l.Step-from >= stuckSteps
	}
	stuckFor := fmt.Sprintf("The loss has stayed at %.2f, what guessing among 10 classes costs (ln 10 = 2.303), for %d steps: the network is not learning. ",
		l.Loss, l.Step-from)
	if d.dead {
		notes = append(notes, d.speak(RuleStuck, stuck, at(stuckFor+
			"Some layer gets no gradient at all (a dead network): start again with a lower learning rate.", "", 0))...)
	} else {
		notes = append(notes, d.speak(RuleStuck, stuck, at(stuckFor+
			fmt.Sprintf("The learning rate (%g) is most likely far too low.", l.LR), LearningRate, 10))...)
	}

	// Rising: up twice in a row, to well above the lowest loss since the
	// last change; or worse than guessing.
	lowest := math.Inf(1)
	for _, p := range d.logs {
		lowest = min(lowest, p.Loss)
	}
	n := len(d.logs)
	rising := n >= 3 && d.logs[n-1].Loss > d.logs[n-2].Loss && d.logs[n-2].Loss > d.logs[n-3].Loss &&
		l.Loss >= risingFactor*lowest && l.Loss >= lowest+risingMargin
	text := fmt.Sprintf("The loss is rising (%.3f now, %.3f at its lowest): training is diverging, each step overshoots. "+
		"Lower the learning rate (%g).", l.Loss, lowest, l.LR)
	if l.Loss > chance+worseThanGuessing {
		rising = true
		text = fmt.Sprintf("The loss is %.3f, far above the 2.303 of guessing among 10 classes: training is diverging, "+
			"each step overshoots. Lower the learning rate (%g).", l.Loss, l.LR)
	}
	notes = append(notes, d.speak(RuleRising, rising, at(text, LearningRate, 0.1))...)
	d.wild = d.wild || rising
	return notes
}

// Diverged is the loss becoming NaN or infinite at step: the trainer has
// paused and will restart the epoch from its last good weights on resume.
func (d *Doctor) Diverged(epoch, batch int, step int64, loss, lr float64) []runs.Note {
	d.wild = true
	return d.speak(RuleDiverged, true, func() runs.Note {
		return runs.Note{Epoch: epoch, Batch: batch, Step: step, FixKey: LearningRate, FixFactor: 0.1, Text: fmt.Sprintf(
			"The loss became %v: the steps were so large that the weights overflowed (learning rate %g). "+
				"Lower the learning rate, then resume: the epoch restarts from its last good weights.", loss, lr)}
	})
}

// Health looks at the layers: gradients exploding or vanishing, steps far
// too small or too large for the weights. At a log interval, give it the
// health record before the log line: the loss rules read what it saw.
func (d *Doctor) Health(h runs.Health) []runs.Note {
	if len(h.Layers) == 0 {
		return nil
	}
	at := func(text string, key string, factor float64) func() runs.Note {
		return func() runs.Note {
			return runs.Note{Epoch: h.Epoch, Batch: h.Batch, Step: h.Step, Text: text, FixKey: key, FixFactor: factor}
		}
	}
	var notes []runs.Note

	// A single batch's gradient is noisy (a batch the network gets all
	// right has a tiny one), so a layer explodes only when its gradient
	// stands far above its usual size on two health records in a row.
	largest, smallest := h.Layers[0], h.Layers[0]
	var grown *runs.LayerHealth
	var usual float64
	for i, l := range h.Layers {
		if l.GradNorm > largest.GradNorm {
			largest = l
		}
		if l.GradNorm < smallest.GradNorm {
			smallest = l
		}
		past := d.grads[l.Name]
		if len(past) >= 2 && grown == nil {
			if m := median(past); l.GradNorm >= explodeFactor*m {
				grown, usual = &h.Layers[i], m
			}
		}
		d.grads[l.Name] = append(past, l.GradNorm)
	}
	d.explode = count(d.explode, grown != nil)
	notes = append(notes, d.speak(RuleExploding, d.explode >= 2, func() runs.Note {
		return at(fmt.Sprintf("The gradient of %s has grown to %.3g, %.0f times its usual size (%.3g): gradients are exploding, "+
			"and the next steps may throw the weights far off. Lower the learning rate (%g).",
			grown.Name, grown.GradNorm, grown.GradNorm/usual, usual, h.LR), LearningRate, 0.1)()
	})...)

	// A layer with no gradient at all has every ReLU before it off for
	// every image: nothing will ever change it, whatever the learning rate.
	d.dead = smallest.GradNorm < deadGradient
	vanishing := d.dead || smallest.GradNorm < vanishRatio*largest.GradNorm
	notes = append(notes, d.speak(RuleVanishing, vanishing, func() runs.Note {
		if d.dead {
			if wall := blocking(h.Layers, smallest.Name); wall != "" && wall != smallest.Name {
				return at(fmt.Sprintf("%s gets no gradient at all (%.2g): every ReLU of %s gave 0 for every image, so nothing flows back "+
					"past it and the layers before it have stopped learning for good (dead ReLUs), usually after a step far too large. "+
					"Start again with a lower learning rate.", smallest.Name, smallest.GradNorm, wall), "", 0)()
			}
			return at(fmt.Sprintf("%s gets no gradient at all (%.2g): its units are off for every image, so it has stopped learning "+
				"for good (dead ReLUs), usually after a step far too large. Start again with a lower learning rate.",
				smallest.Name, smallest.GradNorm), "", 0)()
		}
		return at(fmt.Sprintf("The gradient of %s (%.2g) is %.0f times smaller than %s's: it hardly learns (vanishing gradients). "+
			"A network this deep needs normalisation or skip connections; the learning rate cannot fix one layer.",
			smallest.Name, smallest.GradNorm, largest.GradNorm/smallest.GradNorm, largest.Name), "", 0)()
	})...)

	ratios := make([]float64, len(h.Layers))
	for i, l := range h.Layers {
		ratios[i] = l.UpdateRatio
	}
	stepSize := median(ratios)

	// Dead ReLUs: the layer with the largest share (the first of equals).
	var deadest *runs.LayerHealth
	for i, l := range h.Layers {
		if l.Act != nil && l.Act.ReLUs > 0 && l.Act.Dead > DeadShare && (deadest == nil || l.Act.Dead > deadest.Act.Dead) {
			deadest = &h.Layers[i]
		}
	}
	d.deadRe = count(d.deadRe, deadest != nil)
	notes = append(notes, d.speak(RuleDeadReLUs, d.deadRe >= deadCheck, func() runs.Note {
		a := deadest.Act
		text := fmt.Sprintf("%.0f %% of %s's %d ReLUs gave 0 for every image of the batch (dead ReLUs): they pass no gradient back, "+
			"so they no longer learn and the layer works with what is left. ", 100*a.Dead, deadest.Name, a.ReLUs)
		// Large steps are what usually push a unit's bias so far down
		// that nothing turns it on again, and may have done it before
		// the units were seen dead (a dead network's own steps are
		// small); with small steps all along the learning rate is not
		// the cause, and lowering it would not help.
		if d.wild || stepSize >= 1e-3 {
			return at(text+fmt.Sprintf("Large steps usually kill them: lower the learning rate (%g) to keep the rest alive; "+
				"those already dead revive only in a new run (or with leaky_relu in a custom network).", h.LR), LearningRate, 0.1)()
		}
		return at(text+"The steps are not large, so the cause is more likely the start (the initialisation) or the data's scale: "+
			"start again with another seed, or use leaky_relu or batchnorm before the ReLU in a custom network.", "", 0)()
	})...)

	// Tiny steps in a network with dead layers are not a learning rate
	// too low: raising it would only do more damage.
	d.low, d.high = count(d.low, stepSize < RatioLow && !vanishing), count(d.high, stepSize > RatioHigh)
	notes = append(notes, d.speak(RuleStepTooLow, d.low >= ratioCheck, at(fmt.Sprintf(
		"Each step changes the weights by %.1g of their size (learning rate x gradient / weights, median layer); about 1e-3 is healthy. "+
			"At this pace the network learns very slowly: the learning rate (%g) is too low.", stepSize, h.LR), LearningRate, 10))...)
	d.wild = d.wild || stepSize > wildSteps
	notes = append(notes, d.speak(RuleStepTooHigh, d.high >= ratioCheck, at(fmt.Sprintf(
		"Each step changes the weights by %.2g of their size (learning rate x gradient / weights, median layer); about 1e-3 is healthy. "+
			"Steps this large throw away what the network learnt: the learning rate (%g) is too high.", stepSize, h.LR), LearningRate, 0.1))...)
	return notes
}

// blocking is the first layer from the one named on (the layers are in
// the order of the forward pass) whose ReLUs were all dead: no gradient
// flows back through it to the layers before. "" when the activations do
// not show one.
func blocking(layers []runs.LayerHealth, from string) string {
	seen := false
	for _, l := range layers {
		seen = seen || l.Name == from
		if seen && l.Act != nil && l.Act.ReLUs > 0 && l.Act.Dead >= 1 {
			return l.Name
		}
	}
	return ""
}

// median of xs (the upper one of an even count), without reordering xs.
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}

func count(n int, on bool) int {
	if on {
		return n + 1
	}
	return 0
}

// Epoch looks at a finished epoch: test accuracy falling two epochs in a
// row while training accuracy rises is overfitting (one falling epoch is
// often noise).
func (d *Doctor) Epoch(e runs.Epoch) []runs.Note {
	d.epochs = append(d.epochs, e)
	n := len(d.epochs)
	if n < 3 {
		return nil
	}
	a, b, c := d.epochs[n-3], d.epochs[n-2], d.epochs[n-1]
	overfitting := c.TestAcc < b.TestAcc && b.TestAcc < a.TestAcc && c.TrainAcc > b.TrainAcc && b.TrainAcc > a.TrainAcc
	best := d.epochs[0]
	for _, p := range d.epochs {
		if p.TestAcc > best.TestAcc {
			best = p
		}
	}
	return d.speak(RuleOverfitting, overfitting, func() runs.Note {
		return runs.Note{Epoch: e.Epoch, Text: fmt.Sprintf(
			"Test accuracy fell from %.2f %% to %.2f %% over two epochs while training accuracy rose to %.2f %%: "+
				"the network is memorising the training images (overfitting). Stop here (best.safetensors holds epoch %d, %.2f %%), "+
				"or add augmentation, dropout or weight decay.", a.TestAcc, c.TestAcc, c.TrainAcc, best.Epoch, best.TestAcc)}
	})
}

// FixText says what a note's fix does, with the value it gives: "learning
// rate x10 (0.0001)"; "" when the note has none.
func FixText(n runs.Note, current float64) string {
	if n.FixKey == "" || n.FixFactor == 0 {
		return ""
	}
	op := fmt.Sprintf("x%g", n.FixFactor)
	if n.FixFactor < 1 {
		op = fmt.Sprintf("/%g", 1/n.FixFactor)
	}
	name := n.FixKey
	if name == LearningRate {
		name = "learning rate"
	}
	return fmt.Sprintf("%s %s (%g)", name, op, FixedValue(n, current))
}

// FixedValue is the value a note's fix gives the key from current, in
// the fewest digits that say it: 0.4 x 0.1 in floating point is
// 0.04000000000000001, which nobody should find in their config file.
func FixedValue(n runs.Note, current float64) float64 {
	v := current * n.FixFactor
	short, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	if err != nil {
		return v
	}
	return short
}
