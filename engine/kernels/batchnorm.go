package kernels

import (
	"fmt"
	"math"
)

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
	// Lane by lane over whole blocks, then the last part block: element j to lane j%32 (or
	// j%16) without a division per element.
	var s [32]float32
	laneAdd32(&s, x)
	pm = laneSum32(&s) / float32(len(x))
	var ds, qs [16]float64
	j := 0
	for ; j+16 <= len(x); j += 16 {
		for i, v := range x[j : j+16] {
			e := float64(v - pm)
			ds[i] += e
			qs[i] += float64(e * e) // rounded before the add, as the kernel's separate multiply
		}
	}
	for i, v := range x[j:] {
		e := float64(v - pm)
		ds[i] += e
		qs[i] += float64(e * e)
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

// goAffineReLUPool2 picks each window's winner on integer keys by conditional moves (a float
// select would branch, and the winner of a ReLU's input is random), and a window with a NaN by
// the plain rule.
func goAffineReLUPool2(dst []float32, arg []uint8, src []float32, scale, bias float32, rows, w int) {
	ow := w / 2
	for py := range rows {
		r0, r1 := src[2*py*w:][:2*ow], src[(2*py+1)*w:][:2*ow]
		d, at := dst[py*ow:][:ow], arg[py*ow:][:ow]
		at = at[:len(d)]
		for px := range d {
			// Each x*scale rounded on its own: no fused multiply-add, as in the kernels.
			v0, v1 := float32(r0[2*px]*scale)+bias, float32(r0[2*px+1]*scale)+bias
			v2, v3 := float32(r1[2*px]*scale)+bias, float32(r1[2*px+1]*scale)+bias
			if s := v0 + v1 + v2 + v3; s != s { // a NaN (or +Inf and −Inf): the plain rule
				d[px], at[px] = poolNaN(v0, v1, v2, v3)
				continue
			}
			best, bi := poolKey(v0), 0
			if k := poolKey(v1); k > best {
				best, bi = k, 1
			}
			if k := poolKey(v2); k > best {
				best, bi = k, 2
			}
			if k := poolKey(v3); k > best {
				best, bi = k, 3
			}
			d[px], at[px] = reluOfKey(best), uint8(bi)
		}
	}
}

// poolKey maps a float32 that is not NaN to an int32 that orders as it does, −0 and +0 equal
// (so that the first of them wins a tie, as v > best does). A positive float's key is its
// bits, so the ReLU of the winner is its key where positive, else +0.
func poolKey(v float32) int32 {
	k := int32(math.Float32bits(v))
	m := k >> 31
	return (k&0x7fffffff ^ m) - m
}

// reluOfKey is max(v, 0) of the float whose key is k.
func reluOfKey(k int32) float32 { return math.Float32frombits(uint32(k &^ (k >> 31))) }

// poolNaN is the ReLU of a window's maximum and its place by the plain rule, v > best or v
// NaN, for the windows poolKey cannot order.
//
//go:noinline
func poolNaN(v0, v1, v2, v3 float32) (float32, uint8) {
	best, bi := v0, uint8(0)
	for k, v := range [3]float32{v1, v2, v3} {
		if v > best || v != v {
			best, bi = v, uint8(k+1)
		}
	}
	return max(best, 0), bi
}

// positiveMask is all ones where y > 0, else 0: a ReLU's backward as a mask on the gradient's
// bits, without a branch (a ReLU's output is positive at random).
func positiveMask(y float32) uint32 {
	m := uint32(0)
	if y > 0 {
		m = 1
	}
	return -m
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
		yy, a = yy[:len(g)], a[:len(g)]
		r := x[2*py*w:][:2*w]
		for px, v := range g {
			v = math.Float32frombits(math.Float32bits(v) & positiveMask(yy[px]))
			xw := r[2*px+int(a[px]&1)+int(a[px]>>1)*w]
			s[px&15] += float64(v)
			sx[px&15] += float64(float64(v) * (float64(xw) - mu))
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
		if r%2 == 1 { // the winners of the pair of rows r−1 and r
			py := r / 2
			g, yy, wa := dy[py*ow:][:ow], y[py*ow:][:ow], arg[py*ow:][:ow]
			yy, wa = yy[:len(g)], wa[:len(g)]
			pair := dst[(r-1)*w:][:2*w]
			for px, v := range g {
				v = math.Float32frombits(math.Float32bits(v) & positiveMask(yy[px]))
				pair[2*px+int(wa[px]&1)+int(wa[px]>>1)*w] += float32(a * v)
			}
			laneAdd32(&s, pair[:w])
			laneAdd32(&s, pair[w:])
		}
	}
	if h%2 == 1 {
		laneAdd32(&s, dst[(h-1)*w:][:w])
	}
	return laneSum32(&s)
}

// laneAdd32 adds the floats of a row into 32 lanes, column j to lane j%32.
func laneAdd32(s *[32]float32, row []float32) {
	j := 0
	for ; j+32 <= len(row); j += 32 {
		for i, v := range row[j : j+32] {
			s[i] += v
		}
	}
	for i, v := range row[j:] {
		s[i] += v
	}
}

// checkPooled checks that y holds a plane [h,w]'s pooled [h/2,w/2] values.
func checkPooled(fn string, y []float32, h, w int) {
	if n := (h / 2) * (w / 2); len(y) < n {
		panic(fmt.Sprintf("kernels: %s: y has %d elements, want %d", fn, len(y), n))
	}
}
