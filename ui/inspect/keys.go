package inspect

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// keyMap is every key the pages answer to. Each page shows in the help
// exactly those that do something where it is (a test checks). None of
// them is one the dashboard keeps for itself (q, p, space, s, a, tab, 1-9,
// ?); the dashboard's `a` reaches the pages through SetHiRes.
type keyMap struct {
	Move     key.Binding // the cursor over a grid or the confusion matrix
	Page     key.Binding // turn pages in a grid
	Turn     key.Binding // the data page: left/right turn pages
	Ends     key.Binding // first and last page
	Open     key.Binding // a cell's images, an image's probabilities
	Back     key.Binding // close what enter opened
	Next     key.Binding // previous/next image in the probability chart
	Order    key.Binding // the mistakes' order
	Zoom     key.Binding // large or small digits
	Augment  key.Binding // the data page: the images as augmentation turns them
	Up, Down key.Binding // the moves one by one, for Update
	Left     key.Binding
	Right    key.Binding
	PgUp     key.Binding
	PgDown   key.Binding
	Home     key.Binding
	End      key.Binding
}

func newKeyMap() keyMap {
	k := keyMap{
		Move:    key.NewBinding(key.WithKeys("up", "down", "left", "right"), key.WithHelp("←↑↓→", "move")),
		Page:    key.NewBinding(key.WithKeys("pgup", "pgdown"), key.WithHelp("pgup/pgdn", "page")),
		Turn:    key.NewBinding(key.WithKeys("left", "right", "up", "down", "pgup", "pgdown"), key.WithHelp("←→↑↓/pgup/pgdn", "page")),
		Ends:    key.NewBinding(key.WithKeys("home", "end"), key.WithHelp("home/end", "first/last")),
		Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Back:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Next:    key.NewBinding(key.WithKeys("left", "right"), key.WithHelp("←→", "previous/next image")),
		Order:   key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "order")),
		Zoom:    key.NewBinding(key.WithKeys("z"), key.WithHelp("z", "digit size")),
		Augment: key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "augmented/as stored")),

		Up:     key.NewBinding(key.WithKeys("up")),
		Down:   key.NewBinding(key.WithKeys("down")),
		Left:   key.NewBinding(key.WithKeys("left")),
		Right:  key.NewBinding(key.WithKeys("right")),
		PgUp:   key.NewBinding(key.WithKeys("pgup")),
		PgDown: key.NewBinding(key.WithKeys("pgdown")),
		Home:   key.NewBinding(key.WithKeys("home")),
		End:    key.NewBinding(key.WithKeys("end")),
	}
	return k
}

// withHelp is b described differently, for a page where it does something
// more particular than its generic description.
func withHelp(b key.Binding, desc string) key.Binding {
	b.SetHelp(b.Help().Key, desc)
	return b
}

// moveGrid applies a cursor key to g and reports whether it was one.
func (k keyMap) moveGrid(msg tea.KeyMsg, g *imageGrid) bool {
	switch {
	case key.Matches(msg, k.Up):
		g.up()
	case key.Matches(msg, k.Down):
		g.down()
	case key.Matches(msg, k.Left):
		g.left()
	case key.Matches(msg, k.Right):
		g.right()
	case key.Matches(msg, k.PgUp):
		g.pageUp()
	case key.Matches(msg, k.PgDown):
		g.pageDown()
	case key.Matches(msg, k.Home):
		g.home()
	case key.Matches(msg, k.End):
		g.end()
	default:
		return false
	}
	return true
}
