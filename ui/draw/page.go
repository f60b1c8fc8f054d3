// Package draw is the page where the user draws a digit with the mouse (or
// the keyboard) and watches the model read it, stroke by stroke. It runs as
// a dashboard page (view.View) next to a training run, or on its own for a
// checkpoint (`mnist-tui draw PATH`, see Standalone).
//
// The drawing goes through exactly what `predict` does to a picture file:
// prepare.FromImage (crop, scale to 20 px, centre of mass) and then
// train.Classify. `x` saves the canvas as the PNG predict would read.
package draw

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"mnist-tui/dataset/prepare"
	"mnist-tui/engine/saliency"
	"mnist-tui/engine/train"
	"mnist-tui/ui/view"
)

// How often a live model's weights are refreshed while the page is shown,
// and how long one refresh may wait for the trainer (an evaluation at the
// end of an epoch can hold it for seconds).
const (
	refreshEvery   = time.Second
	refreshTimeout = 30 * time.Second
)

// tool is what a mouse button (or the keyboard) does to the canvas.
type tool int

const (
	noTool tool = iota
	pen
	eraser
)

// Page is the draw page. Create it with New; it implements view.View and,
// for the dashboard, view.Starter, view.Shortcut and view.Positioned.
type Page struct {
	model   Model
	classes [10]string
	st      styles
	keys    keyMap
	dir     string // where `x` saves

	canvas *Canvas
	guess  guess // the model's answer for the canvas as it is now

	// Where the page and its canvas are on the screen, for the mouse: the
	// origin comes from SetOrigin, the canvas's place from the last Render.
	originX, originY int
	at               canvasPlace

	stroke tool  // the mouse button held down, noTool between strokes
	last   point // where the current stroke was last seen

	cursor     point // the keyboard's pen position
	showCursor bool  // hidden while the mouse draws, shown by the keyboard
	penDown    bool  // `p`: moving the cursor draws

	// Refreshing a live model's weights (see Update).
	every      time.Duration // between ticks: refreshEvery (tests shorten it)
	ticking    bool          // a tick is pending
	refreshing bool          // a Refresh is running
	shown      bool          // Render was called since the last tick
	refreshErr error         // the last Refresh's error, nil once one succeeds

	message string // the last thing done: "saved ...", an error

	// The saliency overlay (`w`): on or off, the map of the answer it was
	// made for (stale once the drawing or the weights change), and whether
	// one is being computed.
	why        bool
	whyMap     *explained
	explaining bool
}

// explained is a saliency map with the image and class it explains.
type explained struct {
	pixels [784]uint8
	class  int
	res    saliency.Result
	err    error
}

// New makes the page. src answers for the drawing; classes are the data
// set's class names (a training run's snapshot replaces them once its data
// is loaded). Drawings are saved in the working folder (see SetSaveDir).
func New(src Model, classes [10]string, opts view.Options) *Page {
	p := &Page{
		model:      src,
		classes:    classes,
		st:         newStyles(opts),
		keys:       newKeyMap(),
		dir:        ".",
		canvas:     NewCanvas(),
		cursor:     point{Side / 2, Side / 2},
		showCursor: true,
		every:      refreshEvery,
	}
	p.predict()
	return p
}

// SetSaveDir sets the folder `x` saves drawings into.
func (p *Page) SetSaveDir(dir string) { p.dir = dir }

// Canvas is the drawing, to look at; it changes through the page's input.
func (p *Page) Canvas() *Canvas { return p.canvas }

// Name is the page's tab label.
func (p *Page) Name() string { return "draw" }

// Shortcut opens the page from any other page.
func (p *Page) Shortcut() key.Binding {
	return key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "draw"))
}

// CapturesKeys is false: the page claims only the keys it draws with
// (Claims), so tab, the page numbers, q and ? work here as on every page.
func (p *Page) CapturesKeys() bool { return false }

// Claims takes the drawing keys from the dashboard: the arrows, space
// (paint) and p (pen), backspace, c and x. Space and p would pause
// elsewhere, but on a canvas a user expects them to draw, as the README
// says; pausing is one page away. Digits are not taken: they switch
// pages everywhere, which matters more than a shortcut for drawing.
func (p *Page) Claims(k tea.KeyMsg) bool {
	for _, b := range p.keys.all() {
		if key.Matches(k, b) {
			return true
		}
	}
	return false
}

// UsesMouse is true: the mouse draws.
func (p *Page) UsesMouse() bool { return true }

// Keys are the keyboard controls, for the help.
func (p *Page) Keys() []key.Binding { return p.keys.bindings() }

// SetOrigin tells the page where its top-left cell is on the screen, so
// that it can map mouse coordinates (which are the screen's) to pixels. The
// dashboard calls it before every Render; Standalone calls it too.
func (p *Page) SetOrigin(x, y int) { p.originX, p.originY = x, y }

// SetSnapshot takes the run's class names once its data set is loaded.
func (p *Page) SetSnapshot(s train.Snapshot) {
	if s.Classes != ([10]string{}) {
		p.classes = s.Classes
	}
}

// Start begins the once-a-second tick that refreshes a live model's
// weights while the page is shown. The dashboard calls it once; Update
// starts it too if nobody did.
func (p *Page) Start() tea.Cmd {
	if _, live := p.model.(Refresher); !live || p.ticking {
		return nil
	}
	p.ticking = true
	return tea.Tick(p.every, func(time.Time) tea.Msg { return tickMsg{p} })
}

// Messages of the page's own commands. Each carries the page, since the
// dashboard hands such messages to every page.
type (
	tickMsg      struct{ page *Page }
	refreshedMsg struct {
		page *Page
		err  error
	}
	savedMsg struct {
		page *Page
		path string
		err  error
	}
	explainedMsg struct {
		page *Page
		explained
	}
)

// Update applies a message: mouse and keys draw, the page's own messages
// refresh weights and report saves.
func (p *Page) Update(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	switch msg := msg.(type) {
	case tea.MouseMsg:
		if p.mouse(msg) {
			cmds = append(cmds, p.predictAndFetch())
		}
	case tea.KeyMsg:
		cmds = append(cmds, p.key(msg))
	case view.OpenedMsg:
		cmds = append(cmds, p.refresh())
	case tickMsg:
		if msg.page != p {
			break
		}
		p.ticking = false
		// Refresh only while the page is on screen: nobody looks at the
		// answer otherwise, and a copy costs the trainer a little time.
		if p.shown {
			cmds = append(cmds, p.refresh())
		}
		p.shown = false
	case refreshedMsg:
		if msg.page != p {
			break
		}
		p.refreshing = false
		p.refreshErr = msg.err
		if msg.err == nil {
			p.predict() // the same drawing, newer weights
			p.whyMap = nil
			cmds = append(cmds, p.explain())
		}
	case explainedMsg:
		if msg.page != p {
			break
		}
		p.explaining = false
		p.whyMap = &msg.explained
		cmds = append(cmds, p.explain()) // the drawing may have changed meanwhile
	case savedMsg:
		if msg.page != p {
			break
		}
		if msg.err != nil {
			p.message = msg.err.Error()
		} else {
			p.message = "saved " + msg.path
		}
	}
	cmds = append(cmds, p.Start())
	return tea.Batch(cmds...)
}

// refresh starts a Refresh of a live model, unless one is running.
func (p *Page) refresh() tea.Cmd {
	r, live := p.model.(Refresher)
	if !live || p.refreshing {
		return nil
	}
	p.refreshing = true
	page := p // the command only tags its answer: it must not touch the page
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
		defer cancel()
		return refreshedMsg{page: page, err: r.Refresh(ctx)}
	}
}

// predictAndFetch answers for the canvas and, if the model has no weights
// yet, fetches them at once rather than at the next tick.
func (p *Page) predictAndFetch() tea.Cmd {
	p.predict()
	if p.guess.state == noWeights {
		return p.refresh()
	}
	return p.explain()
}

// explain starts computing the saliency of the answer when the overlay is
// on and the map shown is not the answer's, unless one is running (its
// result starts the next). It runs off the event loop: occlusion runs the
// model some 600 times.
func (p *Page) explain() tea.Cmd {
	e, ok := p.model.(Explainer)
	if !ok || !p.why || p.explaining || p.guess.state != answered || p.whyCurrent() {
		return nil
	}
	p.explaining = true
	page, pixels, class := p, p.guess.pixels, p.guess.top()
	return func() tea.Msg {
		res, err := e.Explain(pixels, class)
		return explainedMsg{page: page, explained: explained{pixels: pixels, class: class, res: res, err: err}}
	}
}

// whyCurrent: the saliency map shown is the present answer's.
func (p *Page) whyCurrent() bool {
	return p.whyMap != nil && p.whyMap.pixels == p.guess.pixels && p.whyMap.class == p.guess.top()
}

// guessState says what the answer panel shows.
type guessState int

const (
	blank      guessState = iota // nothing drawn: "draw a digit"
	answered                     // probs hold the model's answer
	noWeights                    // a live model before its first refresh
	notANumber                   // the model answered NaN (diverged weights)
	failed                       // preparation or the model failed: err says why
)

// guess is the model's answer for the canvas.
type guess struct {
	state  guessState
	probs  [10]float32
	pixels [784]uint8 // the prepared image: what the model sees
	err    error
}

// top is the most probable class.
func (g guess) top() int {
	best := 0
	for i, v := range g.probs {
		if v > g.probs[best] {
			best = i
		}
	}
	return best
}

// predict runs the canvas through predict's path: the canvas is the very
// picture `x` saves, and prepare.FromImage is what predict does to a
// picture, so the answer here is the answer predict gives for the saved
// file, bit for bit.
func (p *Page) predict() {
	pixels, err := prepare.FromImage(p.canvas.img)
	switch {
	case errors.Is(err, prepare.ErrNoInk):
		p.guess = guess{state: blank}
		return
	case err != nil:
		p.guess = guess{state: failed, err: fmt.Errorf("prepare the drawing: %w", err)}
		return
	}
	probs, err := p.model.Classify(pixels)
	g := guess{state: answered, probs: probs, pixels: pixels}
	switch {
	case errors.Is(err, ErrNoWeights):
		g.state = noWeights
	case err != nil:
		g.state, g.err = failed, err
	default:
		for _, v := range probs {
			if math.IsNaN(float64(v)) {
				g.state = notANumber
			}
		}
	}
	p.guess = g
}

// mouse applies a mouse event and reports whether the canvas changed.
// A left press starts a stroke of ink, a right press one of erasing; the
// stroke follows the drag until the button is released.
func (p *Page) mouse(m tea.MouseMsg) bool {
	at, ok := p.at.pixelAt(m.X-p.originX, m.Y-p.originY)
	if !ok {
		p.stroke = noTool
		return false
	}
	held := toolFor(m.Button)
	switch m.Action {
	case tea.MouseActionPress:
		p.stroke = noTool
		if held == noTool || !at.inside() {
			return false // a press outside the canvas starts nothing
		}
		p.stroke, p.last = held, at
		p.showCursor = false
		p.use(held, at, at)
		return true
	case tea.MouseActionMotion:
		if p.stroke == noTool {
			// A drag whose press we did not see (it began outside the
			// page) starts when it enters the canvas.
			if held == noTool || !at.inside() {
				return false
			}
			p.stroke, p.last = held, at
			p.showCursor = false
		}
		from := p.last
		p.last = at
		p.use(p.stroke, from, at)
		return true
	case tea.MouseActionRelease:
		if p.stroke == noTool {
			return false
		}
		from, t := p.last, p.stroke
		p.stroke = noTool
		p.use(t, from, at)
		return true
	}
	return false
}

func toolFor(b tea.MouseButton) tool {
	switch b {
	case tea.MouseButtonLeft:
		return pen
	case tea.MouseButtonRight:
		return eraser
	}
	return noTool
}

// use draws with t along the line from a to b. With half-block cells a
// mouse cell covers two pixel rows, and both get the tool.
func (p *Page) use(t tool, a, b point) {
	apply := p.canvas.paint
	if t == eraser {
		apply = p.canvas.erase
	}
	line(a, b, func(q point) {
		if q.inside() {
			apply(q)
		}
		if r := (point{q.x, q.y + 1}); p.at.half && r.inside() {
			apply(r)
		}
	})
}

// key applies a key: the keyboard fallback for terminals without mouse
// reporting, and the page's commands.
func (p *Page) key(k tea.KeyMsg) tea.Cmd {
	move := func(dx, dy int) {
		to := point{clamp(p.cursor.x+dx, 0, Side-1), clamp(p.cursor.y+dy, 0, Side-1)}
		if p.penDown {
			line(p.cursor, to, p.canvas.paint)
		}
		p.cursor, p.showCursor = to, true
	}
	changed := false
	switch {
	case key.Matches(k, p.keys.Up):
		move(0, -1)
		changed = p.penDown
	case key.Matches(k, p.keys.Down):
		move(0, 1)
		changed = p.penDown
	case key.Matches(k, p.keys.Left):
		move(-1, 0)
		changed = p.penDown
	case key.Matches(k, p.keys.Right):
		move(1, 0)
		changed = p.penDown
	case key.Matches(k, p.keys.Paint):
		p.canvas.paint(p.cursor)
		p.showCursor, changed = true, true
	case key.Matches(k, p.keys.Pen):
		p.penDown = !p.penDown
		p.showCursor = true
		if p.penDown {
			p.canvas.paint(p.cursor)
			changed = true
		}
	case key.Matches(k, p.keys.Erase):
		p.canvas.erase(p.cursor)
		p.showCursor, changed = true, true
	case key.Matches(k, p.keys.Clear):
		p.canvas.Clear()
		p.penDown = false
		p.message = ""
		changed = true
	case key.Matches(k, p.keys.Save):
		return p.save()
	case key.Matches(k, p.keys.Why):
		p.why = !p.why
		return p.explain()
	}
	if changed {
		return p.predictAndFetch()
	}
	return nil
}

// save writes the canvas as drawing-<n>.png, off the event loop.
func (p *Page) save() tea.Cmd {
	if p.canvas.Empty() {
		p.message = "nothing to save: draw a digit first"
		return nil
	}
	img, dir, page := p.canvas.Image(), p.dir, p
	p.message = "saving…"
	return func() tea.Msg {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return savedMsg{page: page, err: fmt.Errorf("save the drawing: %w", err)}
		}
		path, err := savePNG(abs, img)
		return savedMsg{page: page, path: path, err: err}
	}
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// keyMap is the keyboard fallback and the page's commands.
type keyMap struct {
	Up, Down, Left, Right key.Binding
	Paint, Pen, Erase     key.Binding
	Clear, Save           key.Binding
	Why                   key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		Up:    key.NewBinding(key.WithKeys("up"), key.WithHelp("↑", "cursor up")),
		Down:  key.NewBinding(key.WithKeys("down"), key.WithHelp("↓", "cursor down")),
		Left:  key.NewBinding(key.WithKeys("left"), key.WithHelp("←", "cursor left")),
		Right: key.NewBinding(key.WithKeys("right"), key.WithHelp("→", "cursor right")),
		Paint: key.NewBinding(key.WithKeys(" "), key.WithHelp("space", "paint at cursor")),
		Pen:   key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pen down/up")),
		Erase: key.NewBinding(key.WithKeys("backspace", "delete"), key.WithHelp("⌫", "erase at cursor")),
		Clear: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "clear")),
		Save:  key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "save PNG")),
		Why:   key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "why: which pixels made the answer (on/off)")),
	}
}

// all are every key the page answers to.
func (k keyMap) all() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Left, k.Right, k.Paint, k.Pen, k.Erase, k.Clear, k.Save, k.Why}
}

// bindings are the keys for the help, most used first; the four arrows
// share one entry.
func (k keyMap) bindings() []key.Binding {
	arrows := key.NewBinding(key.WithKeys("up", "down", "left", "right"), key.WithHelp("←↑↓→", "move cursor"))
	return []key.Binding{k.Clear, k.Save, k.Why, arrows, k.Paint, k.Pen, k.Erase, mouseHelp("left button", "draw"), mouseHelp("right button", "erase")}
}

// mouseHelp is a help entry for a mouse button, the main way to draw: the
// panel's own hint saying so is the first thing cut on a narrow terminal,
// and the help must list it. Buttons arrive as mouse messages, never as
// keys: the binding's key name only keeps the entry enabled, which the
// help requires.
func mouseHelp(button, does string) key.Binding {
	return key.NewBinding(key.WithKeys("mouse "+button), key.WithHelp("mouse "+button, does))
}
