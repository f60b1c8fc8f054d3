package engine

// Convolution as im2col + one GEMM over a whole chunk of images (stride 1, zero padding).
//
// The GEMM works channel-major: with N = B*OH*OW output pixels of the chunk,
//
//	col [C*K*K, N]   column (b,oy,ox) holds the C*K*K input values its output pixel sees
//	tmp [OC, N]      = w [OC, C*K*K] · col
//
// so one GEMM with a long N does all the arithmetic, and only the cheap regrouping of tmp into
// batch-major NCHW (and back, in backward) costs a pass over the output.

// convShape is the geometry of one Conv2d with stride 1 and Pad zeros on every side.
type convShape struct {
	C, OC int // input and output channels
	H, W  int // input height and width
	K     int // kernel height and width
	Pad   int
}

func (s convShape) OH() int { return s.H + 2*s.Pad - s.K + 1 }
func (s convShape) OW() int { return s.W + 2*s.Pad - s.K + 1 }

// rows is the length of one im2col column: the values one output pixel sees.
func (s convShape) rows() int { return s.C * s.K * s.K }

// convWork is a worker's scratch for every convolution of its model: sized by newConvWork for
// the largest layer, used by one layer at a time.
type convWork[F float] struct {
	col []F // [C*K*K, B*OH*OW]
	tmp []F // [OC, B*OH*OW]
}

// newConvWork sizes the scratch for chunks of up to images images through any of shapes.
func newConvWork[F float](images int, shapes ...convShape) convWork[F] {
	var col, tmp int
	for _, s := range shapes {
		n := images * s.OH() * s.OW()
		col = max(col, s.rows()*n)
		tmp = max(tmp, s.OC*n)
	}
	return convWork[F]{col: make([]F, col), tmp: make([]F, tmp)}
}

// conv2dForward: out [B,OC,OH,OW] = inp [B,C,H,W] ⋆ w [OC,C,K,K] + b [OC].
func conv2dForward[F float](out, inp, w, b []F, B int, s convShape, ws convWork[F]) {
	hw := s.OH() * s.OW()
	n, k := B*hw, s.rows()
	col, tmp := ws.col[:k*n], ws.tmp[:s.OC*n]
	im2col(col, inp, B, s)
	gemm(false, false, s.OC, n, k, w, k, col, n, 0, tmp, n)
	for oc := range s.OC {
		bias := b[oc]
		for i := range B {
			src := tmp[oc*n+i*hw : oc*n+(i+1)*hw]
			dst := out[(i*s.OC+oc)*hw : (i*s.OC+oc+1)*hw]
			for j, v := range src {
				dst[j] = v + bias
			}
		}
	}
}

// conv2dBackward: dw [OC,C,K,K] += dout ⋆ inp, db [OC] += Σ dout, and, unless dinp is nil (the
// first layer, whose input is the data), dinp [B,C,H,W] += the input gradient.
// dout is [B,OC,OH,OW]; inp and w are the forward's.
func conv2dBackward[F float](dinp, dw, db, dout, inp, w []F, B int, s convShape, ws convWork[F]) {
	hw := s.OH() * s.OW()
	n, k := B*hw, s.rows()
	col, tmp := ws.col[:k*n], ws.tmp[:s.OC*n]

	// Regroup dout channel-major, like the forward GEMM's output, summing the bias gradient.
	for oc := range s.OC {
		var sum F
		for i := range B {
			src := dout[(i*s.OC+oc)*hw : (i*s.OC+oc+1)*hw]
			copy(tmp[oc*n+i*hw:], src)
			for _, g := range src {
				sum += g
			}
		}
		db[oc] += sum
	}

	// col is not kept from the forward pass: rebuilding it is a copy, far cheaper than the GEMMs,
	// and it saves holding one col per layer.
	im2col(col, inp, B, s)
	gemm(false, true, s.OC, k, n, tmp, n, col, n, 1, dw, k) // dw += tmp · colᵀ
	if dinp == nil {
		return
	}
	gemm(true, false, k, n, s.OC, w, k, tmp, n, 0, col, n) // dcol = wᵀ · tmp
	col2im(dinp, col, B, s)
}

// im2col fills col [C*K*K, B*OH*OW]: row (c,kh,kw), column (b,oy,ox) holds
// inp [b,c,oy+kh-Pad,ox+kw-Pad], or 0 where that falls in the padding.
func im2col[F float](col, inp []F, B int, s convShape) {
	oh, ow := s.OH(), s.OW()
	n := B * oh * ow
	for c := range s.C {
		for kh := range s.K {
			for kw := range s.K {
				row := col[((c*s.K+kh)*s.K+kw)*n:][:n]
				x0, x1 := validCols(kw, s.Pad, s.W, ow)
				for i := range B {
					plane := inp[(i*s.C+c)*s.H*s.W:][:s.H*s.W]
					for oy := range oh {
						dst := row[(i*oh+oy)*ow:][:ow]
						iy := oy + kh - s.Pad
						if iy < 0 || iy >= s.H {
							clear(dst)
							continue
						}
						if x0 > 0 {
							clear(dst[:x0])
						}
						if x1 > x0 {
							copy(dst[x0:x1], plane[iy*s.W+x0+kw-s.Pad:][:x1-x0])
						}
						if x1 < ow {
							clear(dst[x1:])
						}
					}
				}
			}
		}
	}
}

// col2im is im2col's adjoint: inp [B,C,H,W] += every column entry of col added back where
// im2col read it from (entries that came from the padding are dropped).
func col2im[F float](inp, col []F, B int, s convShape) {
	oh, ow := s.OH(), s.OW()
	n := B * oh * ow
	for c := range s.C {
		for kh := range s.K {
			for kw := range s.K {
				row := col[((c*s.K+kh)*s.K+kw)*n:][:n]
				x0, x1 := validCols(kw, s.Pad, s.W, ow)
				for i := range B {
					plane := inp[(i*s.C+c)*s.H*s.W:][:s.H*s.W]
					for oy := range oh {
						iy := oy + kh - s.Pad
						if iy < 0 || iy >= s.H || x1 == x0 {
							continue
						}
						src := row[(i*oh+oy)*ow+x0:][:x1-x0]
						dst := plane[iy*s.W+x0+kw-s.Pad:][:x1-x0]
						for j, v := range src {
							dst[j] += v
						}
					}
				}
			}
		}
	}
}

// validCols returns the output columns [x0, x1) whose input column ox+kw-pad lies inside a row
// of width w; the others read padding. The range may be empty when the padding is wider than the
// image.
func validCols(kw, pad, w, ow int) (x0, x1 int) {
	x0 = min(max(0, pad-kw), ow)
	x1 = max(x0, min(ow, w+pad-kw))
	return x0, x1
}
