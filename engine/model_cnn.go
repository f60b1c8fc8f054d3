package engine

// The "cnn" model, the PyTorch tutorial's LeNet-style net:
// conv1 = Sequential(Conv2d(1,10,5), ReLU, MaxPool2d(2)), conv2 = Sequential(Conv2d(10,20,5), ReLU,
// MaxPool2d(2)), fc = Sequential(Linear(320,50), Linear(50,10)), with no activation between the two
// Linear layers.

var (
	cnnConv1 = convShape{C: 1, OC: 10, H: 28, W: 28, K: 5}  // [B,1,28,28] -> [B,10,24,24]
	cnnConv2 = convShape{C: 10, OC: 20, H: 12, W: 12, K: 5} // [B,10,12,12] -> [B,20,8,8]
)

type cnnParams[F float] struct {
	conv1, conv2 convParams[F]
	fc0, fc1     fcParams[F]
}

func bindCNN[F float](b *binder[F]) cnnParams[F] {
	var p cnnParams[F]
	p.conv1 = b.conv("conv1.0", cnnConv1)
	p.conv2 = b.conv("conv2.0", cnnConv2)
	p.fc0 = b.linear("fc.0", 320, 50)
	p.fc1 = b.linear("fc.1", 50, 10)
	return p
}

// cnnActs are the activations of up to n images (their gradients have the same layout). The
// convolutions' outputs before pooling are not kept: ReLU and pooling are fused into them.
type cnnActs[F float] struct {
	pool1    []F     // [n,10,12,12] maxpool(relu(conv1))
	pool1Arg []uint8 // [n,10,12,12]
	pool2    []F     // [n,20,4,4], read as [n,320]
	pool2Arg []uint8 // [n,20,4,4]
	fc0      []F     // [n,50]
}

func layoutCNN[F float](a *arena[F], n int) cnnActs[F] {
	return cnnActs[F]{
		pool1: a.floats(n * 10 * 12 * 12), pool1Arg: a.bytes(n * 10 * 12 * 12),
		pool2: a.floats(n * 320), pool2Arg: a.bytes(n * 320),
		fc0: a.floats(n * 50),
	}
}

func (a *cnnActs[F]) conv1() convOut[F] {
	return convOut[F]{act: actReLUPool, y: a.pool1, arg: a.pool1Arg}
}
func (a *cnnActs[F]) conv2() convOut[F] {
	return convOut[F]{act: actReLUPool, y: a.pool2, arg: a.pool2Arg}
}

type cnnModel[F float] struct {
	p, g  cnnParams[F] // shared parameter values; the running chunk's gradients
	a, d  cnnActs[F]   // activations and their gradients
	dBuf  []F          // backing of d, zeroed before each backward
	bound gradBindings[F, cnnParams[F]]
	sc    *scratch[F]
}

func newCNN[F float](values, grads []F) chunkNet[F] {
	return &cnnModel[F]{p: bindCNN(&binder[F]{buf: values}), g: bindCNN(&binder[F]{buf: grads})}
}

func (m *cnnModel[F]) bindGrads(grads []F) { m.g = m.bound.get(grads, bindCNN[F]) }

func (m *cnnModel[F]) reserve(n int) {
	layout := func(a *arena[F]) cnnActs[F] { return layoutCNN(a, n) }
	m.a, _ = allocate(layout)
	m.d, m.dBuf = allocate(layout)
	m.sc = newScratch[F](n, cnnConvs()...)
}

// cnnConvs are the convolutions the scratch serves.
func cnnConvs() []convShape { return []convShape{cnnConv1, cnnConv2} }

func (m *cnnModel[F]) forward(x []F, B int, logits []F) {
	p, a, sc := &m.p, &m.a, m.sc
	convForward(a.conv1(), x, p.conv1.w, p.conv1.b, B, cnnConv1, sc)       // [B,1,28,28] -> [B,10,12,12]
	convForward(a.conv2(), a.pool1, p.conv2.w, p.conv2.b, B, cnnConv2, sc) // -> [B,20,4,4] = [B,320]
	linearForward(a.fc0, a.pool2, p.fc0.w, p.fc0.b, B, 320, 50, sc)        // -> [B,50]
	linearForward(logits, a.fc0, p.fc1.w, p.fc1.b, B, 50, 10, sc)          // -> [B,10]
}

func (m *cnnModel[F]) backward(x, dlogits []F, B int) {
	p, g, a, d, sc := &m.p, &m.g, &m.a, &m.d, m.sc
	clear(m.dBuf)
	linearBackward(d.fc0, g.fc1.w, g.fc1.b, dlogits, a.fc0, p.fc1.w, B, 50, 10, sc)
	linearBackward(d.pool2, g.fc0.w, g.fc0.b, d.fc0, a.pool2, p.fc0.w, B, 320, 50, sc)
	convBackward(a.conv2(), d.pool2, nil, a.pool1, p.conv2.w, d.pool1, g.conv2.w, g.conv2.b, B, cnnConv2, sc)
	convBackward(a.conv1(), d.pool1, nil, x, p.conv1.w, nil, g.conv1.w, g.conv1.b, B, cnnConv1, sc)
}
