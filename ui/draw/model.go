package draw

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"mnist-tui/dataset"
	"mnist-tui/engine"
	"mnist-tui/engine/train"
)

// Model is the network the page asks for an answer.
type Model interface {
	// Classify returns the probability of each class for one prepared
	// image (see dataset/prepare). The page calls it from Update on every
	// stroke, so it must be quick and must never wait for training.
	// Before any weights are known it returns ErrNoWeights.
	Classify(pixels [dataset.ImageSize]uint8) ([dataset.NumClasses]float32, error)
	// About names the model and where its weights come from, in a few
	// words, for the page's caption.
	About() string
}

// Refresher is a Model whose weights change while the page is open: a
// training run's. The page calls Refresh from a tea.Cmd (never from Update:
// it may block for a training batch), when it opens and every second while
// it is shown, one call at a time.
type Refresher interface {
	Model
	Refresh(ctx context.Context) error
}

// ErrNoWeights means the model has no weights to answer with yet.
var ErrNoWeights = errors.New("no weights yet")

// Fixed is a model whose weights do not change: a checkpoint's.
type Fixed struct {
	mu    sync.Mutex // a Net is not safe for concurrent use
	net   *engine.Net
	info  dataset.Info
	about string
}

// NewFixed wraps a net loaded from a checkpoint. info gives the
// normalisation the model was trained with; about is the caption, e.g.
// "cnn from runs/x/best.safetensors".
func NewFixed(net *engine.Net, info dataset.Info, about string) *Fixed {
	return &Fixed{net: net, info: info, about: about}
}

// Classify runs the image through the net, exactly as predict does.
func (f *Fixed) Classify(pixels [dataset.ImageSize]uint8) ([dataset.NumClasses]float32, error) {
	if f.net == nil {
		return [10]float32{}, ErrNoWeights
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return train.Classify(f.net, f.info, pixels), nil
}

// About is the caption given to NewFixed.
func (f *Fixed) About() string { return f.about }

// Trainer is what Live needs from a training run; *train.Trainer has it.
type Trainer interface {
	Snapshot() train.Snapshot
	// CopyWeights copies the run's weights into dst at the next batch
	// boundary (or the final ones once the run has ended).
	CopyWeights(ctx context.Context, dst []*engine.Param) error
}

// Live follows a training run: it keeps a net of its own (one thread) and
// copies the run's newest weights into it on Refresh, so that classifying a
// drawing never touches, or waits for, the trainer's net.
//
// It holds two nets. Refresh copies into the spare one, which nobody else
// reads, then swaps it in under mu; Classify runs the current one under mu.
// So a copy never races with a classification, and Classify waits at most
// for a swap, never for the trainer.
type Live struct {
	trainer Trainer

	refreshMu sync.Mutex  // one Refresh at a time
	spare     *engine.Net // owned by the Refresh holding refreshMu
	// The runs the nets were built for: a restart may keep the model's
	// name (custom) and change its network, so a net is rebuilt for a new run.
	spareRun, activeRun string

	mu     sync.Mutex
	active *engine.Net // nil until the first successful Refresh
	info   dataset.Info
	step   int64 // the run's step when the weights were taken
	model  string
}

// NewLive follows t's weights. To follow a run that replaces another (a
// restart), pass a Trainer that always answers for the current run: Live
// notices a new model from the snapshot and builds nets to match.
func NewLive(t Trainer) *Live { return &Live{trainer: t} }

// Refresh copies the run's current weights. It waits for the trainer's next
// batch boundary (immediately when paused or ended), or for ctx.
func (l *Live) Refresh(ctx context.Context) error {
	l.refreshMu.Lock()
	defer l.refreshMu.Unlock()

	s := l.trainer.Snapshot()
	if s.State == train.Loading {
		return fmt.Errorf("the model is not built yet (%s)", s.Message)
	}
	if s.Model == "" {
		return errors.New("the run names no model")
	}
	info, err := s.DataInfo()
	if err != nil {
		return err
	}
	if l.spare == nil || l.spare.Model() != s.Model || l.spareRun != s.RunDir {
		if l.spare, err = s.NewNet(); err != nil {
			return err
		}
		l.spareRun = s.RunDir
	}
	if err := l.trainer.CopyWeights(ctx, l.spare.Params()); err != nil {
		// The trainer may still be holding our request and copy into the
		// spare net later: forget that net, so nothing ever reads it.
		l.spare = nil
		return fmt.Errorf("copy the run's weights: %w", err)
	}
	step := l.trainer.Snapshot().Step // weights are from this step or just before

	l.mu.Lock()
	l.active, l.spare = l.spare, l.active
	l.activeRun, l.spareRun = l.spareRun, l.activeRun
	l.info, l.step, l.model = info, step, s.Model
	if s.Config.Model == s.Model {
		l.model = s.Config.Label() // a custom network by its name, as the header says it
	}
	l.mu.Unlock()
	return nil
}

// Classify runs the image through the weights of the last Refresh.
func (l *Live) Classify(pixels [dataset.ImageSize]uint8) ([dataset.NumClasses]float32, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.active == nil {
		return [10]float32{}, ErrNoWeights
	}
	return train.Classify(l.active, l.info, pixels), nil
}

// About says which weights Classify uses.
func (l *Live) About() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.active == nil {
		return "training run · waiting for its weights"
	}
	return fmt.Sprintf("%s · live weights from step %d", l.model, l.step)
}
