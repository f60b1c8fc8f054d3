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

// cnnActs are the activations of up to n images (their gradients have the same layout).
type cnnActs[F float] struct {
	conv1, relu1 []F     // [n,10,24,24]
	pool1        []F     // [n,10,12,12]
	pool1Arg     []int32 // [n,10,12,12]
	conv2, relu2 []F     // [n,20,8,8]
	pool2        []F     // [n,20,4,4], read as [n,320]
	pool2Arg     []int32 // [n,20,4,4]
	fc0          []F     // [n,50]
}

func layoutCNN[F float](a *arena[F], n int) cnnActs[F] {
	return cnnActs[F]{
		conv1: a.floats(n * 10 * 24 * 24), relu1: a.floats(n * 10 * 24 * 24),
		pool1: a.floats(n * 10 * 12 * 12), pool1Arg: a.ints(n * 10 * 12 * 12),
		conv2: a.floats(n * 20 * 8 * 8), relu2: a.floats(n * 20 * 8 * 8),
		pool2: a.floats(n * 320), pool2Arg: a.ints(n * 320),
		fc0: a.floats(n * 50),
	}
}

type cnnModel[F float] struct {
	p, g cnnParams[F] // shared parameter values; this worker's gradients
	a, d cnnActs[F]   // activations and their gradients
	dBuf []F          // backing of d, zeroed before each backward
	ws   convWork[F]
}

func newCNN[F float](values, grads []F) chunkNet[F] {
	return &cnnModel[F]{p: bindCNN(&binder[F]{buf: values}), g: bindCNN(&binder[F]{buf: grads})}
}

func (m *cnnModel[F]) reserve(n int) {
	layout := func(a *arena[F]) cnnActs[F] { return layoutCNN(a, n) }
	m.a, _ = allocate(layout)
	m.d, m.dBuf = allocate(layout)
	m.ws = newConvWork[F](n, cnnConv1, cnnConv2)
}

func (m *cnnModel[F]) forward(x []F, B int, logits []F) {
	p, a, ws := &m.p, &m.a, m.ws
	conv2dForward(a.conv1, x, p.conv1.w, p.conv1.b, B, cnnConv1, ws) // [B,1,28,28] -> [B,10,24,24]
	reluForward(a.relu1, a.conv1, B*10*24*24)
	maxpool2Forward(a.pool1, a.pool1Arg, a.relu1, B, 10, 24, 24)           // -> [B,10,12,12]
	conv2dForward(a.conv2, a.pool1, p.conv2.w, p.conv2.b, B, cnnConv2, ws) // -> [B,20,8,8]
	reluForward(a.relu2, a.conv2, B*20*8*8)
	maxpool2Forward(a.pool2, a.pool2Arg, a.relu2, B, 20, 8, 8)  // -> [B,20,4,4] = [B,320]
	linearForward(a.fc0, a.pool2, p.fc0.w, p.fc0.b, B, 320, 50) // -> [B,50]
	linearForward(logits, a.fc0, p.fc1.w, p.fc1.b, B, 50, 10)   // -> [B,10]
}

func (m *cnnModel[F]) backward(x, dlogits []F, B int) {
	p, g, a, d, ws := &m.p, &m.g, &m.a, &m.d, m.ws
	clear(m.dBuf)
	linearBackward(d.fc0, g.fc1.w, g.fc1.b, dlogits, a.fc0, p.fc1.w, B, 50, 10)
	linearBackward(d.pool2, g.fc0.w, g.fc0.b, d.fc0, a.pool2, p.fc0.w, B, 320, 50)
	maxpool2Backward(d.relu2, d.pool2, a.pool2Arg, B, 20, 8, 8)
	reluBackward(d.conv2, d.relu2, a.relu2, B*20*8*8)
	conv2dBackward(d.pool1, g.conv2.w, g.conv2.b, d.conv2, a.pool1, p.conv2.w, B, cnnConv2, ws)
	maxpool2Backward(d.relu1, d.pool1, a.pool1Arg, B, 10, 24, 24)
	reluBackward(d.conv1, d.relu1, a.relu1, B*10*24*24)
	conv2dBackward(nil, g.conv1.w, g.conv1.b, d.conv1, x, p.conv1.w, B, cnnConv1, ws)
}
