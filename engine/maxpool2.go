package engine

import "math"

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
