package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"mnist-tui/dataset"
	"mnist-tui/dataset/prepare"
	"mnist-tui/engine"
	"mnist-tui/engine/saliency"
	"mnist-tui/engine/train"
	"mnist-tui/ui/draw"
)

// explainFile is predict --explain for one picture: the preparation step
// by step, the saliency map of the answer, then every class's probability.
func explainFile(w io.Writer, net *engine.Net, info dataset.Info, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	img, err := prepare.Decode(f)
	if err != nil {
		return err
	}
	st, err := prepare.StepsFromImage(img)
	if err != nil {
		return err
	}
	probs := train.Classify(net, info, st.Image)
	best := 0
	for c := range probs {
		if probs[c] > probs[best] {
			best = c
		}
	}
	x := make([]float32, dataset.ImageSize)
	dataset.Normalize(x, st.Image[:], info.Mean, info.Std)
	var zero [1]float32
	dataset.Normalize(zero[:], []uint8{0}, info.Mean, info.Std)
	sal, err := saliency.Occlusion(net, x, best, zero[0], nil)
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "%s: %s (p=%.2f)\n\n", path, info.Classes[best], probs[best])
	fmt.Fprintln(w, "The picture as the model is given it, prepared as MNIST's digits were:")
	b := img.Bounds()
	sideBySide(w,
		panel(fmt.Sprintf("1. cropped to the ink: %dx%d of %dx%d px", st.CropW, st.CropH, b.Dx(), b.Dy()), shadeFloats(st.Crop, st.CropW, st.CropH)),
		panel(fmt.Sprintf("2. fitted in %dx%d: %dx%d px", prepare.Box, prepare.Box, st.FitW, st.FitH), shadeFloats(st.Fit, st.FitW, st.FitH)))
	lo, hi := x[0], x[0]
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	centred := make([]float32, len(st.Image))
	for i, v := range st.Image {
		centred[i] = float32(v) / 255
	}
	sideBySide(w,
		panel(fmt.Sprintf("3. centre of mass at the centre: at (%d,%d) in 28x28", st.ShiftX, st.ShiftY), shadeFloats(centred, prepare.Size, prepare.Size)),
		panel(fmt.Sprintf("saliency of %s: + for it, - against", info.Classes[best]), shadeSaliency(sal)))
	fmt.Fprintf(w, "4. normalised: (pixel/255 - %.4g) / %.4g, from %.2f (background) to %.2f (full ink)\n\n", info.Mean, info.Std, lo, hi)
	fmt.Fprintf(w, "Saliency by occlusion: each %dx%d patch hidden in turn; a pixel's mark is how much hiding it lowers the evidence for %s\n"+
		"(its log-odds, log(p/(1-p)), which a confident p = %.2f does not cap), on average over the patches that cover it; the strongest: %.2f.\n\n",
		saliency.Patch, saliency.Patch, info.Classes[best], sal.Prob, sal.Max)
	fmt.Fprintln(w, "Probabilities:")
	for c, p := range probs {
		bar := strings.Repeat("█", int(p*40+0.5))
		mark := ""
		if c == best {
			mark = " ←"
		}
		fmt.Fprintf(w, "  %-12s %5.2f %s%s\n", info.Classes[c], p, bar, mark)
	}
	return nil
}

// A panel is a title over a picture, drawn two characters a pixel so
// that it keeps its shape.
type panelText struct {
	title string
	rows  []string
}

func panel(title string, rows []string) panelText { return panelText{title, rows} }

// panelWidth: 28 pixels of two characters, and a gap.
const panelWidth = 2*28 + 4

func sideBySide(w io.Writer, a, b panelText) {
	fmt.Fprintf(w, "%-*s%s\n", panelWidth, cut(a.title, panelWidth-2), b.title)
	for i := range max(len(a.rows), len(b.rows)) {
		var l, r string
		if i < len(a.rows) {
			l = a.rows[i]
		}
		if i < len(b.rows) {
			r = b.rows[i]
		}
		fmt.Fprintf(w, "%s%s%s\n", l, strings.Repeat(" ", panelWidth-len([]rune(l))), r)
	}
	fmt.Fprintln(w)
}

func cut(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// ink is the ramp of ink levels, from none to full.
const ink = " .:-=+*#%@"

// shadeFloats draws values in [0,1], w x h, scaled (nearest pixel) so the
// longer side is at most 28: a large crop still fits beside another.
func shadeFloats(v []float32, w, h int) []string {
	scale := min(1, 28/float64(max(w, h)))
	dw, dh := max(1, int(float64(w)*scale)), max(1, int(float64(h)*scale))
	rows := make([]string, dh)
	for y := range dh {
		var b strings.Builder
		for x := range dw {
			sx, sy := min(w-1, int(float64(x)/scale)), min(h-1, int(float64(y)/scale))
			c := ink[int(min(max(v[sy*w+sx], 0), 1)*float32(len(ink)-1)+0.5)]
			b.WriteByte(c)
			b.WriteByte(c)
		}
		rows[y] = b.String()
	}
	return rows
}

// shadeSaliency draws a map: + marks (growing to #) where hiding the
// pixel lowers the answer's probability, - and = where it raises it.
func shadeSaliency(s saliency.Result) []string {
	rows := make([]string, saliency.Side)
	for y := range saliency.Side {
		var b strings.Builder
		for x := range saliency.Side {
			c := byte(' ')
			if s.Max > 0 {
				v := s.Map[y*saliency.Side+x] / s.Max
				switch {
				case v > 0.66:
					c = '#'
				case v > 0.33:
					c = '+'
				case v > 0.1:
					c = '.'
				case v < -0.5:
					c = '='
				case v < -0.1:
					c = '-'
				}
			}
			b.WriteByte(c)
			b.WriteByte(c)
		}
		rows[y] = b.String()
	}
	return rows
}

// liveExplainer explains with a training run's newest weights (the
// mistakes page's `w`): each explanation first copies them, at the
// trainer's next batch boundary, into a net of its own.
type liveExplainer struct{ live *draw.Live }

func (l liveExplainer) Explain(ctx context.Context, pixels [dataset.ImageSize]uint8, class int) (saliency.Result, error) {
	if err := l.live.Refresh(ctx); err != nil {
		return saliency.Result{}, err
	}
	return l.live.Explain(pixels, class)
}
