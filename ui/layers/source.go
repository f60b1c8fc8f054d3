package layers

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"mnist-tui/dataset"
	"mnist-tui/engine"
	"mnist-tui/engine/config"
	"mnist-tui/engine/network"
	"mnist-tui/engine/train"
)

// Source gives the page a network to look into. Capture runs from a tea.Cmd (never from
// Update: a live run's weights wait for the trainer's next batch), one call at a time.
type Source interface {
	// Capture runs img, 28x28 grey pixels, through the newest weights and returns every
	// layer's output.
	Capture(ctx context.Context, img []uint8) (Capture, error)
}

// Capture is one image's trip through the network.
type Capture struct {
	Outputs []engine.LayerOutput // every layer's, in order: see engine.Probe.Run
	Probs   [dataset.NumClasses]float32
	Model   string // "cnn", or a custom network's name
	Step    int64  // the run's step when the weights were taken; -1 for a checkpoint
	Run     string // the run's id ("" for a checkpoint): a restart makes a capture stale
}

// probeFor builds the probe of a run's model: its preset, or its own network (model custom).
func probeFor(model string, custom *network.Network) (*engine.Probe, error) {
	spec := custom
	if model != config.Custom {
		var err error
		if spec, err = network.Preset(model); err != nil {
			return nil, err
		}
	}
	return engine.NewProbe(spec)
}

// capture normalises img as training does and runs it through probe.
func capture(probe *engine.Probe, info dataset.Info, img []uint8) (Capture, error) {
	if len(img) != dataset.ImageSize {
		return Capture{}, fmt.Errorf("an image of %d pixels, want 28x28", len(img))
	}
	x := make([]float32, dataset.ImageSize)
	dataset.Normalize(x, img, info.Mean, info.Std)
	outs, err := probe.Run(x)
	if err != nil {
		return Capture{}, err
	}
	c := Capture{Outputs: outs}
	for i := len(outs) - 1; i >= 0; i-- {
		if outs[i].Depth == 0 {
			engine.Softmax(c.Probs[:], outs[i].Values)
			break
		}
	}
	return c, nil
}

// Trainer is what Live needs from a training run; *train.Trainer has it.
type Trainer interface {
	Snapshot() train.Snapshot
	// CopyWeights copies the run's weights into dst at the next batch boundary (or the
	// final ones once the run has ended).
	CopyWeights(ctx context.Context, dst []*engine.Param) error
}

// Live follows a training run the way the draw page does: it copies the run's weights into a
// net of its own at a batch boundary, so looking never touches the trainer's net, then loads
// them into its probe. A restart with another model is noticed from the snapshot.
type Live struct {
	trainer Trainer

	mu     sync.Mutex // one Capture at a time
	net    *engine.Net
	probe  *engine.Probe
	model  string
	custom *network.Network // the network the net was built for (model custom)
}

// NewLive follows t's weights (pass a Trainer that answers for the current run).
func NewLive(t Trainer) *Live { return &Live{trainer: t} }

// Capture copies the run's newest weights and runs img through them.
func (l *Live) Capture(ctx context.Context, img []uint8) (Capture, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.trainer.Snapshot()
	if s.State == train.Loading {
		return Capture{}, fmt.Errorf("the model is not built yet (%s)", s.Message)
	}
	if s.Model == "" {
		return Capture{}, errors.New("the run names no model")
	}
	info, err := s.DataInfo()
	if err != nil {
		return Capture{}, err
	}
	custom := s.Config.Network
	if s.Model != config.Custom {
		custom = nil
	}
	if l.net == nil || l.model != s.Model || l.custom != custom {
		if l.net, err = s.NewNet(); err != nil {
			l.net = nil
			return Capture{}, err
		}
		if l.probe, err = probeFor(s.Model, custom); err != nil {
			l.net = nil
			return Capture{}, err
		}
		l.model, l.custom = s.Model, custom
	}
	if err := l.trainer.CopyWeights(ctx, l.net.Params()); err != nil {
		// The trainer may still copy into this net later: forget it.
		l.net = nil
		return Capture{}, fmt.Errorf("copy the run's weights: %w", err)
	}
	step := l.trainer.Snapshot().Step // the weights are from this step or just before
	if err := l.probe.Load(l.net.Params()); err != nil {
		return Capture{}, err
	}
	c, err := capture(l.probe, info, img)
	if err != nil {
		return Capture{}, err
	}
	c.Model, c.Step, c.Run = s.Config.Label(), step, s.RunID
	return c, nil
}

// Fixed is a checkpoint's network: its weights never change.
type Fixed struct {
	mu    sync.Mutex
	probe *engine.Probe
	info  dataset.Info
	model string
}

// NewFixed looks into net, loaded from a checkpoint; custom is its network when its model
// is custom (nil otherwise); info gives the normalisation it was trained with; name labels it.
func NewFixed(net *engine.Net, custom *network.Network, info dataset.Info, name string) (*Fixed, error) {
	probe, err := probeFor(net.Model(), custom)
	if err != nil {
		return nil, err
	}
	if err := probe.Load(net.Params()); err != nil {
		return nil, err
	}
	return &Fixed{probe: probe, info: info, model: name}, nil
}

// Capture runs img through the checkpoint's weights.
func (f *Fixed) Capture(_ context.Context, img []uint8) (Capture, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := capture(f.probe, f.info, img)
	c.Model, c.Step = f.model, -1
	return c, err
}
