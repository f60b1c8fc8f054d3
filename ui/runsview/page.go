// Package runsview is the dashboard's runs page: every run found in the
// runs folder, newest first, in a table, and the test accuracy of the runs
// the user selects overlaid in one chart. The folder is rescanned every few
// seconds, so runs training elsewhere (another terminal, a compare) grow
// on screen as they go.
//
// The same page, made with NewComparison, is the compare page of
// `mnist-tui compare`: only the runs of that comparison, in its model
// order, each with its own curve, the models still to come listed as
// queued.
package runsview

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/table"
	tea "github.com/charmbracelet/bubbletea"

	"mnist-tui/engine/config"
	"mnist-tui/engine/runs"
	"mnist-tui/engine/train"
	"mnist-tui/ui/view"
)

// RescanEvery is how often the runs folder is read again.
const RescanEvery = 2 * time.Second

// Page is the runs page. Create it with New; it implements view.View and
// view.Starter (Start begins the periodic rescan).
type Page struct {
	dir     string
	scanner *runs.Scanner
	st      styles
	keys    keyMap
	table   table.Model

	runs    []runs.Run // the rows: every run, or a comparison's
	scanned []runs.Run // the last scan of the folder
	scanErr error
	hasScan bool // the first scan has answered

	cursor int // index into runs
	offset int // first run shown in the table
	// moved: the user moved the cursor, which then stays on the run it is
	// on; until then it sits on the dashboard's own run (or the newest).
	moved bool
	// slots maps a selected run's id to its curve; a run keeps its colour
	// while others come and go.
	slots map[string]int
	note  string // a one-off remark: "at most 8 runs at once"

	// live is the run the dashboard trains: its files lag behind the
	// snapshot, so the snapshot says whether it is still going.
	live      string
	liveState train.State
	liveDone  int // finished epochs of the live run, to rescan when one ends

	// The rescan loop: at most one scan runs, at most one tick waits.
	scanning, ticking, rescanWanted bool

	// comparison is set on a compare page: its entries in order, and the
	// run id of each entry that has started (from the snapshots), by index.
	comparison []Entry
	compareIDs []string
	open       key.Binding // the page's shortcut
}

type keyMap struct {
	Up, Down, Top, Bottom key.Binding
	Select, Clear         key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		Up:     key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "previous run")),
		Down:   key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "next run")),
		Top:    key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "newest")),
		Bottom: key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "oldest")),
		// The page claims space from the dashboard (p still pauses).
		Select: key.NewBinding(key.WithKeys(" ", "x", "enter"), key.WithHelp("space/x/enter", "select for the chart")),
		Clear:  key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "clear selection")),
	}
}

// New makes the runs page for the runs folder runsDir.
func New(runsDir string, opts view.Options) *Page {
	st := newStyles(opts.Renderer, opts.NoColor)
	return &Page{
		dir:     runsDir,
		scanner: runs.NewScanner(runsDir),
		st:      st,
		keys:    newKeyMap(),
		table:   table.New(table.WithStyles(table.Styles{Header: st.header, Cell: st.cell, Selected: st.current})),
		slots:   map[string]int{},
		open:    key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "runs")),
	}
}

// Entry is one row of a comparison: a model of --models, or a
// configuration file, with the settings it trains with.
type Entry struct {
	Label  string // the model's name, or the configuration file's
	Config config.Config
}

// NewComparison makes the compare page for entries, trained one after
// another by this dashboard into runsDir. Each entry's run is selected for
// the chart as soon as it starts, in a colour of its own.
func NewComparison(runsDir string, entries []Entry, opts view.Options) *Page {
	p := New(runsDir, opts)
	p.comparison = slices.Clone(entries)
	p.compareIDs = make([]string, len(entries))
	p.open = key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "compare"))
	// The rows are the models in the order compared, not runs by date.
	p.keys.Top.SetHelp("g/home", "first model")
	p.keys.Bottom.SetHelp("G/end", "last model")
	p.keys.Up.SetHelp("↑/k", "previous model")
	p.keys.Down.SetHelp("↓/j", "next model")
	p.runs = p.comparisonRows()
	return p
}

// Name is the page's label in the tab bar.
func (p *Page) Name() string {
	if p.comparison != nil {
		return "compare"
	}
	return "runs"
}

// Shortcut opens the page from any other.
func (p *Page) Shortcut() key.Binding { return p.open }

// Keys are the page's own bindings, for the help.
func (p *Page) Keys() []key.Binding {
	return []key.Binding{p.keys.Up, p.keys.Down, p.keys.Top, p.keys.Bottom, p.keys.Select, p.keys.Clear}
}

// Claims takes space from the dashboard, where it would pause: on a list,
// space selects.
func (p *Page) Claims(k tea.KeyMsg) bool { return k.Type == tea.KeySpace }

// CapturesKeys is false: the page leaves the dashboard its other keys.
func (p *Page) CapturesKeys() bool { return false }

// Messages of the rescan loop. They carry the page so that two runs pages
// (a test, a future split screen) never take each other's.
type (
	tickMsg    struct{ page *Page }
	scannedMsg struct {
		page *Page
		runs []runs.Run
		err  error
	}
)

// Start scans the runs folder now and then every RescanEvery.
func (p *Page) Start() tea.Cmd {
	return p.scan()
}

// scan reads the folder on a command goroutine (it touches the disk).
func (p *Page) scan() tea.Cmd {
	if p.scanning {
		p.rescanWanted = true
		return nil
	}
	p.scanning = true
	scanner := p.scanner
	return func() tea.Msg {
		rs, err := scanner.Scan()
		return scannedMsg{page: p, runs: rs, err: err}
	}
}

func (p *Page) tick() tea.Cmd {
	if p.ticking {
		return nil
	}
	p.ticking = true
	return tea.Tick(RescanEvery, func(time.Time) tea.Msg { return tickMsg{page: p} })
}

// SetSnapshot follows the dashboard's own run: its state, and the end of
// each epoch, after which the folder is read again at the next message.
func (p *Page) SetSnapshot(s train.Snapshot) {
	if p.comparison != nil && s.RunID != "" && !slices.Contains(p.compareIDs, s.RunID) {
		// The comparison starts its entries in order, one at a time: a
		// run not seen before is the next entry's.
		if i := slices.Index(p.compareIDs, ""); i >= 0 {
			p.compareIDs[i] = s.RunID
			p.slots[s.RunID] = i % maxSelected
			p.runs = p.comparisonRows()
		}
	}
	if s.RunID != p.live || len(s.History) != p.liveDone || s.State != p.liveState {
		p.rescanWanted = p.rescanWanted || s.RunID != ""
	}
	p.live, p.liveState, p.liveDone = s.RunID, s.State, len(s.History)
}

// Update handles keys and the rescan loop.
func (p *Page) Update(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case scannedMsg:
		if msg.page != p {
			return nil
		}
		p.scanning = false
		p.setRuns(msg.runs, msg.err)
		cmd = p.tick()
	case tickMsg:
		if msg.page != p {
			return nil
		}
		p.ticking = false
		if !p.scanning { // else the scan under way sets the next tick
			cmd = p.scan()
		}
	case tea.KeyMsg:
		p.handleKey(msg)
	}
	if p.rescanWanted && !p.scanning {
		p.rescanWanted = false
		cmd = tea.Batch(cmd, p.scan())
	}
	return cmd
}

func (p *Page) handleKey(k tea.KeyMsg) {
	p.note = ""
	switch {
	case key.Matches(k, p.keys.Up), key.Matches(k, p.keys.Down), key.Matches(k, p.keys.Top), key.Matches(k, p.keys.Bottom):
		p.moved = true
	}
	switch {
	case key.Matches(k, p.keys.Up):
		p.moveTo(p.cursor - 1)
	case key.Matches(k, p.keys.Down):
		p.moveTo(p.cursor + 1)
	case key.Matches(k, p.keys.Top):
		p.moveTo(0)
	case key.Matches(k, p.keys.Bottom):
		p.moveTo(len(p.runs) - 1)
	case key.Matches(k, p.keys.Select):
		p.toggle()
	case key.Matches(k, p.keys.Clear):
		clear(p.slots)
	}
}

func (p *Page) moveTo(i int) {
	p.cursor = max(0, min(i, len(p.runs)-1))
}

// toggle selects the run under the cursor for the chart, or deselects it.
func (p *Page) toggle() {
	if len(p.runs) == 0 || p.runs[p.cursor].ID == "" {
		return // nothing, or a model of the comparison still to come
	}
	id := p.runs[p.cursor].ID
	if _, ok := p.slots[id]; ok {
		delete(p.slots, id)
		return
	}
	var used [maxSelected]bool
	for _, slot := range p.slots {
		used[slot] = true
	}
	for slot, taken := range used {
		if !taken {
			p.slots[id] = slot
			return
		}
	}
	p.note = fmt.Sprintf("at most %d runs at once: deselect one first", maxSelected)
}

// setRuns takes a new scan, keeping the cursor on the run it was on (new
// runs appear at the top and would otherwise push it down) and dropping
// the selection of runs that are gone.
func (p *Page) setRuns(rs []runs.Run, err error) {
	var current string
	if p.cursor < len(p.runs) {
		current = p.runs[p.cursor].ID
	}
	p.scanned, p.scanErr, p.hasScan = rs, err, true
	if p.comparison != nil {
		// The rows stay in the comparison's order, and its runs stay
		// selected: only the numbers change.
		p.runs = p.comparisonRows()
		return
	}
	p.runs = rs
	if !p.moved {
		current, p.cursor = p.live, 0
	}
	present := map[string]bool{}
	for i, r := range rs {
		present[r.ID] = true
		if r.ID == current {
			p.cursor = i
		}
	}
	p.moveTo(p.cursor)
	for id := range p.slots {
		if !present[id] {
			delete(p.slots, id)
		}
	}
}

// comparisonRows are the comparison's entries in order: the run folder of
// each one started (or, before its folder shows up in a scan, what the
// snapshot told), then the ones still to come.
func (p *Page) comparisonRows() []runs.Run {
	rows := make([]runs.Run, 0, len(p.comparison))
	for i, e := range p.comparison {
		id := p.compareIDs[i]
		if id == "" {
			rows = append(rows, runs.Run{Model: e.Config.Model, State: queued})
			continue
		}
		row := runs.Run{ID: id, Model: e.Config.Model, State: runs.Running}
		for _, r := range p.scanned {
			if r.ID == id {
				row = r
				break
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// comparisonLabel is the label of the comparison's entry that run r
// belongs to, or its model when it belongs to none.
func (p *Page) comparisonLabel(r runs.Run) string {
	if i := slices.Index(p.compareIDs, r.ID); r.ID != "" && i >= 0 {
		return p.comparison[i].Label
	}
	return r.Model
}

// comparisonProgress is "2 of 4 models done".
func (p *Page) comparisonProgress() string {
	done := 0
	for _, r := range p.runs {
		if st := p.shownState(r); st != queued && st != runs.Running && st != paused {
			done++
		}
	}
	return fmt.Sprintf("%d of %s finished", done, plural(len(p.comparison), p.entryNoun()))
}

// entryNoun is what the comparison compares: models, unless two entries
// train the same one (then they are configurations).
func (p *Page) entryNoun() string {
	for i, e := range p.comparison {
		if e.Label != e.Config.Label() || slices.ContainsFunc(p.comparison[:i], func(o Entry) bool { return o.Config.Label() == e.Config.Label() }) {
			return "configuration"
		}
	}
	return "model"
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// comparisonTitle names the entries compared.
func (p *Page) comparisonTitle() string {
	names := make([]string, len(p.comparison))
	for i, e := range p.comparison {
		names[i] = e.Label
	}
	return strings.Join(names, ", ")
}

// shownState is a run's state, corrected for the dashboard's own run: its
// metrics lag behind, and a long pause writes nothing at all.
func (p *Page) shownState(r runs.Run) runs.State {
	if r.ID != p.live || r.State == runs.Damaged {
		return r.State
	}
	switch p.liveState {
	case train.Loading, train.Running:
		return runs.Running
	case train.Paused:
		return paused
	}
	return r.State
}

// States the files cannot tell: the dashboard's own run while paused, and a
// comparison's model that has not started.
const (
	paused runs.State = "paused"
	queued runs.State = "queued"
)
