package dashboard

import (
	"fmt"

	"github.com/charmbracelet/bubbles/table"
	"github.com/charmbracelet/lipgloss"

	"mnist-tui/engine/train"
	"mnist-tui/ui/termdraw"
)

// Numbers are right-aligned by formatting them to the column width, because
// the table pads every cell on the right; the titles are padded the same way.
var epochColumns = []table.Column{
	{Title: " ep", Width: 3},
	{Title: "train loss", Width: 10},
	{Title: "train%", Width: 6},
	{Title: " test%", Width: 6},
	{Title: "  sec", Width: 5},
	{Title: "", Width: 4},
}

// tableWidth is the width the epoch table needs: every column plus the one
// column of padding each cell gets on its right.
func tableWidth() int {
	w := 0
	for _, c := range epochColumns {
		w += c.Width + 1
	}
	return w
}

// epochRow formats one finished epoch; the best one says so in its last
// column (the highlight alone would vanish without colours).
func epochRow(e train.EpochResult, best bool) table.Row {
	mark := ""
	if best {
		mark = "best"
	}
	return table.Row{
		fmt.Sprintf("%3d", e.Epoch),
		fmt.Sprintf("%10.4f", e.TrainLoss),
		fmt.Sprintf("%6.2f", e.TrainAcc),
		fmt.Sprintf("%6.2f", e.TestAcc),
		fmt.Sprintf("%5.1f", e.Seconds),
		mark,
	}
}

// visibleEpochs picks which epochs fit in n rows: the latest ones, and the
// best one even when it is older than all of them, in its own first row.
// It returns indexes into history in display order, and how many epochs
// are left out; when some are, the first row is kept for saying so.
func visibleEpochs(history []train.EpochResult, n int) (idx []int, hidden int) {
	if n <= 0 || len(history) == 0 {
		return nil, 0
	}
	if len(history) > n {
		n-- // the "↑ N earlier" row
	}
	first := max(0, len(history)-n)
	idx = make([]int, 0, n)
	best := bestEpoch(history)
	if best < first {
		idx = append(idx, best)
		first++
	}
	for i := first; i < len(history); i++ {
		idx = append(idx, i)
	}
	return idx, len(history) - len(idx)
}

// epochTable draws the finished epochs as a table of height h, header
// included. The table's cursor sits on the best epoch, so the "selected"
// style is what highlights it.
func epochTable(history []train.EpochResult, h int, st styles) string {
	header := st.section.PaddingRight(1).
		BorderStyle(lipgloss.NormalBorder()).BorderBottom(true).BorderForeground(termdraw.Dim)
	// The header takes two lines (titles and a rule); the rest are epochs.
	idx, hidden := visibleEpochs(history, h-2)
	best := bestEpoch(history)
	var rows []table.Row
	if hidden > 0 {
		rows = append(rows, table.Row{"  ↑", fmt.Sprintf("%d earlier", hidden), "", "", "", ""})
	}
	cursor := 0
	for _, i := range idx {
		if i == best {
			cursor = len(rows)
		}
		rows = append(rows, epochRow(history[i], i == best))
	}
	t := table.New(
		table.WithColumns(epochColumns),
		table.WithRows(rows),
		table.WithWidth(tableWidth()),
		table.WithStyles(table.Styles{
			Header:   header,
			Cell:     st.value.UnsetBold().PaddingRight(1),
			Selected: st.good.Bold(true),
		}),
		table.WithHeight(h),
	)
	t.SetCursor(cursor)
	return t.View()
}
