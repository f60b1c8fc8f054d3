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

// inceptionActs are an InceptionA block's activations for up to n images.
type inceptionActs[F float] struct {
	b1x1         []F // [n,16,H,W]
	b5x5a, b5x5b []F // [n,16,H,W] after branch5x5_1, [n,24,H,W] after branch5x5_2
	b3x3a, b3x3b []F // [n,16,H,W], [n,24,H,W]
	b3x3c        []F // [n,24,H,W]
	avg          []F // [n,C,H,W] the 3x3 average pool
	bPool        []F // [n,24,H,W]
	out          []F // [n,88,H,W] the concatenation
}

func layoutInceptionA[F float](a *arena[F], n int, s inceptionShape) inceptionActs[F] {
	hw := n * s.H * s.W
	return inceptionActs[F]{
		b1x1:  a.floats(16 * hw),
		b5x5a: a.floats(16 * hw), b5x5b: a.floats(24 * hw),
		b3x3a: a.floats(16 * hw), b3x3b: a.floats(24 * hw), b3x3c: a.floats(24 * hw),
		avg: a.floats(s.C * hw), bPool: a.floats(24 * hw),
		out: a.floats(inceptionOut * hw),
	}
}

// inceptionForward: a.out [B,88,H,W] = InceptionA(x [B,C,H,W]).
func inceptionForward[F float](a *inceptionActs[F], x []F, p *inceptionParams[F], B int, s inceptionShape, ws convWork[F]) {
	conv2dForward(a.b1x1, x, p.b1x1.w, p.b1x1.b, B, s.b1x1(), ws)

	conv2dForward(a.b5x5a, x, p.b5x5_1.w, p.b5x5_1.b, B, s.b5x5_1(), ws)
	conv2dForward(a.b5x5b, a.b5x5a, p.b5x5_2.w, p.b5x5_2.b, B, s.b5x5_2(), ws)

	conv2dForward(a.b3x3a, x, p.b3x3_1.w, p.b3x3_1.b, B, s.b3x3_1(), ws)
	conv2dForward(a.b3x3b, a.b3x3a, p.b3x3_2.w, p.b3x3_2.b, B, s.b3x3_2(), ws)
	conv2dForward(a.b3x3c, a.b3x3b, p.b3x3_3.w, p.b3x3_3.b, B, s.b3x3_3(), ws)

	avgpool3Forward(a.avg, x, B, s.C, s.H, s.W)
	conv2dForward(a.bPool, a.avg, p.bPool.w, p.bPool.b, B, s.bPool(), ws)

	hw := s.H * s.W
	concatForward(a.out, a.b1x1, B, 16, inceptionOut, offB1x1, hw)
	concatForward(a.out, a.b5x5b, B, 24, inceptionOut, offB5x5, hw)
	concatForward(a.out, a.b3x3c, B, 24, inceptionOut, offB3x3, hw)
	concatForward(a.out, a.bPool, B, 24, inceptionOut, offBPool, hw)
}

// inceptionBackward: from d.out [B,88,H,W], add the block's parameter gradients into g and its
// input gradient into dx [B,C,H,W]. a, x and p are the forward's.
func inceptionBackward[F float](dx []F, d *inceptionActs[F], g *inceptionParams[F], a *inceptionActs[F], x []F, p *inceptionParams[F], B int, s inceptionShape, ws convWork[F]) {
	hw := s.H * s.W
	concatBackward(d.b1x1, d.out, B, 16, inceptionOut, offB1x1, hw)
	concatBackward(d.b5x5b, d.out, B, 24, inceptionOut, offB5x5, hw)
	concatBackward(d.b3x3c, d.out, B, 24, inceptionOut, offB3x3, hw)
	concatBackward(d.bPool, d.out, B, 24, inceptionOut, offBPool, hw)

	conv2dBackward(d.avg, g.bPool.w, g.bPool.b, d.bPool, a.avg, p.bPool.w, B, s.bPool(), ws)
	avgpool3Backward(dx, d.avg, B, s.C, s.H, s.W)

	conv2dBackward(d.b3x3b, g.b3x3_3.w, g.b3x3_3.b, d.b3x3c, a.b3x3b, p.b3x3_3.w, B, s.b3x3_3(), ws)
	conv2dBackward(d.b3x3a, g.b3x3_2.w, g.b3x3_2.b, d.b3x3b, a.b3x3a, p.b3x3_2.w, B, s.b3x3_2(), ws)
	conv2dBackward(dx, g.b3x3_1.w, g.b3x3_1.b, d.b3x3a, x, p.b3x3_1.w, B, s.b3x3_1(), ws)

	conv2dBackward(d.b5x5a, g.b5x5_2.w, g.b5x5_2.b, d.b5x5b, a.b5x5a, p.b5x5_2.w, B, s.b5x5_2(), ws)
	conv2dBackward(dx, g.b5x5_1.w, g.b5x5_1.b, d.b5x5a, x, p.b5x5_1.w, B, s.b5x5_1(), ws)

	conv2dBackward(dx, g.b1x1.w, g.b1x1.b, d.b1x1, x, p.b1x1.w, B, s.b1x1(), ws)
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
	conv1    []F     // [n,10,24,24]
	pool1    []F     // [n,10,12,12]
	pool1Arg []int32 // [n,10,12,12]
	relu1    []F     // [n,10,12,12]
	incep1   inceptionActs[F]
	conv2    []F              // [n,20,8,8]
	pool2    []F              // [n,20,4,4]
	pool2Arg []int32          // [n,20,4,4]
	relu2    []F              // [n,20,4,4]
	incep2   inceptionActs[F] // out [n,88,4,4], read as [n,1408]
}

func layoutInception[F float](a *arena[F], n int) inceptionNetActs[F] {
	var acts inceptionNetActs[F]
	acts.conv1 = a.floats(n * 10 * 24 * 24)
	acts.pool1, acts.pool1Arg, acts.relu1 = a.floats(n*10*12*12), a.ints(n*10*12*12), a.floats(n*10*12*12)
	acts.incep1 = layoutInceptionA(a, n, incBlock1)
	acts.conv2 = a.floats(n * 20 * 8 * 8)
	acts.pool2, acts.pool2Arg, acts.relu2 = a.floats(n*20*4*4), a.ints(n*20*4*4), a.floats(n*20*4*4)
	acts.incep2 = layoutInceptionA(a, n, incBlock2)
	return acts
}

type inceptionModel[F float] struct {
	p, g inceptionNetParams[F] // shared parameter values; this worker's gradients
	a, d inceptionNetActs[F]   // activations and their gradients
	dBuf []F                   // backing of d, zeroed before each backward
	ws   convWork[F]
}

func newInception[F float](values, grads []F) chunkNet[F] {
	return &inceptionModel[F]{p: bindInception(&binder[F]{buf: values}), g: bindInception(&binder[F]{buf: grads})}
}

func (m *inceptionModel[F]) reserve(n int) {
	layout := func(a *arena[F]) inceptionNetActs[F] { return layoutInception(a, n) }
	m.a, _ = allocate(layout)
	m.d, m.dBuf = allocate(layout)
	shapes := append([]convShape{incConv1, incConv2}, incBlock1.convs()...)
	m.ws = newConvWork[F](n, append(shapes, incBlock2.convs()...)...)
}

func (m *inceptionModel[F]) forward(x []F, B int, logits []F) {
	p, a, ws := &m.p, &m.a, m.ws
	conv2dForward(a.conv1, x, p.conv1.w, p.conv1.b, B, incConv1, ws) // [B,1,28,28] -> [B,10,24,24]
	maxpool2Forward(a.pool1, a.pool1Arg, a.conv1, B, 10, 24, 24)     // -> [B,10,12,12]
	reluForward(a.relu1, a.pool1, B*10*12*12)
	inceptionForward(&a.incep1, a.relu1, &p.incep1, B, incBlock1, ws)           // -> [B,88,12,12]
	conv2dForward(a.conv2, a.incep1.out, p.conv2.w, p.conv2.b, B, incConv2, ws) // -> [B,20,8,8]
	maxpool2Forward(a.pool2, a.pool2Arg, a.conv2, B, 20, 8, 8)                  // -> [B,20,4,4]
	reluForward(a.relu2, a.pool2, B*20*4*4)
	inceptionForward(&a.incep2, a.relu2, &p.incep2, B, incBlock2, ws)   // -> [B,88,4,4] = [B,1408]
	linearForward(logits, a.incep2.out, p.fc.w, p.fc.b, B, incFlat, 10) // -> [B,10]
}

func (m *inceptionModel[F]) backward(x, dlogits []F, B int) {
	p, g, a, d, ws := &m.p, &m.g, &m.a, &m.d, m.ws
	clear(m.dBuf)
	linearBackward(d.incep2.out, g.fc.w, g.fc.b, dlogits, a.incep2.out, p.fc.w, B, incFlat, 10)
	inceptionBackward(d.relu2, &d.incep2, &g.incep2, &a.incep2, a.relu2, &p.incep2, B, incBlock2, ws)
	reluBackward(d.pool2, d.relu2, a.relu2, B*20*4*4)
	maxpool2Backward(d.conv2, d.pool2, a.pool2Arg, B, 20, 8, 8)
	conv2dBackward(d.incep1.out, g.conv2.w, g.conv2.b, d.conv2, a.incep1.out, p.conv2.w, B, incConv2, ws)
	inceptionBackward(d.relu1, &d.incep1, &g.incep1, &a.incep1, a.relu1, &p.incep1, B, incBlock1, ws)
	reluBackward(d.pool1, d.relu1, a.relu1, B*10*12*12)
	maxpool2Backward(d.conv1, d.pool1, a.pool1Arg, B, 10, 24, 24)
	conv2dBackward(nil, g.conv1.w, g.conv1.b, d.conv1, x, p.conv1.w, B, incConv1, ws)
}
