package engine

// The "inception" model, the tutorial's GoogLeNet-style net:
// conv1 Conv2d(1,10,5) -> MaxPool(2) -> ReLU -> incep1 InceptionA(10) -> conv2 Conv2d(88,20,5) ->
// MaxPool(2) -> ReLU -> incep2 InceptionA(20) -> flatten 1408 -> fc Linear(1408,10).

// inceptionShape is the input geometry of an InceptionA block: C channels of H×W.
type inceptionShape struct{ C, H, W int }

// InceptionA's four branches, concatenated on channels in this order: 16 + 24 + 24 + 24 = 88.
const (
	inceptionOut = 88
	offB1x1      = 0  // branch1x1:   16 channels
	offB5x5      = 16 // branch5x5:   24
	offB3x3      = 40 // branch3x3:   24
	offBPool     = 64 // branch_pool: 24
)

func (s inceptionShape) conv(c, oc, k int) convShape {
	return convShape{C: c, OC: oc, H: s.H, W: s.W, K: k, Pad: k / 2}
}
func (s inceptionShape) b1x1() convShape   { return s.conv(s.C, 16, 1) }
func (s inceptionShape) b5x5_1() convShape { return s.conv(s.C, 16, 1) }
func (s inceptionShape) b5x5_2() convShape { return s.conv(16, 24, 5) } // padding 2
func (s inceptionShape) b3x3_1() convShape { return s.conv(s.C, 16, 1) }
func (s inceptionShape) b3x3_2() convShape { return s.conv(16, 24, 3) } // padding 1
func (s inceptionShape) b3x3_3() convShape { return s.conv(24, 24, 3) } // padding 1
func (s inceptionShape) bPool() convShape  { return s.conv(s.C, 24, 1) }

func (s inceptionShape) convs() []convShape {
	return []convShape{s.b1x1(), s.b5x5_1(), s.b5x5_2(), s.b3x3_1(), s.b3x3_2(), s.b3x3_3(), s.bPool()}
}

type inceptionParams[F float] struct {
	b1x1, b5x5_1, b5x5_2, b3x3_1, b3x3_2, b3x3_3, bPool convParams[F]
}

func bindInceptionA[F float](b *binder[F], name string, s inceptionShape) inceptionParams[F] {
	var p inceptionParams[F]
	p.b1x1 = b.conv(name+".branch1x1", s.b1x1())
	p.b5x5_1 = b.conv(name+".branch5x5_1", s.b5x5_1())
	p.b5x5_2 = b.conv(name+".branch5x5_2", s.b5x5_2())
	p.b3x3_1 = b.conv(name+".branch3x3_1", s.b3x3_1())
	p.b3x3_2 = b.conv(name+".branch3x3_2", s.b3x3_2())
	p.b3x3_3 = b.conv(name+".branch3x3_3", s.b3x3_3())
	p.bPool = b.conv(name+".branch_pool", s.bPool())
	return p
}

// inceptionActs are an InceptionA block's activations for up to n images. The four branches
// write their last convolutions straight into their channels of out.
type inceptionActs[F float] struct {
	b5x5a        []F // [n,16,H,W] after branch5x5_1
	b3x3a, b3x3b []F // [n,16,H,W], [n,24,H,W]
	avg          []F // [n,C,H,W] the 3x3 average pool
	out          []F // [n,88,H,W] the concatenation
}

func layoutInceptionA[F float](a *arena[F], n int, s inceptionShape) inceptionActs[F] {
	hw := n * s.H * s.W
	return inceptionActs[F]{
		b5x5a: a.floats(16 * hw),
		b3x3a: a.floats(16 * hw), b3x3b: a.floats(24 * hw),
		avg: a.floats(s.C * hw),
		out: a.floats(inceptionOut * hw),
	}
}

// branch is the convOut of a branch's last convolution: channels off.. of the block's output.
func (a *inceptionActs[F]) branch(off int) convOut[F] {
	return convOut[F]{act: actNone, y: a.out, ct: inceptionOut, off: off}
}

// inceptionForward: a.out [B,88,H,W] = InceptionA(x [B,C,H,W]).
func inceptionForward[F float](a *inceptionActs[F], x []F, p *inceptionParams[F], B int, s inceptionShape, sc *scratch[F]) {
	convForward(a.branch(offB1x1), x, p.b1x1.w, p.b1x1.b, B, s.b1x1(), sc)

	convForward(out(actNone, a.b5x5a, s.b5x5_1()), x, p.b5x5_1.w, p.b5x5_1.b, B, s.b5x5_1(), sc)
	convForward(a.branch(offB5x5), a.b5x5a, p.b5x5_2.w, p.b5x5_2.b, B, s.b5x5_2(), sc)

	convForward(out(actNone, a.b3x3a, s.b3x3_1()), x, p.b3x3_1.w, p.b3x3_1.b, B, s.b3x3_1(), sc)
	convForward(out(actNone, a.b3x3b, s.b3x3_2()), a.b3x3a, p.b3x3_2.w, p.b3x3_2.b, B, s.b3x3_2(), sc)
	convForward(a.branch(offB3x3), a.b3x3b, p.b3x3_3.w, p.b3x3_3.b, B, s.b3x3_3(), sc)

	avgpool3Forward(a.avg, x, B, s.C, s.H, s.W)
	convForward(a.branch(offBPool), a.avg, p.bPool.w, p.bPool.b, B, s.bPool(), sc)
}

// inceptionBackward: from d.out [B,88,H,W], add the block's parameter gradients into g and its
// input gradient into dx [B,C,H,W]. a, x and p are the forward's.
func inceptionBackward[F float](dx []F, d *inceptionActs[F], g *inceptionParams[F], a *inceptionActs[F], x []F, p *inceptionParams[F], B int, s inceptionShape, sc *scratch[F]) {
	convBackward(a.branch(offBPool), d.out, nil, a.avg, p.bPool.w, d.avg, g.bPool.w, g.bPool.b, B, s.bPool(), sc)
	avgpool3Backward(dx, d.avg, B, s.C, s.H, s.W)

	convBackward(a.branch(offB3x3), d.out, nil, a.b3x3b, p.b3x3_3.w, d.b3x3b, g.b3x3_3.w, g.b3x3_3.b, B, s.b3x3_3(), sc)
	convBackward(out(actNone, a.b3x3b, s.b3x3_2()), d.b3x3b, nil, a.b3x3a, p.b3x3_2.w, d.b3x3a, g.b3x3_2.w, g.b3x3_2.b, B, s.b3x3_2(), sc)
	convBackward(out(actNone, a.b3x3a, s.b3x3_1()), d.b3x3a, nil, x, p.b3x3_1.w, dx, g.b3x3_1.w, g.b3x3_1.b, B, s.b3x3_1(), sc)

	convBackward(a.branch(offB5x5), d.out, nil, a.b5x5a, p.b5x5_2.w, d.b5x5a, g.b5x5_2.w, g.b5x5_2.b, B, s.b5x5_2(), sc)
	convBackward(out(actNone, a.b5x5a, s.b5x5_1()), d.b5x5a, nil, x, p.b5x5_1.w, dx, g.b5x5_1.w, g.b5x5_1.b, B, s.b5x5_1(), sc)

	convBackward(a.branch(offB1x1), d.out, nil, x, p.b1x1.w, dx, g.b1x1.w, g.b1x1.b, B, s.b1x1(), sc)
}

var (
	incConv1  = convShape{C: 1, OC: 10, H: 28, W: 28, K: 5}            // [B,1,28,28] -> [B,10,24,24]
	incBlock1 = inceptionShape{C: 10, H: 12, W: 12}                    // [B,10,12,12] -> [B,88,12,12]
	incConv2  = convShape{C: inceptionOut, OC: 20, H: 12, W: 12, K: 5} // [B,88,12,12] -> [B,20,8,8]
	incBlock2 = inceptionShape{C: 20, H: 4, W: 4}                      // [B,20,4,4] -> [B,88,4,4]
)

const incFlat = inceptionOut * 4 * 4 // 1408

// bindInception follows the state_dict order of engine/pytorch/models.py, which registers the
// modules in forward order: conv1, incep1, conv2, incep2, fc.
func bindInception[F float](b *binder[F]) inceptionNetParams[F] {
	var p inceptionNetParams[F]
	p.conv1 = b.conv("conv1", incConv1)
	p.incep1 = bindInceptionA(b, "incep1", incBlock1)
	p.conv2 = b.conv("conv2", incConv2)
	p.incep2 = bindInceptionA(b, "incep2", incBlock2)
	p.fc = b.linear("fc", incFlat, 10)
	return p
}

type inceptionNetParams[F float] struct {
	conv1, conv2   convParams[F]
	incep1, incep2 inceptionParams[F]
	fc             fcParams[F]
}

// inceptionNetActs are the activations of up to n images (their gradients have the same layout).
type inceptionNetActs[F float] struct {
	relu1    []F     // [n,10,12,12] relu(maxpool(conv1))
	pool1Arg []uint8 // [n,10,12,12]
	incep1   inceptionActs[F]
	relu2    []F              // [n,20,4,4]
	pool2Arg []uint8          // [n,20,4,4]
	incep2   inceptionActs[F] // out [n,88,4,4], read as [n,1408]
}

func layoutInception[F float](a *arena[F], n int) inceptionNetActs[F] {
	var acts inceptionNetActs[F]
	acts.relu1, acts.pool1Arg = a.floats(n*10*12*12), a.bytes(n*10*12*12)
	acts.incep1 = layoutInceptionA(a, n, incBlock1)
	acts.relu2, acts.pool2Arg = a.floats(n*20*4*4), a.bytes(n*20*4*4)
	acts.incep2 = layoutInceptionA(a, n, incBlock2)
	return acts
}

// conv1 and conv2 are followed by max pooling and then ReLU, the reverse of the cnn's order;
// the two commute, so the same fused pass serves.
func (a *inceptionNetActs[F]) conv1() convOut[F] {
	return convOut[F]{act: actReLUPool, y: a.relu1, arg: a.pool1Arg}
}
func (a *inceptionNetActs[F]) conv2() convOut[F] {
	return convOut[F]{act: actReLUPool, y: a.relu2, arg: a.pool2Arg}
}

type inceptionModel[F float] struct {
	p, g  inceptionNetParams[F] // shared parameter values; the running chunk's gradients
	a, d  inceptionNetActs[F]   // activations and their gradients
	dBuf  []F                   // backing of d, zeroed before each backward
	bound gradBindings[F, inceptionNetParams[F]]
	sc    *scratch[F]
}

func newInception[F float](values, grads []F) chunkNet[F] {
	return &inceptionModel[F]{p: bindInception(&binder[F]{buf: values}), g: bindInception(&binder[F]{buf: grads})}
}

func (m *inceptionModel[F]) bindGrads(grads []F) { m.g = m.bound.get(grads, bindInception[F]) }

func (m *inceptionModel[F]) reserve(n int) {
	layout := func(a *arena[F]) inceptionNetActs[F] { return layoutInception(a, n) }
	m.a, _ = allocate(layout)
	m.d, m.dBuf = allocate(layout)
	m.sc = newScratch[F](n, inceptionConvs()...)
}

// inceptionConvs are the convolutions the scratch serves.
func inceptionConvs() []convShape {
	shapes := append([]convShape{incConv1, incConv2}, incBlock1.convs()...)
	return append(shapes, incBlock2.convs()...)
}

func (m *inceptionModel[F]) forward(x []F, B int, logits []F) {
	p, a, sc := &m.p, &m.a, m.sc
	convForward(a.conv1(), x, p.conv1.w, p.conv1.b, B, incConv1, sc)            // [B,1,28,28] -> [B,10,12,12]
	inceptionForward(&a.incep1, a.relu1, &p.incep1, B, incBlock1, sc)           // -> [B,88,12,12]
	convForward(a.conv2(), a.incep1.out, p.conv2.w, p.conv2.b, B, incConv2, sc) // -> [B,20,4,4]
	inceptionForward(&a.incep2, a.relu2, &p.incep2, B, incBlock2, sc)           // -> [B,88,4,4] = [B,1408]
	linearForward(logits, a.incep2.out, p.fc.w, p.fc.b, B, incFlat, 10, sc)     // -> [B,10]
}

func (m *inceptionModel[F]) backward(x, dlogits []F, B int) {
	p, g, a, d, sc := &m.p, &m.g, &m.a, &m.d, m.sc
	clear(m.dBuf)
	linearBackward(d.incep2.out, g.fc.w, g.fc.b, dlogits, a.incep2.out, p.fc.w, B, incFlat, 10, sc)
	inceptionBackward(d.relu2, &d.incep2, &g.incep2, &a.incep2, a.relu2, &p.incep2, B, incBlock2, sc)
	convBackward(a.conv2(), d.relu2, nil, a.incep1.out, p.conv2.w, d.incep1.out, g.conv2.w, g.conv2.b, B, incConv2, sc)
	inceptionBackward(d.relu1, &d.incep1, &g.incep1, &a.incep1, a.relu1, &p.incep1, B, incBlock1, sc)
	convBackward(a.conv1(), d.relu1, nil, x, p.conv1.w, nil, g.conv1.w, g.conv1.b, B, incConv1, sc)
}
