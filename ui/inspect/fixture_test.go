package inspect

import (
	"io"
	"os"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"mnist-tui/dataset"
	"mnist-tui/engine/train"
	"mnist-tui/ui/view"
)

func TestMain(m *testing.M) {
	// Nothing drawn through lipgloss's default renderer may probe the
	// terminal running the tests.
	lipgloss.SetColorProfile(termenv.Ascii)
	lipgloss.SetHasDarkBackground(true)
	os.Exit(m.Run())
}

// font is a 3x5 digit font: the synthetic images are these glyphs scaled
// up, so that golden files show recognisable digits.
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

// glyph draws digit d four times the font's size, shifted a column left or
// right and inked more or less strongly by variant, so images differ.
func glyph(d, variant int) []uint8 {
	img := make([]uint8, imagePixel)
	ink := uint8(255 - 60*(variant%3))
	dx := variant%3 - 1
	for fy, row := range font[d%10] {
		for fx, c := range row {
			if c != '#' {
				continue
			}
			for y := 4 + 4*fy; y < 8+4*fy; y++ {
				for x := 8 + 4*fx + dx; x < 12+4*fx+dx; x++ {
					img[y*imageSide+x] = ink
				}
			}
		}
	}
	return img
}

// newSet is a set whose image i is a glyph of its label.
func newSet(name string, labels []uint8) *dataset.Set {
	s := &dataset.Set{Name: name, Labels: labels, N: len(labels)}
	for i, l := range labels {
		s.Images = append(s.Images, glyph(int(l), i)...)
	}
	return s
}

// evaluate builds the evaluation a model answering preds with confidences
// conf would get: the prediction has conf, the truth (when wrong) most of
// the rest, the other classes share what remains. The confusion matrix is
// left empty: the pages must not need it.
func evaluate(labels, preds []uint8, conf []float32) *train.Evaluation {
	ev := &train.Evaluation{N: len(labels), Pred: preds, Conf: conf, Probs: make([]float32, 10*len(labels))}
	for i := range labels {
		p := ev.Probs[i*10 : (i+1)*10]
		rest := 1 - conf[i]
		others := 9
		if labels[i] != preds[i] {
			p[labels[i]] = 0.7 * rest
			rest -= p[labels[i]]
			others = 8
		}
		for c := range p {
			if c != int(preds[i]) && c != int(labels[i]) {
				p[c] = rest / float32(others)
			}
		}
		p[preds[i]] = conf[i]
		if labels[i] == preds[i] {
			ev.Correct++
		}
	}
	return ev
}

// The hand-made test set used throughout: twelve images and what a model
// said about them.
var (
	handLabels = []uint8{0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 9, 9}
	handPreds  = []uint8{0, 0, 1, 1, 1, 2, 7, 2, 2, 5, 9, 4}
	handConf   = []float32{0.99, 0.95, 0.60, 0.90, 0.97, 0.88, 0.91, 0.70, 0.99, 0.55, 0.80, 0.91}
)

// handMatrix is the confusion matrix of the hand-made set, counted by hand.
func handMatrix() Matrix {
	var m Matrix
	m[0][0], m[0][1] = 2, 1
	m[1][1] = 2
	m[2][2], m[2][7] = 3, 1
	m[3][5] = 1
	m[9][9], m[9][4] = 1, 1
	return m
}

// handSnapshot is a snapshot after an evaluation of the hand-made test set.
func handSnapshot(info dataset.Info) train.Snapshot {
	test := newSet("test", handLabels)
	train60 := make([]uint8, 60)
	for i := range train60 {
		train60[i] = uint8((i * 7) % 10)
	}
	return train.Snapshot{
		Classes: info.Classes,
		Data:    &train.Data{Info: info, Train: newSet("train", train60), Test: test},
		Eval:    evaluate(handLabels, handPreds, handConf),
	}
}

func mnistInfo(t *testing.T) dataset.Info   { return lookup(t, "mnist") }
func fashionInfo(t *testing.T) dataset.Info { return lookup(t, "fashion-mnist") }

func lookup(t testing.TB, name string) dataset.Info {
	t.Helper()
	info, err := dataset.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return info
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
	case "pgup":
		return tea.KeyMsg{Type: tea.KeyPgUp}
	case "pgdown":
		return tea.KeyMsg{Type: tea.KeyPgDown}
	case "home":
		return tea.KeyMsg{Type: tea.KeyHome}
	case "end":
		return tea.KeyMsg{Type: tea.KeyEnd}
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// send types keys into a page.
func send(v view.View, keys ...string) {
	for _, k := range keys {
		v.Update(press(k))
	}
}

// lines splits a drawing into its lines.
func lines(s string) []string { return strings.Split(s, "\n") }
