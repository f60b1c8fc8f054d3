package dashboard

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"mnist-tui/engine/config"
	"mnist-tui/engine/doctor"
	"mnist-tui/engine/runs"
	"mnist-tui/engine/train"
	"mnist-tui/ui/editor"
	"mnist-tui/ui/health"
	"mnist-tui/ui/view"
)

// run feeds the messages cmd gives (a batch's one by one) to the model,
// and those of the commands they give in turn: a page's request reaches
// the page that answers it, and the answer comes back.
func run(t *testing.T, m Model, cmd tea.Cmd, depth int) Model {
	t.Helper()
	if cmd == nil || depth > 4 {
		return m
	}
	msg := cmd()
	if batch, ok := msg.(tea.BatchMsg); ok {
		for _, c := range batch {
			m = run(t, m, c, depth+1)
		}
		return m
	}
	switch msg.(type) {
	case view.EditMsg, view.EditedMsg, view.SendMsg:
		var next tea.Cmd
		m, next = step(t, m, msg)
		return run(t, m, next, depth+1)
	}
	return m // the dashboard's own timers and listeners
}

// The doctor's fix on the health page is an edit made on the config page:
// the config file gets the new learning rate, the trainer a live change
// with the note as its reason, the editor's text the new value; u puts it
// back the same way.
func TestDoctorsFixIsAConfigEdit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	text := "# mine\nlearning_rate: 0.00001\nepochs: 2\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s := midRun()
	s.State, s.LR = train.Running, 1e-5
	s.Config = config.Defaults()
	s.Config.LearningRate, s.Config.Epochs = 1e-5, 2
	s.Notes = []runs.Note{{Epoch: 1, Batch: 600, Step: 600, Rule: doctor.RuleStepTooLow, Text: "Each step is tiny.", FixKey: doctor.LearningRate, FixFactor: 10}}
	pages := []view.View{editor.New(path, []byte(text), view.Options{NoColor: true}), health.New(view.Options{NoColor: true})}
	f, m, _ := newTestModel(t, s, Options{NoColor: true, Pages: pages}, 120, 40)

	m = apply(t, m, press("h"))
	next, cmd := step(t, m, press("f"))
	m = run(t, next, cmd, 0)
	var set *train.SetHyper
	for _, c := range f.sent {
		if h, ok := c.(train.SetHyper); ok {
			set = &h
		}
	}
	if set == nil || set.LearningRate == nil || *set.LearningRate != 1e-4 || !strings.Contains(set.Why, "doctor: step_too_low at step 600") {
		t.Fatalf("sent %+v, want learning rate 1e-4 with the note as its reason", f.sent)
	}
	if written, _ := os.ReadFile(path); string(written) != "# mine\nlearning_rate: 0.0001\nepochs: 2\n" {
		t.Errorf("config file:\n%s", written)
	}
	f.update(func(s *train.Snapshot) { s.LR, s.Config.LearningRate = 1e-4, 1e-4 }) // the trainer applied it
	m = apply(t, m, redrawMsg{})
	if v := m.View(); !strings.Contains(v, "1e-05 → 0.0001") || !strings.Contains(v, "u undoes") {
		t.Errorf("the health page does not say the fix is applied:\n%s", v)
	}

	next, cmd = step(t, m, press("u"))
	m = run(t, next, cmd, 0)
	last, _ := f.sent[len(f.sent)-1].(train.SetHyper)
	if last.LearningRate == nil || *last.LearningRate != 1e-5 || !strings.Contains(last.Why, "undo") {
		t.Errorf("u sent %+v, want learning rate 1e-5 back as an undo", f.sent[len(f.sent)-1])
	}
	written, _ := os.ReadFile(path)
	if back, err := config.Parse(path, written); err != nil || back.LearningRate != 1e-5 || !strings.HasPrefix(string(written), "# mine\n") {
		t.Errorf("config file after the undo (%v):\n%s\nwant learning rate 1e-5 again, the comment kept", err, written)
	}
}
