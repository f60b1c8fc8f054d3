package inspect

import (
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"mnist-tui/engine/train"
	"mnist-tui/ui/view"
)

// candidateKeys are every key a user can type: the printable characters
// and the named keys.
func candidateKeys() []tea.KeyMsg {
	var out []tea.KeyMsg
	for r := '!'; r <= '~'; r++ {
		out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	for _, t := range []tea.KeyType{tea.KeySpace, tea.KeyUp, tea.KeyDown, tea.KeyLeft, tea.KeyRight, tea.KeyPgUp,
		tea.KeyPgDown, tea.KeyHome, tea.KeyEnd, tea.KeyEnter, tea.KeyEsc, tea.KeyBackspace, tea.KeyDelete, tea.KeyTab} {
		out = append(out, tea.KeyMsg{Type: t})
	}
	return out
}

// dashboardKeys never reach a page: the dashboard answers them on every
// page (its own keys and the pages' shortcuts).
var dashboardKeys = []string{"q", "ctrl+c", " ", "p", "s", "a", "m", "?", "tab", "r", "d", "e", "E",
	"1", "2", "3", "4", "5", "6", "7", "8", "9"}

// reachesPage reports whether the dashboard hands k to p.
func reachesPage(p view.View, k tea.KeyMsg) bool {
	if c, ok := p.(view.Claimer); ok && c.Claims(k) {
		return true
	}
	if k.Type == tea.KeyEsc {
		n, ok := p.(view.Nested)
		return ok && n.Nested()
	}
	return !slices.Contains(dashboardKeys, k.String())
}

// listed reports whether one of the page's help bindings is k.
func listed(bindings []key.Binding, k tea.KeyMsg) bool {
	for _, b := range bindings {
		if b.Enabled() && b.Help().Key != "" && key.Matches(k, b) {
			return true
		}
	}
	return false
}

// checkHelpCoversKeys types every key into a page made fresh by make, and
// fails for each key that changes what the page shows without being in the
// help the page gives (Keys) before it.
func checkHelpCoversKeys(t *testing.T, state string, make func() view.View) {
	t.Helper()
	for _, k := range candidateKeys() {
		p := make()
		if !reachesPage(p, k) {
			continue
		}
		help := p.Keys()
		before := p.Render(120, 40)
		cmd := p.Update(k)
		if p.Render(120, 40) == before && cmd == nil {
			continue
		}
		if !listed(help, k) {
			t.Errorf("%s: %q does something, but the help does not list it", state, k.String())
		}
	}
	// The mouse too: the wheel, and clicks all over the page.
	mice := map[string][]tea.MouseMsg{"wheel": {
		{Action: tea.MouseActionPress, Button: tea.MouseButtonWheelUp},
		{Action: tea.MouseActionPress, Button: tea.MouseButtonWheelDown},
	}}
	for x := 1; x < 120; x += 6 {
		for y := 1; y < 40; y += 3 {
			mice["click"] = append(mice["click"], tea.MouseMsg{X: x, Y: y, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
		}
	}
	for what, msgs := range mice {
		for _, m := range msgs {
			p := make()
			help := p.Keys()
			before := p.Render(120, 40)
			cmd := p.Update(m)
			if p.Render(120, 40) == before && cmd == nil {
				continue
			}
			if !slices.ContainsFunc(help, func(b key.Binding) bool { return b.Help().Key == what }) {
				t.Errorf("%s: the mouse's %s (%+v) does something, but the help does not say what", state, what, m)
			}
			break
		}
	}
}

func TestHelpListsEveryKeyThePagesAnswer(t *testing.T) {
	snap := handSnapshot(mnistInfo(t))
	at := func(p view.View, keys ...string) func() view.View {
		return func() view.View {
			p := p
			switch p.(type) {
			case *Confusion:
				p = NewConfusion(noColor())
			case *Mistakes:
				p = NewMistakes(noColor())
			case *Data:
				p = NewData(noColor())
			}
			p.SetSnapshot(snap)
			p.Render(120, 40) // the grids move by what they drew
			send(p, keys...)
			p.Render(120, 40)
			return p
		}
	}
	checkHelpCoversKeys(t, "confusion matrix", at(&Confusion{}, "right"))
	checkHelpCoversKeys(t, "confusion list", at(&Confusion{}, "enter"))
	checkHelpCoversKeys(t, "confusion image", at(&Confusion{}, "enter", "enter"))
	checkHelpCoversKeys(t, "mistakes", at(&Mistakes{}, "right"))
	checkHelpCoversKeys(t, "mistakes image", at(&Mistakes{}, "right", "enter"))
	checkHelpCoversKeys(t, "data", at(&Data{}))
	checkHelpCoversKeys(t, "data page 2", at(&Data{}, "pgdown"))
}

// Before the user moves it, the mistakes' cursor stays at the top when a
// new evaluation reorders the list.
func TestMistakesCursorStartsAtTheTop(t *testing.T) {
	m := NewMistakes(noColor())
	s := handSnapshot(mnistInfo(t))
	m.SetSnapshot(s)
	m.Render(120, 40)
	conf := slices.Clone(handConf)
	conf[2] = 0.999 // the first mistake (image 2) moves... to the top; the old top moves down
	conf[6] = 0.5
	s.Eval = evaluate(handLabels, handPreds, conf)
	m.SetSnapshot(s)
	m.Render(120, 40)
	if m.browse.grid.cursor != 0 {
		t.Errorf("after a new evaluation the cursor is on item %d of the list, want the top", m.browse.grid.cursor+1)
	}
}

// The confusion and mistakes pages say which epoch they show.
func TestPagesSayWhichEpochTheyShow(t *testing.T) {
	s := handSnapshot(mnistInfo(t))
	s.History = []train.EpochResult{{Epoch: 1}, {Epoch: 2}, {Epoch: 3}}
	for _, p := range []view.View{NewConfusion(noColor()), NewMistakes(noColor())} {
		p.SetSnapshot(s)
		if out := p.Render(120, 40); !strings.Contains(lines(out)[0], "after epoch 3") {
			t.Errorf("%s page does not say which epoch it shows:\n%s", p.Name(), lines(out)[0])
		}
	}
}
