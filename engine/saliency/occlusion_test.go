package saliency

import (
	"math"
	"testing"

	"mnist-tui/engine"
)

// cornerNet is the linear model wired by hand so that class 3's logit is
// the sum of the top-left 4x4 pixels and every other logit is 0: each
// layer passes that sum on through its unit 0 (ReLU keeps it, being >= 0).
func cornerNet(t *testing.T) *engine.Net {
	t.Helper()
	net, err := engine.NewNet("linear", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range net.Params() {
		v := p.Value.Data().([]float32)
		clear(v)
		switch p.Name {
		case "l1.weight": // [512,784]: unit 0 sums the corner
			for y := range 4 {
				for x := range 4 {
					v[y*Side+x] = 1
				}
			}
		case "l2.weight", "l3.weight", "l4.weight": // unit 0 copies unit 0
			v[0] = 1
		case "l5.weight": // [10,64]: class 3 reads unit 0
			v[3*64] = 1
		}
	}
	return net
}

func TestOcclusionFindsThePixelsTheAnswerDependsOn(t *testing.T) {
	net := cornerNet(t)
	x := make([]float32, Side*Side)
	for i := range x {
		x[i] = 0.5 // ink everywhere: only the corner's may matter
	}
	res, err := Occlusion(net, x, 3, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Whole image: logit 16 x 0.5 = 8 for class 3, 0 for the others.
	p := func(logit float64) float64 { return math.Exp(logit) / (math.Exp(logit) + 9) }
	if want := p(8); math.Abs(float64(res.Prob)-want) > 1e-6 {
		t.Errorf("probability %g, want %g", res.Prob, want)
	}
	// Pixel (0,0) is hidden by one patch only, which hides the whole
	// corner: class 3's log-odds go from 8 - ln 9 to 0 - ln 9.
	if want := 8.0; math.Abs(float64(res.Map[0])-want) > 1e-5 {
		t.Errorf("saliency of (0,0) %g, want %g", res.Map[0], want)
	}
	// A patch can touch the corner only from a pixel within 3 of it.
	for y := range Side {
		for x := range Side {
			v := res.Map[y*Side+x]
			near := x <= 6 && y <= 6
			if near && v <= 0 {
				t.Errorf("(%d,%d) is hidden with the corner but has saliency %g", x, y, v)
			}
			if !near && v != 0 {
				t.Errorf("(%d,%d) cannot matter, yet has saliency %g", x, y, v)
			}
		}
	}
	if res.Max != res.Map[0] {
		t.Errorf("max %g, want the corner's %g", res.Max, res.Map[0])
	}
	// For another class, hiding the corner raises its probability: negative.
	other, err := Occlusion(net, x, 5, 0, &Scratch{})
	if err != nil {
		t.Fatal(err)
	}
	if other.Map[0] >= 0 {
		t.Errorf("class 5 at (0,0): %g, want negative (the corner spoke for 3)", other.Map[0])
	}
}

func TestOcclusionRefusesBadInput(t *testing.T) {
	net := cornerNet(t)
	if _, err := Occlusion(net, make([]float32, 10), 3, 0, nil); err == nil {
		t.Error("a 10-pixel image was accepted")
	}
	if _, err := Occlusion(net, make([]float32, Side*Side), 10, 0, nil); err == nil {
		t.Error("class 10 was accepted")
	}
}
