package layers

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"

	"mnist-tui/dataset"
	"mnist-tui/engine"
	"mnist-tui/engine/config"
	"mnist-tui/engine/network"
	"mnist-tui/engine/runs"
	"mnist-tui/engine/train"
	"mnist-tui/ui/view"
)

// The page area of an 80x24 terminal under the dashboard (its header, tab line and status
// lines take the rest), and of a 120x40 one.
const (
	smallW, smallH = 80, 18
	roomyW, roomyH = 120, 34
)

// Golden files hold the page drawn from synthetic captures at fixed sizes, with renderers of a
// fixed colour profile. Regenerate them with
//
//	go test ./ui/layers -update
//
// and read the diff before committing it.
func golden(t *testing.T, p *Page, width, height int) {
	t.Helper()
	teatest.RequireEqualOutput(t, []byte(p.Render(width, height)))
}

func TestGoldenCNN80x24Colour(t *testing.T) {
	golden(t, open(t, &synthetic{spec: preset(t, "cnn")}, colour(), testSet(12)), smallW, smallH)
}

func TestGoldenCNN80x24ASCII(t *testing.T) {
	golden(t, open(t, &synthetic{spec: preset(t, "cnn")}, noColor(), testSet(12)), smallW, smallH)
}

func TestGoldenCNN120x40Colour(t *testing.T) {
	p := open(t, &synthetic{spec: preset(t, "cnn")}, colour(), testSet(12))
	keys(t, p, "right", "right", "right")
	golden(t, p, roomyW, roomyH)
}

func TestGoldenCNN120x40ColourLastPage(t *testing.T) {
	p := open(t, &synthetic{spec: preset(t, "cnn")}, colour(), testSet(12))
	p.Render(roomyW, roomyH)
	keys(t, p, "end")
	golden(t, p, roomyW, roomyH)
}

func TestGoldenBlocksPagedASCII(t *testing.T) {
	p := open(t, &synthetic{spec: mustSpec(t, blocks)}, noColor(), testSet(12))
	p.Render(smallW, smallH)
	keys(t, p, "j", "j", "j", "j")
	golden(t, p, smallW, smallH)
}

func TestGoldenTooSmall(t *testing.T) {
	golden(t, open(t, &synthetic{spec: preset(t, "cnn")}, noColor(), testSet(12)), 30, 6)
}

// plain is the page's text without its colours.
func plain(p *Page, w, h int) string { return ansi.Strip(p.Render(w, h)) }

// The layer keys move by whole layers, the page keys by a screen, home and end to the ends;
// the footer says which layers are on screen.
func TestPagingKeys(t *testing.T) {
	p := open(t, &synthetic{spec: preset(t, "cnn")}, noColor(), testSet(12))
	first := func() string { return strings.Split(plain(p, smallW, smallH), "\n")[1] }
	footer := func() string {
		ls := strings.Split(plain(p, smallW, smallH), "\n")
		return ls[len(ls)-1]
	}
	if !strings.HasPrefix(first(), "input") || !strings.HasPrefix(footer(), "layers 1-") {
		t.Fatalf("at the top: %q … %q", first(), footer())
	}
	keys(t, p, "j")
	if !strings.HasPrefix(first(), "0 conv 5x5") || !strings.HasPrefix(footer(), "layers 2-") {
		t.Errorf("after j: %q … %q", first(), footer())
	}
	keys(t, p, "down")
	if !strings.HasPrefix(first(), "1 relu") {
		t.Errorf("after down: %q", first())
	}
	keys(t, p, "k", "up", "up")
	if !strings.HasPrefix(first(), "input") {
		t.Errorf("after k, up, up: %q", first())
	}
	body := smallH - 2
	keys(t, p, "pgdown")
	if p.top != body {
		t.Errorf("pgdown moved to line %d, want %d (a screen of layers)", p.top, body)
	}
	keys(t, p, "end")
	text := plain(p, smallW, smallH)
	if !strings.Contains(text, "probabilities") || !strings.Contains(footer(), "of 11") || strings.Contains(text, "input") {
		t.Errorf("at the end:\n%s", text)
	}
	last := p.top
	keys(t, p, "pgdown", "j")
	if plain(p, smallW, smallH); p.top != last {
		t.Errorf("past the end the page moved from line %d to %d", last, p.top)
	}
	keys(t, p, "home")
	if !strings.HasPrefix(first(), "input") {
		t.Errorf("after home: %q", first())
	}
	keys(t, p, "pgup")
	if plain(p, smallW, smallH); p.top != 0 {
		t.Errorf("pgup at the top moved to line %d", p.top)
	}
}

// A larger terminal shows more of the network at once, with larger tiles.
func TestLargerTerminalsShowMore(t *testing.T) {
	p := open(t, &synthetic{spec: preset(t, "cnn")}, noColor(), testSet(12))
	shown := func(w, h int) int {
		plain(p, w, h)
		n := 0
		for _, s := range p.cache.starts {
			if s < p.top+h-2 {
				n++
			}
		}
		return n
	}
	small, large := shown(smallW, smallH), shown(200, 60)
	if large <= small {
		t.Errorf("%d layers begin on a 200x60 page, %d on 80x18", large, small)
	}
	if tileSide(smallW, smallH) >= tileSide(200, 60) {
		t.Error("the tiles are no larger on a larger page")
	}
}

// ASCII mode (`a`, or NO_COLOR) draws the tiles and bars with characters, no half blocks;
// under NO_COLOR there is no escape sequence at all.
func TestASCIIMode(t *testing.T) {
	p := open(t, &synthetic{spec: preset(t, "cnn")}, colour(), testSet(12))
	if out := p.Render(smallW, 200); !strings.Contains(out, halfBlock) || !strings.ContainsAny(out, string(barRunes[1:])) {
		t.Fatal("in colour the tiles are not half blocks")
	}
	p.SetHiRes(false)
	out := p.Render(smallW, 200)
	if strings.Contains(out, halfBlock) || strings.ContainsAny(out, string(barRunes[1:])) {
		t.Errorf("ASCII mode still draws blocks:\n%s", out)
	}
	if !strings.Contains(ansi.Strip(out), "@") {
		t.Errorf("ASCII mode draws no ramp characters:\n%s", out)
	}
	p.SetHiRes(true)
	if !strings.Contains(p.Render(smallW, 200), halfBlock) {
		t.Error("back from ASCII mode the tiles are not half blocks")
	}

	q := open(t, &synthetic{spec: preset(t, "cnn")}, noColor(), testSet(12))
	q.SetHiRes(true) // the dashboard never asks without colours, but nothing may break if it did
	if out := q.Render(smallW, 200); strings.Contains(out, "\x1b") || strings.Contains(out, halfBlock) {
		t.Errorf("under NO_COLOR:\n%s", out)
	}
}

// A residual block and a branches block are shown as their parts, indented under the block's
// heading, followed by the block's own output.
func TestBlocksShownAsTheirParts(t *testing.T) {
	p := open(t, &synthetic{spec: mustSpec(t, blocks)}, noColor(), testSet(12))
	var titles []string
	for _, l := range strings.Split(plain(p, smallW, 400), "\n") {
		if strings.HasPrefix(l, "probabilities") {
			break
		}
		trimmed := strings.TrimLeft(l, " ")
		if strings.Contains(trimmed, " ") && (trimmed[0] >= '0' && trimmed[0] <= '9') && !strings.HasPrefix(l, "test") {
			indent := len(l) - len(trimmed)
			word := strings.Fields(trimmed)
			titles = append(titles, fmt.Sprintf("%d:%s %s", indent, word[0], word[1]))
		}
	}
	want := []string{
		"0:0 conv", "0:1 relu", "0:2 maxpool",
		"0:3 residual", "2:3.0 conv", "2:3.1 relu", "0:3 residual",
		"0:4 branches", "2:4.0.0 conv", "2:4.1.0 avgpool", "2:4.1.1 conv", "0:4 branches",
		"0:5 global_avgpool", "0:6 flatten", "0:7 dropout", "0:8 linear",
	}
	if strings.Join(titles, "\n") != strings.Join(want, "\n") {
		t.Errorf("layers shown (indent:title):\n%s\nwant\n%s", strings.Join(titles, "\n"), strings.Join(want, "\n"))
	}
	text := plain(p, smallW, 400)
	for _, s := range []string{"3 residual (x + its body):", "3 residual output", "4 branches (2 branches side by side", "4 branches output → 5×14×14"} {
		if !strings.Contains(text, s) {
			t.Errorf("no %q in\n%s", s, text)
		}
	}
}

// Every size draws exactly that many cells, the tiny ones a message, never a panic.
func TestEverySizeIsExact(t *testing.T) {
	for _, spec := range []*network.Network{preset(t, "cnn"), preset(t, "inception"), mustSpec(t, blocks)} {
		p := open(t, &synthetic{spec: spec}, colour(), testSet(3))
		for w := 0; w <= 130; w += 7 {
			for h := 0; h <= 45; h += 3 {
				for _, k := range []string{"", "j", "end"} {
					if k != "" {
						keys(t, p, k)
					}
					out := p.Render(w, h)
					ls := strings.Split(out, "\n")
					if h > 0 && len(ls) != h {
						t.Fatalf("%dx%d: %d lines", w, h, len(ls))
					}
					for _, l := range ls {
						if lipgloss.Width(l) > w {
							t.Fatalf("%dx%d: a line %d wide: %q", w, h, lipgloss.Width(l), l)
						}
					}
				}
			}
		}
	}
	p := open(t, &synthetic{spec: preset(t, "cnn")}, noColor(), testSet(3))
	if out := plain(p, 30, 6); !strings.Contains(out, "needs 40x8") {
		t.Errorf("30x6: %q", out)
	}
}

// The arrows pick the test image (wrapping around), v the draw page's drawing; each new digit
// is captured, and the heading names it.
func TestPickingTheDigit(t *testing.T) {
	src := &synthetic{spec: preset(t, "cnn")}
	p := open(t, src, noColor(), testSet(12))
	head := func() string { return strings.Split(plain(p, smallW, smallH), "\n")[0] }
	if h := head(); !strings.HasPrefix(h, "test image 1/12 · label 0 ·") {
		t.Fatalf("heading %q", h)
	}
	keys(t, p, "right", "right")
	if h := head(); !strings.HasPrefix(h, "test image 3/12 · label 2 ·") || src.calls != 3 {
		t.Errorf("after two rights: %q after %d captures", h, src.calls)
	}
	keys(t, p, "left", "left", "left")
	if h := head(); !strings.HasPrefix(h, "test image 12/12 · label 1 ·") {
		t.Errorf("left from the first: %q", h)
	}
	if p.Keys()[2].Enabled() {
		t.Error("v is offered without a draw page")
	}
	ink := false
	var drawn [dataset.ImageSize]uint8
	p.SetDrawing(func() ([dataset.ImageSize]uint8, bool) { return drawn, ink })
	keys(t, p, "v")
	if h := head(); !strings.HasPrefix(h, "nothing drawn yet") {
		t.Errorf("v with nothing drawn: %q", h)
	}
	copy(drawn[:], testSet(5).Image(4))
	ink = true
	settle(t, p, p.Update(tickMsg{p}))
	if h := head(); !strings.HasPrefix(h, "the drawing · cnn") {
		t.Errorf("v with a drawing: %q", h)
	}
	keys(t, p, "v")
	if h := head(); !strings.HasPrefix(h, "test image 12/12") {
		t.Errorf("v again: %q", h)
	}
}

// fakeTrainer is a run whose weights are a Net's, copied as the trainer copies them.
type fakeTrainer struct {
	mu     sync.Mutex
	snap   train.Snapshot
	net    *engine.Net
	copies int
}

func (f *fakeTrainer) Snapshot() train.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap
}

func (f *fakeTrainer) CopyWeights(_ context.Context, dst []*engine.Param) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.copies++
	src := f.net.Params()
	if len(dst) != len(src) {
		return fmt.Errorf("%d parameters into %d", len(src), len(dst))
	}
	for i := range src {
		if dst[i].Name != src[i].Name {
			return fmt.Errorf("%s into %s", src[i].Name, dst[i].Name)
		}
		copy(dst[i].Value.Data().([]float32), src[i].Value.Data().([]float32))
	}
	return engine.CopyBuffers(dst, src)
}

func runSnapshot(t *testing.T, model string, spec *network.Network, step int64) train.Snapshot {
	info, err := dataset.Lookup("mnist")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.Model, cfg.Network = model, spec
	return train.Snapshot{RunID: "run-" + model, Model: model, Config: cfg, Dataset: "mnist", State: train.Running,
		Step: step, Data: &train.Data{Info: info, Test: testSet(12)}}
}

// wantProbs is what the net answers for img: its Infer, as predict and the draw page do.
func wantProbs(net *engine.Net, img []uint8) []float32 {
	info, _ := dataset.Lookup("mnist")
	x := make([]float32, dataset.ImageSize)
	dataset.Normalize(x, img, info.Mean, info.Std)
	logits, probs := make([]float32, 10), make([]float32, 10)
	net.Infer(x, 1, logits)
	engine.Softmax(probs, logits)
	return probs
}

func closeTo(t *testing.T, what string, got [10]float32, want []float32) {
	t.Helper()
	for i := range want {
		// The probe and Infer agree to 3.7e-7 of the logits (engine's probe test).
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			t.Errorf("%s: probabilities %v, the net's %v", what, got, want)
			return
		}
	}
}

// Live follows the run: the page captures when shown and the run's step moved (at most once a
// tick), not while it stands still or when the page is hidden; the probabilities are the
// run's net's; a restart with another model is followed.
func TestLiveFollowsTheRun(t *testing.T) {
	spec := mustSpec(t, blocks)
	net, err := engine.NewCustomNet(spec, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeTrainer{snap: runSnapshot(t, config.Custom, spec, 10), net: net}
	p := New(NewLive(f), noColor())
	p.SetSnapshot(f.Snapshot())
	settle(t, p, p.Update(view.OpenedMsg{Key: "l"}))
	if f.copies != 1 || p.got == nil {
		t.Fatalf("opening the page: %d copies, capture %v, error %v", f.copies, p.got, p.err)
	}
	closeTo(t, "custom", p.got.Probs, wantProbs(net, testSet(1).Image(0)))
	if n := len(p.got.Outputs); n != 14 {
		t.Errorf("%d layers captured, want 14", n)
	}

	p.Render(smallW, smallH)
	settle(t, p, p.Update(tickMsg{p}))
	if f.copies != 1 {
		t.Errorf("a tick with the run where it was copied again (%d copies)", f.copies)
	}

	// The run moves on: new weights, a new step. Hidden, the page does not look.
	params := net.Params()
	w := params[0].Value.Data().([]float32)
	for i := range w {
		w[i] = -w[i]
	}
	f.mu.Lock()
	f.snap.Step = 20
	f.mu.Unlock()
	p.SetSnapshot(f.Snapshot())
	settle(t, p, p.Update(tickMsg{p})) // not rendered since the last tick: hidden
	if f.copies != 1 || p.next != hiddenEvery {
		t.Errorf("hidden, the page copied the weights (%d copies), next tick in %v", f.copies, p.next)
	}
	p.Render(smallW, smallH)
	settle(t, p, p.Update(tickMsg{p}))
	if p.next != refreshEvery {
		t.Errorf("shown, the next tick is in %v, want %v", p.next, refreshEvery)
	}
	if f.copies != 2 || p.got.Step != 20 {
		t.Fatalf("after the run moved: %d copies, capture of step %d", f.copies, p.got.Step)
	}
	closeTo(t, "custom after a step", p.got.Probs, wantProbs(net, testSet(1).Image(0)))

	// A restart with the cnn.
	cnn, err := engine.NewNet("cnn", 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.net, f.snap = cnn, runSnapshot(t, "cnn", nil, 1)
	f.mu.Unlock()
	p.SetSnapshot(f.Snapshot())
	p.Render(smallW, smallH)
	settle(t, p, p.Update(tickMsg{p}))
	if p.err != nil || p.got.Model != "cnn" {
		t.Fatalf("after a restart: capture of %q, error %v", p.got.Model, p.err)
	}
	closeTo(t, "cnn", p.got.Probs, wantProbs(cnn, testSet(1).Image(0)))
	if !strings.Contains(plain(p, smallW, smallH), "cnn · weights of step 1") {
		t.Errorf("heading:\n%s", plain(p, smallW, smallH))
	}
}

// A checkpoint's network (mnist-tui draw CKPT) shows the same, for the presets and a custom
// network: the capture's probabilities are its net's.
func TestFixedSourceIsTheNet(t *testing.T) {
	info, _ := dataset.Lookup("mnist")
	for _, model := range append(network.Presets(), config.Custom) {
		var net *engine.Net
		var spec *network.Network
		var err error
		if model == config.Custom {
			spec = mustSpec(t, blocks)
			net, err = engine.NewCustomNet(spec, 5, 1)
		} else {
			net, err = engine.NewNet(model, 5, 1)
		}
		if err != nil {
			t.Fatal(err)
		}
		src, err := NewFixed(net, spec, info, model)
		if err != nil {
			t.Fatal(err)
		}
		p := open(t, src, noColor(), testSet(12))
		keys(t, p, "right", "right", "right")
		if p.got == nil {
			t.Fatalf("%s: no capture: %v", model, p.err)
		}
		closeTo(t, model, p.got.Probs, wantProbs(net, testSet(4).Image(3)))
		if h := strings.Split(plain(p, smallW, smallH), "\n")[0]; !strings.Contains(h, model+" · checkpoint") {
			t.Errorf("%s: heading %q", model, h)
		}
	}
}

// Before the data set is loaded, and when a capture fails, the page says so.
func TestWaitingAndFailing(t *testing.T) {
	p := New(&synthetic{spec: preset(t, "cnn")}, noColor())
	settle(t, p, p.Update(view.OpenedMsg{Key: "l"}))
	if out := plain(p, smallW, smallH); !strings.Contains(out, "waiting for the test images") {
		t.Errorf("before the data:\n%s", out)
	}
	f := &fakeTrainer{snap: train.Snapshot{State: train.Loading, Message: "fetching mnist"}}
	q := New(NewLive(f), noColor())
	q.SetTestSet(testSet(2), [10]string{})
	settle(t, q, q.Update(view.OpenedMsg{Key: "l"}))
	if out := plain(q, smallW, smallH); !strings.Contains(out, "the model is not built yet (fetching mnist)") {
		t.Errorf("while loading:\n%s", out)
	}
}

// The page ends with the run's layer health table, as the health page
// draws it, once the run has measured it; a newer record redraws it.
func TestEndsWithTheLayerHealthTable(t *testing.T) {
	p := open(t, &synthetic{spec: preset(t, "cnn")}, noColor(), testSet(12))
	last := func() string {
		p.Render(roomyW, roomyH)
		keys(t, p, "end")
		return plain(p, roomyW, roomyH)
	}
	if out := last(); strings.Contains(out, "layer health") {
		t.Fatalf("a table before any health record:\n%s", out)
	}
	record := func(step int64, grad float64) runs.Health {
		return runs.Health{Step: step, LR: 0.01, Layers: []runs.LayerHealth{
			{Name: "conv1.0", WeightNorm: 4.38, GradNorm: grad, UpdateRatio: 1e-3},
			{Name: "fc2", WeightNorm: 2.5, GradNorm: 0.1, UpdateRatio: 4e-4},
		}}
	}
	p.SetSnapshot(train.Snapshot{Health: []runs.Health{record(300, 0.5)}})
	out := last()
	for _, want := range []string{"layer health", "|weight|", "conv1.0", "4.38", "fc2"} {
		if !strings.Contains(out, want) {
			t.Errorf("the last page lacks %q:\n%s", want, out)
		}
	}
	p.SetSnapshot(train.Snapshot{Health: []runs.Health{record(300, 0.5), record(600, 0.25)}})
	if out := last(); !strings.Contains(out, "0.25") {
		t.Errorf("a newer record is not drawn:\n%s", out)
	}
}
