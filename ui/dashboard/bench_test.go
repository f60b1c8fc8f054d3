package dashboard

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"mnist-tui/engine/train"
)

// BenchmarkRedraw is one throttled redraw in a running 120x40 dashboard
// with a new log point, the common case: at most 10 of these a second.
func BenchmarkRedraw(b *testing.B) {
	run := newSyntheticRun(10, 100, 1) // a log point every batch
	f := newFakeTrainer(run.start())
	f.update(func(s *train.Snapshot) { run.advance(s, 450) })
	var m tea.Model = New(f, Options{NoColor: true})
	m, _ = m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	b.ReportAllocs()
	for b.Loop() {
		f.update(func(s *train.Snapshot) { run.step(s) })
		m, _ = m.Update(redrawMsg{})
	}
}

// BenchmarkView is what bubbletea calls after every message.
func BenchmarkView(b *testing.B) {
	f := newFakeTrainer(midRun())
	var m tea.Model = New(f, Options{NoColor: true})
	m, _ = m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	for b.Loop() {
		_ = m.View()
	}
}
