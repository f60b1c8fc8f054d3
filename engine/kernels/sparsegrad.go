package kernels

import "fmt"

// SparseInputGrad takes the input gradient of a stride-1 unpadded convolution, image by
// image, from the nonzeros of its output gradient alone. A convolution followed by ReLU and
// 2x2 max pooling gets an output gradient with one nonzero per pooling window at most, a
// quarter of its pixels or fewer, where the GEMM and col2im of the dense gradient multiply
// every zero too.
//
// The sum runs channels-last: nonzero by nonzero in the order they were given, each adds its
// value times the weights w[oc, :, kh, kw] of every input channel at once (vectors of 16
// channels, packed channels-last by PackWeights) to the input pixel under each kernel
// position. The result is then added, transposed, into the image's channel planes. Its bits
// differ from the GEMM's by rounding: each input gradient sums its terms in another order.
//
// A SparseInputGrad holds the buffers for one geometry; its methods allocate nothing.
type SparseInputGrad struct {
	C, OC, H, W, K int
	cp             int       // C rounded up to whole vectors of 16
	wT             []float32 // [OC, K, K, cp]
	// The image's n nonzeros: byte offsets of their first input pixel in dxT and of their
	// channel's weights in wT, and their values.
	n           int
	dxoff, woff []int32
	val         []float32
	dxT         []float32 // [H*W, cp]
}

// sparseMaxChannels is the most input channels the generated kernels take: 6 vectors of 16.
const sparseMaxChannels = 96

// SparseInputGradFast reports whether SparseInputGrad runs on generated kernels for C input
// channels of H x W images: the AVX-512 set, up to 96 channels, planes of whole vectors of 16
// pixels. (In Go it is slower than the GEMM.)
func SparseInputGradFast(C, H, W int) bool {
	return active.elem.sparseScatter != nil && C >= 1 && C <= sparseMaxChannels && H*W%16 == 0
}

// NewSparseInputGrad allocates a SparseInputGrad for the convolution of OC kernels C x K x K
// over H x W images, unpadded.
func NewSparseInputGrad(C, OC, H, W, K int) *SparseInputGrad {
	oh, ow := H-K+1, W-K+1
	if min(C, OC, K, oh, ow) < 1 {
		panic(fmt.Sprintf("kernels: NewSparseInputGrad: bad geometry: %d kernels %dx%dx%d over %dx%d images", OC, C, K, K, H, W))
	}
	s := &SparseInputGrad{C: C, OC: OC, H: H, W: W, K: K, cp: (C + 15) &^ 15}
	most := OC * oh * ow
	s.dxoff, s.woff, s.val = make([]int32, most), make([]int32, most), make([]float32, most)
	s.wT = make([]float32, OC*K*K*s.cp)
	s.dxT = make([]float32, H*W*s.cp)
	return s
}

// SparseInputGradBytes is how much memory NewSparseInputGrad allocates for this geometry.
func SparseInputGradBytes(C, OC, H, W, K int) int64 {
	cp := (C + 15) &^ 15
	return 4 * int64(3*OC*(H-K+1)*(W-K+1)+OC*K*K*cp+H*W*cp)
}

// PackWeights packs the convolution's weights w [OC, C, K, K] channels-last, [OC, K, K, C]
// with each row padded with zeros to whole vectors, for the images that follow.
func (s *SparseInputGrad) PackWeights(w []float32) {
	kk := s.K * s.K
	if len(w) < s.OC*s.C*kk {
		panic(fmt.Sprintf("kernels: SparseInputGrad.PackWeights: w has %d elements, want %d", len(w), s.OC*s.C*kk))
	}
	for oc := range s.OC {
		for t := range kk {
			row := s.wT[(oc*kk+t)*s.cp:][:s.cp]
			for c := range s.C {
				row[c] = w[(oc*s.C+c)*kk+t]
			}
		}
	}
}

// Begin starts an image: it forgets the last image's nonzeros.
func (s *SparseInputGrad) Begin() { s.n = 0 }

// Nonzero gives the image's output gradient v at output pixel (oy, ox) of channel oc; each
// output pixel of a channel at most once. The order they are given in is the summing order.
func (s *SparseInputGrad) Nonzero(oy, ox, oc int, v float32) {
	n := s.n
	if uint(oy) > uint(s.H-s.K) || uint(ox) > uint(s.W-s.K) || uint(oc) >= uint(s.OC) || n >= len(s.val) {
		s.badNonzero(oy, ox, oc)
	}
	s.dxoff[n] = int32(4 * (oy*s.W + ox) * s.cp)
	s.woff[n] = int32(4 * oc * s.K * s.K * s.cp)
	s.val[n] = v
	s.n = n + 1
}

// badNonzero panics about a Nonzero call (apart, so that Nonzero stays small enough to inline).
func (s *SparseInputGrad) badNonzero(oy, ox, oc int) {
	panic(fmt.Sprintf("kernels: SparseInputGrad.Nonzero: output pixel (%d, %d) of channel %d, the %dth nonzero, in a %dx%d output of %d channels",
		oy, ox, oc, s.n+1, s.H-s.K+1, s.W-s.K+1, s.OC))
}

// AddInto adds the image's input gradient into dx: channel c's plane of H*W floats starts at
// dx[c*ldx]. PackWeights must have packed the weights.
func (s *SparseInputGrad) AddInto(dx []float32, ldx int) { s.addInto(active.elem, dx, ldx) }

func (s *SparseInputGrad) addInto(e elemOps, dx []float32, ldx int) {
	hw := s.H * s.W
	if ldx < hw || len(dx) < (s.C-1)*ldx+hw {
		panic(fmt.Sprintf("kernels: SparseInputGrad.AddInto: dx has %d elements with planes %d apart, want %d planes of %d", len(dx), ldx, s.C, hw))
	}
	clear(s.dxT)
	if e.sparseScatter != nil && s.C <= sparseMaxChannels && hw%16 == 0 {
		e.sparseScatter(s.cp/16, s.dxT, s.W, s.K, s.n, s.dxoff, s.woff, s.val, s.wT)
		e.transposeAdd(dx, ldx, s.dxT, s.cp, hw, s.C)
		return
	}
	goSparseScatter(s.cp, s.dxT, s.W, s.K, s.dxoff[:s.n], s.woff[:s.n], s.val[:s.n], s.wT)
	for c := range s.C {
		for p := range hw {
			dx[c*ldx+p] += s.dxT[p*s.cp+c]
		}
	}
}

// goSparseScatter is the generated kernels' sum in Go, in their order.
func goSparseScatter(cp int, dxT []float32, W, K int, dxoff, woff []int32, val, w []float32) {
	for e, v := range val {
		for kh := range K {
			for kw := range K {
				d := dxT[int(dxoff[e])/4+(kh*W+kw)*cp:][:cp]
				row := w[int(woff[e])/4+(kh*K+kw)*cp:][:cp]
				for c := range d {
					d[c] += v * row[c]
				}
			}
		}
	}
}
