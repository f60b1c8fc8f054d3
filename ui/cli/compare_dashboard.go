package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"mnist-tui/engine/config"
	"mnist-tui/engine/runs"
	"mnist-tui/engine/train"
	"mnist-tui/ui/dashboard"
	"mnist-tui/ui/runsview"
	"mnist-tui/ui/view"
)

// compareDashboard trains the models one after another under the
// dashboard: each starts when the one before it has finished, on the same
// images, and the compare page (key m) shows them side by side as they go.
// The report is written when the last one ends, or when the user quits
// early (then it shows the models that ran).
func compareDashboard(ctx context.Context, env *Env, cfg config.Config, source string, models []string) error {
	ses := newSession(ctx)
	c := &comparison{cfg: cfg, models: models, started: time.Now(), ses: ses}
	pageOpts := pageOptions()
	pages, err := comparePages(env, cfg, source, &ses.current, pageOpts, models)
	if err != nil {
		return err
	}

	// The first model loads (or fetches) the data with the dashboard's
	// progress bar; the others reuse it.
	first := ses.start(c.configFor(0), train.Options{Version: Version})
	uiErr := dashboard.Run(first, dashboard.Options{
		Title: "mnist-tui compare", NoColor: pageOpts.NoColor, Context: ctx, Renderer: pageOpts.Renderer,
		Pages: pages, Next: c.next,
	})
	runErr := errors.Join(ses.close(), keepDrafts(env.Stderr, pages))
	note, uiErr := settleForcedQuit(uiErr, ses.current.Snapshot(), runErr)
	if note != "" {
		defer fmt.Fprintln(env.Stdout, note)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.reported {
		// Cut short: the run on screen when the dashboard closed counts
		// too, with the epochs it finished.
		if s := ses.current.Snapshot(); s.RunID != "" && !slices.ContainsFunc(c.results, func(r runs.Run) bool { return r.ID == s.RunID }) {
			c.results = append(c.results, comparisonResult(s, c.configFor(len(c.results)), nil))
		}
		c.finish()
	}
	fmt.Fprint(env.Stdout, c.report)
	env.Stdout.Write(c.saved.Bytes())

	var failed []string
	for _, r := range c.results {
		if r.State == runs.Failed {
			failed = append(failed, r.Model)
		}
	}
	switch {
	case ctx.Err() != nil:
		return errors.Join(fmt.Errorf("interrupted: the table shows the %d of %s that ran", len(c.results), pluralize(len(models), "model")), c.saveErr)
	case len(failed) > 0:
		return errors.Join(fmt.Errorf("%d of %s failed: %s", len(failed), pluralize(len(models), "model"), strings.Join(failed, ", ")), c.saveErr, uiErr)
	case len(c.results) < len(models):
		fmt.Fprintf(env.Stdout, "comparison stopped after %d of %s\n", len(c.results), pluralize(len(models), "model"))
	}
	return errors.Join(uiErr, runErr, c.saveErr)
}

// comparePages are the pages of `mnist-tui train` with the compare page
// last, so that every page keeps its number (3 is confusion in both); m
// opens the compare page from anywhere.
func comparePages(env *Env, cfg config.Config, source string, current *currentTrainer, opts view.Options, models []string) ([]view.View, error) {
	pages, err := dashboardPages(env, cfg, source, current, opts)
	if err != nil {
		return nil, err
	}
	return append(pages, runsview.NewComparison(cfg.RunsDir, models, opts)), nil
}

// comparison is the state of a comparison under the dashboard. next runs
// on the dashboard's command goroutines and the final report is read after
// the dashboard closed, hence the lock.
type comparison struct {
	cfg     config.Config
	models  []string
	started time.Time
	ses     *session

	mu       sync.Mutex
	results  []runs.Run // the models finished, in order
	reported bool       // report and plots are written
	report   string
	saved    bytes.Buffer // where they were written, for after the dashboard
	saveErr  error
}

func (c *comparison) configFor(i int) config.Config {
	cfg := c.cfg
	cfg.Model = c.models[min(i, len(c.models)-1)]
	return cfg
}

// next records the run that finished and starts the next model, or, after
// the last one, writes the report. It is the dashboard's Options.Next.
func (c *comparison) next(finished train.Snapshot) (dashboard.Trainer, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reported {
		return nil, "", nil
	}
	r := comparisonResult(finished, c.configFor(len(c.results)), nil)
	c.results = append(c.results, r)
	done := summaryOf(r)

	if finished.Data == nil {
		// Never got its images: every other model would fail the same way.
		c.finish()
		return nil, fmt.Sprintf("comparison stopped: %s could not load the data (%s); the report is in %s",
			r.Model, errText(finished.Err), c.cfg.RunsDir), nil
	}
	i := len(c.results)
	if i < len(c.models) {
		t := c.ses.start(c.configFor(i), train.Options{Version: Version, Data: finished.Data})
		if t == nil {
			return nil, "", errClosing
		}
		return t, fmt.Sprintf("%s; now %s, model %d of %d (m: the comparison)", done, c.models[i], i+1, len(c.models)), nil
	}
	c.finish()
	if c.saveErr != nil {
		return nil, "comparison done, but the report could not be written: " + c.saveErr.Error(), nil
	}
	return nil, fmt.Sprintf("comparison done: %s; report in %s (m: the comparison)", done, c.reportPath()), nil
}

// finish writes the report and the plots; the caller holds the lock.
func (c *comparison) finish() {
	c.reported = true
	c.report = comparisonReport(c.cfg, c.models, c.results, c.started)
	c.saveErr = saveComparison(&c.saved, c.cfg.RunsDir, c.started, c.report, c.results)
}

// reportPath is the first line saveComparison wrote: "wrote <path>".
func (c *comparison) reportPath() string {
	for _, line := range strings.Split(c.saved.String(), "\n") {
		if path, ok := strings.CutPrefix(line, "wrote "); ok {
			return path
		}
	}
	return c.cfg.RunsDir
}

// summaryOf says how a model's run ended, for the status line.
func summaryOf(r runs.Run) string {
	switch {
	case r.State == runs.Failed:
		return fmt.Sprintf("%s failed: %s", r.Model, r.Error)
	case r.EpochsDone == 0:
		return fmt.Sprintf("%s ended (%s) before its first epoch", r.Model, r.State)
	}
	return fmt.Sprintf("%s %s: best %.2f %%", r.Model, r.State, r.BestAcc)
}

func errText(err error) string {
	if err == nil {
		return "no error recorded"
	}
	return err.Error()
}
