package layers

import (
	"cmp"
	"context"
	"io"
	"os"
	"strconv"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"mnist-tui/dataset"
	"mnist-tui/engine"
	"mnist-tui/engine/network"
	"mnist-tui/ui/view"
)

func TestMain(m *testing.M) {
	// Nothing drawn through lipgloss's default renderer may probe the terminal running the
	// tests.
	lipgloss.SetColorProfile(termenv.Ascii)
	lipgloss.SetHasDarkBackground(true)
	os.Exit(m.Run())
}

// font is a 3x5 digit font: the test images are these glyphs scaled up.
var font = [10][5]string{
	{"###", "#.#", "#.#", "#.#", "###"},
	{".#.", "##.", ".#.", ".#.", "###"},
	{"###", "..#", "###", "#..", "###"},
	{"###", "..#", "###", "..#", "###"},
	{"#.#", "#.#", "###", "..#", "..#"},
	{"###", "#..", "###", "..#", "###"},
	{"###", "#..", "###", "#.#", "###"},
	{"###", "..#", "..#", "..#", "..#"},
	{"###", "#.#", "###", "#.#", "###"},
	{"###", "#.#", "###", "..#", "###"},
}

// testSet is n images: digit i%10 drawn four times the font's size.
func testSet(n int) *dataset.Set {
	s := &dataset.Set{Name: "test", N: n, Images: make([]uint8, n*dataset.ImageSize), Labels: make([]uint8, n)}
	for i := range n {
		d := i % 10
		s.Labels[i] = uint8(d)
		img := s.Image(i)
		for fy, row := range font[d] {
			for fx, c := range row {
				if c != '#' {
					continue
				}
				for y := 4 + 4*fy; y < 8+4*fy; y++ {
					for x := 8 + 4*fx; x < 12+4*fx; x++ {
						img[y*28+x] = 255
					}
				}
			}
		}
	}
	return s
}

// synthetic is a Source whose capture is made of the network's shapes and whole-number
// patterns, not computed: golden files must not depend on the float rounding of a platform.
type synthetic struct {
	spec  *network.Network
	model string // "cnn" unless set
	calls int
}

func (s *synthetic) Capture(_ context.Context, img []uint8) (Capture, error) {
	s.calls++
	var outs []engine.LayerOutput
	k := 0
	var walk func(layers []network.Layer, prefix string, depth int)
	walk = func(layers []network.Layer, prefix string, depth int) {
		for i := range layers {
			l := &layers[i]
			path := prefix + strconv.Itoa(i)
			k++
			o := engine.LayerOutput{Path: path, Layer: l, Depth: depth, Values: make([]float32, l.OutShape.Size())}
			for i := range o.Values {
				// Diagonal stripes whose period and phase change with the layer; the image's
				// ink shows through in the first layers.
				o.Values[i] = float32((i*(k+2)+i/(k+5))%13) - 4
				if i < len(img) && img[i] > 0 && k <= 3 {
					o.Values[i] += 8
				}
			}
			if l.Kind == network.Conv {
				o.Weight = make([]float32, l.Out*l.In[0]*l.Kernel*l.Kernel)
				for i := range o.Weight {
					o.Weight[i] = float32((i*3)%9) - 4
				}
			}
			outs = append(outs, o)
			walk(l.Body, path+".", depth+1)
			for j, b := range l.Branches {
				walk(b, path+"."+strconv.Itoa(j)+".", depth+1)
			}
		}
	}
	walk(s.spec.Layers, "", 0)
	c := Capture{Outputs: outs, Model: cmp.Or(s.model, "cnn"), Step: 1234, Run: "run-1"}
	for i := range c.Probs {
		c.Probs[i] = 0.01
	}
	c.Probs[img[4*28+9]%10] += 0.9 // a class that depends on the image, to see it change
	return c, nil
}

// Renderers with a fixed profile: nothing depends on the terminal.
func fixedRenderer(p termenv.Profile) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(p)
	return r
}

func noColor() view.Options {
	return view.Options{Renderer: fixedRenderer(termenv.Ascii), NoColor: true}
}

func colour() view.Options { return view.Options{Renderer: fixedRenderer(termenv.ANSI256)} }

// press is the message of a key.
func press(k string) tea.KeyMsg {
	switch k {
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "left":
		return tea.KeyMsg{Type: tea.KeyLeft}
	case "right":
		return tea.KeyMsg{Type: tea.KeyRight}
	case "pgdown":
		return tea.KeyMsg{Type: tea.KeyPgDown}
	case "pgup":
		return tea.KeyMsg{Type: tea.KeyPgUp}
	case "home":
		return tea.KeyMsg{Type: tea.KeyHome}
	case "end":
		return tea.KeyMsg{Type: tea.KeyEnd}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// settle runs the page's commands as the dashboard would, until it has nothing more to do:
// ticks are dropped (they would wait), captures are run and answered.
func settle(t *testing.T, p *Page, cmd tea.Cmd) {
	t.Helper()
	queue := []tea.Cmd{cmd}
	for n := 0; len(queue) > 0; n++ {
		if n > 100 {
			t.Fatal("the page's commands never settle")
		}
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		switch msg := c().(type) {
		case tea.BatchMsg:
			queue = append(queue, msg...)
		case capturedMsg:
			queue = append(queue, p.Update(msg))
		}
	}
}

// open makes a page over src showing set, opened by its key, its capture done.
func open(t *testing.T, src Source, opts view.Options, set *dataset.Set) *Page {
	t.Helper()
	p := New(src, opts)
	p.SetTestSet(set, [10]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"})
	settle(t, p, p.Update(view.OpenedMsg{Key: "l"}))
	return p
}

// keys sends key presses and runs what they start.
func keys(t *testing.T, p *Page, ks ...string) {
	t.Helper()
	for _, k := range ks {
		settle(t, p, p.Update(press(k)))
	}
}

func mustSpec(t testing.TB, src string) *network.Network {
	t.Helper()
	n, err := network.ParseFile("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func preset(t testing.TB, name string) *network.Network {
	t.Helper()
	n, err := network.Preset(name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// blocks is a custom network with a residual block and a branches block.
const blocks = `network:
  - conv: {out: 4, kernel: 3, padding: 1}
  - relu
  - maxpool: 2
  - residual:
      - conv: {out: 4, kernel: 3, padding: 1}
      - relu
  - branches:
      - - conv: {out: 2, kernel: 1}
      - - avgpool: {kernel: 3, stride: 1, padding: 1}
        - conv: {out: 3, kernel: 1}
  - global_avgpool
  - flatten
  - dropout: 0.2
  - linear: 10
`
