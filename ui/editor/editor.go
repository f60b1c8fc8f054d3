// Package editor is the dashboard page that edits the run's configuration
// as YAML while it trains. Keys that can change live (learning rate,
// momentum, log interval, epochs) apply from the next step; keys that need
// a fresh start (model, batch size, ...) restart the run after a
// confirmation; once the run has finished, applying offers a new run. What
// the user changed is written back to the config file, the user's comments
// and order kept, atomically; values that came from command-line flags stay
// out of the file, as flags are for one run.
package editor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textarea"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"mnist-tui/engine/atomicfile"
	"mnist-tui/engine/config"
	"mnist-tui/engine/memlimit"
	"mnist-tui/engine/train"
	"mnist-tui/ui/termdraw"
	"mnist-tui/ui/view"
)

// Page is the configuration editor.
type Page struct {
	path   string // the file changes are written back to
	area   textarea.Model
	styles styles

	// fileText is the config file's text as the page last read or wrote
	// it; opened is the editor's text at that moment (the file with the
	// run's values, flags included, in place). What differs between opened
	// and the text now is what the user changed, and only that is written.
	fileText []byte
	opened   string
	// applied is the text last applied to the run (or shown on opening):
	// text that differs from it is unapplied, kept as a draft on quitting.
	applied string

	run      config.Config // the run's configuration now (from the snapshot)
	haveRun  bool
	finished bool          // the run is Done or Failed: applying starts a new run
	parsed   config.Config // the text, when it is valid
	parseErr error
	live     []string // keys that differ from the run and can change live
	restart  []string // keys that differ and need a new run
	confirm  bool     // waiting for y/n to restart
	status   string
	statusOK bool
	why      string // recorded with the change being applied (view.EditMsg.Why)

	keys keyMap
}

type keyMap struct {
	Open, Apply, External, Yes, No key.Binding
}

// editorDoneMsg is the external editor's return: the temporary file it
// edited, and how it ended.
type editorDoneMsg struct {
	path string
	err  error
}

// New makes the page. path is the config file the run came from (or
// ./config.yaml when it came from the built-in default), text its content.
func New(path string, text []byte, opts view.Options) *Page {
	area := textarea.New()
	area.ShowLineNumbers = true
	area.CharLimit = 0
	area.MaxHeight = 0
	area.SetValue(string(text))
	cursorToFirstSetting(&area)
	area.Focus()
	st := newStyles(opts)
	if opts.NoColor {
		// The textarea shows its cursor in reverse video, which a
		// colourless renderer drops, leaving no cursor at all. Reverse
		// video is not colour (NO_COLOR allows it), so draw it with a
		// renderer that emits attributes, and keep it still: a blinking
		// cursor with nothing else to mark it vanishes half the time.
		area.Cursor.Style = st.cursor
		area.Cursor.SetMode(cursor.CursorStatic)
	}
	p := &Page{
		path:     path,
		area:     area,
		styles:   st,
		fileText: text,
		opened:   string(text),
		applied:  string(text),
		keys: keyMap{
			Open:     key.NewBinding(key.WithKeys("e", "E"), key.WithHelp("e/E", "config (E: $EDITOR)")),
			Apply:    key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "apply")),
			External: key.NewBinding(key.WithKeys("ctrl+e"), key.WithHelp("ctrl+e", "open in $EDITOR")),
			Yes:      key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "restart")),
			No:       key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "cancel")),
		},
	}
	p.validate()
	if _, err := os.Stat(DraftPath(path)); err == nil {
		p.setStatus(true, "unapplied edits from an earlier session are in "+DraftPath(path))
	}
	return p
}

// DraftPath is where unapplied text is kept when the program quits:
// beside the config file, config.draft.yaml for config.yaml.
func DraftPath(configPath string) string {
	ext := filepath.Ext(configPath)
	return strings.TrimSuffix(configPath, ext) + ".draft" + ext
}

// KeepDraft writes text that was never applied to DraftPath, so that
// quitting (ctrl+c, q, a signal) never loses it. Asking first would make
// ctrl+c, the key that must always stop the program, wait on a question,
// and a signal cannot answer one. It returns the draft's path, or "" when
// there was nothing unapplied.
func (p *Page) KeepDraft() (string, error) {
	text := p.area.Value()
	if text == p.applied {
		return "", nil
	}
	draft := DraftPath(p.path)
	if err := atomicfile.WriteFile(draft, []byte(text)); err != nil {
		return "", fmt.Errorf("keeping the unapplied config edits in %s: %w", draft, err)
	}
	return draft, nil
}

func (p *Page) Name() string          { return "config" }
func (p *Page) Shortcut() key.Binding { return p.keys.Open }
func (p *Page) CapturesKeys() bool    { return true }
func (p *Page) Nested() bool          { return p.confirm } // esc cancels a pending restart first

func (p *Page) Keys() []key.Binding {
	if p.confirm {
		return []key.Binding{p.keys.Yes, p.keys.No}
	}
	apply := p.keys.Apply
	if p.finished {
		apply.SetHelp("ctrl+s", "new run with these settings")
	}
	return []key.Binding{apply, p.keys.External}
}

// SetSnapshot follows the run's configuration, to tell which edited keys
// differ from it.
func (p *Page) SetSnapshot(s train.Snapshot) {
	if s.Config == (config.Config{}) {
		return
	}
	p.finished = s.State == train.Done || s.State == train.Failed
	if !p.haveRun || s.Config != p.run {
		if !p.haveRun {
			p.showRunValues(s.Config)
		}
		p.run, p.haveRun = s.Config, true
		p.validate()
	}
}

// showRunValues puts the run's values (flags may have overridden the
// file) into the text, keeping everything else the user wrote.
func (p *Page) showRunValues(run config.Config) {
	changes := map[string]any{}
	fileCfg, err := config.Parse(p.path, []byte(p.area.Value()))
	if err != nil {
		return
	}
	live, restart := config.Diff(fileCfg, run)
	values := valuesByKey(run)
	for _, k := range append(live, restart...) {
		changes[k] = values[k]
	}
	if len(changes) == 0 {
		return
	}
	if text, err := config.Update(p.path, []byte(p.area.Value()), changes); err == nil {
		unapplied := p.area.Value() != p.applied
		p.area.SetValue(string(text))
		cursorToFirstSetting(&p.area)
		p.opened = string(text)
		if !unapplied {
			p.applied = p.opened
		}
	}
}

func (p *Page) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case view.OpenedMsg:
		if msg.Key == "E" {
			return p.openExternal()
		}
		return nil
	case editorDoneMsg:
		defer os.Remove(msg.path)
		return p.externalDone(msg.path, msg.err)
	case view.EditMsg:
		return p.applyEdit(msg)
	case tea.KeyMsg:
		if p.confirm {
			return p.answer(msg)
		}
		switch {
		case key.Matches(msg, p.keys.Apply):
			return p.apply()
		case key.Matches(msg, p.keys.External):
			return p.openExternal()
		}
	}
	var cmd tea.Cmd
	before := p.area.Value()
	p.area.MaxHeight = 0 // no cap on the lines typed or pasted: Render sets it for the gutter
	p.area, cmd = p.area.Update(msg)
	if p.area.Value() != before {
		p.validate()
		p.status = ""
	}
	return cmd
}

// validate parses the text as the config loader would and works out what
// applying it would change.
func (p *Page) validate() {
	p.parsed, p.parseErr = config.Parse(p.path, []byte(p.area.Value()))
	p.live, p.restart = nil, nil
	if p.parseErr == nil && p.haveRun {
		p.live, p.restart = config.Diff(p.run, p.parsed)
	}
}

// apply writes the text back to the file and applies it to the run: live
// keys at once, the others after a confirmed restart. Invalid text is
// never applied, and never thrown away.
func (p *Page) apply() tea.Cmd {
	p.validate()
	if p.parseErr != nil {
		// The panel above shows the error, with its line: said twice, it
		// would push the rest off a small screen.
		p.setStatus(false, "not applied: fix the error above first")
		return nil
	}
	if p.finished || len(p.restart) > 0 {
		// Refused here rather than after the run was stopped for it.
		if err := memlimit.Check(p.parsed); err != nil {
			p.setStatus(false, "not applied: "+err.Error())
			return nil
		}
	}
	saved := p.save()
	p.applied = p.area.Value()
	if p.finished {
		// Nothing is running to take the change: offer a new run.
		p.confirm = true
		p.setStatus(true, saved+"the run has finished: press y to start a new run with these settings (its files stay), n to keep editing")
		return nil
	}
	if len(p.restart) > 0 {
		p.confirm = true
		verb := "need"
		if len(p.restart) == 1 {
			verb = "needs"
		}
		p.setStatus(true, fmt.Sprintf("%s %s a new run: press y to stop this run and start a new one (its files stay), n to cancel", strings.Join(p.restart, ", "), verb))
		return nil
	}
	if len(p.live) == 0 {
		p.setStatus(true, saved+"nothing to change in the run")
		return nil
	}
	change := p.hyperChange()
	change.Why = p.why
	cmd := view.Send(change)
	p.setStatus(true, saved+"applied "+strings.Join(p.live, ", ")+" from the next step")
	return cmd
}

// applyEdit applies another page's edit (the doctor's fix) as if typed
// and applied here, and answers with view.EditedMsg. Text the user has
// not applied yet would go with it, so the edit waits until it is.
func (p *Page) applyEdit(e view.EditMsg) tea.Cmd {
	answer := func(applied bool, status string) tea.Cmd {
		return func() tea.Msg { return view.EditedMsg{Why: e.Why, Applied: applied, Status: status} }
	}
	if p.area.Value() != p.applied {
		return answer(false, "not applied: the config page (e) has changes of yours not applied yet; apply (ctrl+s) or undo them first")
	}
	text, err := config.Update(p.path, []byte(p.area.Value()), e.Values)
	if err != nil {
		return answer(false, "not applied: "+err.Error())
	}
	before := p.applied
	p.area.SetValue(string(text))
	cursorToFirstSetting(&p.area)
	p.validate()
	p.why = e.Why
	cmd := p.apply()
	p.why = ""
	if p.confirm || cmd == nil {
		// Nothing reached the run: put the text back as it was applied.
		reason := p.status
		if p.parseErr != nil {
			reason = p.parseErr.Error() // the other page has no panel showing it
		}
		p.confirm = false
		p.applied = before
		p.area.SetValue(before)
		cursorToFirstSetting(&p.area)
		p.validate()
		return answer(false, "not applied: "+reason)
	}
	return tea.Batch(cmd, answer(true, p.status))
}

// save writes what the user changed to the config file; it returns a note
// for the status.
func (p *Page) save() string {
	text := p.area.Value()
	if text == p.opened {
		return "" // nothing changed by the user: the file stays as it is
	}
	if current, err := config.ReadFile(p.path); err == nil {
		p.fileText = current // keep what another program changed in it since
	}
	out, err := writeBack(p.path, p.fileText, p.opened, text)
	if err != nil {
		return fmt.Sprintf("could not work out the change to %s (%v): the change applies to this run only; ", p.path, err)
	}
	if current, err := os.ReadFile(p.path); err == nil && bytes.Equal(current, out) {
		p.fileText, p.opened = out, text
		return ""
	}
	if err := atomicfile.WriteFile(p.path, out); err != nil {
		return fmt.Sprintf("could not write %s (%v): the change applies to this run only; ", p.path, err)
	}
	p.fileText, p.opened = out, text
	return "saved " + p.path + "; "
}

// writeBack returns the config file's new text: fileText with what the user
// changed between opened and text, both valid configurations. The keys in
// opened that differ from the file came from flags for this run only; they
// keep the file's values unless the user changed them.
func writeBack(path string, fileText []byte, opened, text string) ([]byte, error) {
	fileCfg, err := config.Parse(path, fileText)
	if err != nil {
		return []byte(text), nil // the file was not valid: nothing of it to keep
	}
	openedCfg, err := config.Parse(path, []byte(opened))
	if err != nil {
		return []byte(text), nil
	}
	live, restart := config.Diff(fileCfg, openedCfg)
	flagKeys := append(live, restart...)
	if len(flagKeys) == 0 {
		return []byte(text), nil // the text is the file's own, comments and all
	}
	edited, err := config.Parse(path, []byte(text))
	if err != nil {
		return nil, err
	}
	live, restart = config.Diff(openedCfg, edited)
	changed := append(live, restart...)
	editedValues := valuesByKey(edited)
	userChanges := map[string]any{}
	for _, k := range changed {
		userChanges[k] = editedValues[k]
	}
	// When only values changed, change them in the file itself.
	if same, err := config.Update(path, []byte(opened), userChanges); err == nil && string(same) == text {
		return config.Update(path, fileText, userChanges)
	}
	// Otherwise the user edited the text too (comments, order): keep their
	// text, with the flags' values put back to the file's.
	fileValues := valuesByKey(fileCfg)
	revert := map[string]any{}
	for _, k := range flagKeys {
		if !slices.Contains(changed, k) {
			revert[k] = fileValues[k]
		}
	}
	return config.Update(path, []byte(text), revert)
}

// hyperChange is the trainer command for the keys that change live.
func (p *Page) hyperChange() train.SetHyper {
	var c train.SetHyper
	for _, k := range p.live {
		switch k {
		case "learning_rate":
			v := p.parsed.LearningRate
			c.LearningRate = &v
		case "momentum":
			v := p.parsed.Momentum
			c.Momentum = &v
		case "log_interval":
			v := p.parsed.LogInterval
			c.LogInterval = &v
		case "epochs":
			v := p.parsed.Epochs
			c.Epochs = &v
		}
	}
	return c
}

func (p *Page) answer(k tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(k, p.keys.Yes):
		p.confirm = false
		if len(p.restart) > 0 {
			p.setStatus(true, "restarting with "+strings.Join(p.restart, ", ")+" changed…")
		} else {
			p.setStatus(true, "starting a new run…")
		}
		cfg := p.parsed
		return func() tea.Msg { return view.RestartMsg{Config: cfg} }
	case key.Matches(k, p.keys.No), k.Type == tea.KeyEsc:
		p.confirm = false
		p.setStatus(true, "restart cancelled; the text is kept")
	}
	return nil
}

// openExternal runs the user's editor (editorCommand) on a copy of the current text in a
// temporary file, so the user edits what they see and the config file changes only through
// apply, with what they changed.
func (p *Page) openExternal() tea.Cmd {
	tmp, err := os.CreateTemp("", "mnist-tui-config-*.yaml")
	if err == nil {
		_, err = tmp.WriteString(p.area.Value())
		err = errors.Join(err, tmp.Close())
	}
	if err != nil {
		p.setStatus(false, fmt.Sprintf("cannot open the editor: writing a temporary copy: %v", err))
		return nil
	}
	fields := editorCommand(os.Getenv, runtime.GOOS)
	cmd := exec.Command(fields[0], append(fields[1:], tmp.Name())...)
	return tea.ExecProcess(cmd, func(err error) tea.Msg { return editorDoneMsg{path: tmp.Name(), err: err} })
}

// editorCommand is the editor to run and its arguments: $VISUAL, else $EDITOR,
// else the editor every system of that kind has (Windows has no vi).
func editorCommand(getenv func(string) string, goos string) []string {
	for _, name := range []string{"VISUAL", "EDITOR"} {
		if fields := strings.Fields(getenv(name)); len(fields) > 0 {
			return fields
		}
	}
	if goos == "windows" {
		return []string{"notepad"}
	}
	return []string{"vi"}
}

// externalDone reloads the text the editor changed and applies it; an
// editor left without a change changes nothing.
func (p *Page) externalDone(path string, err error) tea.Cmd {
	if err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			p.setStatus(false, "the editor did not run: "+err.Error()+" (set $EDITOR)")
			return nil
		}
	}
	text, readErr := config.ReadFile(path)
	if readErr != nil {
		p.setStatus(false, "reading back the edited text: "+readErr.Error())
		return nil
	}
	if string(text) == p.area.Value() {
		p.setStatus(true, "no change")
		return nil
	}
	p.area.SetValue(string(text))
	cursorToFirstSetting(&p.area)
	return p.apply()
}

// cursorToFirstSetting puts the cursor at the start of the first
// 'key: value' line. SetValue leaves it after the last character, so the
// editor would open scrolled to the end of the file with its explanations
// above out of sight; the first setting is where an edit usually starts,
// and the comments before it stay on screen.
func cursorToFirstSetting(area *textarea.Model) {
	lines := strings.Split(area.Value(), "\n")
	target := 0
	for i, l := range lines {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			target = i
			break
		}
	}
	// CursorUp and CursorDown move by screen line, and a long line wraps
	// onto several: loop on the row, bounded by the text's size.
	for n := 0; area.Line() > 0 && n <= len(area.Value()); n++ {
		area.CursorUp()
	}
	for n := 0; area.Line() < target && n <= len(area.Value()); n++ {
		area.CursorDown()
	}
	area.CursorStart()
}

func (p *Page) setStatus(ok bool, s string) { p.status, p.statusOK = s, ok }

// Render draws the text on the left and what applying would do on the
// right.
func (p *Page) Render(width, height int) string {
	st := p.styles
	sideW := min(44, max(24, width/3))
	areaW := width - sideW - 2
	title := st.title.Render(ansi.Truncate("config · "+p.path, max(1, areaW), "…"))
	// The textarea sizes its line numbers by MaxHeight (which also caps its
	// lines and its height) and reserves room for two digits whatever it
	// prints: the gutter is set to the text's line count here, so that line
	// 10 lines up with line 9, and the text is narrowed by the digits past two.
	digits := max(2, len(strconv.Itoa(p.area.LineCount())))
	p.area.MaxHeight = 0
	p.area.SetWidth(max(10, areaW-(digits-2)))
	p.area.SetHeight(max(1, height-2))
	p.area.MaxHeight = gutterMax(digits)
	left := lipgloss.NewStyle().Width(areaW).MaxWidth(areaW).Render(title + "\n" + p.area.View())

	var side []string
	switch {
	case p.parseErr != nil:
		side = append(side, st.bad.Render("✗ invalid — not applied"), wrap(p.parseErr.Error(), sideW))
		if ptr := errorPointer(p.parseErr, p.area.Value(), sideW); ptr != nil {
			side = append(side, "", st.label.Render(ptr[0]), ptr[1], st.bad.Render(ptr[2]))
		}
	case !p.haveRun:
		side = append(side, st.good.Render("✓ valid"))
	case len(p.live)+len(p.restart) == 0:
		side = append(side, st.good.Render("✓ valid"), st.dim.Render("same as the run"))
	default:
		side = append(side, st.good.Render("✓ valid"))
		values := valuesByKey(p.parsed)
		old := valuesByKey(p.run)
		if p.finished {
			// Nothing runs to take a change live: list them all as what
			// a new run would get.
			side = append(side, "", st.warn.Render(wrap("the run has finished; ctrl+s, then y, starts a new run with:", sideW)))
			for _, k := range append(slices.Clone(p.live), p.restart...) {
				side = append(side, p.changeLine(k, old[k], values[k]))
			}
			break
		}
		if len(p.live) > 0 {
			side = append(side, "", st.label.Render("applies live, from the next step:"))
			for _, k := range p.live {
				side = append(side, p.changeLine(k, old[k], values[k]))
			}
		}
		if len(p.restart) > 0 {
			side = append(side, "", st.warn.Render("needs a new run:"))
			for _, k := range p.restart {
				side = append(side, p.changeLine(k, old[k], values[k]))
			}
		}
	}
	if note := p.parsed.NetworkUnused(); p.parseErr == nil && note != "" {
		side = append(side, "", st.warn.Render(wrap(note, sideW)))
	}
	var tail []string
	if p.status != "" {
		style := st.good
		if !p.statusOK {
			style = st.bad
		}
		tail = append(tail, "", style.Render(wrap(p.status, sideW)))
	}
	apply := "ctrl+s apply"
	if p.finished {
		apply = "ctrl+s new run"
	}
	tail = append(tail, "", st.dim.Render(wrap(apply+" · ctrl+e $EDITOR · esc back (the text stays)", sideW)))
	if p.parseErr == nil {
		// The network as it stands, in the room the rest leaves.
		room := height - lineCount(side, sideW) - lineCount(tail, sideW) - 1
		if lines := networkLines(p.parsed, sideW, room); lines != nil {
			side = append(side, "", st.label.Render(lines[0]))
			side = append(side, lines[1:]...)
		}
	}
	side = append(side, tail...)
	right := lipgloss.NewStyle().Width(sideW).Render(strings.Join(side, "\n"))
	return lipgloss.JoinHorizontal(lipgloss.Top, left, "  ", right)
}

// gutterMax is the largest number of the given count of digits, the
// MaxHeight that makes the textarea print line numbers that wide.
func gutterMax(digits int) int {
	n := 1
	for range digits {
		n *= 10
	}
	return n - 1
}

// changeLine is one key's line in the list of changes between the run and
// the text; the network gets its own, naming the layer that changed.
func (p *Page) changeLine(key string, old, new any) string {
	if key == "network" {
		return networkChange(p.run, p.parsed)
	}
	return change(key, old, new)
}

// change shows one key's change for the side panel. Text values are quoted
// (Go's %q): they come from the user's file and may hold escape sequences
// that must not reach the terminal.
func change(key string, old, new any) string {
	show := func(v any) string {
		if s, ok := v.(string); ok {
			return strconv.Quote(s)
		}
		return fmt.Sprint(v)
	}
	return "  " + key + ": " + show(old) + " → " + show(new)
}

// valuesByKey maps yaml keys to values, for showing differences and
// writing them back; the network stands as a label (see networkLabel).
func valuesByKey(c config.Config) map[string]any {
	values := config.Values(c)
	values["network"] = networkLabel(c)
	return values
}

// label is a description the program writes, shown as it is (change quotes only the user's text).
type label string

// networkLabel stands for the network: key in the list of changes, which has no room for it.
func networkLabel(c config.Config) label {
	if c.Network == nil {
		return "none"
	}
	return label(fmt.Sprintf("%d layers", len(c.Network.Layers)))
}

// lineCount is the number of screen lines of the side panel's items in
// width cells: an item may hold several lines, and a long one wraps.
func lineCount(items []string, width int) int {
	// Counted as the panel is drawn, wrapped at spaces: dividing a line's
	// width by the panel's undercounts a line broken early at a long word.
	n := 0
	for _, s := range items {
		n += lipgloss.Height(wrap(s, width))
	}
	return n
}

func wrap(s string, width int) string {
	return lipgloss.NewStyle().Width(width).Render(s)
}

type styles struct {
	title, label, dim, good, bad, warn lipgloss.Style
	cursor                             lipgloss.Style // the text cursor without colours
}

func newStyles(opts view.Options) styles {
	r := opts.Renderer
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	return styles{
		title:  r.NewStyle().Bold(true),
		label:  r.NewStyle().Foreground(termdraw.Grey),
		dim:    r.NewStyle().Foreground(termdraw.Dim),
		good:   r.NewStyle().Foreground(termdraw.Green),
		bad:    r.NewStyle().Foreground(termdraw.Red),
		warn:   r.NewStyle().Foreground(termdraw.Amber),
		cursor: attributesOnly().NewStyle(),
	}
}

// attributesOnly is a renderer for text attributes (reverse, bold); styles
// drawn with it must set no colours.
func attributesOnly() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI)
	return r
}
