package draw

import (
	"fmt"

	"github.com/muesli/termenv"

	"mnist-tui/dataset"
	"mnist-tui/engine"
	"mnist-tui/engine/saliency"
)

// Explainer is a Model that can say which pixels made its answer (the
// `w` overlay). It may take tens of milliseconds: the page calls it from a
// tea.Cmd, never from Update.
type Explainer interface {
	Explain(pixels [dataset.ImageSize]uint8, class int) (saliency.Result, error)
}

// explain runs the occlusion saliency of class on net, which the caller
// holds the lock of.
func explain(net *engine.Net, info dataset.Info, pixels [dataset.ImageSize]uint8, class int) (saliency.Result, error) {
	if net == nil {
		return saliency.Result{}, ErrNoWeights
	}
	x := make([]float32, dataset.ImageSize)
	dataset.Normalize(x, pixels[:], info.Mean, info.Std)
	var background [1]float32
	dataset.Normalize(background[:], []uint8{0}, info.Mean, info.Std)
	res, err := saliency.Occlusion(net, x, class, background[0], nil)
	if err != nil {
		return res, fmt.Errorf("saliency: %w", err)
	}
	return res, nil
}

// Explain maps which pixels made the checkpoint's answer.
func (f *Fixed) Explain(pixels [dataset.ImageSize]uint8, class int) (saliency.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return explain(f.net, f.info, pixels, class)
}

// Explain maps which pixels made the answer of the last Refresh's weights.
func (l *Live) Explain(pixels [dataset.ImageSize]uint8, class int) (saliency.Result, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return explain(l.active, l.info, pixels, class)
}

// scaledMap is the map divided by its largest absolute value: -1 to 1.
func scaledMap(r saliency.Result) *saliency.Map {
	var m saliency.Map
	if r.Max > 0 {
		for i, v := range r.Map {
			m[i] = v / r.Max
		}
	}
	return &m
}

// whyLegend says how to read the overlay.
func whyLegend(colour bool) string {
	if colour {
		return "red for, blue against"
	}
	return "# + for, = - against"
}

// Below this (of the strongest) a pixel's saliency is not drawn: the
// ink shows instead.
const whyFloor = 0.1

// whyChar is a scaled saliency as a character, or the ink when the pixel
// hardly mattered.
func whyChar(v float32, ink uint8) byte {
	switch {
	case v > 0.5:
		return '#'
	case v > whyFloor:
		return '+'
	case v < -0.5:
		return '='
	case v < -whyFloor:
		return '-'
	case ink > 64:
		return '.'
	}
	return ' '
}

// whyColour is a pixel under the overlay: red as strong as it pushed
// toward the answer, blue as strong as it pushed away, otherwise its ink
// dimmed so that the colours stand out.
func (st styles) whyColour(ink uint8, v float32) termenv.Color {
	level := func(v float32) int { return 80 + int(175*min(1, v)) }
	switch {
	case v > whyFloor:
		return st.profile.Color(fmt.Sprintf("#%02x%02x%02x", level(v), 40, 40))
	case v < -whyFloor:
		return st.profile.Color(fmt.Sprintf("#%02x%02x%02x", 40, 80, level(-v)))
	}
	g := int(ink) / 3
	return st.profile.Color(fmt.Sprintf("#%02x%02x%02x", g, g, g))
}

func (st styles) whyFg(ink uint8, v float32) string { return st.whyColour(ink, v).Sequence(false) }
func (st styles) whyBg(ink uint8, v float32) string { return st.whyColour(ink, v).Sequence(true) }
