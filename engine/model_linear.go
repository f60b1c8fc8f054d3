package engine

// The "linear" model: a 784-512-256-128-64-10 MLP with ReLU between layers.

type mlpParams[F float] struct {
	l1, l2, l3, l4, l5 fcParams[F]
}

func bindMLP[F float](b *binder[F]) mlpParams[F] {
	var p mlpParams[F]
	p.l1 = b.linear("l1", 784, 512)
	p.l2 = b.linear("l2", 512, 256)
	p.l3 = b.linear("l3", 256, 128)
	p.l4 = b.linear("l4", 128, 64)
	p.l5 = b.linear("l5", 64, 10)
	return p
}

// mlpActs are the activations of up to n images (their gradients have the same layout). Each
// layer's ReLU runs in place: its input is not needed once the output is known.
type mlpActs[F float] struct {
	r1 []F // [n,512] relu(l1(x))
	r2 []F // [n,256]
	r3 []F // [n,128]
	r4 []F // [n,64]
}

func layoutMLP[F float](a *arena[F], n int) mlpActs[F] {
	return mlpActs[F]{r1: a.floats(n * 512), r2: a.floats(n * 256), r3: a.floats(n * 128), r4: a.floats(n * 64)}
}

type mlpModel[F float] struct {
	p, g  mlpParams[F] // shared parameter values; the running chunk's gradients
	a, d  mlpActs[F]   // activations and their gradients
	dBuf  []F          // backing of d
	bound gradBindings[F, mlpParams[F]]
	sc    *scratch[F]
}

func newMLP[F float](values, grads []F) chunkNet[F] {
	return &mlpModel[F]{p: bindMLP(&binder[F]{buf: values}), g: bindMLP(&binder[F]{buf: grads})}
}

func (m *mlpModel[F]) bindGrads(grads []F) { m.g = m.bound.get(grads, bindMLP[F]) }

func (m *mlpModel[F]) reserve(n int) {
	layout := func(a *arena[F]) mlpActs[F] { return layoutMLP(a, n) }
	m.a, _ = allocate(layout)
	m.d, m.dBuf = allocate(layout)
	m.sc = newScratch[F](n, mlpConvs()...)
}

// mlpConvs are the convolutions the scratch serves: none.
func mlpConvs() []convShape { return nil }

func (m *mlpModel[F]) forward(x []F, B int, logits []F) {
	p, a, sc := &m.p, &m.a, m.sc
	linearForward(a.r1, x, p.l1.w, p.l1.b, B, 784, 512, sc) // [B,784] (the flattened image) -> [B,512]
	reluInPlace(a.r1, B*512)
	linearForward(a.r2, a.r1, p.l2.w, p.l2.b, B, 512, 256, sc) // -> [B,256]
	reluInPlace(a.r2, B*256)
	linearForward(a.r3, a.r2, p.l3.w, p.l3.b, B, 256, 128, sc) // -> [B,128]
	reluInPlace(a.r3, B*128)
	linearForward(a.r4, a.r3, p.l4.w, p.l4.b, B, 128, 64, sc) // -> [B,64]
	reluInPlace(a.r4, B*64)
	linearForward(logits, a.r4, p.l5.w, p.l5.b, B, 64, 10, sc) // -> [B,10]
}

func (m *mlpModel[F]) backward(x, dlogits []F, B int) {
	p, g, a, d, sc := &m.p, &m.g, &m.a, &m.d, m.sc
	// Each gradient, of a parameter or an activation, has one layer writing it: they are set,
	// not added to, and neither they nor m.dBuf need clearing (see setsGrads).
	linearBackwardSet(d.r4, g.l5.w, g.l5.b, dlogits, a.r4, p.l5.w, B, 64, 10, sc)
	reluBackInPlace(d.r4, a.r4, B*64)
	linearBackwardSet(d.r3, g.l4.w, g.l4.b, d.r4, a.r3, p.l4.w, B, 128, 64, sc)
	reluBackInPlace(d.r3, a.r3, B*128)
	linearBackwardSet(d.r2, g.l3.w, g.l3.b, d.r3, a.r2, p.l3.w, B, 256, 128, sc)
	reluBackInPlace(d.r2, a.r2, B*256)
	linearBackwardSet(d.r1, g.l2.w, g.l2.b, d.r2, a.r1, p.l2.w, B, 512, 256, sc)
	reluBackInPlace(d.r1, a.r1, B*512)
	linearBackwardSet(nil, g.l1.w, g.l1.b, d.r1, x, p.l1.w, B, 784, 512, sc)
}

// setsGrads tells the engine that backward writes every parameter gradient outright.
func (m *mlpModel[F]) setsGrads() {}
