package cli

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"mnist-tui/dataset"
	"mnist-tui/engine"
)

// predict --explain on a picture whose preparation is known by hand: a
// black bar of 40x20 pixels on white paper is cropped to 40x20, fitted in
// 20x10, and pasted with its centre of mass at the centre of 28x28, its
// top-left corner at (4,9); then come the saliency map and ten
// probabilities that add up to 1, in that order.
func TestExplainShowsEveryStepInOrder(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 100, 60))
	for y := range 60 {
		for x := range 100 {
			c := uint8(255)
			if x >= 30 && x < 70 && y >= 20 && y < 40 {
				c = 0
			}
			img.SetGray(x, y, color.Gray{c})
		}
	}
	path := filepath.Join(t.TempDir(), "bar.png")
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, buf.Bytes(), 0o644)
	net, err := engine.NewNet("cnn", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := dataset.Lookup("mnist")
	var out bytes.Buffer
	if err := explainFile(&out, net, info, path); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	steps := []string{
		"1. cropped to the ink: 40x20 of 100x60 px",
		"2. fitted in 20x20: 20x10 px",
		"3. centre of mass at the centre: at (4,9) in 28x28",
		"saliency of ",
		"4. normalised: (pixel/255 - 0.1307) / 0.3081, from -0.42 (background) to 2.82 (full ink)",
		"Saliency by occlusion",
		"Probabilities:",
	}
	at := 0
	for _, s := range steps {
		i := strings.Index(text[at:], s)
		if i < 0 {
			t.Fatalf("%q missing, or out of order, in:\n%s", s, text)
		}
		at += i
	}
	// The centred image: rows 9-18 hold the bar, 20 pixels (40 characters) from column 4.
	lines := strings.Split(text, "\n")
	start := slicesIndex(lines, "3. centre of mass")
	for row := range 28 {
		l := lines[start+1+row]
		if len(l) < 56 {
			l += strings.Repeat(" ", 56-len(l))
		}
		bar := strings.TrimSpace(l[:56])
		if in := row >= 9 && row < 19; in != (bar != "") || in && (bar != strings.Repeat("@", 40) || strings.Index(l, "@") != 8) {
			t.Errorf("centred row %d: %q", row, l[:56])
		}
	}
	var sum float64
	probs := regexp.MustCompile(`(?m)^  \d\s+(\d\.\d\d)`).FindAllStringSubmatch(text, -1)
	for _, p := range probs {
		v, _ := strconv.ParseFloat(p[1], 64)
		sum += v
	}
	if len(probs) != 10 || sum < 0.95 || sum > 1.05 {
		t.Errorf("%d probabilities adding up to %.2f, want 10 adding up to 1:\n%s", len(probs), sum, text)
	}
}

func slicesIndex(lines []string, prefix string) int {
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return i
		}
	}
	return -1
}
