package editor

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"mnist-tui/engine/config"
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

// While the user types a network, the side panel shows its summary: each
// layer with its output shape and parameters, and the totals.
func TestPanelSummarizesTheNetwork(t *testing.T) {
	p, _ := newPage(t, sample)
	custom := strings.Replace(sample, "model: cnn", "model: custom\nname: tiny", 1) + "network:\n  - flatten\n  - linear: 32\n  - relu\n  - linear: 10\n"
	edit(p, custom)
	out := ansi.Strip(p.Render(160, 40))
	for _, want := range []string{"network tiny · 4 layers", "Flatten", "[784]", "Linear(784, 32)", "[32]", "25,120", "Linear(32, 10)", "330", "25,450 params"} {
		if !strings.Contains(out, want) {
			t.Errorf("the panel lacks %q:\n%s", want, out)
		}
	}
	// Too little room: the first layers, then how many more, and never
	// more lines than the height, though a change wraps onto two lines.
	edit(p, strings.Replace(custom, "name: tiny", "name: a-long-network-name-for-the-test-xyz", 1))
	out = ansi.Strip(p.Render(160, 14))
	if !strings.Contains(out, "more (mnist-tui summary)") || !strings.Contains(out, "25,450 params") {
		t.Errorf("a short panel does not say what it left out:\n%s", out)
	}
	if lines := strings.Count(out, "\n") + 1; lines > 14 {
		t.Errorf("%d lines drawn in a height of 14:\n%s", lines, out)
	}
}

// A wrong network is shown where it is wrong: its line, and a caret under
// the column.
func TestPanelPointsAtTheWrongLayer(t *testing.T) {
	p, _ := newPage(t, sample)
	bad := strings.Replace(sample, "model: cnn", "model: custom", 1) + "network:\n  - flatten\n  - linaer: 10\n"
	edit(p, bad)
	out := ansi.Strip(p.Render(160, 40))
	want := "line 9, column 5:\n"
	if !strings.Contains(out, "linaer") || !strings.Contains(out, "line 9, column 5:") {
		t.Fatalf("the panel does not point at line 9:\n%s", out)
	}
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.Contains(l, strings.TrimSuffix(want, "\n")) && i+2 < len(lines) {
			src, caret := lines[i+1], lines[i+2]
			at := strings.Index(src, "  - linaer: 10")
			if at < 0 || strings.Index(caret, "^") != at+4 {
				t.Errorf("caret not under column 5:\n%s\n%s", src, caret)
			}
		}
	}
}

// Changing a layer of a running custom network names that layer in the
// list of changes, not only the count of layers.
func TestChangeListNamesTheChangedLayer(t *testing.T) {
	base := strings.Replace(sample, "model: cnn", "model: custom", 1) + "network:\n  - flatten\n  - linear: 32\n  - relu\n  - linear: 10\n"
	for _, c := range []struct{ name, from, to, want string }{
		{"widened", "linear: 32\n  - relu\n  - linear: 10", "linear: 64\n  - relu\n  - linear: 10", "network: layer 1: Linear(784, 32) → Linear(784, 64)"},
		{"added", "relu\n  - linear: 10", "relu\n  - dropout: 0.5\n  - linear: 10", "network: layer 3: Linear(32, 10) → Dropout(0.5) (4 → 5 layers)"},
		{"removed", "  - relu\n", "", "network: layer 2: ReLU → Linear(32, 10) (4 → 3 layers)"},
		{"appended", "linear: 32\n  - relu\n  - linear: 10\n", "linear: 32\n  - relu\n  - linear: 10\n  - relu\n  - linear: 10\n", "network: layer 4 added: ReLU (4 → 6 layers)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, _ := newPage(t, base)
			edit(p, strings.Replace(base, c.from, c.to, 1))
			if got := p.changeLine("network", nil, nil); strings.TrimSpace(got) != c.want {
				t.Errorf("change line %q, want %q", got, c.want)
			}
			// The panel wraps it in its width; its start is on screen.
			if side := ansi.Strip(p.Render(160, 40)); !strings.Contains(side, c.want[:len("network: layer 1")]) {
				t.Errorf("the panel lacks %q:\n%s", c.want, side)
			}
		})
	}
}

// A module cut to fit the panel keeps a space before its output shape.
func TestPanelKeepsColumnsApart(t *testing.T) {
	cfg, err := config.Parse("c.yaml", []byte("model: custom\nnetwork:\n  - conv: {out: 16, kernel: 3, padding: 1}\n  - flatten\n  - linear: 10\n"))
	if err != nil {
		t.Fatal(err)
	}
	for width := 30; width <= 60; width++ {
		for _, l := range networkLines(cfg, width, 20) {
			if strings.Contains(l, "…[") {
				t.Errorf("width %d: a cut module runs into its shape: %q", width, l)
			}
		}
	}
}

// On an 80-column terminal the panel is 26 columns: the header, the count of the layers left
// out and the totals are worded to fit rather than cut.
func TestPanelFitsANarrowColumn(t *testing.T) {
	cfg, err := config.Parse("c.yaml", []byte("model: custom\nname: wide-bn\nnetwork:\n"+strings.Repeat("  - relu\n", 10)+"  - flatten\n  - linear: 10\n"))
	if err != nil {
		t.Fatal(err)
	}
	lines := networkLines(cfg, 26, 8)
	if len(lines) > 8 {
		t.Errorf("%d lines in a room of 8", len(lines))
	}
	out := strings.Join(lines, "\n")
	for _, want := range []string{"wide-bn · 12 layers", "more\n", "7,850 params\n", "0.01 M mult-adds/image"} {
		if !strings.Contains(out, want) {
			t.Errorf("the panel lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "…\n") || strings.HasSuffix(out, "…") {
		t.Errorf("a line is cut:\n%s", out)
	}
}

// Where PyTorch's name for a layer does not fit the panel, a terser one does: on an 80-column
// terminal "Conv2d(1, 16, k=3, p=1)" was cut to "Conv2d(1, 16, k…".
func TestPanelNamesLayersTerselyWhenNarrow(t *testing.T) {
	cfg, err := config.Parse("c.yaml", []byte("model: custom\nnetwork:\n  - conv: {out: 16, kernel: 3, padding: 1}\n  - maxpool: 2\n  - conv: {out: 32, kernel: 5, stride: 2, bias: false}\n  - flatten\n  - linear: 10\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		width int
		want  []string
	}{
		{26, []string{" Conv 1→16 k3 p1 ", " MaxPool2d(2) ", " Conv 16→32 k5 s2…", " Linear(800, 10) "}},
		{60, []string{" Conv2d(1, 16, k=3, p=1) ", " Conv2d(16, 32, k=5, s=2, no bias) ", " Linear(800, 10) "}},
	} {
		out := strings.Join(networkLines(cfg, c.width, 20), "\n")
		for _, want := range c.want {
			if !strings.Contains(out, want) {
				t.Errorf("width %d: the panel lacks %q:\n%s", c.width, want, out)
			}
		}
	}
}

// A network typed while model is not custom is valid but not trained: the panel says so.
func TestPanelNotesAnUnusedNetwork(t *testing.T) {
	p, _ := newPage(t, sample)
	edit(p, sample+"network:\n  - flatten\n  - linear: 10\n")
	if out := ansi.Strip(p.Render(160, 40)); !strings.Contains(out, "set model: custom to train it") {
		t.Errorf("the panel does not say the network is unused:\n%s", out)
	}
}

// The panel never runs past the page's height, whatever wraps in it: a change of the network
// broken at its words, the question to restart, the network's summary in what is left.
func TestPanelFitsTheHeight(t *testing.T) {
	text := "model: custom\nname: wide-bn\nnetwork:\n  - conv: {out: 16, kernel: 3, padding: 1}\n  - relu\n  - flatten\n  - dropout: 0.25\n  - linear: 10\n"
	for height := 16; height <= 30; height++ { // 80x24 leaves the page about 18 lines
		p, _ := newPage(t, text)
		edit(p, strings.Replace(text, "dropout: 0.25", "dropout: 0.5", 1))
		p.Update(ctrlS()) // a new run is needed: the page asks
		if !p.confirm {
			t.Fatal("no question to restart")
		}
		if got := lipgloss.Height(p.Render(80, height)); got > height {
			t.Errorf("height %d: the page is %d lines:\n%s", height, got, ansi.Strip(p.Render(80, height)))
		}
	}
}
