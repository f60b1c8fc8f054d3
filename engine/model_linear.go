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

// mlpActs are the activations of up to n images (their gradients have the same layout).
type mlpActs[F float] struct {
	h1, r1 []F // [n,512] l1 output, after ReLU
	h2, r2 []F // [n,256]
	h3, r3 []F // [n,128]
	h4, r4 []F // [n,64]
}

func layoutMLP[F float](a *arena[F], n int) mlpActs[F] {
	return mlpActs[F]{
		h1: a.floats(n * 512), r1: a.floats(n * 512),
		h2: a.floats(n * 256), r2: a.floats(n * 256),
		h3: a.floats(n * 128), r3: a.floats(n * 128),
		h4: a.floats(n * 64), r4: a.floats(n * 64),
	}
}

type mlpModel[F float] struct {
	p, g mlpParams[F] // shared parameter values; this worker's gradients
	a, d mlpActs[F]   // activations and their gradients
	dBuf []F          // backing of d, zeroed before each backward
}

func newMLP[F float](values, grads []F) chunkNet[F] {
	return &mlpModel[F]{p: bindMLP(&binder[F]{buf: values}), g: bindMLP(&binder[F]{buf: grads})}
}

func (m *mlpModel[F]) reserve(n int) {
	layout := func(a *arena[F]) mlpActs[F] { return layoutMLP(a, n) }
	m.a, _ = allocate(layout)
	m.d, m.dBuf = allocate(layout)
}

func (m *mlpModel[F]) forward(x []F, B int, logits []F) {
	p, a := &m.p, &m.a
	linearForward(a.h1, x, p.l1.w, p.l1.b, B, 784, 512) // [B,784] (the flattened image) -> [B,512]
	reluForward(a.r1, a.h1, B*512)
	linearForward(a.h2, a.r1, p.l2.w, p.l2.b, B, 512, 256) // -> [B,256]
	reluForward(a.r2, a.h2, B*256)
	linearForward(a.h3, a.r2, p.l3.w, p.l3.b, B, 256, 128) // -> [B,128]
	reluForward(a.r3, a.h3, B*128)
	linearForward(a.h4, a.r3, p.l4.w, p.l4.b, B, 128, 64) // -> [B,64]
	reluForward(a.r4, a.h4, B*64)
	linearForward(logits, a.r4, p.l5.w, p.l5.b, B, 64, 10) // -> [B,10]
}

func (m *mlpModel[F]) backward(x, dlogits []F, B int) {
	p, g, a, d := &m.p, &m.g, &m.a, &m.d
	clear(m.dBuf)
	linearBackward(d.r4, g.l5.w, g.l5.b, dlogits, a.r4, p.l5.w, B, 64, 10)
	reluBackward(d.h4, d.r4, a.r4, B*64)
	linearBackward(d.r3, g.l4.w, g.l4.b, d.h4, a.r3, p.l4.w, B, 128, 64)
	reluBackward(d.h3, d.r3, a.r3, B*128)
	linearBackward(d.r2, g.l3.w, g.l3.b, d.h3, a.r2, p.l3.w, B, 256, 128)
	reluBackward(d.h2, d.r2, a.r2, B*256)
	linearBackward(d.r1, g.l2.w, g.l2.b, d.h2, a.r1, p.l2.w, B, 512, 256)
	reluBackward(d.h1, d.r1, a.r1, B*512)
	linearBackward(nil, g.l1.w, g.l1.b, d.h1, x, p.l1.w, B, 784, 512)
}
