// Package layers is the dashboard's layers page: one digit's trip through the network, every
// layer's output in order — each channel of a feature map as a small heatmap tile, features
// as bars, the probabilities last — and the first convolution's filters beside its maps,
// refreshed from the run's weights while the page is shown so they can be watched forming.
package layers

import (
	"context"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"mnist-tui/dataset"
	"mnist-tui/engine/train"
	"mnist-tui/ui/health"
	"mnist-tui/ui/termdraw"
	"mnist-tui/ui/view"
)

// How often the page looks for newer weights while it is shown (the dashboard's frame rate:
// it reads the trainer's snapshot at most 10 times a second) and while it is hidden (only to
// notice it is shown again: each tick redraws the screen), and how long one capture may wait
// for the trainer (an evaluation at the end of an epoch holds it for seconds).
const (
	refreshEvery   = 100 * time.Millisecond
	hiddenEvery    = time.Second
	captureTimeout = 30 * time.Second
)

// Page is the layers page. Create it with New.
type Page struct {
	src  Source
	keys keyMap
	st   styles
	heat *heat

	hiRes bool

	// The digit looked at: a test image, or the draw page's drawing.
	test       *dataset.Set
	classes    [dataset.NumClasses]string
	index      int                                               // the test image
	drawing    func() (pixels [dataset.ImageSize]uint8, ok bool) // the draw page's, if there is one
	useDrawing bool

	// The run, to know when a capture is stale.
	run  string
	step int64

	// Captures (see Update).
	every     time.Duration // between ticks while shown: refreshEvery
	next      time.Duration // until the next tick: every, or hiddenEvery while hidden
	ticking   bool
	capturing bool
	shown     bool // Render was called since the last tick
	got       *captured
	err       error

	top   int // the first line of the layers shown
	cache renderCache

	// The layer health table closes the page, as the health page draws it.
	health *health.Page
}

// captured is a capture and what it was taken of.
type captured struct {
	Capture
	img   []uint8
	label int // the test image's label; -1 for a drawing
	what  string
}

// New makes the page over src: a live run's weights (NewLive) or a checkpoint's (NewFixed).
func New(src Source, opts view.Options) *Page {
	r := opts.Renderer
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	profile := r.ColorProfile()
	if opts.NoColor {
		profile = termenv.Ascii
	}
	p := &Page{src: src, keys: newKeyMap(), st: newStyles(r, !opts.NoColor), heat: newHeat(profile), every: refreshEvery,
		health: health.New(opts)}
	p.hiRes = p.heat.colour
	return p
}

// SetTestSet gives the page test images to pick from when there is no run to take them from
// (a checkpoint).
func (p *Page) SetTestSet(s *dataset.Set, classes [dataset.NumClasses]string) {
	p.test, p.classes = s, classes
}

// SetDrawing lets `v` look at the draw page's drawing: pixels returns it prepared as the draw
// page classifies it, ok false while nothing is drawn. It is called from Update.
func (p *Page) SetDrawing(pixels func() ([dataset.ImageSize]uint8, bool)) { p.drawing = pixels }

// Name is the page's tab label.
func (p *Page) Name() string { return "layers" }

// Shortcut opens the page from any other page.
func (p *Page) Shortcut() key.Binding {
	return key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "layers: one digit through every layer"))
}

// CapturesKeys is false: the page's keys are none of the dashboard's.
func (p *Page) CapturesKeys() bool { return false }

// SetHiRes switches the tiles between half blocks and ASCII.
func (p *Page) SetHiRes(on bool) { p.hiRes = on && p.heat.colour }

// SetSnapshot takes the run's test images and step.
func (p *Page) SetSnapshot(s train.Snapshot) {
	if s.Data != nil && s.Data.Test != nil && s.Data.Test != p.test {
		p.test, p.classes = s.Data.Test, s.Data.Info.Classes
		p.index = min(p.index, max(0, p.test.N-1))
	}
	p.run, p.step = s.RunID, s.Step
	p.health.SetSnapshot(s)
}

// Start begins the tick that looks for newer weights while the page is shown.
func (p *Page) Start() tea.Cmd {
	if p.ticking {
		return nil
	}
	p.ticking = true
	next := p.next
	if next == 0 {
		next = p.every
	}
	return tea.Tick(next, func(time.Time) tea.Msg { return tickMsg{p} })
}

// Messages of the page's own commands; each carries the page, since the dashboard hands them
// to every page.
type (
	tickMsg     struct{ page *Page }
	capturedMsg struct {
		page *Page
		got  *captured
		err  error
	}
)

// Update answers keys and the page's own messages.
func (p *Page) Update(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	switch msg := msg.(type) {
	case tea.KeyMsg:
		if p.key(msg) {
			cmds = append(cmds, p.capture())
		}
	case view.OpenedMsg:
		p.next = p.every
		cmds = append(cmds, p.capture())
	case tickMsg:
		if msg.page != p {
			break
		}
		p.ticking = false
		// Capture only while the page is on screen: nobody looks otherwise, and a copy of
		// the weights costs the trainer a little time.
		p.next = hiddenEvery
		if p.shown {
			cmds = append(cmds, p.capture())
			p.next = p.every
		}
		p.shown = false
	case capturedMsg:
		if msg.page != p {
			break
		}
		p.capturing = false
		p.err = msg.err
		if msg.err == nil {
			p.got = msg.got
		}
	}
	cmds = append(cmds, p.Start())
	return tea.Batch(cmds...)
}

// key applies a key of the page; it reports whether the digit changed.
func (p *Page) key(k tea.KeyMsg) bool {
	switch {
	case key.Matches(k, p.keys.Next), key.Matches(k, p.keys.Prev):
		if p.test == nil || p.test.N == 0 {
			return false
		}
		step := 1
		if key.Matches(k, p.keys.Prev) {
			step = p.test.N - 1
		}
		p.index = (p.index + step) % p.test.N
		p.useDrawing = false
		return true
	case key.Matches(k, p.keys.Drawing):
		p.useDrawing = !p.useDrawing
		return true
	case key.Matches(k, p.keys.Down):
		p.top = p.cache.nextStart(p.top)
	case key.Matches(k, p.keys.Up):
		p.top = p.cache.prevStart(p.top)
	case key.Matches(k, p.keys.PageDown):
		p.top += max(1, p.cache.bodyHeight)
	case key.Matches(k, p.keys.PageUp):
		p.top -= max(1, p.cache.bodyHeight)
	case key.Matches(k, p.keys.Home):
		p.top = 0
	case key.Matches(k, p.keys.End):
		p.top = len(p.cache.lines) // Render clamps it
	}
	return false
}

// digit is the image to look at now, its label (-1 for a drawing) and how the page names it;
// nil when there is none yet. Without test images (a checkpoint's page) it is the drawing.
func (p *Page) digit() (img []uint8, label int, what string) {
	if p.drawing != nil && (p.useDrawing || p.test == nil) {
		px, ok := p.drawing()
		if !ok {
			return nil, -1, "the drawing"
		}
		return px[:], -1, "the drawing"
	}
	if p.test == nil || p.test.N == 0 {
		return nil, -1, "a test image"
	}
	return p.test.Image(p.index), int(p.test.Labels[p.index]), "test image " + commas(p.index+1) + "/" + commas(p.test.N)
}

// stale reports whether the capture shown is not of img through the newest weights.
func (p *Page) stale(img []uint8, what string) bool {
	g := p.got
	if g == nil || g.what != what || string(g.img) != string(img) || g.Run != p.run {
		return true
	}
	return g.Step >= 0 && g.Step != p.step
}

// capture starts a capture of the digit unless one is running (its result is followed by the
// next tick's) or the one shown is current.
func (p *Page) capture() tea.Cmd {
	img, label, what := p.digit()
	if p.capturing || img == nil || !p.stale(img, what) {
		return nil
	}
	p.capturing = true
	src, page := p.src, p // the command only tags its answer: it must not touch the page
	img = append([]uint8(nil), img...)
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), captureTimeout)
		defer cancel()
		c, err := src.Capture(ctx, img)
		if err != nil {
			return capturedMsg{page: page, err: err}
		}
		return capturedMsg{page: page, got: &captured{Capture: c, img: img, label: label, what: what}}
	}
}

// Keys are the page's bindings for its present state.
func (p *Page) Keys() []key.Binding {
	k := p.keys
	k.Prev.SetEnabled(p.test != nil)
	k.Next.SetEnabled(p.test != nil)
	k.Drawing.SetEnabled(p.drawing != nil && p.test != nil)
	return []key.Binding{k.Prev, k.Next, k.Drawing, k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End}
}

type keyMap struct {
	Prev, Next, Drawing, Up, Down, PageUp, PageDown, Home, End key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		Prev:     key.NewBinding(key.WithKeys("left", ","), key.WithHelp("←", "previous test image")),
		Next:     key.NewBinding(key.WithKeys("right", "."), key.WithHelp("→", "next test image")),
		Drawing:  key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "the draw page's digit / test images")),
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "previous layer")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "next layer")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup/b", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "f"), key.WithHelp("pgdn/f", "page down")),
		Home:     key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("home/g", "first layer")),
		End:      key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("end/G", "last layer")),
	}
}

type styles struct {
	title, dim, bad, neg lipgloss.Style
	// negHalves are what neg writes before and after a text: a bar of hundreds of cells is
	// coloured cell by cell, too many for a lipgloss call each.
	negHalves [2]string
}

func newStyles(r *lipgloss.Renderer, colour bool) styles {
	st := styles{title: r.NewStyle().Bold(true), dim: r.NewStyle(), bad: r.NewStyle(), neg: r.NewStyle()}
	if colour {
		st.title = st.title.Foreground(termdraw.Blue)
		st.dim = st.dim.Foreground(termdraw.Grey)
		st.bad = st.bad.Foreground(termdraw.Red)
		st.neg = st.neg.Foreground(termdraw.Red)
	}
	if before, after, ok := strings.Cut(st.neg.Render("\x00"), "\x00"); ok {
		st.negHalves = [2]string{before, after}
	}
	return st
}
