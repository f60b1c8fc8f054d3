package network

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// The presets written in the format must have the hand-written models' parameter counts
// (engine.NewNet(m).NumParams(): 575,050 / 21,840 / 97,298 / 41,514), and the cnn its known multiply-adds.
func TestPresetsMatchTheModels(t *testing.T) {
	for name, want := range map[string]int{"linear": 575050, "cnn": 21840, "inception": 97298, "residual": 41514} {
		n, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		if s := Summarize(name, n, 64); s.Params != want {
			t.Errorf("%s: %d params, want %d", name, s.Params, want)
		}
	}
	n, _ := Preset("cnn")
	// conv1 10·24·24·25 + conv2 20·8·8·250 + 320·50 + 50·10 per image.
	if got, want := Summarize("cnn", n, 1).MultiplyAdds, 10*24*24*25+20*8*8*250+320*50+50*10; got != want {
		t.Errorf("cnn: %d multiply-adds, want %d", got, want)
	}
}

func TestSummaryTable(t *testing.T) {
	n, err := ParseFile("c.yaml", []byte(example))
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize("wide-bn", n, 64)
	// 16·9+16 + 2·16 + 32·16·9+32 + 1568·64+64 + 64·10+10
	if want := 160 + 32 + 4640 + 100416 + 650; s.Params != want {
		t.Errorf("params %d, want %d", s.Params, want)
	}
	if s.Buffers != 32 {
		t.Errorf("buffers %d, want 32", s.Buffers)
	}
	out := s.String()
	for _, want := range []string{"Conv2d(1, 16, k=3, p=1) (0)", "[64,16,28,28]", "BatchNorm2d(16) (1)", "Dropout(0.25) (8)",
		"Linear(1568, 64) (9)", "100,416", "Total params: 105,898", "Network wide-bn"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

// What `mnist-tui models cnn` prints, pasted under network:, is the same network.
func TestPresetYAMLPastes(t *testing.T) {
	for _, name := range Presets() {
		text, ok := PresetYAML(name)
		if !ok {
			t.Fatalf("no YAML for %s", name)
		}
		pasted, err := ParseFile("config.yaml", []byte("model: custom\nnetwork:\n"+text))
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, text)
		}
		preset, _ := Preset(name)
		if pasted.YAML() != preset.YAML() {
			t.Errorf("%s pastes as\n%s\nwant\n%s", name, pasted.YAML(), preset.YAML())
		}
	}
	if _, ok := PresetYAML("vgg"); ok {
		t.Error("a YAML for an unknown model")
	}
}

// The table fits an 80-column terminal for the example and the presets, its columns line up,
// and the running statistics are counted only where there are some.
func TestSummaryFitsAndAligns(t *testing.T) {
	networks := map[string]*Network{}
	n, err := ParseFile("c.yaml", []byte(example))
	if err != nil {
		t.Fatal(err)
	}
	networks["example"] = n
	for _, name := range Presets() {
		if networks[name], err = Preset(name); err != nil {
			t.Fatal(err)
		}
	}
	for name, n := range networks {
		out := Summarize(name, n, 64).String()
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		shapeAt := strings.Index(lines[1], "Output shape")
		for _, l := range lines {
			if w := utf8.RuneCountInString(l); w > 80 {
				t.Errorf("%s: a line %d wide: %q", name, w, l)
			}
			// A layer's row (the only lines with a shape): its shape starts under the header's.
			if i := strings.Index(l, "["); i >= 0 && i != shapeAt {
				t.Errorf("%s: shape at column %d, header at %d: %q", name, i, shapeAt, l)
			}
		}
		hasBN := strings.Contains(out, "BatchNorm2d(")
		if got := strings.Contains(out, "with the BatchNorm running statistics"); got != hasBN {
			t.Errorf("%s: running statistics mentioned %v, network has BatchNorm %v:\n%s", name, got, hasBN, out)
		}
	}
}
