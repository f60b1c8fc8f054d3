package dashboard

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"mnist-tui/ui/view"
)

// Keys typed together (a paste, a slow ssh link) arrive as one message of
// several runes: each must act as if it came alone, in order.
func TestKeysThatArriveTogetherAreEachAnswered(t *testing.T) {
	runs, conf, mist := &fakePage{name: "runs"}, &fakePage{name: "confusion"}, &fakePage{name: "mistakes"}
	editor := &fakePage{name: "config", capturing: true}
	_, m, _ := newTestModel(t, midRun(), Options{NoColor: true, Pages: []view.View{runs, conf, mist, editor}}, 120, 40)
	together := func(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

	m = apply(t, m, together("34"))
	if m.page != 3 {
		t.Fatalf(`"34" in one message: page %d, want 4 (mistakes) after 3 then 4`, m.page+1)
	}
	m = apply(t, m, together("xy z"))
	if got := strings.Join(mist.keys, ","); got != "x,y,z" {
		t.Errorf("the page got %q, want x,y,z one by one (space pauses)", got)
	}
	// An editor takes a paste as it is: the text, not single keys.
	m = apply(t, m, together("5"), together("lr: 0.1"))
	if m.page != 4 || len(editor.keys) != 1 || editor.keys[0] != "lr: 0.1" {
		t.Errorf("page %d, editor got %q; want the paste whole on the editor page", m.page+1, editor.keys)
	}
}

// mousePage is a page that uses the mouse.
type mousePage struct{ fakePage }

func (p *mousePage) UsesMouse() bool { return true }

// messages runs cmd and the commands it batches, returning the type names
// of the messages they produce. Only for commands that do not block.
func messages(cmd tea.Cmd) []string {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	v := reflect.ValueOf(msg)
	if v.Kind() == reflect.Slice && v.Type().Elem() == reflect.TypeOf(tea.Cmd(nil)) {
		var out []string
		for i := range v.Len() {
			out = append(out, messages(v.Index(i).Interface().(tea.Cmd))...)
		}
		return out
	}
	return []string{fmt.Sprintf("%T", msg)}
}

// The terminal reports the mouse only on pages that use it, so that
// elsewhere text can be selected and copied.
func TestMouseIsCapturedOnlyWhereItIsUsed(t *testing.T) {
	runs := &fakePage{name: "runs", shortcut: "r"}
	draw := &mousePage{fakePage{name: "draw", shortcut: "d"}}
	_, m, _ := newTestModel(t, midRun(), Options{NoColor: true, Pages: []view.View{runs, draw}}, 120, 40)
	const on, off = "tea.enableMouseCellMotionMsg", "tea.disableMouseMsg"
	for _, tc := range []struct {
		key  string
		want []string
	}{
		{"r", nil}, // no mouse on the runs page
		{"d", []string{on}},
		{"c", nil}, // still on draw: nothing changes
		{"1", []string{off}},
		{"3", []string{on}},
		{"esc", []string{off}},
	} {
		var cmd tea.Cmd
		m, cmd = step(t, m, press(tc.key))
		got := slices.DeleteFunc(messages(cmd), func(s string) bool { return s != on && s != off })
		if !slices.Equal(got, tc.want) {
			t.Errorf("after %q (page %d): mouse commands %v, want %v", tc.key, m.page+1, got, tc.want)
		}
	}
}

// hiResPage records the digit mode the dashboard gives it.
type hiResPage struct {
	fakePage
	hiRes []bool
}

func (p *hiResPage) SetHiRes(on bool) { p.hiRes = append(p.hiRes, on) }

// `a` is one setting for every page, and works from any of them.
func TestHiResIsOneSettingForEveryPage(t *testing.T) {
	mist := &hiResPage{fakePage: fakePage{name: "mistakes"}}
	data := &hiResPage{fakePage: fakePage{name: "data"}}
	_, m, _ := newTestModel(t, midRun(), Options{Renderer: colorRenderer(termenv.ANSI256), Pages: []view.View{mist, data}}, 120, 40)
	if !slices.Equal(mist.hiRes, []bool{true}) || !slices.Equal(data.hiRes, []bool{true}) || !m.hiRes {
		t.Fatalf("start: dashboard %v, pages %v %v; want hi-res everywhere with colours", m.hiRes, mist.hiRes, data.hiRes)
	}
	m = apply(t, m, press("2"), press("a"))
	if m.hiRes || mist.hiRes[len(mist.hiRes)-1] || data.hiRes[len(data.hiRes)-1] {
		t.Errorf("a on the mistakes page: dashboard %v, pages %v %v; want ASCII everywhere", m.hiRes, mist.hiRes, data.hiRes)
	}
	if len(mist.keys) != 0 {
		t.Errorf("the page got %q: a belongs to the dashboard", mist.keys)
	}
}

// The compare page's key outside a comparison says why nothing happens.
func TestCompareKeyOutsideACompareSaysWhy(t *testing.T) {
	_, m, _ := newTestModel(t, midRun(), Options{NoColor: true, Pages: []view.View{&fakePage{name: "runs", shortcut: "r"}}}, 120, 40)
	m = apply(t, m, press("m"))
	if v := m.View(); !strings.Contains(v, "mnist-tui compare") || m.page != 0 {
		t.Errorf("m outside a compare: page %d, status:\n%s", m.page+1, lastLines(v, 2))
	}
	// Under a compare, m opens the compare page.
	cmp := &fakePage{name: "compare", shortcut: "m"}
	_, m, _ = newTestModel(t, midRun(), Options{NoColor: true, Pages: []view.View{&fakePage{name: "runs", shortcut: "r"}, cmp}}, 120, 40)
	m = apply(t, m, press("m"))
	if m.page != 2 {
		t.Errorf("m under a compare: page %d, want 3", m.page+1)
	}
}

// manyKeysPage has more keys than an 80x24 screen shows at once.
type manyKeysPage struct {
	fakePage
	n int
}

func (p *manyKeysPage) Keys() []key.Binding {
	var out []key.Binding
	for i := range p.n {
		k := fmt.Sprintf("f%d", i+1)
		out = append(out, key.NewBinding(key.WithKeys(k), key.WithHelp(k, fmt.Sprintf("page action number %d", i+1))))
	}
	return out
}

// helpText scrolls through the open help and returns every line it showed.
func helpText(t *testing.T, m Model) string {
	t.Helper()
	var all strings.Builder
	for range 50 {
		all.WriteString(m.View())
		if !strings.Contains(m.View(), "more below") || strings.Contains(m.View(), "↓ 0 more below") {
			return all.String()
		}
		m = apply(t, m, tea.KeyMsg{Type: tea.KeyPgDown})
	}
	t.Fatal("the help never reached its end")
	return ""
}

// `?` lists every key of the dashboard and of the page on screen, on every
// page, at the smallest size too: what does not fit scrolls.
func TestHelpListsEveryKeyOnEveryPage(t *testing.T) {
	runs := &fakePage{name: "runs", shortcut: "r", claims: " "}
	big := &manyKeysPage{fakePage: fakePage{name: "mistakes"}, n: 20}
	editor := &fakePage{name: "config", shortcut: "e", capturing: true}
	pages := []view.View{runs, big, editor}
	_, m, _ := newTestModel(t, midRun(), Options{Renderer: colorRenderer(termenv.Ascii), Pages: pages}, minWidth, minHeight)
	m.setHiRes(false)
	for i := range 1 + len(pages) {
		open := press("?")
		if p := m.pageAfter(i); p != nil && p.CapturesKeys() {
			open = tea.KeyMsg{Type: tea.KeyF1} // ? is text there
		}
		m = apply(t, m, press(fmt.Sprint(i+1)), open)
		if !m.helpOpen {
			t.Fatalf("page %d: ? did not open the help", i+1)
		}
		text := helpText(t, m)
		checkFits(t, m.View(), minWidth, minHeight)
		want := []string{"esc", "ctrl+c", "f1", "tab"}
		if i == 0 || m.current() == nil || !m.current().CapturesKeys() {
			want = append(want, "pause/resume", "s ", "tab", "1-4", "r ", "e ", "m ", "? ", "q ", "back to the dashboard")
		}
		if p := m.current(); p != nil {
			for _, b := range p.Keys() {
				want = append(want, b.Help().Desc)
			}
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("page %d: the help never shows %q:\n%s", i+1, w, text)
			}
		}
		if i == 1 && strings.Contains(text, "space/p") {
			t.Errorf("the runs page takes space, yet the help offers it for pausing")
		}
		m = apply(t, m, press("esc"))
		if m.helpOpen {
			t.Fatalf("page %d: esc did not close the help", i+1)
		}
	}
}

// tab leaves a page that takes every other key (the config editor), as it
// leaves every page; the editor gets no tab, which YAML forbids anyway.
func TestTabLeavesThePageThatTakesEveryKey(t *testing.T) {
	editor := &fakePage{name: "config", shortcut: "e", capturing: true}
	_, m, _ := newTestModel(t, midRun(), Options{NoColor: true, Pages: []view.View{&fakePage{name: "runs"}, editor}}, 120, 40)
	m = apply(t, m, press("3"), tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q1")})
	if m.page != 2 || strings.Join(editor.keys, "") != "q1" {
		t.Fatalf("page %d, editor got %q: the editor must get the text q1", m.page+1, editor.keys)
	}
	m = apply(t, m, tea.KeyMsg{Type: tea.KeyTab})
	if m.page != 0 {
		t.Errorf("tab on the editor page: page %d, want the next one, 1", m.page+1)
	}
	if strings.Join(editor.keys, "") != "q1" {
		t.Errorf("the editor got %q; tab is not text for it", editor.keys)
	}
}

// pageAfter is the page that key i+1 opens.
func (m Model) pageAfter(i int) view.View {
	if i == 0 {
		return nil
	}
	return m.pages[i-1]
}

// On a page that takes both pause keys, the help says where pausing went.
func TestHelpSaysWherePausingWent(t *testing.T) {
	draw := &fakePage{name: "draw", shortcut: "d", claims: " "}
	both := &claimsBoth{fakePage: *draw}
	_, m, _ := newTestModel(t, midRun(), Options{NoColor: true, Pages: []view.View{both}}, 120, 40)
	m = apply(t, m, press("d"), press("?"))
	if v := m.View(); !strings.Contains(v, "pause from any other") || strings.Contains(v, "space/p  pause") {
		t.Errorf("the help on a page that takes space and p:\n%s", v)
	}
}

type claimsBoth struct{ fakePage }

func (p *claimsBoth) Claims(k tea.KeyMsg) bool { return k.String() == " " || k.String() == "p" }

// Under a compare there are eight pages: at 80 columns every tab shows,
// the compare page's too.
func TestEveryTabShowsAt80Columns(t *testing.T) {
	var pages []view.View
	for _, name := range []string{"runs", "confusion", "mistakes", "data", "draw", "config", "compare"} {
		pages = append(pages, &fakePage{name: name})
	}
	for _, page := range []string{"1", "8"} {
		_, m, _ := newTestModel(t, midRun(), Options{NoColor: true, Pages: pages}, minWidth, minHeight)
		m = apply(t, m, press(page))
		tabs := m.tabLine(minWidth)
		for i, name := range []string{"dashboard", "runs", "confusion", "mistakes", "data", "draw", "config", "compare"} {
			if want := fmt.Sprintf("%d %s", i+1, name); !strings.Contains(tabs, want) {
				t.Errorf("on page %s, the tab line lacks %q: %q", page, want, tabs)
			}
		}
	}
}

// With the layers page and a compare there are ten pages, more than 80
// columns hold even without padding: the other pages' names are cut short,
// each tab still shows its number and the start of its name, and the
// current page its whole name.
func TestTenTabsShowAt80Columns(t *testing.T) {
	names := []string{"dashboard", "runs", "confusion", "mistakes", "data", "draw", "config", "health", "layers", "compare"}
	var pages []view.View
	for _, name := range names[1:] {
		pages = append(pages, &fakePage{name: name})
	}
	_, m, _ := newTestModel(t, midRun(), Options{NoColor: true, Pages: pages}, minWidth, minHeight)
	for current := range names {
		tabs := m.tabLine(minWidth)
		if w := lipgloss.Width(tabs); w > minWidth || strings.Contains(tabs, "…") {
			t.Errorf("on page %d the tab line is cut (%d wide): %q", current+1, w, tabs)
		}
		for i, name := range names {
			want := fmt.Sprintf("%d %s", i+1, name[:min(4, len(name))])
			if name == "confusion" || name == "config" {
				// Cut to four letters, the two would both read "conf".
				want = fmt.Sprintf("%d %s", i+1, name[:5])
			}
			if i == current {
				want = fmt.Sprintf("[%d %s]", i+1, name)
			}
			if !strings.Contains(tabs, want) {
				t.Errorf("on page %d, the tab line lacks %q: %q", current+1, want, tabs)
			}
		}
		m = apply(t, m, tea.KeyMsg{Type: tea.KeyTab})
	}
}
