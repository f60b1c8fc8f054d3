// Package dashboard shows a training run live in the terminal: header and
// state, epoch progress, the table of finished epochs, loss and error
// charts, and sample digits with the model's guesses.
//
// It reads the trainer only through the train.Snapshot contract: it waits
// on Changed(), takes a Snapshot() at most 10 times a second, and
// sends commands with Send(), which never blocks. The trainer never waits
// for the screen.
package dashboard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/progress"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"mnist-tui/engine/config"
	"mnist-tui/engine/train"
	"mnist-tui/ui/termdraw"
	"mnist-tui/ui/view"
)

// Trainer is what the dashboard needs from a training run.
type Trainer interface {
	// Snapshot returns a cheap copy of the run's state; its slices are
	// append-only and must not be modified.
	Snapshot() train.Snapshot
	// Changed is signalled, without blocking, whenever the snapshot changes.
	Changed() <-chan struct{}
	// Send queues a command for the next batch boundary; it never blocks.
	Send(train.Command)
}

// Options configures the dashboard.
type Options struct {
	Title   string // shown first in the header; "mnist-tui" when empty
	NoColor bool   // NO_COLOR set or colour off: ASCII digits only, no colours

	// Input and Output are the terminal; nil means stdin and stdout.
	Input  io.Reader
	Output io.Writer
	// Renderer decides the colour profile. Nil means one for Output that
	// detects the terminal; tests pass one with a fixed profile so that
	// golden files agree everywhere. NoColor overrides it.
	Renderer *lipgloss.Renderer
	// Pages are shown after the dashboard page, in this order.
	Pages []view.View
	// Restart starts a new run with cfg once the current one has stopped
	// (a page asked for it with view.RestartMsg). Nil: restarts are refused.
	Restart func(cfg config.Config) (Trainer, error)
	// Next, when set, is called once each run has finished on its own
	// (Done or Failed, not stopped by a quit or a restart), with the run's
	// last snapshot, and returns the run to show next, or nil when the
	// sequence is over; note is shown in the status line either way. A
	// comparison trains its models this way, one after another. It runs on
	// a command goroutine, not in Update: it may read and write files.
	Next func(finished train.Snapshot) (next Trainer, note string, err error)
	// Context, when cancelled (SIGTERM, a closed terminal), closes the
	// dashboard and restores the terminal; the trainer is stopped by the
	// same context. Nil means never.
	Context context.Context
}

// ErrInterrupted is returned by Run when the user forced the dashboard to
// quit (a second ctrl+c) before the trainer confirmed that it had stopped;
// the caller, which waits for the trainer, says whether it saved.
var ErrInterrupted = errors.New("dashboard: quit before the trainer had stopped")

// minRedraw is the least time between two snapshots: 10 a second. Every
// redraw's CPU time (ours and the terminal's) comes out of the two cores
// training runs on; 10 frames a second keep the progress bar smooth and the
// cost of watching under a few percent.
const minRedraw = 100 * time.Millisecond

// Messages, each as small as it can be.
type (
	changedMsg     struct{} // the trainer signalled a change
	redrawMsg      struct{} // a coalesced change is due now
	trainerGoneMsg struct{} // Changed() was closed: no more signals will come
	nextRunMsg     struct { // Options.Next answered
		trainer Trainer
		note    string
		err     error
	}
)

var _ tea.Model = Model{}

// Model is the dashboard's whole state; it implements tea.Model.
type Model struct {
	trainer Trainer
	title   string
	keys    keyMap
	styles  styles
	help    help.Model
	bar     progress.Model // drawn with ViewAs: no animation, no extra frames
	now     func() time.Time
	// stop is closed by Run when the program has ended, releasing the
	// goroutine that waits on Changed().
	stop chan struct{}

	snap          train.Snapshot
	pulledAt      time.Time // when snap was taken
	trainerGone   bool
	width, height int
	pages         []view.View
	restart       func(config.Config) (Trainer, error)
	restartTo     *config.Config // a restart waits for the current run to stop
	next          func(train.Snapshot) (Trainer, string, error)
	askedNext     Trainer // the run Next was last called for: once per run
	advancing     bool    // Next is running
	page          int     // 0 = the dashboard page, i = pages[i-1]
	hiRes         bool    // half-block digits on every page; on by default with colours
	helpOpen      bool    // ? shows every key in place of the page
	helpOffset    int     // the first help line shown: the help scrolls
	mouseOn       bool    // the terminal reports the mouse (see syncMouse)
	lastBodyH     int     // the body's height in the last frame: pgup/pgdn move the help by it
	stopping      bool    // Stop was sent; quit once the trainer is Done or Failed
	forced        bool    // quit before the trainer stopped
	note          note

	cache  panelCache
	screen string // the whole frame, built in Update; View returns it
}

// note is the dashboard's answer to a key press ("pausing at the next
// batch…"). It stays until the trainer's state, message or error changes,
// which is how the trainer answers.
type note struct {
	text    string
	state   train.State
	message string
	err     string // the error's text: errors need not be comparable
}

// New builds the dashboard for t. It takes a first snapshot so the very
// first frame already shows the run.
func New(t Trainer, opts Options) Model {
	if t == nil {
		t = missingTrainer{}
	}
	title := opts.Title
	if title == "" {
		title = "mnist-tui"
	}
	st := newStyles(pickRenderer(opts))
	m := Model{
		trainer: t,
		title:   title,
		keys:    newKeyMap(st.colorful()),
		styles:  st,
		help:    newHelp(st),
		bar: progress.New(
			progress.WithDefaultGradient(),
			progress.WithColorProfile(st.profile),
		),
		now:  time.Now,
		stop: make(chan struct{}),
	}
	m.pages = opts.Pages
	m.restart = opts.Restart
	m.next = opts.Next
	m.snap = t.Snapshot()
	for _, p := range m.pages {
		p.SetSnapshot(m.snap)
	}
	m.setHiRes(st.colorful())
	m.keys.NextView.SetEnabled(len(m.pages) > 0)
	m.keys.PickView.SetEnabled(len(m.pages) > 0)
	m.keys.PickView.SetHelp("1-"+strconv.Itoa(len(m.pages)+1), "go to page")
	return m
}

func pickRenderer(opts Options) *lipgloss.Renderer {
	if opts.NoColor {
		// A renderer of our own: the caller's one may be shared.
		r := lipgloss.NewRenderer(io.Discard)
		r.SetColorProfile(termenv.Ascii)
		return r
	}
	if opts.Renderer != nil {
		return opts.Renderer
	}
	var out io.Writer = os.Stdout
	if opts.Output != nil {
		out = opts.Output
	}
	return lipgloss.NewRenderer(out)
}

func newHelp(st styles) help.Model {
	h := help.New()
	h.Styles = help.Styles{
		Ellipsis:       st.dim,
		ShortKey:       st.helpKey,
		ShortDesc:      st.helpTxt,
		ShortSeparator: st.dim,
		FullKey:        st.helpKey,
		FullDesc:       st.helpTxt,
		FullSeparator:  st.dim,
	}
	return h
}

// Run shows the dashboard on the terminal (alternate screen; the mouse is
// reported only while a page that uses it is shown, see syncMouse) until
// the user quits and the trainer has reached Done or Failed. If the
// terminal fails first, it asks the trainer to stop and returns the error.
func Run(t Trainer, opts Options) error {
	if t == nil {
		return errors.New("dashboard: no trainer to show (nil Trainer)")
	}
	m := New(t, opts)
	popts := []tea.ProgramOption{tea.WithAltScreen()}
	if opts.Input != nil {
		popts = append(popts, tea.WithInput(opts.Input))
	}
	if opts.Output != nil {
		popts = append(popts, tea.WithOutput(opts.Output))
	}
	if opts.Context != nil {
		popts = append(popts, tea.WithContext(opts.Context))
	}
	final, err := tea.NewProgram(m, popts...).Run()
	close(m.stop)
	if err != nil {
		t.Send(train.Stop{})
		return fmt.Errorf("dashboard: %w", err)
	}
	if fm, ok := final.(Model); ok && fm.forced {
		return ErrInterrupted
	}
	return nil
}

// Init starts listening to the trainer.
func (m Model) Init() tea.Cmd {
	// No tea.SetWindowTitle: bubbletea v1.3.10 writes the title from the
	// event loop while its renderer may be flushing a frame to the same
	// writer, a data race the race detector reports.
	cmds := []tea.Cmd{m.listen()}
	for _, p := range m.pages {
		if s, ok := p.(view.Starter); ok {
			cmds = append(cmds, s.Start())
		}
	}
	return tea.Batch(cmds...)
}

// listen waits, on the command goroutine, for the trainer's next signal.
// Only one listener is ever pending, so however fast the trainer signals,
// the dashboard sees at most one message per snapshot it takes.
func (m Model) listen() tea.Cmd {
	if m.trainerGone {
		return nil
	}
	changed, stop := m.trainer.Changed(), m.stop
	return func() tea.Msg {
		select {
		case _, ok := <-changed:
			if !ok {
				return trainerGoneMsg{}
			}
			return changedMsg{}
		case <-stop:
			return nil
		}
	}
}

// Update applies one message to the state.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	next, cmd := m.update(msg)
	nm, ok := next.(Model)
	if !ok {
		return next, cmd
	}
	return nm.syncMouse(cmd)
}

// syncMouse has the terminal report the mouse only while the page shown
// uses it (draw, and the pages whose digits can be clicked). Elsewhere the
// terminal keeps the mouse, so a path or an error can be selected and
// copied as in any other program.
func (m Model) syncMouse(cmd tea.Cmd) (Model, tea.Cmd) {
	want := false
	if u, ok := m.current().(view.MouseUser); ok {
		want = u.UsesMouse()
	}
	if want == m.mouseOn {
		return m, cmd
	}
	m.mouseOn = want
	if want {
		return m, tea.Batch(cmd, tea.EnableMouseCellMotion)
	}
	return m, tea.Batch(cmd, tea.DisableMouse)
}

func (m Model) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.Width = msg.Width
		m.render()
		return m, nil
	case tea.KeyMsg:
		return m.handleKeys(msg)
	case tea.MouseMsg:
		return m, m.routeToPage(msg)
	case changedMsg:
		if wait := minRedraw - m.now().Sub(m.pulledAt); wait > 0 {
			// Too soon after the last snapshot: take one later instead. No
			// listener is pending meanwhile, so further signals pile up in
			// the trainer's one-slot channel and cost nothing.
			return m, tea.Tick(wait, func(time.Time) tea.Msg { return redrawMsg{} })
		}
		return m.pull()
	case redrawMsg:
		return m.pull()
	case trainerGoneMsg:
		m.trainerGone = true
		return m.pull()
	case view.SendMsg:
		m.trainer.Send(msg.Command)
		return m, nil
	case view.RestartMsg:
		return m.requestRestart(msg.Config)
	case nextRunMsg:
		return m.showNextRun(msg)
	}
	return m, m.broadcast(msg)
}

// pull takes a snapshot, redraws if it is new, and listens again.
func (m Model) pull() (Model, tea.Cmd) {
	snap := m.trainer.Snapshot()
	m.pulledAt = m.now()
	if snap.Seq != m.snap.Seq || m.screen == "" {
		m.snap = snap
		for _, p := range m.pages {
			p.SetSnapshot(snap)
		}
		m.dropAnsweredNote()
		m.render()
	}
	if m.stopping && (isFinal(m.snap.State) || m.trainerGone) {
		return m, tea.Quit
	}
	if m.restartTo != nil && (isFinal(m.snap.State) || m.trainerGone) {
		return m.startNewRun()
	}
	if m.next != nil && !m.advancing && m.askedNext != m.trainer && (isFinal(m.snap.State) || m.trainerGone) {
		m.advancing, m.askedNext = true, m.trainer
		next, finished := m.next, m.snap
		return m, func() tea.Msg {
			t, note, err := next(finished)
			return nextRunMsg{trainer: t, note: note, err: err}
		}
	}
	return m, m.listen()
}

// showNextRun swaps in the run Options.Next started, keeping the page the
// user is on (a comparison's table, say).
func (m Model) showNextRun(msg nextRunMsg) (Model, tea.Cmd) {
	m.advancing = false
	switch {
	case msg.err != nil:
		m.setNote("could not start the next run: " + msg.err.Error())
	case msg.trainer == nil:
		m.setNote(msg.note)
	default:
		if m.stopping {
			// The user quit while the next run was starting: stop it too,
			// and quit once it has saved.
			msg.trainer.Send(train.Stop{})
		}
		m.swapTrainer(msg.trainer)
		m.setNote(msg.note)
		m.render()
		return m, m.listen()
	}
	m.render()
	return m, nil
}

// requestRestart stops the current run; the new one starts when the old
// one has saved its checkpoint and stopped (see pull).
func (m Model) requestRestart(cfg config.Config) (tea.Model, tea.Cmd) {
	switch {
	case m.restart == nil:
		m.setNote("restarting is not possible here: quit and start mnist-tui again")
	case m.stopping:
		m.setNote("the run is stopping")
	default:
		m.restartTo = &cfg
		m.trainer.Send(train.Stop{})
		m.setNote("stopping this run to start a new one…")
		if isFinal(m.snap.State) || m.trainerGone {
			return m.startNewRun()
		}
	}
	m.render()
	return m, nil
}

// startNewRun swaps in a trainer for the pending configuration.
func (m Model) startNewRun() (Model, tea.Cmd) {
	cfg := *m.restartTo
	m.restartTo = nil
	t, err := m.restart(cfg)
	if err != nil {
		m.setNote("could not start the new run: " + err.Error())
		m.render()
		return m, nil
	}
	m.swapTrainer(t)
	m.page = 0
	m.setNote("started a new run")
	m.render()
	return m, m.listen()
}

// swapTrainer makes t the run on screen.
func (m *Model) swapTrainer(t Trainer) {
	m.trainer, m.trainerGone = t, false
	m.snap = t.Snapshot()
	for _, p := range m.pages {
		p.SetSnapshot(m.snap)
	}
	m.cache = panelCache{}
}

func isFinal(s train.State) bool { return s == train.Done || s == train.Failed }

func (m *Model) dropAnsweredNote() {
	n := m.note
	if n.text != "" && (m.snap.State != n.state || m.snap.Message != n.message || errText(m.snap.Err) != n.err) {
		m.note = note{}
	}
}

func (m *Model) setNote(text string) {
	m.note = note{text: text, state: m.snap.State, message: m.snap.Message, err: errText(m.snap.Err)}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// handleKeys answers one key message. Keys that arrive together (a paste,
// or typing over a slow link) come as one message holding several runes;
// each is a key press of its own, answered in order, except on a page that
// takes every key (an editor), which wants the text whole.
func (m Model) handleKeys(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	page := m.current()
	if k.Type != tea.KeyRunes || len(k.Runes) < 2 || (page != nil && page.CapturesKeys() && !m.helpOpen) {
		return m.handleKey(k)
	}
	var cmds []tea.Cmd
	for _, r := range k.Runes {
		next, cmd := m.handleKey(singleKey(r, k.Alt))
		m = next.(Model)
		cmds = append(cmds, cmd)
	}
	return m, tea.Sequence(cmds...)
}

// singleKey is the key message of one rune, as bubbletea sends it when the
// rune comes alone.
func singleKey(r rune, alt bool) tea.KeyMsg {
	if r == ' ' {
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}, Alt: alt}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: alt}
}

func (m Model) handleKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	if m.helpOpen && m.helpKey(k) {
		m.render()
		return m, nil
	}
	page := m.current()
	if page != nil && k.Type == tea.KeyEsc {
		if pageWantsEsc(page) {
			return m, m.routeToPage(k)
		}
		m.page = 0
		m.render()
		return m, nil
	}
	// A page that wants every key (an editor) gets them all but ctrl+c,
	// which must always be able to stop the program, f1 for the help, and
	// tab for the next page: YAML allows no tab in its text, so the editor
	// has no use for it.
	if page != nil && page.CapturesKeys() && k.Type != tea.KeyCtrlC && k.Type != tea.KeyF1 && k.Type != tea.KeyTab {
		return m, m.routeToPage(k)
	}
	if c, ok := page.(view.Claimer); ok && c.Claims(k) {
		return m, m.routeToPage(k)
	}
	switch {
	case key.Matches(k, m.keys.Quit):
		return m.quit(k)
	case key.Matches(k, m.keys.Pause):
		m.togglePause()
	case key.Matches(k, m.keys.Save):
		m.save()
	case key.Matches(k, m.keys.NextView):
		m.page = (m.page + 1) % m.pageCount()
	case key.Matches(k, m.keys.PickView):
		if p, ok := m.pageForKey(k.String()); ok {
			m.page = p
		}
	case key.Matches(k, m.keys.Help):
		m.helpOpen, m.helpOffset = true, 0
	case key.Matches(k, m.keys.Render):
		m.setHiRes(!m.hiRes)
	default:
		if p, ok := m.shortcutPage(k); ok {
			m.page = p
			return m, m.routeToPage(view.OpenedMsg{Key: k.String()})
		}
		if key.Matches(k, m.keys.Compare) {
			m.setNote("m shows a comparison, and this is a single run: start one with mnist-tui compare (r lists every run)")
			break
		}
		if page != nil {
			return m, m.routeToPage(k)
		}
		return m, nil
	}
	m.render()
	return m, nil
}

// setHiRes switches the digits of every page between ASCII and half
// blocks: one setting for the whole screen.
func (m *Model) setHiRes(on bool) {
	m.hiRes = on && m.styles.colorful()
	for _, p := range m.pages {
		if h, ok := p.(view.HiResPage); ok {
			h.SetHiRes(m.hiRes)
		}
	}
}

// Commands go straight to the trainer from Update: Send never blocks, and a
// tea.Cmd would run on a goroutine of its own, so two quick presses (pause,
// resume) could reach the trainer in the wrong order.

func (m *Model) togglePause() {
	switch {
	case m.stopping:
		m.setNote("the run is stopping")
	case m.snap.State == train.Running:
		m.trainer.Send(train.Pause{})
		m.setNote("pausing at the next batch…")
	case m.snap.State == train.Paused:
		m.trainer.Send(train.Resume{})
		m.setNote("resuming…")
	default:
		m.setNote("nothing to pause while " + m.snap.State.String())
	}
}

func (m *Model) save() {
	switch {
	case m.stopping:
		m.setNote("the run is stopping: it saves its last checkpoint itself")
	case m.snap.State == train.Running || m.snap.State == train.Paused:
		m.trainer.Send(train.Save{})
		m.setNote("saving checkpoint…")
	default:
		m.setNote("nothing to save while " + m.snap.State.String())
	}
}

// quit ends the dashboard once the trainer has stopped: the first q or
// ctrl+c asks it to stop (it saves a checkpoint), a second ctrl+c gives up
// waiting.
func (m Model) quit(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch {
	case isFinal(m.snap.State) || m.trainerGone:
		return m, tea.Quit
	case m.stopping:
		if k.Type == tea.KeyCtrlC {
			m.forced = true
			return m, tea.Quit
		}
		return m, nil
	}
	m.trainer.Send(train.Stop{})
	m.stopping = true
	m.render()
	return m, nil
}

// View returns the frame built by the last Update.
func (m Model) View() string { return m.screen }

// panelCache keeps the expensive panels (table, charts, digits) between
// frames; each is redrawn only when what it shows or its size changed.
type panelCache struct {
	table   cachedPanel[tableKey]
	errors  cachedPanel[errorKey]
	loss    cachedPanel[lossKey]
	samples cachedPanel[samplesKey]
}

// cachedPanel is one drawn panel and the key it was drawn for: everything
// its drawing depends on.
type cachedPanel[K comparable] struct {
	key   K
	drawn string
	valid bool
}

// get returns the panel for key, drawing it only when key changed.
func (c *cachedPanel[K]) get(key K, draw func() string) string {
	if !c.valid || c.key != key {
		c.key, c.drawn, c.valid = key, draw(), true
	}
	return c.drawn
}

// render rebuilds the frame from the state.
func (m *Model) render() {
	if m.width == 0 || m.height == 0 {
		m.screen = "" // no size yet: nothing sensible to draw
		return
	}
	st := m.styles
	top := headerLines(m.snap, m.title, m.stopping, m.width, st) + "\n" +
		progressLines(m.snap, m.bar, m.width, st)
	if tabs := m.tabLine(m.width); tabs != "" {
		top += "\n" + tabs
	}
	bottom := statusText(m.snap, m.stopping, m.note.text, m.width, st) + "\n" + m.helpView()
	l := newLayout(m.width, m.height, lipgloss.Height(top), lipgloss.Height(bottom))
	if l.tooSmall {
		// Wrapped to the width, whatever it is, and centred.
		msg := st.bad.Width(m.width).Align(lipgloss.Center).Render(tooSmallMessage(m.width, m.height))
		m.screen = lipgloss.PlaceVertical(m.height, lipgloss.Center, msg)
		return
	}
	m.lastBodyH = l.bodyH
	var body string
	if m.helpOpen {
		body = m.helpBody(m.width, l.bodyH)
	} else if page := m.current(); page != nil {
		if p, ok := page.(view.Positioned); ok {
			p.SetOrigin(0, lipgloss.Height(top)+1)
		}
		body = termdraw.FitBlock(page.Render(m.width, l.bodyH), m.width, l.bodyH)
	} else if m.snap.State == train.Failed && m.snap.Err != nil {
		body = m.failedBody(l, lipgloss.Height(top), lipgloss.Height(bottom))
	} else {
		body = m.dashboardBody(l)
	}
	m.screen = top + "\n" + body + "\n" + bottom
}

// Cache keys: everything a panel's drawing depends on. The snapshot's slices
// only grow, so a length stands for the whole content.
type (
	tableKey struct{ epochs, height int }
	errorKey struct{ epochs, width int }
	lossKey  struct {
		logs, changes, epochs, batches, width, height int
		rates                                         int   // learning rates traced
		rateStride                                    int64 // their stride
	}
	samplesKey struct {
		first         *train.Sample // a new evaluation brings a new slice
		count, width  int
		hiRes, digits bool
	}
)

// failedBody puts the reason of a failure, whole, above what the run did
// before it failed; when there is no room for both (or nothing was done),
// the reason takes the whole body.
func (m *Model) failedBody(l layout, topH, bottomH int) string {
	reason := failurePanel(m.snap.Err, m.width, l.bodyH, m.styles)
	need := 1 // the title
	for _, line := range strings.Split(reason, "\n")[1:] {
		if strings.TrimSpace(ansi.Strip(line)) != "" {
			need++
		}
	}
	if len(m.snap.History) == 0 && len(m.snap.Logs) == 0 {
		return reason
	}
	rest := newLayout(m.width, m.height, topH+need+1, bottomH)
	if rest.tooSmall || rest.tableH < 4 {
		return reason
	}
	return failurePanel(m.snap.Err, m.width, need, m.styles) + "\n\n" + m.dashboardBody(rest)
}

func (m *Model) dashboardBody(l layout) string {
	s, st, c := m.snap, m.styles, &m.cache
	table := c.table.get(tableKey{len(s.History), l.tableH}, func() string {
		return epochTable(s.History, l.tableH, st)
	})
	errs := c.errors.get(errorKey{len(s.History), l.leftW}, func() string {
		return errorPanel(s.History, l.leftW, errorH, st)
	})
	loss := c.loss.get(lossKey{len(s.Logs), len(s.Changes), s.Epochs, s.Batches, l.rightW, l.middleH, len(s.Rates.Rates), s.Rates.Stride}, func() string {
		return lossChart(s, l.rightW, l.middleH, st)
	})
	var first *train.Sample
	if len(s.Samples) > 0 {
		first = &s.Samples[0]
	}
	samples := c.samples.get(samplesKey{first, len(s.Samples), l.width, m.hiRes, l.digits}, func() string {
		if l.digits {
			return "\n" + samplesPanel(s, l.width, m.hiRes, st)
		}
		return samplesLine(s, l.width, st)
	})

	left := lipgloss.NewStyle().Width(l.leftW).Render(table + "\n" + errs)
	middle := lipgloss.JoinHorizontal(lipgloss.Top, left, strings.Repeat(" ", columnGap), loss)
	return middle + "\n" + samples
}

// missingTrainer stands in for a nil Trainer so that New never panics; it
// shows the caller's mistake as a failed run.
type missingTrainer struct{}

var errNoTrainer = errors.New("no trainer was given to the dashboard (a bug in the caller)")

func (missingTrainer) Snapshot() train.Snapshot {
	return train.Snapshot{State: train.Failed, Err: errNoTrainer}
}
func (missingTrainer) Changed() <-chan struct{} { return nil }
func (missingTrainer) Send(train.Command)       {}
