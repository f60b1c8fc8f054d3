package health

import (
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"mnist-tui/engine/config"
	"mnist-tui/engine/doctor"
	"mnist-tui/engine/runs"
	"mnist-tui/engine/train"
	"mnist-tui/ui/view"
)

func plain() view.Options {
	r := lipgloss.NewRenderer(nil)
	r.SetColorProfile(termenv.Ascii)
	return view.Options{Renderer: r, NoColor: true}
}

func record(step int64, lr float64, ratios ...float64) runs.Health {
	h := runs.Health{Epoch: 1, Batch: int(step), Step: step, LR: lr}
	for i, r := range ratios {
		h.Layers = append(h.Layers, runs.LayerHealth{Name: []string{"conv1.0", "fc.1"}[i], WeightNorm: 2.5, GradNorm: r / lr * 2.5, UpdateRatio: r})
	}
	return h
}

func lowLRSnapshot() train.Snapshot {
	return train.Snapshot{
		RunID: "r", State: train.Running, LR: 1e-5, Config: config.Config{LearningRate: 1e-5},
		Health: []runs.Health{record(300, 1e-5, 2e-6, 4e-6), record(600, 1e-5, 1e-6, 3e-6)},
		Notes: []runs.Note{{Epoch: 1, Batch: 600, Step: 600, Rule: doctor.RuleStepTooLow, Text: "Each step changes the weights by 2e-06 of their size.",
			FixKey: doctor.LearningRate, FixFactor: 10}},
	}
}

func press(p *Page, k string) tea.Cmd {
	msg := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
	return p.Update(msg)
}

// asked is the learning rate a command from the page asks the config
// page to apply, and why; answer is the config page's reply.
func asked(t *testing.T, cmd tea.Cmd) (float64, string) {
	t.Helper()
	if cmd == nil {
		t.Fatal("no command")
	}
	msg, ok := cmd().(view.EditMsg)
	if !ok {
		t.Fatalf("command gives %T, want view.EditMsg (an edit made on the config page)", cmd())
	}
	lr, ok := msg.Values[doctor.LearningRate].(float64)
	if !ok || len(msg.Values) != 1 {
		t.Fatalf("edit %+v, want the learning rate alone", msg.Values)
	}
	return lr, msg.Why
}

func answer(p *Page, why string, applied bool) {
	p.Update(view.EditedMsg{Why: why, Applied: applied, Status: "applied learning_rate from the next step"})
}

func TestTableShowsEveryLayerWithItsHistory(t *testing.T) {
	p := New(plain())
	p.SetSnapshot(lowLRSnapshot())
	out := p.Render(120, 30)
	for _, want := range []string{"step 600", "conv1.0", "fc.1", "1.0e-06", "3.0e-06", "2.5", "update history", "step_too_low", "f: learning rate x10 (0.0001)"} {
		if !strings.Contains(out, want) {
			t.Errorf("the page lacks %q:\n%s", want, out)
		}
	}
	// conv1.0's ratios went from 2e-6 down to 1e-6: lowest bar last.
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "conv1.0") && !strings.HasSuffix(strings.TrimRight(l, " "), "█▁") {
			t.Errorf("conv1.0's update sparkline should fall from the top to the bottom: %q", l)
		}
	}
	if lines := strings.Split(out, "\n"); len(lines) != 30 {
		t.Errorf("%d lines, want 30", len(lines))
	}
}

// f applies the newest note's fix as a live change, u undoes it, and
// neither is offered (nor does anything) once used.
func TestFixAndUndo(t *testing.T) {
	p := New(plain())
	s := lowLRSnapshot()
	p.SetSnapshot(s)
	if !bound(p.Keys(), "f") || bound(p.Keys(), "u") {
		t.Fatalf("keys before the fix: %v", names(p.Keys()))
	}
	lr, why := asked(t, press(p, "f"))
	if lr != 1e-4 || !strings.Contains(why, "doctor: step_too_low at step 600") {
		t.Errorf("f asks for lr %g because %q, want 1e-4 because of the doctor's step_too_low note", lr, why)
	}
	if len(p.Keys()) != 0 || press(p, "f") != nil {
		t.Error("f or u on offer before the config page answered")
	}
	answer(p, why, true)
	s.LR, s.Config.LearningRate = 1e-4, 1e-4 // the trainer applied it
	p.SetSnapshot(s)
	if bound(p.Keys(), "f") || !bound(p.Keys(), "u") {
		t.Fatalf("keys after the fix: %v", names(p.Keys()))
	}
	if cmd := press(p, "f"); cmd != nil {
		t.Error("f applied the same fix twice")
	}
	lr, why = asked(t, press(p, "u"))
	if lr != 1e-5 || !strings.Contains(why, "undo") {
		t.Errorf("u asks for lr %g because %q, want 1e-5 back as an undo", lr, why)
	}
	answer(p, why, true)
	s.LR, s.Config.LearningRate = 1e-5, 1e-5
	p.SetSnapshot(s)
	if len(p.Keys()) != 0 {
		t.Errorf("keys after undoing: %v, want none until a new note", names(p.Keys()))
	}
	if press(p, "u") != nil || press(p, "f") != nil {
		t.Error("a key did something with nothing on offer")
	}
	// A new note offers its fix again.
	s.Notes = append(s.Notes, runs.Note{Step: 900, Rule: doctor.RuleStuck, Text: "stuck", FixKey: doctor.LearningRate, FixFactor: 10})
	p.SetSnapshot(s)
	if !bound(p.Keys(), "f") {
		t.Errorf("a new note's fix is not offered: %v", names(p.Keys()))
	}
	// A finished run takes no commands.
	s.State = train.Done
	p.SetSnapshot(s)
	if len(p.Keys()) != 0 || press(p, "f") != nil {
		t.Error("the fix is offered on a finished run")
	}
}

// A fix the config page refuses (the user's own edits are not applied
// yet) is not taken for applied: its reason is shown, f offers it again.
func TestRefusedFixIsOfferedAgain(t *testing.T) {
	p := New(plain())
	p.SetSnapshot(lowLRSnapshot())
	_, why := asked(t, press(p, "f"))
	p.Update(view.EditedMsg{Why: why, Status: "not applied: the config page (e) has changes of yours not applied yet"})
	if !bound(p.Keys(), "f") || bound(p.Keys(), "u") {
		t.Errorf("keys after a refused fix: %v, want f again", names(p.Keys()))
	}
	if out := p.Render(100, 30); !strings.Contains(out, "changes of yours not applied yet") {
		t.Errorf("the refusal is not shown:\n%s", out)
	}
}

// Every key that changes the page or sends a command is in its help.
func TestHelpListsEveryKeyThePageAnswers(t *testing.T) {
	states := map[string]func() *Page{
		"empty": func() *Page { p := New(plain()); p.SetSnapshot(train.Snapshot{State: train.Running}); return p },
		"note":  func() *Page { p := New(plain()); p.SetSnapshot(lowLRSnapshot()); return p },
		"fixed": func() *Page {
			p := New(plain())
			s := lowLRSnapshot()
			p.SetSnapshot(s)
			_, why := asked(t, press(p, "f"))
			answer(p, why, true)
			s.LR, s.Config.LearningRate = 1e-4, 1e-4
			p.SetSnapshot(s)
			return p
		},
	}
	for state, make := range states {
		for r := '!'; r <= '~'; r++ {
			p := make()
			help := p.Keys()
			before := p.Render(100, 30)
			k := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}}
			cmd := p.Update(k)
			if (cmd != nil || p.Render(100, 30) != before) && !bound(help, string(r)) {
				t.Errorf("%s: %q does something, but the help does not list it", state, string(r))
			}
		}
	}
}

func bound(bs []key.Binding, k string) bool {
	for _, b := range bs {
		if b.Enabled() && key.Matches(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}, b) {
			return true
		}
	}
	return false
}

func names(bs []key.Binding) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Help().Key)
	}
	return out
}

// Each layer's activations are columns of the table: mean, spread, and
// the share of dead ReLUs ("-" for a layer without, blank when not
// measured, as in runs older than the measurement); at 80 columns the
// table keeps the update ratio's history.
func TestTableShowsActivations(t *testing.T) {
	s := lowLRSnapshot()
	for i := range s.Health {
		h := &s.Health[i]
		h.Layers = append([]runs.LayerHealth(nil), h.Layers...)
		h.Layers[0].Act = &runs.Activations{Mean: 0.42, Std: 0.0031, ReLUs: 10, Dead: 0.6}
		h.Layers = append(h.Layers, runs.LayerHealth{Name: "fc.0", WeightNorm: 1, GradNorm: 0.1, UpdateRatio: 1e-3, Act: &runs.Activations{Mean: -1.5, Std: 2}})
	}
	p := New(plain())
	p.SetSnapshot(s)
	for _, width := range []int{80, 120} {
		out := p.Render(width, 24)
		rows := map[string]string{}
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) > 0 {
				rows[f[0]] = l
			}
		}
		for name, want := range map[string][]string{
			"layer":   {"act", "act sd", "dead", "update history"},
			"conv1.0": {"0.42", "3e-03", "60%"},
			"fc.0":    {"-1.5", "2", " - "},
		} {
			for _, w := range want {
				if !strings.Contains(rows[name], w) {
					t.Errorf("width %d: the %s row lacks %q: %q", width, name, w, rows[name])
				}
			}
		}
		if f := strings.Fields(rows["fc.1"]); len(f) != 5+width/100 { // name, 3 numbers, the sparklines (two at 120)
			t.Errorf("width %d: fc.1, not measured, shows %q", width, rows["fc.1"])
		}
		if strings.Contains(rows["layer"], "|grad| history") != (width > 80) {
			t.Errorf("width %d: header %q", width, rows["layer"])
		}
	}
}

// The fix's value is written as a person would: learning rate 0.4 /10 is
// 0.04 in the config file, not 0.04000000000000001.
func TestFixValueHasNoFloatingPointNoise(t *testing.T) {
	s := lowLRSnapshot()
	s.LR, s.Config.LearningRate = 0.4, 0.4
	s.Notes = []runs.Note{{Step: 600, Rule: doctor.RuleDeadReLUs, Text: "dead", FixKey: doctor.LearningRate, FixFactor: 0.1}}
	p := New(plain())
	p.SetSnapshot(s)
	if lr, _ := asked(t, press(p, "f")); lr != 0.04 {
		t.Errorf("f asks for %v, want 0.04", lr)
	}
}

// A custom network's layers are named by index path, so the table says which layer each is.
func TestTableNamesCustomLayers(t *testing.T) {
	cfg, err := config.Parse("c.yaml", []byte("model: custom\nnetwork:\n  - conv: {out: 4, kernel: 3}\n  - batchnorm\n  - relu\n  - flatten\n  - linear: 10\n"))
	if err != nil {
		t.Fatal(err)
	}
	h := runs.Health{Epoch: 1, Batch: 300, Step: 300, LR: 0.01}
	for _, name := range []string{"0", "1", "4"} {
		h.Layers = append(h.Layers, runs.LayerHealth{Name: name, WeightNorm: 1, GradNorm: 0.1, UpdateRatio: 1e-3})
	}
	p := New(plain())
	p.SetSnapshot(train.Snapshot{RunID: "r", State: train.Running, Config: cfg, Health: []runs.Health{h}})
	out := p.Render(80, 24)
	for _, want := range []string{"\n0 conv ", "\n1 batchnorm ", "\n4 linear ", "lr 0.01 · 1 record "} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks a row starting %q:\n%s", want[1:], out)
		}
	}
}
