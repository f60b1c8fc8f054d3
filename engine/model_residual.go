package engine

// The "residual" model: conv1 Conv2d(1,16,5) ReLU MaxPool(2) -> rblock1 -> conv2 Conv2d(16,32,5) ReLU
// MaxPool(2) -> rblock2 -> flatten 512 -> fc Linear(512,10). A residual block of c channels computes
// relu(x + conv2(relu(conv1(x)))) with shape-preserving 3x3 convolutions.

// resBlockShape is a residual block's input geometry: C channels of H×W, kept throughout.
type resBlockShape struct{ C, H, W int }

func (s resBlockShape) conv() convShape {
	return convShape{C: s.C, OC: s.C, H: s.H, W: s.W, K: 3, Pad: 1}
}

type resBlockParams[F float] struct{ conv1, conv2 convParams[F] }

func bindResBlock[F float](b *binder[F], name string, s resBlockShape) resBlockParams[F] {
	var p resBlockParams[F]
	p.conv1 = b.conv(name+".conv1", s.conv())
	p.conv2 = b.conv(name+".conv2", s.conv())
	return p
}

// resBlockActs are a block's activations for up to n images, all [n,C,H,W]. The convolutions'
// raw outputs and the sum before the last ReLU are not kept: both ReLUs are fused into the
// convolutions before them.
type resBlockActs[F float] struct {
	r1  []F // relu(conv1(x))
	out []F // relu(x + conv2(r1))
}

func layoutResBlock[F float](a *arena[F], n int, s resBlockShape) resBlockActs[F] {
	size := n * s.C * s.H * s.W
	return resBlockActs[F]{r1: a.floats(size), out: a.floats(size)}
}

// resBlockForward: a.out [B,C,H,W] = relu(x + conv2(relu(conv1(x)))) for x [B,C,H,W].
func resBlockForward[F float](a *resBlockActs[F], x []F, p *resBlockParams[F], B int, s resBlockShape, sc *scratch[F]) {
	convForward(out(actReLU, a.r1, s.conv()), x, p.conv1.w, p.conv1.b, B, s.conv(), sc)
	convForward(convOut[F]{act: actAddReLU, y: a.out, ct: s.C, skip: x}, a.r1, p.conv2.w, p.conv2.b, B, s.conv(), sc)
}

// resBlockBackward: from d.out, add the block's parameter gradients into g and its input gradient
// into dx [B,C,H,W], which receives both the skip connection's share and the convolutions'.
func resBlockBackward[F float](dx []F, d *resBlockActs[F], g *resBlockParams[F], a *resBlockActs[F], x []F, p *resBlockParams[F], B int, s resBlockShape, sc *scratch[F]) {
	conv2 := convOut[F]{act: actAddReLU, y: a.out, ct: s.C, skip: x}
	convBackward(conv2, d.out, dx, a.r1, p.conv2.w, d.r1, g.conv2.w, g.conv2.b, B, s.conv(), sc)
	convBackward(out(actReLU, a.r1, s.conv()), d.r1, nil, x, p.conv1.w, dx, g.conv1.w, g.conv1.b, B, s.conv(), sc)
}

var (
	resConv1  = convShape{C: 1, OC: 16, H: 28, W: 28, K: 5}  // [B,1,28,28] -> [B,16,24,24]
	resBlock1 = resBlockShape{C: 16, H: 12, W: 12}           // [B,16,12,12]
	resConv2  = convShape{C: 16, OC: 32, H: 12, W: 12, K: 5} // [B,16,12,12] -> [B,32,8,8]
	resBlock2 = resBlockShape{C: 32, H: 4, W: 4}             // [B,32,4,4]
)

const resFlat = 32 * 4 * 4 // 512

type residualParams[F float] struct {
	conv1, conv2     convParams[F]
	rblock1, rblock2 resBlockParams[F]
	fc               fcParams[F]
}

// bindResidual follows the state_dict order of engine/pytorch/models.py, which registers the
// modules in forward order: conv1, rblock1, conv2, rblock2, fc.
func bindResidual[F float](b *binder[F]) residualParams[F] {
	var p residualParams[F]
	p.conv1 = b.conv("conv1", resConv1)
	p.rblock1 = bindResBlock(b, "rblock1", resBlock1)
	p.conv2 = b.conv("conv2", resConv2)
	p.rblock2 = bindResBlock(b, "rblock2", resBlock2)
	p.fc = b.linear("fc", resFlat, 10)
	return p
}

// residualActs are the activations of up to n images (their gradients have the same layout).
type residualActs[F float] struct {
	pool1    []F     // [n,16,12,12] maxpool(relu(conv1))
	pool1Arg []uint8 // [n,16,12,12]
	rblock1  resBlockActs[F]
	pool2    []F             // [n,32,4,4]
	pool2Arg []uint8         // [n,32,4,4]
	rblock2  resBlockActs[F] // out [n,32,4,4], read as [n,512]
}

func layoutResidual[F float](a *arena[F], n int) residualActs[F] {
	var acts residualActs[F]
	acts.pool1, acts.pool1Arg = a.floats(n*16*12*12), a.bytes(n*16*12*12)
	acts.rblock1 = layoutResBlock(a, n, resBlock1)
	acts.pool2, acts.pool2Arg = a.floats(n*resFlat), a.bytes(n*resFlat)
	acts.rblock2 = layoutResBlock(a, n, resBlock2)
	return acts
}

func (a *residualActs[F]) conv1() convOut[F] {
	return convOut[F]{act: actReLUPool, y: a.pool1, arg: a.pool1Arg}
}
func (a *residualActs[F]) conv2() convOut[F] {
	return convOut[F]{act: actReLUPool, y: a.pool2, arg: a.pool2Arg}
}

type residualModel[F float] struct {
	p, g  residualParams[F] // shared parameter values; the running chunk's gradients
	a, d  residualActs[F]   // activations and their gradients
	dBuf  []F               // backing of d, zeroed before each backward
	bound gradBindings[F, residualParams[F]]
	sc    *scratch[F]
}

func newResidual[F float](values, grads []F) chunkNet[F] {
	return &residualModel[F]{p: bindResidual(&binder[F]{buf: values}), g: bindResidual(&binder[F]{buf: grads})}
}

func (m *residualModel[F]) bindGrads(grads []F) { m.g = m.bound.get(grads, bindResidual[F]) }

func (m *residualModel[F]) reserve(n int) {
	layout := func(a *arena[F]) residualActs[F] { return layoutResidual(a, n) }
	m.a, _ = allocate(layout)
	m.d, m.dBuf = allocate(layout)
	m.sc = newScratch[F](n, residualConvs()...)
}

// residualConvs are the convolutions the scratch serves.
func residualConvs() []convShape {
	return []convShape{resConv1, resConv2, resBlock1.conv(), resBlock2.conv()}
}

func (m *residualModel[F]) forward(x []F, B int, logits []F) {
	p, a, sc := &m.p, &m.a, m.sc
	convForward(a.conv1(), x, p.conv1.w, p.conv1.b, B, resConv1, sc) // [B,1,28,28] -> [B,16,12,12]
	resBlockForward(&a.rblock1, a.pool1, &p.rblock1, B, resBlock1, sc)
	convForward(a.conv2(), a.rblock1.out, p.conv2.w, p.conv2.b, B, resConv2, sc) // -> [B,32,4,4]
	resBlockForward(&a.rblock2, a.pool2, &p.rblock2, B, resBlock2, sc)           // [B,32,4,4] = [B,512]
	linearForward(logits, a.rblock2.out, p.fc.w, p.fc.b, B, resFlat, 10, sc)     // -> [B,10]
}

func (m *residualModel[F]) backward(x, dlogits []F, B int) {
	p, g, a, d, sc := &m.p, &m.g, &m.a, &m.d, m.sc
	clear(m.dBuf)
	linearBackward(d.rblock2.out, g.fc.w, g.fc.b, dlogits, a.rblock2.out, p.fc.w, B, resFlat, 10, sc)
	resBlockBackward(d.pool2, &d.rblock2, &g.rblock2, &a.rblock2, a.pool2, &p.rblock2, B, resBlock2, sc)
	convBackward(a.conv2(), d.pool2, nil, a.rblock1.out, p.conv2.w, d.rblock1.out, g.conv2.w, g.conv2.b, B, resConv2, sc)
	resBlockBackward(d.pool1, &d.rblock1, &g.rblock1, &a.rblock1, a.pool1, &p.rblock1, B, resBlock1, sc)
	convBackward(a.conv1(), d.pool1, nil, x, p.conv1.w, nil, g.conv1.w, g.conv1.b, B, resConv1, sc)
}
