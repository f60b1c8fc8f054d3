package cli

import (
	"context"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"mnist-tui/dataset"
	"mnist-tui/engine"
	"mnist-tui/engine/checkpoint"
	"mnist-tui/engine/config"
	"mnist-tui/engine/train"
	"mnist-tui/ui/dashboard"
	"mnist-tui/ui/draw"
	"mnist-tui/ui/editor"
	"mnist-tui/ui/inspect"
	"mnist-tui/ui/runsview"
	"mnist-tui/ui/view"
)

func runTrain(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet("train", "train [--headless] [--json] [--resume PATH] [flags]", env)
	var cf configFlags
	cf.register(fs)
	headless := fs.Bool("headless", false, "print the tutorial's log lines instead of opening the dashboard")
	asJSON := fs.Bool("json", false, "with --headless: print events as JSON lines")
	resume := fs.String("resume", "", "continue the run saved in this checkpoint `file`")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}

	var cfg config.Config
	var source string
	var err error
	if *resume != "" {
		cfg, err = resumeConfig(*resume, &cf, fs)
		source = cf.path
	} else {
		cfg, source, err = cf.load(fs, env)
	}
	if err != nil {
		return err
	}

	opts := train.Options{Resume: *resume, Version: Version}
	if *headless || *asJSON || !env.IsTerminal {
		opts.Log = func(msg string) { fmt.Fprintln(env.Stderr, msg) }
		return trainHeadless(ctx, env, train.New(cfg, opts), *asJSON)
	}
	return trainDashboard(ctx, env, cfg, source, opts)
}

// resumeConfig is the configuration a checkpoint was trained with, with the
// flags given now on top (e.g. --epochs 20 to train further).
func resumeConfig(path string, cf *configFlags, fs *flag.FlagSet) (config.Config, error) {
	if err := selectKernels(cf.kernels); err != nil {
		return config.Config{}, err
	}
	ck, err := checkpoint.Load(path)
	if err != nil {
		return config.Config{}, err
	}
	if !ck.HasMeta {
		return config.Config{}, fmt.Errorf("resume %s: the file holds weights only, no training state; use it with eval or predict", path)
	}
	cfg, err := config.Parse(path+" (config)", []byte(ck.Meta.Config))
	if err != nil {
		return config.Config{}, fmt.Errorf("resume %s: %w", path, err)
	}
	cfg = cf.apply(fs, cfg)
	if err := cfg.Validate(); err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

// trainHeadless runs the trainer and prints the tutorial's lines (or JSON
// lines) as they happen, then a summary.
func trainHeadless(ctx context.Context, env *Env, t *train.Trainer, asJSON bool) error {
	done := make(chan error, 1)
	go func() { done <- t.Run(ctx) }()
	p := printer{w: env.Stdout, json: asJSON}
	var diverged error
	for {
		select {
		case <-t.Changed():
			s := t.Snapshot()
			p.print(s)
			// Nobody can lower the learning rate here: stop, keeping the
			// last good checkpoint, and say what to do.
			if s.State == train.Paused && s.Err != nil && diverged == nil {
				diverged = s.Err
				t.Send(train.Stop{})
			}
		case err := <-done:
			s := t.Snapshot()
			p.print(s)
			p.summary(s)
			if err != nil {
				return err
			}
			if diverged != nil {
				return diverged
			}
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted; %s", s.Message)
			}
			return nil
		}
	}
}

// printer writes what is new in each snapshot: log lines, epoch results and
// messages, each exactly once.
type printer struct {
	w           io.Writer
	json        bool
	logs        int
	epochs      int
	lastMessage string
}

func (p *printer) print(s train.Snapshot) {
	for ; p.logs < len(s.Logs); p.logs++ {
		l := s.Logs[p.logs]
		if p.json {
			p.emit(map[string]any{"event": "log", "epoch": l.Epoch, "batch": l.Batch, "step": l.Step, "loss": l.Loss, "acc": l.Acc, "lr": l.LR})
			continue
		}
		fmt.Fprintf(p.w, "[%d, %5d]: loss: %.3f , acc: %.2f %%\n", l.Epoch, l.Batch, l.Loss, l.Acc)
	}
	for ; p.epochs < len(s.History); p.epochs++ {
		e := s.History[p.epochs]
		if p.json {
			p.emit(map[string]any{"event": "epoch", "epoch": e.Epoch, "epochs": s.Epochs, "train_loss": e.TrainLoss, "train_acc": e.TrainAcc,
				"test_loss": e.TestLoss, "test_acc": e.TestAcc, "seconds": e.Seconds, "img_s": e.ImagesPerSec})
			continue
		}
		fmt.Fprintf(p.w, "[%d / %d]: Accuracy on test set: %.2f %%\n", e.Epoch, s.Epochs, e.TestAcc)
	}
	if p.json && s.Message != p.lastMessage {
		p.emit(map[string]any{"event": "status", "state": s.State.String(), "message": s.Message})
	}
	p.lastMessage = s.Message
}

func (p *printer) summary(s train.Snapshot) {
	var images float64
	var seconds float64
	best := 0.0
	for _, e := range s.History {
		images += e.ImagesPerSec * e.Seconds
		seconds += e.Seconds
		best = max(best, e.TestAcc)
	}
	rate := 0.0
	if seconds > 0 {
		rate = images / seconds
	}
	if p.json {
		p.emit(map[string]any{"event": "summary", "state": s.State.String(), "model": s.Model, "epochs": len(s.History),
			"best_test_acc": best, "wall_seconds": s.Elapsed.Seconds(), "train_img_s": rate, "run_dir": s.RunDir})
		return
	}
	fmt.Fprintf(p.w, "%s: %s %s, %d epochs in %s (%.0f images/s while training), best test accuracy %.2f %%\n",
		s.State, s.Model, s.Dataset, len(s.History), s.Elapsed.Round(100*time.Millisecond), rate, best)
	if s.Message != "" {
		fmt.Fprintln(p.w, s.Message)
	}
}

func (p *printer) emit(v map[string]any) {
	line, err := json.Marshal(v)
	if err != nil {
		return
	}
	fmt.Fprintf(p.w, "%s\n", line)
}

// trainDashboard runs the trainer under the terminal dashboard. The
// dashboard returns once the user quit and the trainer has stopped (it saves
// last.safetensors on the way out), or when ctx is cancelled by a signal.
// A page may restart training with a new configuration: every run started
// is waited for before returning.
func trainDashboard(ctx context.Context, env *Env, cfg config.Config, source string, opts train.Options) error {
	ses := newSession(ctx)
	pageOpts := pageOptions()
	pages, err := dashboardPages(env, cfg, source, &ses.current, pageOpts)
	if err != nil {
		return err
	}
	first := ses.start(cfg, opts)
	restart := func(cfg config.Config) (dashboard.Trainer, error) {
		next := train.Options{Version: opts.Version, Log: opts.Log}
		if old := ses.current.Snapshot(); old.Data != nil && old.Config.Dataset == cfg.Dataset && old.Config.DataDir == cfg.DataDir {
			next.Data = old.Data // same images: no need to load them again
		}
		t := ses.start(cfg, next)
		if t == nil {
			return nil, errClosing
		}
		return t, nil
	}
	uiErr := dashboard.Run(first, dashboard.Options{
		Title: "mnist-tui", NoColor: pageOpts.NoColor, Context: ctx, Renderer: pageOpts.Renderer,
		Pages: pages, Restart: restart,
	})
	runErr := ses.close()
	s := ses.current.Snapshot()
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted; %s", s.Message)
	}
	if s.RunDir != "" {
		fmt.Fprintf(env.Stdout, "%s\n", s.Message)
	}
	return errors.Join(uiErr, runErr)
}

// session is the trainers one dashboard shows, one after another: the first
// run, and those a restart or a comparison starts. The dashboard starts them
// from its own goroutines, hence the lock.
type session struct {
	ctx     context.Context
	current currentTrainer

	mu     sync.Mutex
	runs   []chan error // each run's result, in the order they started
	closed bool         // the dashboard is gone: start nothing more
}

func newSession(ctx context.Context) *session { return &session{ctx: ctx} }

// errClosing answers a request to start a run while the dashboard closes.
var errClosing = errors.New("the dashboard is closing")

// start begins training cfg and makes it the current run; it returns nil
// once the session is closed.
func (s *session) start(cfg config.Config, opts train.Options) *train.Trainer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	t := train.New(cfg, opts)
	done := make(chan error, 1)
	go func() { done <- t.Run(s.ctx) }()
	s.runs = append(s.runs, done)
	s.current.Store(t)
	return t
}

// close stops the current run (the dashboard is gone: training must not go
// on unseen) and waits for every run started to end.
func (s *session) close() error {
	s.mu.Lock()
	s.closed = true
	runs := s.runs
	s.mu.Unlock()
	if t := s.current.Load(); t != nil {
		t.Send(train.Stop{})
	}
	var err error
	for _, done := range runs {
		err = errors.Join(err, <-done)
	}
	return err
}

// pageOptions are what every page is drawn with: one renderer, so that one
// colour profile governs the screen, and NO_COLOR respected.
func pageOptions() view.Options {
	_, noColor := os.LookupEnv("NO_COLOR")
	renderer := lipgloss.NewRenderer(os.Stdout)
	if noColor {
		renderer.SetColorProfile(termenv.Ascii)
	}
	return view.Options{Renderer: renderer, NoColor: noColor}
}

// dashboardPages are the pages beside the dashboard's own, in tab order.
func dashboardPages(env *Env, cfg config.Config, source string, current *currentTrainer, opts view.Options) ([]view.View, error) {
	configPath, configText := editableConfig(source, cfg, env)
	info, err := dataset.Lookup(cfg.Dataset)
	if err != nil {
		return nil, usageError{err}
	}
	return []view.View{
		runsview.New(cfg.RunsDir, opts),
		inspect.NewConfusion(opts),
		inspect.NewMistakes(opts),
		inspect.NewData(opts),
		draw.New(draw.NewLive(current), info.Classes, opts),
		editor.New(configPath, configText, opts),
	}, nil
}

// editableConfig is the file the editor page writes to, and its text: the
// file the run came from, or ./config.yaml (with the built-in default's
// text) when it came from the default or a checkpoint.
func editableConfig(source string, cfg config.Config, env *Env) (path string, text []byte) {
	path = source
	if path == "" || path == config.EmbeddedSource {
		path = "config.yaml"
	}
	if data, err := os.ReadFile(path); err == nil {
		return path, data
	}
	if len(env.DefaultConfig) > 0 {
		return path, env.DefaultConfig
	}
	return path, cfg.Marshal()
}

// currentTrainer is the run on screen; a restart replaces it while the draw
// page may be copying weights from another goroutine, hence the atomic.
type currentTrainer struct{ atomic.Pointer[train.Trainer] }

func (c *currentTrainer) Snapshot() train.Snapshot { return c.Load().Snapshot() }
func (c *currentTrainer) Send(cmd train.Command)   { c.Load().Send(cmd) }
func (c *currentTrainer) CopyWeights(ctx context.Context, dst []*engine.Param) error {
	return c.Load().CopyWeights(ctx, dst)
}
