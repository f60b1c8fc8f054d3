// Package editor is the dashboard page that edits the run's configuration
// as YAML while it trains. Keys that can change live (learning rate,
// momentum, log interval, epochs) apply from the next step; keys that need
// a fresh start (model, batch size, ...) restart the run after a
// confirmation. What is applied is written back to the config file, the
// user's comments and order kept, atomically.
package editor

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textarea"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"mnist-tui/engine/atomicfile"
	"mnist-tui/engine/config"
	"mnist-tui/engine/train"
	"mnist-tui/ui/termdraw"
	"mnist-tui/ui/view"
)

// Page is the configuration editor.
type Page struct {
	path   string // the file changes are written back to
	area   textarea.Model
	styles styles

	run      config.Config // the run's configuration now (from the snapshot)
	haveRun  bool
	parsed   config.Config // the text, when it is valid
	parseErr error
	live     []string // keys that differ from the run and can change live
	restart  []string // keys that differ and need a new run
	confirm  bool     // waiting for y/n to restart
	status   string
	statusOK bool

	keys keyMap
}

type keyMap struct {
	Open, Apply, External, Yes, No key.Binding
}

// editorDoneMsg is the external editor's return.
type editorDoneMsg struct{ err error }

// New makes the page. path is the config file the run came from (or
// ./config.yaml when it came from the built-in default), text its content.
func New(path string, text []byte, opts view.Options) *Page {
	area := textarea.New()
	area.ShowLineNumbers = true
	area.CharLimit = 0
	area.MaxHeight = 0
	area.SetValue(string(text))
	area.Focus()
	p := &Page{
		path:   path,
		area:   area,
		styles: newStyles(opts),
		keys: keyMap{
			Open:     key.NewBinding(key.WithKeys("e", "E"), key.WithHelp("e/E", "config (E: $EDITOR)")),
			Apply:    key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "apply")),
			External: key.NewBinding(key.WithKeys("ctrl+e"), key.WithHelp("ctrl+e", "open in $EDITOR")),
			Yes:      key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "restart")),
			No:       key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "cancel")),
		},
	}
	p.validate()
	return p
}

func (p *Page) Name() string          { return "config" }
func (p *Page) Shortcut() key.Binding { return p.keys.Open }
func (p *Page) CapturesKeys() bool    { return true }
func (p *Page) Nested() bool          { return p.confirm } // esc cancels a pending restart first

func (p *Page) Keys() []key.Binding {
	if p.confirm {
		return []key.Binding{p.keys.Yes, p.keys.No}
	}
	return []key.Binding{p.keys.Apply, p.keys.External}
}

// SetSnapshot follows the run's configuration, to tell which edited keys
// differ from it.
func (p *Page) SetSnapshot(s train.Snapshot) {
	if s.Config == (config.Config{}) {
		return
	}
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
		p.area.SetValue(string(text))
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
		return p.externalDone(msg.err)
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
		p.setStatus(false, "not applied: "+p.parseErr.Error())
		return nil
	}
	saved := p.save()
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
	cmd := view.Send(p.hyperChange())
	p.setStatus(true, saved+"applied "+strings.Join(p.live, ", ")+" from the next step")
	return cmd
}

// save writes the text to the config file; it returns a note for the status.
func (p *Page) save() string {
	current, err := os.ReadFile(p.path)
	if err == nil && bytes.Equal(current, []byte(p.area.Value())) {
		return ""
	}
	if err := atomicfile.WriteFile(p.path, []byte(p.area.Value())); err != nil {
		return fmt.Sprintf("could not write %s (%v): the change applies to this run only; ", p.path, err)
	}
	return "saved " + p.path + "; "
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
		p.setStatus(true, "restarting with "+strings.Join(p.restart, ", ")+" changed…")
		cfg := p.parsed
		return func() tea.Msg { return view.RestartMsg{Config: cfg} }
	case key.Matches(k, p.keys.No), k.Type == tea.KeyEsc:
		p.confirm = false
		p.setStatus(true, "restart cancelled; the text is kept")
	}
	return nil
}

// openExternal runs the user's editor (editorCommand) on the config file, writing the
// current text there first so the user edits what they see.
func (p *Page) openExternal() tea.Cmd {
	if err := atomicfile.WriteFile(p.path, []byte(p.area.Value())); err != nil {
		p.setStatus(false, fmt.Sprintf("cannot open the editor: writing %s: %v", p.path, err))
		return nil
	}
	fields := editorCommand(os.Getenv, runtime.GOOS)
	cmd := exec.Command(fields[0], append(fields[1:], p.path)...)
	return tea.ExecProcess(cmd, func(err error) tea.Msg { return editorDoneMsg{err} })
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

// externalDone reloads the file the editor changed and applies it.
func (p *Page) externalDone(err error) tea.Cmd {
	if err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			p.setStatus(false, "the editor did not run: "+err.Error()+" (set $EDITOR)")
			return nil
		}
	}
	text, readErr := os.ReadFile(p.path)
	if readErr != nil {
		p.setStatus(false, "reading back "+p.path+": "+readErr.Error())
		return nil
	}
	p.area.SetValue(string(text))
	return p.apply()
}

func (p *Page) setStatus(ok bool, s string) { p.status, p.statusOK = s, ok }

// Render draws the text on the left and what applying would do on the
// right.
func (p *Page) Render(width, height int) string {
	st := p.styles
	sideW := min(44, max(24, width/3))
	areaW := width - sideW - 2
	title := st.title.Render(ansi.Truncate("config · "+p.path, max(1, areaW), "…"))
	p.area.SetWidth(max(10, areaW))
	p.area.SetHeight(max(1, height-2))
	left := lipgloss.NewStyle().Width(areaW).MaxWidth(areaW).Render(title + "\n" + p.area.View())

	var side []string
	switch {
	case p.parseErr != nil:
		side = append(side, st.bad.Render("✗ invalid — not applied"), wrap(p.parseErr.Error(), sideW))
	case !p.haveRun:
		side = append(side, st.good.Render("✓ valid"))
	case len(p.live)+len(p.restart) == 0:
		side = append(side, st.good.Render("✓ valid"), st.dim.Render("same as the run"))
	default:
		side = append(side, st.good.Render("✓ valid"))
		values := valuesByKey(p.parsed)
		old := valuesByKey(p.run)
		if len(p.live) > 0 {
			side = append(side, "", st.label.Render("applies live, from the next step:"))
			for _, k := range p.live {
				side = append(side, fmt.Sprintf("  %s: %v → %v", k, old[k], values[k]))
			}
		}
		if len(p.restart) > 0 {
			side = append(side, "", st.warn.Render("needs a new run:"))
			for _, k := range p.restart {
				side = append(side, fmt.Sprintf("  %s: %v → %v", k, old[k], values[k]))
			}
		}
	}
	if p.status != "" {
		style := st.good
		if !p.statusOK {
			style = st.bad
		}
		side = append(side, "", style.Render(wrap(p.status, sideW)))
	}
	side = append(side, "", st.dim.Render(wrap("ctrl+s apply · ctrl+e $EDITOR · esc back (the text stays)", sideW)))
	right := lipgloss.NewStyle().Width(sideW).Render(strings.Join(side, "\n"))
	return lipgloss.JoinHorizontal(lipgloss.Top, left, "  ", right)
}

// valuesByKey maps yaml keys to values, for showing differences.
func valuesByKey(c config.Config) map[string]any {
	return map[string]any{
		"model": c.Model, "dataset": c.Dataset, "data_dir": c.DataDir, "epochs": c.Epochs,
		"batch_size": c.BatchSize, "learning_rate": c.LearningRate, "momentum": c.Momentum,
		"weight_decay": c.WeightDecay, "seed": c.Seed, "log_interval": c.LogInterval,
		"threads": c.Threads, "runs_dir": c.RunsDir,
	}
}

func wrap(s string, width int) string {
	return lipgloss.NewStyle().Width(width).Render(s)
}

type styles struct {
	title, label, dim, good, bad, warn lipgloss.Style
}

func newStyles(opts view.Options) styles {
	r := opts.Renderer
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	return styles{
		title: r.NewStyle().Bold(true),
		label: r.NewStyle().Foreground(termdraw.Grey),
		dim:   r.NewStyle().Foreground(termdraw.Dim),
		good:  r.NewStyle().Foreground(termdraw.Green),
		bad:   r.NewStyle().Foreground(termdraw.Red),
		warn:  r.NewStyle().Foreground(termdraw.Amber),
	}
}
