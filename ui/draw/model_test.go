package draw

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"mnist-tui/dataset"
	"mnist-tui/dataset/prepare"
	"mnist-tui/engine"
	"mnist-tui/engine/checkpoint"
	"mnist-tui/engine/config"
	"mnist-tui/engine/train"
	"mnist-tui/ui/view"
)

// syntheticData is a small learnable data set: each class is a bright bar
// at a place of its own, with noise.
func syntheticData(n int, seed uint64) *train.Data {
	rng := rand.New(rand.NewPCG(seed, 1))
	set := func(n int) *dataset.Set {
		s := &dataset.Set{Images: make([]uint8, n*784), Labels: make([]uint8, n), N: n}
		for i := range n {
			c := rng.IntN(10)
			s.Labels[i] = uint8(c)
			img := s.Images[i*784 : (i+1)*784]
			for p := range img {
				img[p] = uint8(rng.IntN(40))
			}
			for x := 4; x < 24; x++ {
				img[(3+2*c)*28+x] = 255
			}
		}
		return s
	}
	info, _ := dataset.Lookup("mnist")
	return &train.Data{Info: info, Train: set(n), Test: set(n / 4)}
}

// eventLoop drives a page as bubbletea does: Update and Render on one
// goroutine (the caller's), commands on goroutines of their own.
type eventLoop struct {
	p    *Page
	msgs chan tea.Msg
	stop chan struct{}
}

func newEventLoop(p *Page) *eventLoop {
	return &eventLoop{p: p, msgs: make(chan tea.Msg, 64), stop: make(chan struct{})}
}

func (l *eventLoop) update(msg tea.Msg) {
	cmd := l.p.Update(msg)
	l.p.Render(120, 40) // the dashboard redraws after every message
	if cmd == nil {
		return
	}
	go func() {
		for _, m := range collect(cmd) {
			select {
			case l.msgs <- m:
			case <-l.stop:
				return
			}
		}
	}()
}

func TestLiveFollowsATrainingRun(t *testing.T) {
	cfg := config.Defaults()
	cfg.Model, cfg.Epochs, cfg.BatchSize, cfg.LogInterval, cfg.Threads = "linear", 2, 16, 5, 1
	cfg.RunsDir = t.TempDir()
	tr := train.New(cfg, train.Options{Data: syntheticData(192, 3), Samples: 2})
	live := NewLive(tr)
	p := newPage(live, view.Options{NoColor: true})
	placed(p)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	tr.Send(train.Pause{}) // held at the first batch until the page has its weights
	go func() { done <- tr.Run(ctx) }()

	// Draw, stroke after stroke, while the run trains and the page refreshes
	// its weights on its ticks: the race detector watches the two nets.
	loop := newEventLoop(p)
	defer close(loop.stop)
	loop.update(press(5, 5, tea.MouseButtonLeft))
	refreshed := map[train.State]int{}
	for i := 0; ; i++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("training: %v", err)
			}
			goto trained
		case msg := <-loop.msgs:
			if r, ok := msg.(refreshedMsg); ok && r.err == nil {
				state := tr.Snapshot().State
				refreshed[state]++
				if state == train.Paused && refreshed[state] == 1 {
					tr.Send(train.Resume{})
				}
			}
			loop.update(msg)
		case <-time.After(2 * time.Millisecond):
			loop.update(drag(5+i%20, 5+i%17, tea.MouseButtonLeft))
		}
	}
trained:
	if refreshed[train.Paused] == 0 {
		t.Error("no refresh of the weights succeeded while the run was paused")
	}
	t.Logf("refreshes by state of the run: %v", refreshed)
	// After the run: the weights are the final ones, as saved.
	if err := live.Refresh(ctx); err != nil {
		t.Fatalf("refresh after the run: %v", err)
	}
	ck, err := checkpoint.Load(filepath.Join(tr.Snapshot().RunDir, "last.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	saved, err := engine.NewNet("linear", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := ck.LoadInto(saved.Params(), nil); err != nil {
		t.Fatal(err)
	}
	pixels, err := prepare.FromImage(p.Canvas().Image())
	if err != nil {
		t.Fatal(err)
	}
	got, err := live.Classify(pixels)
	if err != nil {
		t.Fatal(err)
	}
	if want := train.Classify(saved, tr.Snapshot().Data.Info, pixels); got != want {
		t.Errorf("live model after the run answers %v, the saved weights %v", got, want)
	}
	if about := live.About(); !strings.Contains(about, "linear") || !strings.Contains(about, "step") {
		t.Errorf("About %q does not name the model and the step", about)
	}
}

// fakeTrainer hands out the weights of a net of its own.
type fakeTrainer struct {
	mu     sync.Mutex
	snap   train.Snapshot
	net    *engine.Net
	block  bool // CopyWeights waits for its context, like a busy trainer
	copies int
}

func newFakeTrainer(t *testing.T, state train.State) *fakeTrainer {
	net, err := engine.NewNet("linear", 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeTrainer{net: net, snap: train.Snapshot{Model: "linear", Dataset: "mnist", State: state, Message: "loading mnist"}}
}

func (f *fakeTrainer) Snapshot() train.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap
}

func (f *fakeTrainer) CopyWeights(ctx context.Context, dst []*engine.Param) error {
	if f.block {
		<-ctx.Done()
		return ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.copies++
	src := f.net.Params()
	for i := range src {
		copy(dst[i].Value.Data().([]float32), src[i].Value.Data().([]float32))
	}
	return nil
}

func TestLiveBeforeTheModelIsBuilt(t *testing.T) {
	f := newFakeTrainer(t, train.Loading)
	live := NewLive(f)
	err := live.Refresh(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not built yet") {
		t.Errorf("refresh while loading: %v, want it to say the model is not built yet", err)
	}
	if f.copies != 0 {
		t.Error("asked a loading trainer for weights")
	}
	if _, err := live.Classify([784]uint8{}); !errors.Is(err, ErrNoWeights) {
		t.Errorf("Classify without weights: %v, want ErrNoWeights", err)
	}
}

func TestLiveForgetsANetTheTrainerMayStillFill(t *testing.T) {
	f := newFakeTrainer(t, train.Running)
	f.block = true
	live := NewLive(f)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := live.Refresh(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("refresh from a trainer that does not answer: %v, want the deadline", err)
	}
	if live.spare != nil {
		t.Error("kept the net the trainer was asked to fill: a late copy would race with its next use")
	}
	f.block = false
	if err := live.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := live.Classify([784]uint8{}); err != nil {
		t.Errorf("Classify after a good refresh: %v", err)
	}
}

func TestPageFetchesWeightsAtTheFirstStroke(t *testing.T) {
	f := newFakeTrainer(t, train.Paused)
	p := newPage(NewLive(f), view.Options{NoColor: true})
	placed(p)
	cmd := p.Update(press(10, 10, tea.MouseButtonLeft))
	if p.guess.state != noWeights {
		t.Fatalf("answer state %d before any weights, want noWeights", p.guess.state)
	}
	runCmd(t, p, cmd)
	if f.copies != 1 {
		t.Fatalf("%d copies of the weights after the first stroke, want 1", f.copies)
	}
	if p.guess.state != answered {
		t.Errorf("answer state %d once the weights came, want answered", p.guess.state)
	}
	want := train.Classify(f.net, syntheticData(10, 1).Info, p.guess.pixels)
	if p.guess.probs != want {
		t.Errorf("the page answers %v, the trainer's net %v", p.guess.probs, want)
	}
}

func TestPageRefreshesOnlyWhileShown(t *testing.T) {
	f := newFakeTrainer(t, train.Running)
	p := newPage(NewLive(f), view.Options{NoColor: true})
	if p.Start() == nil {
		t.Fatal("a live page does not tick")
	}
	if p.Start() != nil {
		t.Error("a second Start started a second tick")
	}
	// Not rendered since the last tick: hidden, so no refresh.
	runCmd(t, p, p.Update(tickMsg{p}))
	if f.copies != 0 {
		t.Errorf("%d refreshes while hidden, want none", f.copies)
	}
	p.Render(120, 40)
	runCmd(t, p, p.Update(tickMsg{p}))
	if f.copies != 1 {
		t.Errorf("%d refreshes at a tick while shown, want 1", f.copies)
	}
	// Another page's tick is not ours.
	other := newPage(NewLive(f), view.Options{NoColor: true})
	p.Render(120, 40)
	runCmd(t, p, p.Update(tickMsg{other}))
	if f.copies != 1 {
		t.Errorf("another page's tick refreshed this one")
	}
	// Opening the page by its shortcut refreshes at once.
	runCmd(t, p, p.Update(view.OpenedMsg{Key: "d"}))
	if f.copies != 2 {
		t.Errorf("%d refreshes after opening, want 2", f.copies)
	}
}

func TestPageShowsWhyWeightsAreStale(t *testing.T) {
	f := newFakeTrainer(t, train.Loading)
	p := newPage(NewLive(f), view.Options{NoColor: true})
	runCmd(t, p, p.Update(view.OpenedMsg{Key: "d"}))
	if out := p.Render(120, 40); !strings.Contains(out, "not built yet") {
		t.Errorf("the page does not say why it has no weights:\n%s", out)
	}
}

func TestFixedWithoutANet(t *testing.T) {
	if _, err := NewFixed(nil, dataset.Info{}, "none").Classify([784]uint8{}); !errors.Is(err, ErrNoWeights) {
		t.Errorf("Classify with no net: %v, want ErrNoWeights", err)
	}
}
