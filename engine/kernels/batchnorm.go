package kernels

import "fmt"

// A BatchNorm's passes over one plane [h,w] of a channel: its moments in training, its
// normalisation fused with a ReLU and 2x2 max pooling, and the backward sums and input gradient
// through that pooling. Rows of any width run on the vector kernels (their last unit under
// masks), so no plane is copied into padded rows.
//
// Their sums add in fixed lanes, the same in Go and assembly: element j of a row (or of the
// plane, for PlaneMoments) goes to lane j%L, and the L lanes are reduced by halves: lane i +
// lane i+L/2 for each i < L/2, and so on down to one (laneSum32, laneSum16). A lane's own
// additions come in the order of the elements.

// PlaneMoments returns the moments of a plane x: pm, its mean in float32 (Σx in 32 float32
// lanes, divided by len(x)), and in float64 d = Σe and q = Σe² over e = float64(x − pm), each
// in 16 lanes. The caller turns them into a mean pm + d/n and a sum of squared deviations
// q − d²/n: d corrects the mean for the first pass's rounding. An empty x gives zeros.
func PlaneMoments(x []float32) (pm float32, d, q float64) {
	return planeMoments(active.elem, x)
}

func planeMoments(e elemOps, x []float32) (pm float32, d, q float64) {
	if len(x) == 0 {
		return 0, 0, 0
	}
	if e.planeMoments != nil {
		return e.planeMoments(x)
	}
	return goPlaneMoments(x)
}

func goPlaneMoments(x []float32) (pm float32, d, q float64) {
	var s [32]float32
	for j, v := range x {
		s[j%32] += v
	}
	pm = laneSum32(&s) / float32(len(x))
	var ds, qs [16]float64
	for j, v := range x {
		e := float64(v - pm)
		ds[j%16] += e
		qs[j%16] += float64(e * e) // rounded before the add, as the kernel's separate multiply
	}
	return pm, laneSum16(&ds), laneSum16(&qs)
}

// laneSum32 reduces 32 lanes by halves.
func laneSum32(s *[32]float32) float32 {
	var t [16]float32
	for i := range t {
		t[i] = s[i] + s[i+16]
	}
	for n := 8; n >= 1; n /= 2 {
		for i := range n {
			t[i] += t[i+n]
		}
	}
	return t[0]
}

// laneSum16 reduces 16 float64 lanes by halves.
func laneSum16(s *[16]float64) float64 {
	t := *s
	for n := 8; n >= 1; n /= 2 {
		for i := range n {
			t[i] += t[i+n]
		}
	}
	return t[0]
}

// AffineReLUPool2 is ReLUPool2 of src·scale + bias: each element x*scale, then + bias (two
// roundings, no fused multiply-add), for a plane src [h,w] of any width. scale 1 gives
// ReLUPool2's bits.
func AffineReLUPool2(dst []float32, arg []uint8, src []float32, scale, bias float32, h, w int) {
	affineReLUPool2(active.elem, dst, arg, src, scale, bias, h, w)
}

func affineReLUPool2(e elemOps, dst []float32, arg []uint8, src []float32, scale, bias float32, h, w int) {
	checkPlane("AffineReLUPool2", src, dst, arg, h, w)
	if h < 2 || w < 2 {
		return
	}
	if e.affinePool2 != nil {
		e.affinePool2(dst, arg, src, scale, bias, h/2, w)
		return
	}
	goAffineReLUPool2(dst, arg, src, scale, bias, h/2, w)
}

func goAffineReLUPool2(dst []float32, arg []uint8, src []float32, scale, bias float32, rows, w int) {
	ow := w / 2
	at := func(v float32) float32 { return float32(v*scale) + bias }
	for py := range rows {
		r0, r1 := src[2*py*w:][:2*ow], src[(2*py+1)*w:][:2*ow]
		d, a := dst[py*ow:][:ow], arg[py*ow:][:ow]
		for px := range d {
			best, win := at(r0[2*px]), uint8(0)
			if v := at(r0[2*px+1]); v > best || v != v {
				best, win = v, 1
			}
			if v := at(r1[2*px]); v > best || v != v {
				best, win = v, 2
			}
			if v := at(r1[2*px+1]); v > best || v != v {
				best, win = v, 3
			}
			d[px], a[px] = max(best, 0), win
		}
	}
}

// BNPoolSums is the backward sums of a BatchNorm followed by a ReLU and 2x2 max pooling, over
// one plane: Σg and Σg·(x−mu) in float64, x [h,w] the BatchNorm's input at each window's
// winner (arg), g the pooled gradient dy [h/2,w/2] where the pooled output y is positive, else
// +0. Pooled column j of every row goes to lane j%16.
func BNPoolSums(x, dy, y []float32, arg []uint8, mu float64, h, w int) (sd, sdx float64) {
	return bnPoolSums(active.elem, x, dy, y, arg, mu, h, w)
}

func bnPoolSums(e elemOps, x, dy, y []float32, arg []uint8, mu float64, h, w int) (sd, sdx float64) {
	checkPlane("BNPoolSums", x, dy, arg, h, w)
	checkPooled("BNPoolSums", y, h, w)
	if h < 2 || w < 2 {
		return 0, 0
	}
	if e.bnPoolSums != nil {
		return e.bnPoolSums(x, dy, y, arg, mu, h/2, w)
	}
	return goBNPoolSums(x, dy, y, arg, mu, h/2, w)
}

func goBNPoolSums(x, dy, y []float32, arg []uint8, mu float64, rows, w int) (sd, sdx float64) {
	ow := w / 2
	var s, sx [16]float64
	for py := range rows {
		g, yy, a := dy[py*ow:][:ow], y[py*ow:][:ow], arg[py*ow:][:ow]
		r := x[2*py*w:][:2*w]
		for px, v := range g {
			if !(yy[px] > 0) {
				v = 0
			}
			xw := r[2*px+int(a[px]&1)+int(a[px]>>1)*w]
			s[px%16] += float64(v)
			sx[px%16] += float64(float64(v) * (float64(xw) - mu))
		}
	}
	return laneSum16(&s), laneSum16(&sx)
}

// BNPoolGrad writes dst [h,w], the input gradient of a BatchNorm followed by a ReLU and 2x2
// max pooling: nb − (x−mu)·e everywhere (x [h,w] the BatchNorm's input; three roundings), plus
// a·g at each window's winner (arg), g the pooled gradient dy [h/2,w/2] where the pooled
// output y is positive, else +0. Returns Σ dst, column j of every row to lane j%32.
func BNPoolGrad(dst, x, dy, y []float32, arg []uint8, a, nb, mu, e float32, h, w int) float32 {
	return bnPoolGrad(active.elem, dst, x, dy, y, arg, a, nb, mu, e, h, w)
}

func bnPoolGrad(ops elemOps, dst, x, dy, y []float32, arg []uint8, a, nb, mu, e float32, h, w int) float32 {
	checkPlane("BNPoolGrad", x, dy, arg, h, w)
	checkPooled("BNPoolGrad", y, h, w)
	if len(dst) < h*w {
		panic(fmt.Sprintf("kernels: BNPoolGrad: dst has %d elements, want %dx%d", len(dst), h, w))
	}
	if h == 0 || w == 0 {
		return 0
	}
	if ops.bnPoolGrad != nil {
		return ops.bnPoolGrad(dst, x, dy, y, arg, a, nb, mu, e, h, w)
	}
	return goBNPoolGrad(dst, x, dy, y, arg, a, nb, mu, e, h, w)
}

func goBNPoolGrad(dst, x, dy, y []float32, arg []uint8, a, nb, mu, e float32, h, w int) float32 {
	ow := w / 2
	var s [32]float32
	for r := range h {
		xs, ds := x[r*w:][:w], dst[r*w:][:w]
		for c, v := range xs {
			ds[c] = nb - float32(float32(v-mu)*e)
		}
		if r < h&^1 {
			py := r / 2
			g, yy, wa := dy[py*ow:][:ow], y[py*ow:][:ow], arg[py*ow:][:ow]
			for px, v := range g {
				if int(wa[px]>>1) != r%2 {
					continue
				}
				if !(yy[px] > 0) {
					v = 0
				}
				c := 2*px + int(wa[px]&1)
				ds[c] += float32(a * v)
			}
		}
		for c, v := range ds {
			s[c%32] += v
		}
	}
	return laneSum32(&s)
}

// checkPooled checks that y holds a plane [h,w]'s pooled [h/2,w/2] values.
func checkPooled(fn string, y []float32, h, w int) {
	if n := (h / 2) * (w / 2); len(y) < n {
		panic(fmt.Sprintf("kernels: %s: y has %d elements, want %d", fn, len(y), n))
	}
}
