package editor

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"mnist-tui/ui/view"
)

// Switching to your own network in the editor: the side panel names the changed keys with
// readable values, and applying restarts the run with the network.
func TestEditToACustomNetwork(t *testing.T) {
	p, _ := newPage(t, sample)
	custom := strings.Replace(sample, "model: cnn", "model: custom", 1) + "network:\n  - flatten\n  - linear: 32\n  - relu\n  - linear: 10\n"
	edit(p, custom)
	side := p.Render(160, 40)
	for _, want := range []string{`model: "cnn" → "custom"`, "network: none → 4 layers"} {
		if !strings.Contains(side, want) {
			t.Errorf("the panel lacks %q:\n%s", want, side)
		}
	}
	p.Update(ctrlS())
	msg, ok := run(p.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("y")})).(view.RestartMsg)
	if !ok || msg.Config.Model != "custom" || msg.Config.Network == nil || len(msg.Config.Network.Layers) != 4 {
		t.Fatalf("y gave %+v, want a restart with the custom network", msg)
	}
}
