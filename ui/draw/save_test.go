package draw

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mnist-tui/dataset"
	"mnist-tui/dataset/prepare"
	"mnist-tui/engine"
	"mnist-tui/engine/train"
	"mnist-tui/ui/view"
)

// readLikePredict is what `mnist-tui predict` does with a picture file.
func readLikePredict(t *testing.T, net *engine.Net, info dataset.Info, path string) ([784]uint8, [10]float32) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := prepare.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	pixels, err := prepare.FromImage(img)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pixels, train.Classify(net, info, pixels)
}

func TestSavedDrawingReadsTheSameInPredict(t *testing.T) {
	info, err := dataset.Lookup("mnist")
	if err != nil {
		t.Fatal(err)
	}
	net, err := engine.NewNet("linear", 7, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := newPage(NewFixed(net, info, "linear"), view.Options{NoColor: true})
	p.SetSaveDir(dir)
	drawSeven(p)
	live := p.guess
	if live.state != answered {
		t.Fatalf("no answer for the drawing (state %d, %v)", live.state, live.err)
	}

	runCmd(t, p, p.Update(keyPress("x")))
	path := filepath.Join(dir, "drawing-1.png")
	if !strings.Contains(p.message, path) {
		t.Errorf("status %q does not say where the drawing went (%s)", p.message, path)
	}
	pixels, probs := readLikePredict(t, net, info, path)
	if pixels != live.pixels {
		t.Error("predict prepares the saved PNG differently from the live drawing")
	}
	if probs != live.probs {
		t.Errorf("predict reads the saved PNG as %v, the page as %v", probs, live.probs)
	}

	// The PNG is the raw canvas: 28x28, ink white on black, as MNIST.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := prepare.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != Side || b.Dy() != Side {
		t.Errorf("saved %v, want 28x28", b)
	}
	for _, px := range []point{{0, 0}, {13, 5}, {14, 22}} {
		r, _, _, _ := img.At(px.x, px.y).RGBA()
		if want := uint32(p.Canvas().At(px.x, px.y)) * 0x101; r != want {
			t.Errorf("pixel %v saved as %d, the canvas has %d", px, r, want)
		}
	}

	// Saving again never overwrites.
	runCmd(t, p, p.Update(keyPress("x")))
	if _, err := os.Stat(filepath.Join(dir, "drawing-2.png")); err != nil {
		t.Errorf("second save: %v (status %q)", err, p.message)
	}
}

func TestSaveRefusesAnEmptyCanvas(t *testing.T) {
	dir := t.TempDir()
	p := newPage(fakeModel{probs: sevenish}, view.Options{NoColor: true})
	p.SetSaveDir(dir)
	runCmd(t, p, p.Update(keyPress("x")))
	if !strings.Contains(p.message, "nothing to save") {
		t.Errorf("status %q, want it to say there is nothing to save", p.message)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("saved %d files for an empty canvas", len(entries))
	}
}

func TestSaveReportsAFolderThatIsNotThere(t *testing.T) {
	p := newPage(fakeModel{probs: sevenish}, view.Options{NoColor: true})
	missing := filepath.Join(t.TempDir(), "gone")
	p.SetSaveDir(missing)
	drawSeven(p)
	runCmd(t, p, p.Update(keyPress("x")))
	if !strings.Contains(p.message, "save the drawing") || !strings.Contains(p.message, "gone") {
		t.Errorf("status %q does not say the save failed and where", p.message)
	}
}
