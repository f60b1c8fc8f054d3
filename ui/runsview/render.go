package runsview

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/table"

	"mnist-tui/engine/config"
	"mnist-tui/engine/runs"
	"mnist-tui/ui/termdraw"
)

// The smallest area the page draws itself in.
const (
	minWidth  = 50
	minHeight = 8
)

// chartMinH is the least height worth giving the chart: its title, legend
// and four rows of plot.
const chartMinH = 6

// Render draws the page in exactly width x height cells.
func (p *Page) Render(width, height int) string {
	if width < minWidth || height < minHeight {
		msg := fmt.Sprintf("runs: need %dx%d, have %dx%d", minWidth, minHeight, width, height)
		return termdraw.FitBlock(p.st.bad.Render(termdraw.FitWidth(msg, width)), width, height)
	}
	lines := []string{p.titleLine(width)}
	switch {
	case !p.hasScan && p.comparison == nil:
		lines = append(lines, p.st.dim.Render("reading "+p.dir+"…"))
	case len(p.runs) == 0:
		if p.scanErr == nil {
			lines = append(lines, "", p.st.dim.Render(termdraw.FitWidth("No runs yet. Train one (mnist-tui train) or compare models (mnist-tui compare).", width)))
		}
	default:
		avail := height - 2 // the title line and the detail line
		tableH := min(1+len(p.runs), max(3, avail/2))
		chartH := avail - tableH
		if chartH < chartMinH {
			tableH = min(1+len(p.runs), avail)
			chartH = avail - tableH
		}
		lines = append(lines, p.tableView(width, tableH), p.detailLine(width))
		if chartH >= chartMinH {
			lines = append(lines, p.chart(width, chartH))
		}
	}
	return termdraw.FitBlock(strings.Join(lines, "\n"), width, height)
}

// titleLine says where the runs come from and how many there are, and
// carries the last remark or scan error.
func (p *Page) titleLine(width int) string {
	st := p.st
	var s string
	switch {
	case p.comparison != nil:
		s = st.title.Render("comparing") + " " + p.comparisonTitle() + st.dim.Render(" · "+p.comparisonProgress()+" · in "+p.dir)
	default:
		s = st.title.Render("runs") + st.dim.Render(" in ") + p.dir
		if p.hasScan {
			noun := "runs"
			if len(p.runs) == 1 {
				noun = "run"
			}
			s += st.dim.Render(fmt.Sprintf(" · %d %s · %d selected", len(p.runs), noun, len(p.slots)))
		}
	}
	if p.scanErr != nil {
		s += "  " + st.bad.Render(p.scanErr.Error())
	}
	if p.note != "" {
		s += "  " + st.warn.Render(p.note)
	}
	return termdraw.FitWidth(s, width)
}

// column is one column of the runs table. Columns with a drop rank give way,
// lowest rank first, when the page is narrow; the run id takes what is left.
type column struct {
	title string
	width int
	drop  int // 0: never dropped
	value func(p *Page, i int, r runs.Run) string
}

// idColumn is the index of the run id column, the one that stretches.
const idColumn = 1

// The run id column is at least wide enough for "20250101-120000-residual"
// before other columns make room, and at most for "...-inception-2".
const minIDWidth, maxIDWidth = 24, 27

var columns = []column{
	{"", 4, 0, (*Page).marks},
	{"run", 0, 0, func(_ *Page, _ int, r runs.Run) string { return r.ID }},
	{"model", 9, 0, (*Page).rowLabel},
	{"data", 13, 4, func(_ *Page, _ int, r runs.Run) string { return r.Dataset }},
	{"params", 6, 3, func(_ *Page, _ int, r runs.Run) string { return count(r.Params) }},
	{"epochs", 6, 0, func(_ *Page, _ int, r runs.Run) string {
		if r.Epochs == 0 && r.EpochsDone == 0 {
			return ""
		}
		return fmt.Sprintf("%d/%d", r.EpochsDone, r.Epochs)
	}},
	{"best %", 6, 0, func(_ *Page, _ int, r runs.Run) string { return decimal(r.BestAcc, 2, r.EpochsDone > 0) }},
	{"s/ep", 5, 1, func(_ *Page, _ int, r runs.Run) string { return decimal(r.SecPerEpoch, 1, r.EpochsDone > 0) }},
	{"img/s", 6, 2, func(_ *Page, _ int, r runs.Run) string { return decimal(r.ImgPerSec, 0, r.EpochsDone > 0) }},
	{"state", 11, 0, func(p *Page, _ int, r runs.Run) string { return string(p.shownState(r)) }},
}

// marks are the cursor and the selection box; without colours the box
// holds the character the run's curve is drawn with.
func (p *Page) marks(i int, r runs.Run) string {
	cursor := " "
	if i == p.cursor {
		cursor = ">"
	}
	box := "[ ]"
	if slot, ok := p.slots[r.ID]; ok {
		box = "[x]"
		if p.st.chars {
			box = "[" + string(curves[slot].mark) + "]"
		}
	}
	return cursor + box
}

// modelColumn is the index of the model column; the settings that tell
// the rows apart follow it.
const modelColumn = 2

// rowLabel names what row i trains: the comparison's label for it, or the
// network (a custom network by its name).
func (p *Page) rowLabel(i int, r runs.Run) string {
	if p.comparison != nil && i < len(p.comparison) {
		return p.comparison[i].Label
	}
	if r.Config != nil && r.Config.Model == r.Model {
		return r.Config.Label()
	}
	return r.Model
}

// rowConfigs are the configurations of the rows, as far as known.
func (p *Page) rowConfigs() []config.Config {
	var cfgs []config.Config
	for i, r := range p.runs {
		switch {
		case p.comparison != nil && i < len(p.comparison):
			cfgs = append(cfgs, p.comparison[i].Config)
		case r.Config != nil:
			cfgs = append(cfgs, *r.Config)
		}
	}
	return cfgs
}

// settingColumns are the settings that differ between the rows, one column
// each, so that two runs can always be told apart. Epochs and the data set
// have their own columns, and the model column names the network unless
// the rows are named for their configuration files.
func (p *Page) settingColumns() []column {
	var cols []column
	byFile := p.comparison != nil && p.entryNoun() == "configuration"
	for _, key := range config.Differing(p.rowConfigs()) {
		if key == "epochs" || key == "dataset" || (key == "model" && !byFile) {
			continue
		}
		title := config.ShortKey(key)
		width := len(title)
		value := func(p *Page, i int, r runs.Run) string {
			switch {
			case p.comparison != nil && i < len(p.comparison):
				return p.comparison[i].Config.Setting(key)
			case r.Config != nil:
				return r.Config.Setting(key)
			}
			return ""
		}
		for i, r := range p.runs {
			width = max(width, min(12, len(value(p, i, r))))
		}
		cols = append(cols, column{title, width, 5, value})
	}
	return cols
}

// fitColumns picks the columns that fit width and sizes the id column;
// settings are the columns of settingColumns.
func fitColumns(width int, settings []column) []column {
	cols := slices.Concat(columns[:modelColumn+1], settings, columns[modelColumn+1:])
	total := func() int {
		n := 0
		for i, c := range cols {
			w := c.width
			if i == idColumn {
				w = minIDWidth
			}
			n += w + 2 // the cell padding
		}
		return n
	}
	for rank := 1; total() > width && rank <= 5; rank++ {
		for i := len(cols) - 1; i >= 0; i-- {
			if cols[i].drop == rank {
				cols = append(cols[:i], cols[i+1:]...)
				if rank < 5 || total() <= width {
					break // one column of each rank, but every setting that does not fit
				}
			}
		}
	}
	cols[idColumn].width = max(1, min(maxIDWidth, width-total()+minIDWidth))
	return cols
}

// tableView draws the header and as many runs as fit in height lines,
// scrolled so the cursor is always among them.
func (p *Page) tableView(width, height int) string {
	visible := height - 1
	if p.cursor < p.offset {
		p.offset = p.cursor
	}
	if p.cursor >= p.offset+visible {
		p.offset = p.cursor - visible + 1
	}
	p.offset = max(0, min(p.offset, len(p.runs)-visible))

	cols := fitColumns(width, p.settingColumns())
	byFile := p.comparison != nil && p.entryNoun() == "configuration"
	tcols := make([]table.Column, len(cols))
	for i, c := range cols {
		tcols[i] = table.Column{Title: c.title, Width: c.width}
		if i == modelColumn && byFile {
			tcols[i].Title = "config"
		}
	}
	var rows []table.Row
	for i := p.offset; i < min(len(p.runs), p.offset+visible); i++ {
		row := make(table.Row, len(cols))
		for j, c := range cols {
			row[j] = c.value(p, i, p.runs[i])
		}
		rows = append(rows, row)
	}
	// The table is handed only the rows on screen, so its own scrolling
	// never comes into play.
	p.table.SetRows(nil)
	p.table.SetColumns(tcols)
	p.table.SetRows(rows)
	p.table.SetWidth(width)
	p.table.SetHeight(height)
	p.table.SetCursor(p.cursor - p.offset)
	return termdraw.FitBlock(p.table.View(), width, height)
}

// detailLine tells more about the run under the cursor: what is wrong
// with it, or where it is.
func (p *Page) detailLine(width int) string {
	if len(p.runs) == 0 {
		return ""
	}
	st := p.st
	r := p.runs[p.cursor]
	var s string
	switch {
	case r.State == queued:
		s = st.label.Render(p.comparison[p.cursor].Label + " starts when the " + p.entryNoun() + "s before it have finished")
	case r.State == runs.Damaged:
		s = st.bad.Render("damaged: "+r.Problem) + st.dim.Render(" · "+r.Dir)
	case r.State == runs.Failed && r.Error != "":
		s = st.bad.Render("failed: "+r.Error) + st.dim.Render(" · "+r.Dir)
	default:
		parts := []string{r.Dir}
		if r.Parent != nil {
			parts = append(parts, "branch of "+r.Parent.Run+" at step "+strconv.FormatInt(r.Parent.Step, 10))
		}
		if r.Dataset != "" {
			parts = append(parts, r.Dataset)
		}
		if r.BatchSize > 0 {
			parts = append(parts, "batch "+strconv.Itoa(r.BatchSize))
		}
		if r.Threads > 0 {
			parts = append(parts, plural(r.Threads, "thread"))
		}
		if !r.Started.IsZero() {
			parts = append(parts, "started "+r.Started.Format(time.DateTime[:16]))
		}
		s = st.label.Render(strings.Join(parts, " · "))
		if len(r.Notes) > 0 {
			s += "  " + st.warn.Render("note: "+strings.Join(r.Notes, "; "))
		}
	}
	return termdraw.FitWidth(s, width)
}

// count shortens a parameter count: 7850, 21.8k, 1.20M.
func count(n int) string {
	switch {
	case n <= 0:
		return ""
	case n < 10_000:
		return strconv.Itoa(n)
	case n < 1_000_000:
		return strconv.FormatFloat(float64(n)/1e3, 'f', 1, 64) + "k"
	}
	return strconv.FormatFloat(float64(n)/1e6, 'f', 2, 64) + "M"
}

// decimal formats v, or nothing when there is no value yet.
func decimal(v float64, prec int, known bool) string {
	if !known {
		return ""
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}
