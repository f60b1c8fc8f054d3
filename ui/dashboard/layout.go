package dashboard

import (
	"fmt"
)

// The smallest terminal the dashboard lays itself out in.
const (
	minWidth  = 80
	minHeight = 24
)

const (
	columnGap = 3 // between the table column and the chart column
	errorH    = 6 // the error sparkline panel: title, 3 bar rows, epoch numbers, caption
	// samplesH is the sample panel: its title line and a row of cards.
	samplesH = 1 + cardHeight
	// minMiddleH is the least height the table and charts get before the
	// sample digits give way to a one-line summary.
	minMiddleH = 12
)

// layout is where each panel goes for one terminal size. It is recomputed
// whenever something that changes the sizes changes: the window, the help
// height, a download bar appearing.
//
//	header (2 lines)
//	epoch progress, download progress while fetching
//	epoch table       │ running loss chart
//	error sparkline   │
//	(blank)
//	sample digits, or a one-line summary when short of room
//	status line
//	key help (1 line, more with `?`)
type layout struct {
	width, height int
	tooSmall      bool

	bodyH         int // everything between the top block and the status line
	middleH       int // table and charts
	leftW, rightW int
	tableH        int
	digits        bool // full sample cards rather than the summary line
}

// newLayout splits a width x height terminal; topH and bottomH are the
// lines the header block and the status/help block take.
func newLayout(width, height, topH, bottomH int) layout {
	l := layout{width: width, height: height}
	if width < minWidth || height < minHeight {
		l.tooSmall = true
		return l
	}
	free := height - topH - bottomH
	l.bodyH = free
	if free-1-samplesH >= minMiddleH {
		l.digits = true
		l.middleH = free - 1 - samplesH
	} else {
		l.middleH = free - 1 // the summary line
	}
	l.leftW = tableWidth()
	l.rightW = width - l.leftW - columnGap
	l.tableH = l.middleH - errorH
	return l
}

// tooSmallMessage tells the user what to do rather than drawing a broken
// layout.
func tooSmallMessage(width, height int) string {
	return fmt.Sprintf("terminal too small: need at least %dx%d, have %dx%d — make the window larger",
		minWidth, minHeight, width, height)
}
