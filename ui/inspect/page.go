package inspect

import (
	"fmt"
	"github.com/charmbracelet/bubbles/key"

	tea "github.com/charmbracelet/bubbletea"

	"mnist-tui/dataset"
	"mnist-tui/engine/train"
	"mnist-tui/ui/view"
)

// base is what every page of the package has: styles, the digit drawer,
// keys, and the data set's class names.
type base struct {
	st    theme
	dd    *digitDrawer
	keys  keyMap
	hiRes bool // half blocks rather than ASCII; on by default with colours (see SetHiRes)
	names classNames
	// originX, originY are where the page's top-left cell is on the
	// screen, to turn mouse coordinates into the page's.
	originX, originY int
}

func newBase(opts view.Options) base {
	st := newTheme(opts)
	return base{st: st, dd: newDigitDrawer(st.profile), keys: newKeyMap(), hiRes: st.color,
		names: namesOf(train.Snapshot{})}
}

// SetOrigin tells the page where its top-left cell is on the screen.
func (b *base) SetOrigin(x, y int) { b.originX, b.originY = x, y }

// mouseAction is what a mouse message asks for, in the page's coordinates.
type mouseAction int

const (
	mouseNone mouseAction = iota
	mouseClick
	mouseWheelUp
	mouseWheelDown
)

// mouse reads a mouse message: a left click or a wheel turn, and where, in
// cells from the page's top-left corner.
func (b *base) mouse(msg tea.MouseMsg) (action mouseAction, x, y int) {
	x, y = msg.X-b.originX, msg.Y-b.originY
	if msg.Action != tea.MouseActionPress {
		return mouseNone, x, y
	}
	switch msg.Button {
	case tea.MouseButtonLeft:
		return mouseClick, x, y
	case tea.MouseButtonWheelUp:
		return mouseWheelUp, x, y
	case tea.MouseButtonWheelDown:
		return mouseWheelDown, x, y
	}
	return mouseNone, x, y
}

// mouseHelp is a help entry for what a click or the wheel does: they arrive as mouse
// messages, never as keys, so the binding's key name only keeps the entry enabled,
// which the help requires.
func mouseHelp(what, does string) key.Binding {
	return key.NewBinding(key.WithKeys("mouse "+what), key.WithHelp(what, does))
}

// SetHiRes switches the digits between half blocks and ASCII: the
// dashboard's `a`, one setting for every page. Without colours the digits
// stay ASCII, since half blocks are nothing but colours.
func (b *base) SetHiRes(on bool) { b.hiRes = on && b.st.color }

// UsesMouse is true: a click picks a digit or a cell, the wheel turns
// pages.
func (b *base) UsesMouse() bool { return true }

// evalState follows the snapshot's evaluation. An evaluation is replaced,
// never changed, so the pointers tell when there is something new, and the
// (10 000-image) work is done once per evaluation, not once per snapshot.
type evalState struct {
	eval    *train.Evaluation
	test    *dataset.Set
	epoch   int // the epoch the evaluation closed: the last finished one
	results Results
	err     error // the evaluation does not match the test set
}

// update takes the snapshot's evaluation and reports whether it is new.
func (e *evalState) update(s train.Snapshot) bool {
	var test *dataset.Set
	if s.Data != nil {
		test = s.Data.Test
	}
	if s.Eval == e.eval && test == e.test {
		return false
	}
	e.eval, e.test = s.Eval, test
	e.epoch = 0
	if len(s.History) > 0 {
		e.epoch = s.History[len(s.History)-1].Epoch
	}
	e.results, e.err = Results{}, nil
	if s.Eval != nil && test != nil {
		e.results, e.err = NewResults(s.Eval, test)
	}
	return true
}

// epochLabel says which epoch the evaluation closed: " after epoch 3".
func (e *evalState) epochLabel() string {
	if e.epoch <= 0 {
		return ""
	}
	return fmt.Sprintf(" after epoch %d", e.epoch)
}

// ready reports whether there are results to show.
func (e *evalState) ready() bool { return e.eval != nil && e.test != nil && e.err == nil }
