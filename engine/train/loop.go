package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"time"

	"gorgonia.org/tensor"

	"mnist-tui/dataset"
	"mnist-tui/engine"
	"mnist-tui/engine/checkpoint"
	"mnist-tui/engine/doctor"
	"mnist-tui/engine/health"
	"mnist-tui/engine/runs"
)

// loop is the training loop: epochs of batches, with commands handled at
// every batch boundary and an evaluation after every epoch.
func (r *run) loop(ctx context.Context) error {
	r.start = r.t.now()
	for r.epoch <= r.cfg.Epochs {
		r.loader.Seek(r.epoch, r.batch)
		r.startClock()
		for {
			if err := r.handleCommands(ctx); err != nil {
				r.stopClock()
				return err
			}
			n := r.loader.Next(r.x, r.y)
			if n == 0 {
				break
			}
			stepStart := time.Now()
			loss, correct := r.net.TrainStep(r.x[:n*784], r.y[:n], n)
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				r.diverge(loss)
				continue
			}
			if r.acc.LogBatches+1 >= r.cfg.LogInterval {
				// Before the weights move: the activations of the step.
				r.acts = r.net.MeasureActivations(r.x[:n*dataset.ImageSize], n, r.acts)
			}
			if r.clip != nil {
				r.clip.Clip()
			}
			r.applySchedule(r.step)
			r.rates = r.rates.Add(r.step, r.opt.LearningRate())
			r.opt.Step()
			if r.ema != nil {
				r.ema.Update()
			}
			r.step++
			r.batch++
			r.window.add(n, time.Since(stepStart))
			r.accumulate(loss, correct, n)
			if r.acc.LogBatches >= r.cfg.LogInterval {
				r.logPoint()
			}
			r.publishProgress()
			if r.t.afterStep != nil {
				r.t.afterStep(r.step)
			}
		}
		r.stopClock()
		if err := r.endEpoch(); err != nil {
			return err
		}
	}
	return nil
}

// startClock starts counting the epoch's training time, unless paused:
// a pause is not training, and counting it would make a paused epoch look
// slow in the table, metrics.jsonl and the runs page.
func (r *run) startClock() {
	if r.clockOn || r.paused {
		return
	}
	r.clockStart, r.clockOn = r.t.now(), true
}

// stopClock adds the time since startClock to the epoch's seconds.
func (r *run) stopClock() {
	if !r.clockOn {
		return
	}
	r.acc.EpochSeconds += r.t.now().Sub(r.clockStart).Seconds()
	r.clockOn = false
}

// pause stops training at this batch boundary and records it.
func (r *run) pause() {
	r.stopClock()
	r.paused = true
	r.pausedAt = r.t.now()
	r.writeMetric(runs.Pause{Epoch: r.epoch, Batch: r.batch, Step: r.step})
}

// handleCommands applies queued commands; while paused it waits for one.
func (r *run) handleCommands(ctx context.Context) error {
	for {
		var cmd Command
		if r.paused {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case cmd = <-r.t.cmds:
			}
		} else {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case cmd = <-r.t.cmds:
			default:
				return nil
			}
		}
		if err := r.apply(cmd); err != nil {
			return err
		}
	}
}

func (r *run) apply(cmd Command) error {
	switch c := cmd.(type) {
	case Pause:
		if !r.paused {
			r.pause()
			r.t.update(func(s *Snapshot) { s.State = Paused; s.Message = "paused — space to resume" })
		}
	case Resume:
		if r.paused {
			r.paused = false
			if r.diverged {
				if err := r.restoreGoodParams(); err != nil {
					return err
				}
			}
			paused := r.t.now().Sub(r.pausedAt)
			r.writeMetric(runs.Resume{Epoch: r.epoch, Batch: r.batch, Step: r.step, PausedSeconds: paused.Seconds()})
			// The elapsed time stood still on screen while paused; moving
			// its origin keeps it from jumping by the pause now.
			r.start = r.start.Add(paused)
			r.startClock()
			r.window.reset()
			r.t.update(func(s *Snapshot) { s.State = Running; s.Message = "resumed"; s.Err = nil })
		}
	case Stop:
		return errStopped
	case Save:
		path := filepath.Join(r.dir, runs.StepCheckpoint(r.step))
		r.save(path, "saved "+path)
	case SetHyper:
		r.setHyper(c)
	case copyWeights:
		r.withEvalWeights(func() { c.done <- copyParams(c.dst, r.net.Params()) })
	default:
		return fmt.Errorf("internal: unknown command %T", cmd)
	}
	return nil
}

func (r *run) setHyper(c SetHyper) {
	var changes []HyperChange
	if c.LearningRate != nil && *c.LearningRate != r.cfg.LearningRate {
		// learning_rate scales the schedule from the next step: a constant
		// schedule's rate becomes the new value.
		changes = append(changes, HyperChange{Step: r.step, Key: "learning_rate", Old: r.cfg.LearningRate, New: *c.LearningRate, Why: c.Why})
		r.cfg.LearningRate = *c.LearningRate
		r.opt.SetLearningRate(r.scheduledRate(r.step))
	}
	if c.Momentum != nil && *c.Momentum != r.cfg.Momentum {
		changes = append(changes, HyperChange{Step: r.step, Key: "momentum", Old: r.cfg.Momentum, New: *c.Momentum, Why: c.Why})
		r.cfg.Momentum = *c.Momentum
		_, cycled := r.sched.Momentum(r.step) // cycle_momentum sets it every step
		if sgd, ok := r.opt.(*engine.SGD); ok && !cycled {
			sgd.Momentum = *c.Momentum // Adam has no momentum to change
		}
	}
	if c.LogInterval != nil && *c.LogInterval != r.cfg.LogInterval {
		changes = append(changes, HyperChange{Step: r.step, Key: "log_interval", Old: float64(r.cfg.LogInterval), New: float64(*c.LogInterval), Why: c.Why})
		r.cfg.LogInterval = *c.LogInterval
	}
	if c.Epochs != nil && *c.Epochs != r.cfg.Epochs {
		changes = append(changes, HyperChange{Step: r.step, Key: "epochs", Old: float64(r.cfg.Epochs), New: float64(*c.Epochs), Why: c.Why})
		r.cfg.Epochs = *c.Epochs
	}
	if len(changes) == 0 {
		return
	}
	r.hist.Changes = append(r.hist.Changes, changes...)
	for _, ch := range changes {
		r.doctor.Changed(runs.Change{Step: ch.Step, Key: ch.Key, Old: ch.Old, New: ch.New, Why: ch.Why})
	}
	for _, ch := range changes {
		r.writeMetric(runs.Change{Step: ch.Step, Key: ch.Key, Old: ch.Old, New: ch.New, Why: ch.Why})
	}
	r.t.update(func(s *Snapshot) {
		s.Changes = r.hist.Changes
		s.LR, s.Momentum, s.Epochs = r.opt.LearningRate(), r.cfg.Momentum, r.cfg.Epochs
		s.Config = r.cfg
		s.Message = fmt.Sprintf("changed %s from step %d", changes[0].Key, r.step)
	})
}

// diverge handles a loss that is no longer a number: the weights that
// produced it are useless, so training pauses and, on resume, starts again
// from the weights of the last epoch boundary.
func (r *run) diverge(loss float64) {
	r.pause()
	r.diverged = true
	err := fmt.Errorf("training diverged: the loss became %v at step %d (epoch %d, batch %d) with learning rate %g; "+
		"lower the learning rate and resume (in the dashboard: e to edit, then space): training restarts from the weights of the last epoch boundary",
		loss, r.step+1, r.epoch, r.batch+1, r.opt.LearningRate())
	r.t.update(func(s *Snapshot) { s.State = Paused; s.Err = err; s.Message = err.Error() })
	for _, n := range r.doctor.Diverged(r.epoch, r.batch+1, r.step+1, loss, r.opt.LearningRate()) {
		// The error above stays the status line: it says how to go on.
		r.writeMetric(n)
		r.notes = append(r.notes, n)
	}
	r.t.update(func(s *Snapshot) { s.Notes = r.notes })
}

// rememberGoodParams copies the weights and the optimizer's state, to come
// back to if training diverges.
func (r *run) rememberGoodParams() {
	r.good.params = copyTensors(r.good.params, valuesOf(r.net.Params()))
	r.good.opt = copyState(r.good.opt, r.opt.State())
	if r.ema != nil {
		r.good.ema = copySlices(r.good.ema, r.ema.Averages())
		r.good.emaStarted = r.ema.Started()
	}
}

// copySlices copies src into dst, reusing its slices.
func copySlices(dst, src [][]float32) [][]float32 {
	if len(dst) != len(src) {
		dst = make([][]float32, len(src))
	}
	for i, s := range src {
		dst[i] = append(dst[i][:0], s...)
	}
	return dst
}

// copyState copies src's tensors into dst's, reusing them when the kinds
// match; nil when src is (an optimizer that has not stepped).
func copyState(dst, src *engine.OptimizerState) *engine.OptimizerState {
	if src == nil {
		return nil
	}
	if dst == nil || !slices.Equal(dst.Kinds(), src.Kinds()) {
		dst = &engine.OptimizerState{Buffers: make([]engine.StateBuffers, len(src.Buffers))}
	}
	dst.Steps = src.Steps
	for i, b := range src.Buffers {
		d := &dst.Buffers[i]
		d.Kind = b.Kind
		if len(d.Tensors) != len(b.Tensors) {
			d.Tensors = make([]*tensor.Dense, len(b.Tensors))
		}
		for j, t := range b.Tensors {
			if d.Tensors[j] == nil {
				d.Tensors[j] = tensor.New(tensor.WithShape(t.Shape().Clone()...), tensor.Of(tensor.Float32))
			}
			copy(d.Tensors[j].Data().([]float32), t.Data().([]float32))
		}
	}
	return dst
}

func (r *run) restoreGoodParams() error {
	for i, p := range r.net.Params() {
		copy(p.Value.Data().([]float32), r.good.params[i])
	}
	// A fresh optimiser with the remembered state (none if it had not
	// started), keeping the hyperparameters the user has set since.
	r.opt = newOptimizer(r.cfg, r.net.Params())
	if r.good.opt != nil {
		if err := r.opt.SetState(r.good.opt); err != nil {
			return fmt.Errorf("restoring the optimizer after divergence: %w", err)
		}
	}
	if r.ema != nil {
		for i, avg := range r.ema.Averages() {
			copy(avg, r.good.ema[i])
		}
		r.ema.SetStarted(r.good.emaStarted)
	}
	r.diverged = false
	// The epoch restarts: its order is a function of (seed, epoch), so the
	// same batches come again, now with the new learning rate.
	r.step -= int64(r.batch)
	r.batch = 0
	r.rates = r.rates.Before(r.step)
	r.acc = accumulators{}
	r.loader.Seek(r.epoch, 0)
	return nil
}

func valuesOf(params []*engine.Param) []*tensor.Dense {
	out := make([]*tensor.Dense, len(params))
	for i, p := range params {
		out[i] = p.Value
	}
	return out
}

// copyTensors copies the tensors' data into dst, reusing its slices; nil
// tensors (an optimiser that has not started) give nil.
func copyTensors(dst [][]float32, src []*tensor.Dense) [][]float32 {
	if src == nil {
		return nil
	}
	if len(dst) != len(src) {
		dst = make([][]float32, len(src))
	}
	for i, t := range src {
		dst[i] = append(dst[i][:0], t.Data().([]float32)...)
	}
	return dst
}

func (r *run) accumulate(loss float64, correct, n int) {
	r.acc.LogLoss += loss
	r.acc.LogCorrect += correct
	r.acc.LogSeen += n
	r.acc.LogBatches++
	r.acc.EpochLoss += loss * float64(n)
	r.acc.EpochCorrect += correct
	r.acc.EpochSeen += n
}

// logPoint ends a log interval; r.acts are the activations of its last
// step.
func (r *run) logPoint() {
	p := LogPoint{
		Epoch: r.epoch,
		Batch: r.batch,
		Step:  r.step,
		Loss:  r.acc.LogLoss / float64(r.acc.LogBatches),
		Acc:   100 * float64(r.acc.LogCorrect) / float64(r.acc.LogSeen),
		LR:    r.opt.LearningRate(),
	}
	r.acc.LogLoss, r.acc.LogCorrect, r.acc.LogSeen, r.acc.LogBatches = 0, 0, 0, 0
	r.hist.Logs = append(r.hist.Logs, p)
	r.writeMetric(p.Record())
	// The gradients and activations are still those of the step just taken.
	h := runs.Health{Epoch: p.Epoch, Batch: p.Batch, Step: p.Step, LR: r.opt.LearningRate(), Layers: r.meter.Measure(r.opt.LearningRate(), nil)}
	health.AddActivations(h.Layers, r.acts)
	r.health = append(r.health, h)
	r.writeMetric(h)
	notes := append(r.doctor.Health(h), r.doctor.Log(p.Record())...)
	samples := r.refreshSamples()
	r.t.update(func(s *Snapshot) {
		s.Logs = r.hist.Logs
		s.Health = r.health
		if samples != nil {
			s.Samples = samples
		}
	})
	r.addNotes(notes)
}

// addNotes records the doctor's notes and puts the newest on the status line.
func (r *run) addNotes(notes []runs.Note) {
	if len(notes) == 0 {
		return
	}
	for _, n := range notes {
		r.writeMetric(n)
	}
	r.notes = append(r.notes, notes...)
	// The status line is cut to the screen's width: the way to the fix
	// comes first.
	last := notes[len(notes)-1]
	msg := "doctor (h): " + last.Text
	if fix := doctor.FixText(last, r.opt.LearningRate()); fix != "" {
		msg = "doctor (h, f: " + fix + "): " + last.Text
	}
	r.t.update(func(s *Snapshot) {
		s.Notes = r.notes
		s.Message = msg
	})
}

// refreshSamples runs the shown test images through the model as it is now,
// so the dashboard's guesses change as the model learns. Before the first
// evaluation the samples are a spread of the test set.
func (r *run) refreshSamples() []Sample {
	test := r.data.Test
	if test.N == 0 {
		return nil
	}
	indices := r.sampleIndices
	if indices == nil {
		for k := 0; k < min(r.t.opts.Samples, test.N); k++ {
			indices = append(indices, (k*104729+17)%test.N)
		}
	}
	var samples []Sample
	r.withEvalWeights(func() { samples = Describe(r.net, test, r.data.Info, indices) })
	r.sampleIndices = indices
	return samples
}

func (r *run) publishProgress() {
	ips := r.window.rate()
	remaining := (r.cfg.Epochs-r.epoch)*r.data.Train.N + (r.data.Train.N - r.batch*r.cfg.BatchSize)
	var eta time.Duration
	if ips > 0 {
		eta = time.Duration(float64(remaining) / ips * float64(time.Second))
	}
	runningLoss, runningAcc := 0.0, 0.0
	if r.acc.LogBatches > 0 {
		runningLoss = r.acc.LogLoss / float64(r.acc.LogBatches)
		runningAcc = 100 * float64(r.acc.LogCorrect) / float64(r.acc.LogSeen)
	}
	r.t.update(func(s *Snapshot) {
		s.Epoch, s.Batch, s.Step = r.epoch, r.batch, r.step
		s.RunningLoss, s.RunningAcc = runningLoss, runningAcc
		s.ImagesPerSec = ips
		s.LR = r.opt.LearningRate() // a schedule moves it every step
		s.Rates = r.rates
		if m, cycled := r.sched.Momentum(r.step - 1); cycled && r.cfg.Optimizer == "sgd" {
			s.Momentum = m // the last step's, as LR is; Adam's beta1 is no momentum to show
		}
		s.Elapsed = r.t.now().Sub(r.start)
		s.ETA = eta
	})
}

func (r *run) endEpoch() error {
	var ev Evaluation
	var samples []Sample
	r.withEvalWeights(func() {
		ev = EvaluateShifted(r.net, r.data.Test, r.data.Info, evalBatch, r.cfg.TTAShift, &r.evalScratch)
		samples = pickSamples(ev, r.data.Test, r.data.Info, r.net, r.t.opts.Samples, r.epoch)
	})
	res := EpochResult{
		Epoch:     r.epoch,
		TrainLoss: r.acc.EpochLoss / float64(max(r.acc.EpochSeen, 1)),
		TrainAcc:  100 * float64(r.acc.EpochCorrect) / float64(max(r.acc.EpochSeen, 1)),
		TestLoss:  ev.Loss,
		TestAcc:   ev.Accuracy(),
		Seconds:   r.acc.EpochSeconds,
	}
	if res.Seconds > 0 {
		res.ImagesPerSec = float64(r.acc.EpochSeen) / res.Seconds
	}
	r.acc = accumulators{}
	r.hist.Epochs = append(r.hist.Epochs, res)
	r.writeMetric(res.Record(r.cfg.Epochs))
	notes := r.doctor.Epoch(res.Record(r.cfg.Epochs))
	r.sampleIndices = r.sampleIndices[:0]
	for _, s := range samples {
		r.sampleIndices = append(r.sampleIndices, s.Index)
	}
	r.t.update(func(s *Snapshot) {
		s.History = r.hist.Epochs
		s.Eval = &ev
		s.Samples = samples
		s.Message = fmt.Sprintf("epoch %d: test accuracy %.2f %%", res.Epoch, res.TestAcc)
	})
	r.addNotes(notes)

	// The epoch is complete: checkpoints from here on resume at the start of
	// the next one.
	r.epoch, r.batch = r.epoch+1, 0
	r.rememberGoodParams()
	best := res.TestAcc > r.bestAcc
	if best {
		r.bestAcc = res.TestAcc
	}
	r.saveLast()
	if best {
		r.saveWeights(filepath.Join(r.dir, runs.BestCheckpoint))
	}
	return nil
}

// saveLast writes last.safetensors at the current position.
func (r *run) saveLast() {
	r.save(filepath.Join(r.dir, runs.LastCheckpoint), "")
}

// save writes a checkpoint that resumes exactly: weights, momentum and
// position. A failure (full disk, read-only folder) is shown to the user and
// training goes on; the previous file is left intact because the write is
// atomic, and the next save tries again.
// With ema_decay the averaged weights go in too, beside the weights training
// goes on from.
func (r *run) save(path, okMessage string) {
	r.write(path, r.opt, r.ema, okMessage)
}

// saveWeights writes a checkpoint without the optimiser's momentum: the
// file to hand on, which PyTorch's load_state_dict takes as it is (it
// refuses keys that are not the model's). With ema_decay its weights and
// statistics are the averaged ones, which the test accuracy was measured on.
func (r *run) saveWeights(path string) {
	r.withEvalWeights(func() { r.write(path, nil, nil, "") })
}

// withEvalWeights runs f with the Net holding the weights evaluation uses:
// with ema_decay the averages (once they have started), else the weights
// themselves. The swap is exact both ways.
func (r *run) withEvalWeights(f func()) {
	if r.ema == nil || !r.ema.Started() {
		f()
		return
	}
	r.ema.Swap()
	defer r.ema.Swap()
	f()
}

func (r *run) write(path string, opt engine.Optimizer, ema *engine.EMA, okMessage string) {
	if r.clockOn {
		// The file carries the epoch's seconds so far, this stretch too.
		r.stopClock()
		defer r.startClock()
	}
	r.hist.Acc = r.acc
	r.hist.BestAcc = r.bestAcc
	histJSON, err := json.Marshal(r.hist)
	if err == nil {
		err = checkpoint.SaveWithEMA(path, r.net.Params(), opt, ema, checkpoint.Meta{
			Model:   r.cfg.Model,
			Dataset: r.cfg.Dataset,
			Epoch:   r.epoch,
			Batch:   r.batch,
			Step:    r.step,
			Seed:    r.cfg.Seed,
			Config:  string(r.cfg.Marshal()),
			History: histJSON,
			Version: r.t.opts.Version,
			RunID:   r.id,
		}, r.net.Buffers()...)
	}
	if err != nil {
		err = fmt.Errorf("saving %s failed (training goes on; the previous file is intact): %w", path, err)
		// A step file is a snapshot the user asked for and was told about;
		// last and best are the run's result, and their failure stays
		// until a later write of the same file succeeds.
		if _, isStep := runs.ParseStepCheckpoint(filepath.Base(path)); isStep {
			r.t.update(func(s *Snapshot) { s.Err = err; s.Message = err.Error() })
			return
		}
		r.unsaved[path] = err
		saveErr := r.pendingSaveError()
		r.t.update(func(s *Snapshot) { s.Message = err.Error(); s.SaveErr = saveErr })
		return
	}
	delete(r.unsaved, path)
	if opt != nil && !r.diverged {
		// Resumes the run (best holds weights alone); weights saved after
		// the loss diverged are nothing to come back to.
		r.newestGood = path
	}
	saveErr, good := r.pendingSaveError(), r.newestGood
	r.t.update(func(s *Snapshot) {
		s.SaveErr, s.Checkpoint = saveErr, good
		if okMessage != "" {
			s.Err = nil
			s.Message = okMessage
		}
	})
}

// pendingSaveError is what the run could not write so far, for the
// dashboard to keep in sight; nil when every file is written.
func (r *run) pendingSaveError() error {
	if len(r.unsaved) == 0 && r.metricsErr == nil {
		return nil
	}
	return r.unsavedError("goes on")
}

// writeMetric appends rec to metrics.jsonl. A failed line is kept in
// metricsErr: the run ends failed, since its history has a hole.
func (r *run) writeMetric(rec runs.Record) {
	line, err := runs.MarshalRecord(rec)
	if err != nil {
		// A value JSON cannot hold (a NaN test loss): the disk is fine and
		// the run goes on; say which line is missing.
		err = fmt.Errorf("%s: %w", filepath.Join(r.dir, runs.MetricsFile), err)
		r.t.update(func(s *Snapshot) { s.Message = err.Error() })
		return
	}
	if _, err = r.metrics.Write(append(line, '\n')); err != nil {
		err = fmt.Errorf("%s: %w", filepath.Join(r.dir, runs.MetricsFile), err)
		if r.metricsErr == nil {
			r.metricsErr = err
		}
		saveErr := r.pendingSaveError()
		r.t.update(func(s *Snapshot) { s.Message = err.Error(); s.SaveErr = saveErr })
	}
}

// throughput is images per second over the last few seconds of training
// steps (pauses and evaluations do not count).
type throughput struct {
	images int
	busy   time.Duration
}

func (w *throughput) add(n int, d time.Duration) {
	// Decay so that the rate follows changes within a few seconds.
	if w.busy > 3*time.Second {
		w.images /= 2
		w.busy /= 2
	}
	w.images += n
	w.busy += d
}

func (w *throughput) rate() float64 {
	if w.busy <= 0 {
		return 0
	}
	return float64(w.images) / w.busy.Seconds()
}

func (w *throughput) reset() { *w = throughput{} }
