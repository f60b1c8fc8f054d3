package engine

import "math"

// The 2x2 max pooling by 2 fused after a ReLU, on rows whose width package kernels' vector
// loop does not take (the conv-relu-pool of a 14-wide map, a BatchNorm's 28-wide one), in Go
// that keeps every value in a register: the winner is chosen on integer keys by conditional
// moves (a float select would branch, and a ReLU's input mispredicts half the time).
//
// poolKey maps a float32 that is not NaN to an int32 that orders as it does, −0 and +0 equal
// (so that the first of them wins a tie, as PyTorch's v > best does). A positive float's key
// is its bits, so the ReLU of the winner is its key where positive, else +0.
func poolKey(v float32) int32 {
	k := int32(math.Float32bits(v))
	m := k >> 31
	return (k&0x7fffffff ^ m) - m
}

// reluOfKey is max(v, 0) of the float whose key is k.
func reluOfKey(k int32) float32 { return math.Float32frombits(uint32(k &^ (k >> 31))) }

// affineReLUPool2Plane: dst [H/2,W/2] is relu of the maximum of each 2x2 window of
// src [H,W]·a + b (each element x*a+b, in that order), arg the window position (0-3,
// row-major) of the maximum, with PyTorch's rule on ties and NaNs (see biasReLUPoolPlane). An
// odd last row or column is dropped. a = 1 gives biasReLUPoolPlane's src + b bit for bit.
func affineReLUPool2Plane(dst []float32, arg []uint8, src []float32, a, b float32, H, W int) {
	ow := W / 2
	for py := range H / 2 {
		r0, r1 := src[2*py*W:][:2*ow], src[(2*py+1)*W:][:2*ow]
		d, at := dst[py*ow:][:ow], arg[py*ow:][:ow]
		at = at[:len(d)]
		for px := range d {
			v0, v1, v2, v3 := r0[2*px]*a+b, r0[2*px+1]*a+b, r1[2*px]*a+b, r1[2*px+1]*a+b
			if s := v0 + v1 + v2 + v3; s != s { // a NaN (or +Inf and −Inf): the plain rule
				d[px], at[px] = pool2NaN(v0, v1, v2, v3)
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

// pool2NaN is the relu of a window's maximum and its place by PyTorch's rule, v > best or v
// NaN, for the windows poolKey cannot order.
//
//go:noinline
func pool2NaN(v0, v1, v2, v3 float32) (float32, uint8) {
	best, bi := v0, uint8(0)
	for k, v := range [3]float32{v1, v2, v3} {
		if v > best || v != v {
			best, bi = v, uint8(k+1)
		}
	}
	return max(best, 0), bi
}

// reluPool2BackPlane is reluPoolBackPlane in float32 for rows package kernels' vector loop
// does not take: dst [H,W] is 0 but at each window's winner, which gets the pooled gradient dy
// where the pooled output y is positive. Returns Σ dst.
func reluPool2BackPlane(dst, dy, y []float32, arg []uint8, H, W int) float32 {
	clear(dst[:H*W])
	ow := W / 2
	var s0, s1 float32
	for py := range H / 2 {
		g, yy, a := dy[py*ow:][:ow], y[py*ow:][:ow], arg[py*ow:][:ow]
		yy, a = yy[:len(g)], a[:len(g)]
		row := dst[2*py*W:][:2*W]
		for px, v := range g {
			bits := math.Float32bits(v)
			if !(yy[px] > 0) {
				bits = 0
			}
			v = math.Float32frombits(bits)
			row[2*px+int(a[px]&1)+int(a[px]>>1)*W] = v
			if px&1 == 0 {
				s0 += v
			} else {
				s1 += v
			}
		}
	}
	return s0 + s1
}
