// Package view is the contract between the dashboard and its pages. The
// dashboard draws the header, progress and status lines; a View fills the
// space between them. Each page lives in a package of its own and knows
// nothing of the others.
package view

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"mnist-tui/engine/config"
	"mnist-tui/engine/train"
)

// View is one page of the dashboard.
type View interface {
	// Name is the page's label in the tab bar: "runs", "draw", ...
	Name() string
	// SetSnapshot hands the page the trainer's newest snapshot. It is
	// called for every page whenever the snapshot changes, shown or not,
	// so pages stay current; keep it cheap.
	SetSnapshot(s train.Snapshot)
	// Update receives key and mouse messages while the page is shown, and
	// every other message (including those of the page's own commands)
	// always. It changes state only.
	Update(msg tea.Msg) tea.Cmd
	// Render draws the page in exactly width x height cells.
	Render(width, height int) string
	// Keys are the page's own bindings for its present state: every key
	// it answers to now, since the help (`?`) lists exactly these.
	Keys() []key.Binding
	// CapturesKeys reports whether the page wants every key for now (a
	// text editor); the dashboard then keeps only ctrl+c and esc for
	// itself. A page that needs only some keys (a canvas that paints with
	// space) claims them with Claimer instead, leaving the global keys
	// working.
	CapturesKeys() bool
}

// Options are what the dashboard passes to every page's constructor.
type Options struct {
	// Renderer carries the colour profile (fixed in golden tests); draw
	// styles with Renderer.NewStyle().
	Renderer *lipgloss.Renderer
	// NoColor: NO_COLOR is set or the terminal has no colours; draw with
	// characters only.
	NoColor bool
}

// Optional interfaces a page may implement.
type (
	// Starter pages get Start called once when the dashboard starts, for
	// commands they run on their own (a periodic rescan).
	Starter interface{ Start() tea.Cmd }

	// Shortcut pages are opened by a key of their own from any page ("d"
	// opens the draw page), besides tab and the number keys.
	Shortcut interface{ Shortcut() key.Binding }

	// Nested pages have an inner level (a detail, an image list) that esc
	// closes first; while Nested reports true, esc goes to the page.
	// Otherwise esc returns to the first page.
	Nested interface{ Nested() bool }

	// Claimer pages take some of the dashboard's own keys while shown (the
	// runs page selects with space, as lists do); Claims reports which.
	// The dashboard's other binding for the same command still works (p
	// pauses where space selects).
	Claimer interface{ Claims(k tea.KeyMsg) bool }

	// MouseUser pages use the mouse (clicks, drags, the wheel). The
	// terminal reports the mouse only while such a page is shown, so that
	// elsewhere the user can select text to copy.
	MouseUser interface{ UsesMouse() bool }

	// HiResPage pages draw digits, as ASCII or as half blocks; the
	// dashboard's `a` switches every page at once through SetHiRes, so
	// the choice is one setting for the whole screen.
	HiResPage interface{ SetHiRes(on bool) }

	// Positioned pages learn where their top-left cell is on the screen,
	// to map mouse coordinates; SetOrigin is called before every Render.
	Positioned interface{ SetOrigin(x, y int) }
)

// Messages pages send to the dashboard (as the result of a tea.Cmd).
type (
	// SendMsg asks the dashboard to send a command to the current trainer.
	SendMsg struct{ Command train.Command }

	// RestartMsg asks the dashboard to stop the current run and start a
	// new one with this configuration (a new run id; the old files stay).
	RestartMsg struct{ Config config.Config }

	// EditMsg asks the config page to apply Values (config keys to Go
	// values, as config.Update takes them) as if the user had typed them
	// and pressed ctrl+s: the same rules (live from the next step, or a
	// new run), the same write-back to the config file, the same record in
	// the run, with Why (runs.Change.Why). The page answers with EditedMsg.
	EditMsg struct {
		Values map[string]any
		Why    string
	}

	// EditedMsg is the config page's answer to the EditMsg with the same
	// Why: Applied when the run takes the change, Status what happened.
	EditedMsg struct {
		Why     string
		Applied bool
		Status  string
	}

	// OpenedMsg tells a page it was just opened by its shortcut key (so
	// `E` can open the editor page and start the external editor).
	OpenedMsg struct{ Key string }
)

// Send is a tea.Cmd factory for SendMsg.
func Send(c train.Command) tea.Cmd { return func() tea.Msg { return SendMsg{c} } }
