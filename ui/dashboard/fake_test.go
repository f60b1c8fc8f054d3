package dashboard

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"mnist-tui/engine/train"
)

// fakeTrainer implements Trainer for tests and for the demo. Tests set its
// snapshot by hand; the demo lets a goroutine advance a synthetic run.
type fakeTrainer struct {
	mu      sync.Mutex
	snap    train.Snapshot
	sent    []train.Command
	pulls   int // Snapshot() calls
	changed chan struct{}

	// obey makes Send act the way the real trainer does. Tests of the
	// waiting itself switch it off and move the state by hand.
	obey bool
	// stopDelay is how long a live run takes to "write its checkpoint"
	// after Stop, so the stopping notice can be seen in the demo.
	stopDelay     time.Duration
	stopRequested bool
}

func newFakeTrainer(s train.Snapshot) *fakeTrainer {
	return &fakeTrainer{snap: s, changed: make(chan struct{}, 1), obey: true}
}

func (f *fakeTrainer) Snapshot() train.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pulls++
	return f.snap
}

func (f *fakeTrainer) Changed() <-chan struct{} { return f.changed }

func (f *fakeTrainer) Send(c train.Command) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, c)
	if !f.obey {
		return
	}
	s := &f.snap
	switch c.(type) {
	case train.Pause:
		s.State = train.Paused
	case train.Resume:
		s.State = train.Running
	case train.Save:
		s.Message = fmt.Sprintf("saved runs/%s/step-%d.safetensors", s.RunID, s.Step)
	case train.Stop:
		if f.stopDelay > 0 {
			f.stopRequested = true // the live loop finishes the job
			return
		}
		finish(s)
	}
	f.changedLocked()
}

// update changes the snapshot the way the trainer would: under the lock,
// with a new Seq, and a signal that never blocks.
func (f *fakeTrainer) update(change func(*train.Snapshot)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(&f.snap)
	f.changedLocked()
}

func (f *fakeTrainer) changedLocked() {
	f.snap.Seq++
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

func (f *fakeTrainer) commands() []train.Command {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]train.Command(nil), f.sent...)
}

func (f *fakeTrainer) snapshotCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pulls
}

// live advances the synthetic run one batch every interval until it is
// Done, as the real trainer's goroutine would; it returns when done.
func (f *fakeTrainer) live(run *syntheticRun, interval time.Duration) {
	for {
		time.Sleep(interval)
		f.mu.Lock()
		if f.stopRequested {
			f.mu.Unlock()
			time.Sleep(f.stopDelay)
			f.update(finish)
			return
		}
		switch f.snap.State {
		case train.Loading:
			fetch(&f.snap, 256<<10)
			f.changedLocked()
		case train.Running:
			run.step(&f.snap)
			f.changedLocked()
		}
		state := f.snap.State
		f.mu.Unlock()
		if state == train.Done || state == train.Failed {
			return
		}
	}
}

// fetch pretends to download n more bytes, and starts the run when the
// data is in. Each change gets a new Download: snapshots handed out earlier
// share the old one.
func fetch(s *train.Snapshot, n int64) {
	if s.Download == nil {
		s.State = train.Running
		return
	}
	d := *s.Download
	d.Done = min(d.Total, d.Done+n)
	s.Download = &d
	if d.Done == d.Total {
		s.Download = nil
		s.State = train.Running
	}
}

func finish(s *train.Snapshot) {
	s.State = train.Done
	s.ETA = 0
	s.Message = fmt.Sprintf("saved runs/%s/last.safetensors", s.RunID)
}

// syntheticRun makes up a run that looks like the PyTorch MNIST tutorial's
// (LeNet, SGD lr 0.01 momentum 0.5): loss falling from 2.3, test accuracy
// climbing towards 99 %. It is deterministic: same seed, same run, and its
// times are counted in steps, never read from a clock.
type syntheticRun struct {
	epochs, batches, logEvery int
	lrDropEpoch               int // the epoch that starts with lr halved; 0 for never
	rng                       *rand.Rand
}

const (
	syntheticBatch   = 64
	syntheticStepDur = 10 * time.Millisecond // pretend time per batch
)

func newSyntheticRun(epochs, batches, logEvery int) *syntheticRun {
	return &syntheticRun{
		epochs: epochs, batches: batches, logEvery: logEvery,
		lrDropEpoch: 6,
		rng:         rand.New(rand.NewPCG(1, 2)),
	}
}

// start is the snapshot of the run before its first batch.
func (r *syntheticRun) start() train.Snapshot {
	s := train.Snapshot{
		Seq:     1,
		RunID:   "demo",
		RunDir:  "runs/demo",
		Model:   "lenet",
		Params:  21840,
		Dataset: "MNIST",
		State:   train.Running,
		Epoch:   1, Epochs: r.epochs,
		Batches: r.batches,
		LR:      0.01, Momentum: 0.5,
		Message: "training on 60,000 images, testing on 10,000",
	}
	for i := range s.Classes {
		s.Classes[i] = fmt.Sprint(i)
	}
	return s
}

// loss is the made-up training loss after step optimizer steps.
func (r *syntheticRun) loss(step int64) float64 {
	t := float64(step)
	base := 0.035 + 1.9*math.Exp(-t/(0.35*float64(r.batches))) + 0.35*math.Exp(-t/(2.5*float64(r.batches)))
	return base * (1 + 0.18*(r.rng.Float64()-0.5))
}

// accuracy is the training accuracy in percent that goes with a loss.
func accuracy(loss float64) float64 { return min(99.9, max(9, 100-36*loss)) }

// step runs one batch: it moves the counters, adds a log point every
// logEvery batches and, at the end of an epoch, a result and new samples.
func (r *syntheticRun) step(s *train.Snapshot) {
	if s.State != train.Running {
		return
	}
	s.Rates = s.Rates.Add(s.Step, s.LR) // the rate this step uses
	s.Step++
	s.Batch++
	loss := r.loss(s.Step)
	s.RunningLoss, s.RunningAcc = loss, accuracy(loss)
	s.ImagesPerSec = 6400
	total := int64(r.epochs * r.batches)
	s.Elapsed = time.Duration(s.Step) * syntheticStepDur
	s.ETA = time.Duration(total-s.Step) * syntheticStepDur
	if s.Batch%r.logEvery == 0 {
		s.Logs = append(s.Logs, train.LogPoint{
			Epoch: s.Epoch, Batch: s.Batch, Step: s.Step,
			Loss: loss, Acc: accuracy(loss), LR: s.LR,
		})
	}
	if s.Batch < r.batches {
		return
	}

	e := float64(s.Epoch)
	testErr := 0.8 + 2.2*math.Exp(-(e-1)/1.8) + 0.1*(r.rng.Float64()-0.5)
	s.History = append(s.History, train.EpochResult{
		Epoch:        s.Epoch,
		TrainLoss:    loss * 1.1,
		TrainAcc:     accuracy(loss*1.1) - 0.5,
		TestLoss:     testErr / 35,
		TestAcc:      100 - testErr,
		Seconds:      float64(r.batches) * syntheticStepDur.Seconds(),
		ImagesPerSec: 6400,
	})
	s.Samples = syntheticSamples(s.Epoch)
	if s.Epoch == r.epochs {
		finish(s)
		return
	}
	s.Epoch++
	s.Batch = 0
	if s.Epoch == r.lrDropEpoch {
		old := s.LR
		s.LR /= 2
		s.Changes = append(s.Changes, train.HyperChange{Step: s.Step, Key: lrKey, Old: old, New: s.LR})
	}
}

// advance runs n batches.
func (r *syntheticRun) advance(s *train.Snapshot, n int) {
	for range n {
		r.step(s)
	}
	s.Seq += uint64(n)
}

// syntheticSamples are the digits the fake trainer "evaluates" after an
// epoch: fewer mistakes as the run goes on, as the real trainer's picks
// (which favour mistakes) would show.
func syntheticSamples(epoch int) []train.Sample {
	digits := []int{7, 0, 1, 4, 1, 0, 7, 4}
	confusedAs := map[int]int{7: 1, 0: 6, 1: 7, 4: 9}
	wrong := max(0, 4-epoch/2) // how many of the first samples are mistakes
	out := make([]train.Sample, len(digits))
	for i, d := range digits {
		pred, conf := d, float32(0.99)-float32(i)*0.01
		if i < wrong {
			pred, conf = confusedAs[d], 0.62
		}
		var probs [10]float32
		probs[pred] = conf
		if pred != d {
			probs[d] = 1 - conf
		} else {
			probs[(d+1)%10] = 1 - conf
		}
		out[i] = train.Sample{Index: 100*i + d, Image: strokeDigit(d, i), Label: d, Pred: pred, Probs: probs}
	}
	return out
}

// segment is a pen stroke on the 28x28 canvas.
type segment struct{ x0, y0, x1, y1 float64 }

// strokeDigit draws a handwritten-looking 0, 1, 4 or 7 (anything else is a
// blank image); variant shifts it a little so no two samples look alike.
func strokeDigit(d, variant int) []uint8 {
	dx := float64(variant%3) - 1
	strokes := map[int][]segment{
		1: {{16, 4, 13, 24}, {16, 4, 12, 8}},
		4: {{17, 4, 7, 17}, {7, 17, 22, 17}, {17, 9, 17, 24}},
		7: {{7, 6, 21, 6}, {21, 6, 12, 24}},
	}[d]
	img := make([]uint8, imagePixel)
	for y := range imageSide {
		for x := range imageSide {
			px, py := float64(x)-dx, float64(y)
			dist := math.Inf(1)
			if d == 0 {
				// Distance to an upright ellipse, scaled back to pixels.
				nx, ny := (px-14)/6, (py-14)/9
				dist = math.Abs(math.Hypot(nx, ny)-1) * 7
			}
			for _, s := range strokes {
				dist = min(dist, distToSegment(px, py, s))
			}
			// A pen about three pixels wide with soft edges.
			ink := (2.2 - dist) / 1.2
			img[y*imageSide+x] = uint8(255 * min(1, max(0, ink)))
		}
	}
	return img
}

func distToSegment(px, py float64, s segment) float64 {
	vx, vy := s.x1-s.x0, s.y1-s.y0
	t := ((px-s.x0)*vx + (py-s.y0)*vy) / (vx*vx + vy*vy)
	t = min(1, max(0, t))
	return math.Hypot(px-(s.x0+t*vx), py-(s.y0+t*vy))
}
