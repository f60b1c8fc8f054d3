package cli

import (
	"context"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mnist-tui/dataset"
	"mnist-tui/dataset/prepare"
	"mnist-tui/engine"
	"mnist-tui/engine/checkpoint"
	"mnist-tui/engine/config"
	"mnist-tui/engine/doctor"
	"mnist-tui/engine/runs"
	"mnist-tui/engine/train"
	"mnist-tui/ui/dashboard"
	"mnist-tui/ui/draw"
	"mnist-tui/ui/editor"
	"mnist-tui/ui/health"
	"mnist-tui/ui/inspect"
	"mnist-tui/ui/layers"
	"mnist-tui/ui/runsview"
	"mnist-tui/ui/view"
)

// trainFlagSet is train's flags; the top-level help lists them too, as
// mnist-tui without a command trains.
func trainFlagSet(env *Env) (fs *flag.FlagSet, cf *configFlags, headless, asJSON *bool, resume *string) {
	fs = newFlagSet("train", "train [--headless] [--json] [--resume PATH] [flags]", env)
	cf = new(configFlags)
	cf.register(fs)
	headless = fs.Bool("headless", false, "print the tutorial's log lines instead of opening the dashboard")
	asJSON = fs.Bool("json", false, "with --headless: print events as JSON lines")
	resume = fs.String("resume", "", "continue the run saved in this checkpoint `file`")
	return fs, cf, headless, asJSON, resume
}

func runTrain(ctx context.Context, env *Env, args []string) error {
	fs, cf, headless, asJSON, resume := trainFlagSet(env)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}

	var cfg config.Config
	var source string
	var err error
	if *resume != "" && cf.recipe != "" {
		return usagef("--recipe starts a new run from a recipe; --resume continues a run with its own settings: give one")
	}
	if *resume != "" {
		cfg, err = resumeConfig(*resume, cf, fs)
		source = cf.path
	} else {
		cfg, source, err = cf.load(fs, env)
	}
	if err == nil {
		err = checkMemory(cfg, fs)
	}
	if err != nil {
		return err
	}

	opts := train.Options{Resume: *resume, Version: Version}
	if *headless || *asJSON || !env.IsTerminal {
		opts.Log = func(msg string) { fmt.Fprintln(env.Stderr, msg) }
		if note := cfg.NetworkUnused(); note != "" && !flagSet(fs, "model") {
			fmt.Fprintln(env.Stderr, "note: "+note)
		}
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
	if err := train.CheckEpochsLeft(path, ck.Meta, cfg.Epochs); err != nil {
		return cfg, err
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
	health      int
	notes       int
	lastMessage string
}

func (p *printer) print(s train.Snapshot) {
	for ; p.logs < len(s.Logs); p.logs++ {
		l := s.Logs[p.logs]
		if p.json {
			p.emit(l.Record())
			continue
		}
		fmt.Fprintf(p.w, "[%d, %5d]: loss: %.3f , acc: %.2f %%\n", l.Epoch, l.Batch, l.Loss, l.Acc)
	}
	for ; p.health < len(s.Health); p.health++ {
		if p.json {
			p.emit(s.Health[p.health])
		}
	}
	for ; p.notes < len(s.Notes); p.notes++ {
		n := s.Notes[p.notes]
		if p.json {
			p.emit(n)
			continue
		}
		fmt.Fprintf(p.w, "doctor: %s%s\n", n.Text, headlessFix(n, s.LR))
	}
	for ; p.epochs < len(s.History); p.epochs++ {
		e := s.History[p.epochs]
		if p.json {
			p.emit(e.Record(s.Epochs))
			continue
		}
		fmt.Fprintf(p.w, "[%d / %d]: Accuracy on test set: %.2f %%\n", e.Epoch, s.Epochs, e.TestAcc)
	}
	if p.json && s.Message != p.lastMessage && !strings.HasPrefix(s.Message, "doctor (h") {
		p.emit(runs.Status{State: s.State.String(), Message: s.Message})
	}
	p.lastMessage = s.Message
}

// headlessFix is a note's fix as the flag to try next time, since nobody
// can press a key in a headless run.
func headlessFix(n runs.Note, lr float64) string {
	if n.FixKey != doctor.LearningRate || n.FixFactor == 0 {
		return ""
	}
	return fmt.Sprintf(" Try --lr %g.", doctor.FixedValue(n, lr))
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
		p.emit(runs.Summary{State: s.State.String(), Model: s.Model, Epochs: len(s.History),
			BestTestAcc: best, WallSeconds: s.Elapsed.Seconds(), TrainImgS: rate, RunDir: s.RunDir})
		return
	}
	// The state is in the message that follows ("done: ...", "stopped; ...").
	model := s.Model
	if s.Config.Model == config.Custom {
		model = s.Config.Label() // the network's name, as the dashboard's header says it
	}
	if len(s.History) == 0 {
		// A run that failed or stopped before its first test pass has no
		// speed or accuracy: "best test accuracy 0.00 %" would be invented.
		fmt.Fprintf(p.w, "%s on %s: no epoch finished\n", model, s.Dataset)
	} else {
		fmt.Fprintf(p.w, "%s on %s: %s in %s (%.0f images/s while training), best test accuracy %.2f %%\n",
			model, s.Dataset, pluralize(len(s.History), "epoch"), s.Elapsed.Round(100*time.Millisecond), rate, best)
	}
	switch {
	case s.State == train.Failed:
		// The reason is the command's error, which main prints on stderr: once is enough.
		fmt.Fprintln(p.w, "the run failed: the reason follows on stderr")
	case s.Message != "":
		fmt.Fprintln(p.w, s.Message)
	}
}

// emit writes one JSON line in the schema of metrics.jsonl.
func (p *printer) emit(rec runs.Record) {
	line, err := runs.MarshalRecord(rec)
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
		if err := checkMemory(cfg, nil); err != nil {
			return nil, err
		}
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
	draftErr := keepDrafts(env.Stderr, pages)
	runErr := ses.close()
	s := ses.current.Snapshot()
	if ctx.Err() != nil {
		return errors.Join(fmt.Errorf("interrupted; %s", s.Message), draftErr)
	}
	if s.RunDir != "" {
		fmt.Fprintf(env.Stdout, "%s\n", s.Message)
	}
	note, uiErr := settleForcedQuit(uiErr, s, runErr)
	if note != "" {
		fmt.Fprintln(env.Stdout, note)
	}
	return errors.Join(uiErr, runErr, draftErr)
}

// keepDrafts saves what the user typed in a page and never applied (the
// config editor's text) when the dashboard closes, however it closed, and
// says where: quitting never loses it.
func keepDrafts(w io.Writer, pages []view.View) error {
	var err error
	for _, p := range pages {
		if d, ok := p.(interface{ KeepDraft() (string, error) }); ok {
			path, keepErr := d.KeepDraft()
			if path != "" {
				fmt.Fprintf(w, "unapplied config edits kept in %s (apply them with the editor, e)\n", path)
			}
			err = errors.Join(err, keepErr)
		}
	}
	return err
}

// settleForcedQuit replaces the dashboard's ErrInterrupted, which it
// returns before the trainer has stopped, by what happened once it did
// (the session waits for every run): whether the last checkpoint was
// written. A run that failed to write it says so in its own error.
func settleForcedQuit(uiErr error, s train.Snapshot, runErr error) (note string, err error) {
	if !errors.Is(uiErr, dashboard.ErrInterrupted) {
		return "", uiErr
	}
	switch {
	case runErr != nil || s.State == train.Failed:
		return "", nil
	case s.SaveErr != nil:
		return "", fmt.Errorf("quit at once; training stopped, but not every file was written: %w", s.SaveErr)
	case s.Checkpoint != "":
		return "quit at once; training stopped and its last checkpoint was written: " + s.Checkpoint, nil
	}
	return "quit at once, before training had saved a checkpoint", nil
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
	mistakes := inspect.NewMistakes(opts)
	mistakes.SetExplainer(liveExplainer{draw.NewLive(current)})
	drawPage := draw.New(draw.NewLive(current), info.Classes, opts)
	layersPage := layers.New(layers.NewLive(current), opts)
	layersPage.SetDrawing(func() ([dataset.ImageSize]uint8, bool) {
		pixels, err := prepare.FromImage(drawPage.Canvas().Image())
		return pixels, err == nil
	})
	return []view.View{
		runsview.New(cfg.RunsDir, opts),
		inspect.NewConfusion(opts),
		mistakes,
		inspect.NewData(opts),
		drawPage,
		editor.New(configPath, configText, opts),
		health.New(opts),
		layersPage, // keep last: pages added later go after it
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
