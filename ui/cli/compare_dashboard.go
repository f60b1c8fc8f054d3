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
func compareDashboard(ctx context.Context, env *Env, contenders []contender, source string) error {
	ses := newSession(ctx)
	c := &comparison{contenders: contenders, started: time.Now(), ses: ses}
	pageOpts := pageOptions()
	pages, err := comparePages(env, contenders, source, &ses.current, pageOpts)
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

	if err := comparisonError(ctx, contenders, c.results, c.saveErr); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return errors.Join(err, uiErr)
	}
	if len(c.results) < len(contenders) {
		fmt.Fprintf(env.Stdout, "comparison stopped after %d of %s\n", len(c.results), pluralize(len(contenders), contenderNoun(contenders)))
	}
	return errors.Join(uiErr, runErr, c.saveErr)
}

// comparePages are the pages of `mnist-tui train` with the compare page
// last, so that every page keeps its number (3 is confusion in both); m
// opens the compare page from anywhere.
func comparePages(env *Env, contenders []contender, source string, current *currentTrainer, opts view.Options) ([]view.View, error) {
	cfg := contenders[0].cfg
	pages, err := dashboardPages(env, cfg, source, current, opts)
	if err != nil {
		return nil, err
	}
	entries := make([]runsview.Entry, len(contenders))
	for i, c := range contenders {
		entries[i] = runsview.Entry{Label: c.label, Config: c.cfg}
	}
	return append(pages, runsview.NewComparison(cfg.RunsDir, entries, opts)), nil
}

// comparison is the state of a comparison under the dashboard. next runs
// on the dashboard's command goroutines and the final report is read after
// the dashboard closed, hence the lock.
type comparison struct {
	contenders []contender
	started    time.Time
	ses        *session

	mu       sync.Mutex
	results  []runs.Run // the contenders finished, in order
	reported bool       // report and plots are written
	report   string
	saved    bytes.Buffer // where they were written, for after the dashboard
	saveErr  error
}

func (c *comparison) configFor(i int) config.Config {
	return c.contenders[min(i, len(c.contenders)-1)].cfg
}

func (c *comparison) labelOf(i int) string {
	return c.contenders[min(i, len(c.contenders)-1)].label
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
	done := summaryOf(c.labelOf(len(c.results)), r)
	c.results = append(c.results, r)

	if finished.Data == nil {
		// Never got its images: every other model would fail the same way.
		c.finish()
		return nil, fmt.Sprintf("comparison stopped: %s could not load the data (%s); the report is in %s",
			c.labelOf(len(c.results)-1), errText(finished.Err), c.runsDir()), nil
	}
	i := len(c.results)
	if i < len(c.contenders) {
		t := c.ses.start(c.configFor(i), train.Options{Version: Version, Data: finished.Data})
		if t == nil {
			return nil, "", errClosing
		}
		return t, fmt.Sprintf("%s; now %s, %s %d of %d (m: the comparison)", done, c.labelOf(i), contenderNoun(c.contenders), i+1, len(c.contenders)), nil
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
	c.report = comparisonReport(c.contenders, c.results, c.started)
	c.saveErr = saveComparison(&c.saved, c.runsDir(), c.started, c.report, c.results)
}

// runsDir is where the runs and the report go (the same for all).
func (c *comparison) runsDir() string { return c.contenders[0].cfg.RunsDir }

// reportPath is the first line saveComparison wrote: "wrote <path>".
func (c *comparison) reportPath() string {
	for _, line := range strings.Split(c.saved.String(), "\n") {
		if path, ok := strings.CutPrefix(line, "wrote "); ok {
			return path
		}
	}
	return c.runsDir()
}

// summaryOf says how a contender's run ended, for the status line.
func summaryOf(label string, r runs.Run) string {
	switch {
	case r.State == runs.Failed:
		return fmt.Sprintf("%s failed: %s", label, r.Error)
	case r.EpochsDone == 0:
		return fmt.Sprintf("%s ended (%s) before its first epoch", label, r.State)
	}
	return fmt.Sprintf("%s %s: best %.2f %%", label, r.State, r.BestAcc)
}

func errText(err error) string {
	if err == nil {
		return "no error recorded"
	}
	return err.Error()
}
