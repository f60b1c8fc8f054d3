package engine

import (
	"fmt"
	"math"
	"math/rand/v2"

	"mnist-tui/engine/network"
)

// A network declared in config.yaml (model: custom), run by walking its layers: each layer is
// a node holding its geometry, the index of its parameters and its activations, and forward
// and backward call the layer functions of netlayers.go (and layers.go, conv.go for linear and
// stride-1 convolutions) node after node.
//
// Fusions are chosen when the nodes are built, as the built-in models have them written in: a
// stride-1 convolution followed by a ReLU (and a 2x2 max pooling) stores the activated (and
// pooled) output straight from its GEMM (conv.go's actReLU, actReLUPool), a BatchNorm followed
// by a ReLU (and a 2x2 max pooling) applies them as it normalises and never stores its
// full-size output (its backward pass writes its input gradient straight into the GEMM layout
// of a stride-1 convolution before it, bnNext), a 2x2 max pooling by 2 has its own loop, and a
// single-channel unpadded convolution with output rows 8, 16 or 24 wide takes convForward's
// direct kernel as the built-in models' first layers do (the example network's padded 28-wide
// one cannot). The 2x2 relu-poolings of rows the vector kernel does not take (14, 28 wide) go
// through rows padded for it in scratch.
//
// The batch is cut into chunks like the built-in models', so that every core trains. Two
// layers need more than a chunk: dropout draws each image's mask from a stream keyed by (seed,
// training step, layer, image), which any chunk computes for its own images; BatchNorm needs
// the whole batch's statistics, so a training step runs in passes that stop at each BatchNorm
// of the top-level list (see customState.between): the chunks' per-channel moments are merged
// in chunk order, and every chunk resumes with the batch's statistics; backward stops there
// again for Σdy and Σdy·x̂. Each chunk keeps its activations in its own instance of the network
// between the passes (whichever worker runs it), so a pass is a phase of the engine's pool like
// any other. A BatchNorm inside a residual or branches block cannot stop the passes: a network
// with one trains each batch as one chunk (modelDef.wholeBatch).

// NewCustomNet builds the checked network spec with weights drawn from seed and threads
// workers (threads <= 0: one per CPU). Parameters are named as package network names them.
func NewCustomNet(spec *network.Network, seed uint64, threads int) (*Net, error) {
	if spec == nil || !spec.Checked {
		return nil, fmt.Errorf("engine: custom network: not checked; build it with network.Parse and Check")
	}
	st := newCustomState(spec, seed)
	var nets []*customNet[float32] // one per chunk, filled in below
	def := &modelDef{
		name:        "custom",
		bind:        func(b *binder[float32]) { bindCustom(b, spec) },
		newChunkNet: func(values, grads []float32) chunkNet[float32] { return &customWorker{nets: &nets} },
		wholeBatch:  st.nestedBatchNorm,
	}
	n, err := newNet(def, seed, threads)
	if err != nil {
		return nil, err
	}
	chunks := len(n.phase.grads)
	// Chunk c runs on nets[c], bound to chunk c's gradients; worker i's inference on nets[i]
	// (chunks and inference never run at the same time).
	nets = make([]*customNet[float32], max(chunks, threads))
	for c := range nets {
		nets[c] = newCustom(spec, st, n.values, n.phase.grads[min(c, chunks-1)])
	}
	for i, w := range n.workers {
		w.net.(*customWorker).index = i
	}
	st.reserveChunks(chunks)
	n.buffers, n.staged = st, &customPasses{customState: st, infer: nets[:threads]}
	return n, nil
}

// customPasses is a custom network's side of the Net: its passes (customState) and the
// instances its workers infer with.
type customPasses struct {
	*customState
	infer []*customNet[float32] // worker i's is infer[i]
}

// reserveInfer sizes every worker's instance for inference chunks of images images before
// they run, so that whichever worker gets a chunk finds its instance ready.
func (p *customPasses) reserveInfer(images int) {
	for _, m := range p.infer {
		m.reserve(images)
	}
}

// customWorker is a worker's handle on a custom network: it runs whichever chunk's instance
// the phase gives it (see stagedNet).
type customWorker struct {
	nets  *[]*customNet[float32]
	index int // the worker's place in Net.workers: its instance for inference
}

// reserve does nothing: each instance sizes itself for the chunks it runs.
func (w *customWorker) reserve(int) {}

// bindGrads does nothing: each chunk's instance is bound to that chunk's gradients for good.
func (w *customWorker) bindGrads([]float32) {}

func (w *customWorker) forward(x []float32, B int, logits []float32) {
	m := (*w.nets)[w.index]
	m.reserve(B)
	m.forward(x, B, logits)
}

// backward is never called: TrainStep runs a custom network in passes (stagedNet).
func (w *customWorker) backward(x, dlogits []float32, B int) {}

func (w *customWorker) forwardPasses() int { return len((*w.nets)[0].bnAt) + 1 }

func (w *customWorker) forwardPass(pass, chunk, lo int, x []float32, B int, logits []float32) {
	m := (*w.nets)[chunk]
	if pass == 0 {
		m.reserve(B)
	}
	m.forwardPass(pass, chunk, lo, x, B, logits)
}

func (w *customWorker) backwardPass(pass, chunk int, x, dlogits []float32, B int) {
	(*w.nets)[chunk].backwardPass(pass, chunk, x, dlogits, B)
}

// customState is what a network's chunks share besides the parameters: BatchNorm's running
// statistics, each BatchNorm's batch statistics and the chunks' shares of them, and the
// dropout stream. Chunks write only their own shares; between passes (between) writes the rest.
type customState struct {
	names   []string    // the buffers' state_dict names, running_mean and running_var of each BatchNorm
	stats   [][]float32 // their values, [C] each
	tracked []int64     // each BatchNorm's num_batches_tracked
	bn      []*bnBatch  // each BatchNorm's batch statistics, in the order of tracked
	// topBN are the BatchNorms of the top-level list (indices into bn), in order: where a
	// training step's passes stop.
	topBN []int
	// nestedBatchNorm: a BatchNorm inside a block, which needs the batch as one chunk.
	nestedBatchNorm bool
	seed            uint64
	step            uint64 // training batches run: batch t's dropout masks are keyed by (seed, t)
	// maskSource, when set, gives the dropout masks instead of the stream: the parity tests
	// inject PyTorch's. from is the first of mask's elements in the whole batch's mask.
	maskSource func(mask []uint8, from int)
}

// bnBatch is one BatchNorm's view of the batch being trained on.
type bnBatch struct {
	mean, invstd []float64   // [C] the batch's statistics
	count        float64     // values per channel in the batch
	moments      [][]moments // [chunk][C] each chunk's
	merged       []moments   // [C]
	sumDy        [][]float64 // [chunk][C] each chunk's Σdy, then Σdy·x̂ below
	sumDyXhat    [][]float64
	totDy        []float64 // [C] the batch's
	totDyXhat    []float64
}

func newCustomState(spec *network.Network, seed uint64) *customState {
	st := &customState{seed: seed}
	network.Walk(spec.Layers, func(path string, l *network.Layer) {
		for _, b := range l.Buffers(path) {
			v := make([]float32, b.Size())
			for i := range v {
				v[i] = b.Init
			}
			st.names = append(st.names, b.Name)
			st.stats = append(st.stats, v)
		}
		if l.Kind == network.BatchNorm {
			st.tracked = append(st.tracked, 0)
			c := l.In[0]
			st.bn = append(st.bn, &bnBatch{mean: make([]float64, c), invstd: make([]float64, c),
				merged: make([]moments, c), totDy: make([]float64, c), totDyXhat: make([]float64, c)})
		}
	})
	k := 0
	for i := range spec.Layers {
		if spec.Layers[i].Kind == network.BatchNorm {
			st.topBN = append(st.topBN, k)
		}
		network.Walk(spec.Layers[i:i+1], func(_ string, l *network.Layer) {
			if l.Kind == network.BatchNorm {
				k++
			}
		})
	}
	st.nestedBatchNorm = len(st.topBN) < len(st.bn)
	st.reserveChunks(1)
	return st
}

// reserveChunks makes room for each BatchNorm's shares of chunks chunks.
func (st *customState) reserveChunks(chunks int) {
	for _, b := range st.bn {
		c := len(b.mean)
		for len(b.moments) < chunks {
			b.moments = append(b.moments, make([]moments, c))
			b.sumDy = append(b.sumDy, make([]float64, c))
			b.sumDyXhat = append(b.sumDyXhat, make([]float64, c))
		}
	}
}

// runningStats is BatchNorm k's running statistics.
func (st *customState) runningStats(k int) bnStats[float32] {
	return bnStats[float32]{mean: st.stats[2*k], variance: st.stats[2*k+1], tracked: &st.tracked[k]}
}

// passes is how many phases a training step runs: forward to each top-level BatchNorm, on
// to the loss and back to the last BatchNorm, and back to each earlier one.
func (st *customState) passes() int { return 2*len(st.topBN) + 1 }

// between runs on one goroutine after pass of a training step run in chunks: it merges the
// chunks' shares of a BatchNorm in chunk order, or ends the step after the last pass.
func (st *customState) between(pass, chunks int) {
	K := len(st.topBN)
	switch {
	case pass < K: // forward reached BatchNorm pass: its batch statistics
		k := st.topBN[pass]
		b := st.bn[k]
		copy(b.merged, b.moments[0])
		for _, m := range b.moments[1:chunks] {
			for c := range b.merged {
				b.merged[c] = mergeMoments(b.merged[c], m[c])
			}
		}
		b.count = b.merged[0].n
		batchNormStatistics(b.mean, b.invstd, b.merged, st.runningStats(k), network.BNMomentum, network.BNEps)
	case pass < 2*K: // backward reached a BatchNorm: the batch's Σdy and Σdy·x̂
		b := st.bn[st.topBN[2*K-1-pass]]
		copy(b.totDy, b.sumDy[0])
		copy(b.totDyXhat, b.sumDyXhat[0])
		for c := 1; c < chunks; c++ {
			addTo(b.totDy, b.sumDy[c])
			addTo(b.totDyXhat, b.sumDyXhat[c])
		}
	default:
		st.step++
	}
}

// bindCustom walks the parameters in state_dict order and returns their views, in that order.
func bindCustom[F float](b *binder[F], spec *network.Network) [][]F {
	var views [][]F
	for _, t := range spec.Params() {
		views = append(views, b.takeSpec(paramSpec{name: t.Name, shape: t.Shape, fanIn: t.FanIn, init: t.Init}))
	}
	return views
}

// node is one layer of the running network, with the layers fused into it.
type node[F float] struct {
	l        *network.Layer
	in, out  int // floats of one image going in and coming out (of the last fused layer)
	outShape network.Shape
	win      window
	param    int  // index of the layer's first parameter view (weight; bias after it)
	hasBias  bool // conv, linear
	stat     int  // BatchNorm: its running_mean is customState.stats[stat], running_var the next; its number stat/2
	drop     int  // dropout: its number among the network's dropouts, which keys its masks
	body     []*node[F]
	branches [][]*node[F]
	act      activation
	strided  bool    // conv: stride > 1, run by convStrided*
	fused    convAct // stride-1 conv: actReLU or actReLUPool when the ReLU (and pooling) after it are fused in
	bn       bnFused // BatchNorm: the ReLU (and 2x2 max pooling) after it fused in
	pool2    bool    // maxpool: 2x2 by 2, unpadded
	plane    int     // BatchNorm and global_avgpool: values per channel of one image
	y, dy    []F     // [B,out]: the output and its gradient
	arg      []int32 // maxpool: each output's winner, its index in the input plane
	arg2     []uint8 // conv with actReLUPool: each output's winner in its 2x2 window
	mask     []uint8 // dropout: 1 kept, 0 dropped
	// bnNext: a top-level stride-1 conv, its output unactivated, followed by a BatchNorm with
	// ReLU and pooling fused in, whose backward pass writes the conv's output gradient straight
	// into the conv's GEMM layout (bnPoolGrad): the conv's dy is never stored.
	bnNext bool
}

// customNet is one chunk's instance of a custom network: its activations, kept between the
// passes of a training step, and the scratch of whichever worker runs it.
type customNet[F float] struct {
	spec     *network.Network
	st       *customState
	nodes    []*node[F]
	bnAt     []int // the top-level BatchNorms' places in nodes
	p, g     [][]F // parameter values and the chunk's gradients, state_dict order
	bound    gradBindings[F, [][]F]
	capacity int // images the activations hold
	sc       *scratch[F]
	col      []F // a strided convolution's im2col of one image
	zeros    []F // a bias of zeros for layers without one
	dummy    []F // where the gradient of that bias goes
	scale    []float64
	shift    []float64 // [C] a BatchNorm's affine map, see batchNormAffine
	lo       int       // the running chunk's first image in the batch: keys its dropout masks
	rng      rand.PCG

	bnsc   bnScratch[F]  // a BatchNorm's, for a plane at a time
	bnGrad bnPoolGrad[F] // a bnNext conv's BatchNorm's backward, handed to convBackward
}

func newCustom[F float](spec *network.Network, st *customState, values, grads []F) *customNet[F] {
	m := &customNet[F]{spec: spec, st: st}
	m.p = bindCustom(&binder[F]{buf: values}, spec)
	m.g = bindCustom(&binder[F]{buf: grads}, spec)
	param, stat, drop := 0, 0, 0
	m.nodes = buildNodes[F](spec.Layers, &param, &stat, &drop, true)
	for i, n := range m.nodes {
		if n.l.Kind == network.BatchNorm {
			m.bnAt = append(m.bnAt, i)
			if prev := m.nodes[max(i-1, 0)]; i > 0 && prev.l.Kind == network.Conv && !prev.strided && prev.fused == actNone && n.bn == bnReLUPool {
				prev.bnNext = true
			}
		}
	}
	return m
}

// isMaxPool2 reports whether l is a 2x2 max pooling by 2 without padding.
func isMaxPool2(l *network.Layer) bool {
	return l.Kind == network.MaxPool && l.Kernel == 2 && l.Stride == 2 && l.Padding == 0
}

// buildNodes makes the nodes of layers, counting parameters, BatchNorms and dropouts in
// state_dict order, and, if fuse, fuses layers into the ones before them where conv.go or the
// BatchNorm can apply them on the way out (a Probe keeps every layer's output: no fusion).
func buildNodes[F float](layers []network.Layer, param, stat, drop *int, fuse bool) []*node[F] {
	var nodes []*node[F]
	for i := 0; i < len(layers); i++ {
		l := &layers[i]
		n := &node[F]{l: l, in: l.In.Size(), outShape: l.OutShape, param: *param}
		*param += len(l.Params(""))
		if l.In.IsMap() {
			n.win = window{C: l.In[0], OC: l.OutShape[0], H: l.In[1], W: l.In[2], K: l.Kernel, S: l.Stride, P: l.Padding}
			n.plane = l.In[1] * l.In[2]
		} else {
			n.plane = 1
		}
		next := func(k network.Kind) bool { return fuse && i+1 < len(layers) && layers[i+1].Kind == k }
		switch l.Kind {
		case network.Conv:
			n.hasBias, n.strided = l.Bias, l.Stride > 1
			if !n.strided && next(network.ReLU) {
				i++
				n.fused, n.outShape = actReLU, layers[i].OutShape
				if i+1 < len(layers) && isMaxPool2(&layers[i+1]) {
					i++
					n.fused, n.outShape = actReLUPool, layers[i].OutShape
				}
			}
		case network.Linear:
			n.hasBias = l.Bias
		case network.BatchNorm:
			n.stat = *stat
			*stat += 2
			if next(network.ReLU) {
				i++
				n.bn, n.outShape = bnReLU, layers[i].OutShape
				if i+1 < len(layers) && isMaxPool2(&layers[i+1]) {
					i++
					n.bn, n.outShape = bnReLUPool, layers[i].OutShape
				}
			}
		case network.MaxPool:
			n.pool2 = isMaxPool2(l)
		case network.Dropout:
			n.drop = *drop
			*drop++
		case network.ReLU:
			n.act = actFnReLU
		case network.LeakyReLU:
			n.act = actFnLeakyReLU
		case network.Tanh:
			n.act = actFnTanh
		case network.Sigmoid:
			n.act = actFnSigmoid
		case network.GELU:
			n.act = actFnGELU
		case network.Residual:
			n.body = buildNodes[F](l.Body, param, stat, drop, fuse)
		case network.Branches:
			for _, b := range l.Branches {
				n.branches = append(n.branches, buildNodes[F](b, param, stat, drop, fuse))
			}
		}
		n.out = n.outShape.Size()
		nodes = append(nodes, n)
	}
	return nodes
}

// each calls visit on every node, blocks before their contents.
func each[F float](nodes []*node[F], visit func(*node[F])) {
	for _, n := range nodes {
		visit(n)
		each(n.body, visit)
		for _, b := range n.branches {
			each(b, visit)
		}
	}
}

func (m *customNet[F]) bindGrads(grads []F) {
	m.g = m.bound.get(grads, func(b *binder[F]) [][]F { return bindCustom(b, m.spec) })
}

// reserve sizes the activations and scratch for images images, if they are not already.
func (m *customNet[F]) reserve(images int) {
	if images <= m.capacity {
		return
	}
	m.capacity = images
	var shapes []convShape
	col, widest, planeH, planeW := 0, 0, 1, 1
	each(m.nodes, func(n *node[F]) {
		n.y, n.dy = make([]F, images*n.out), nil
		if !n.bnNext {
			n.dy = make([]F, images*n.out)
		}
		switch n.l.Kind {
		case network.Conv:
			if n.strided {
				col = max(col, n.win.C*n.win.K*n.win.K*n.win.OH()*n.win.OW())
			} else {
				shapes = append(shapes, m.convShape(n))
			}
			if n.fused == actReLUPool {
				n.arg2 = make([]uint8, images*n.out)
			}
			widest = max(widest, n.win.OC)
		case network.Linear:
			widest = max(widest, n.l.Out)
		case network.MaxPool:
			n.arg = make([]int32, images*n.out)
		case network.Dropout:
			n.mask = make([]uint8, images*n.out)
		case network.BatchNorm:
			widest = max(widest, n.l.In[0])
			_, bh, bw := bnDims(n)
			planeH, planeW = max(planeH, bh), max(planeW, bw)
			if n.bn == bnReLUPool {
				n.arg2 = make([]uint8, images*n.out)
			}
		}
	})
	m.bnsc = newBNScratch[F](planeH, planeW)
	m.scale, m.shift = make([]float64, widest), make([]float64, widest)
	g := &m.bnGrad
	g.a, g.b, g.mu, g.e = make([]F, widest), make([]F, widest), make([]F, widest), make([]F, widest)
	m.sc = newScratch[F](images, shapes...)
	m.col = make([]F, col)
	m.zeros, m.dummy = make([]F, widest), make([]F, widest)
}

func (m *customNet[F]) convShape(n *node[F]) convShape {
	return convShape{C: n.win.C, OC: n.win.OC, H: n.win.H, W: n.win.W, K: n.win.K, Pad: n.win.P}
}

// convOut is where a stride-1 convolution node stores its output, with what is fused in.
func (m *customNet[F]) convOut(n *node[F], B int) convOut[F] {
	o := out(n.fused, n.y[:B*n.out], m.convShape(n))
	if n.fused == actReLUPool {
		o.arg = n.arg2[:B*n.out]
	}
	return o
}

// forward runs the network in evaluation mode.
func (m *customNet[F]) forward(x []F, B int, logits []F) {
	out := m.seqForward(m.nodes, x, B, false)
	copy(logits[:B*network.Classes], out[:B*network.Classes])
}

// forwardTrain and backward run a training step on x as one chunk that is the whole batch,
// the passes back to back: the gradient checks' way.
func (m *customNet[F]) forwardTrain(x []F, B int, logits []F) {
	m.reserve(B)
	for p := range len(m.bnAt) + 1 {
		m.forwardPass(p, 0, 0, x, B, logits)
		if p < len(m.bnAt) {
			m.st.between(p, 1)
		}
	}
}

func (m *customNet[F]) backward(x, dlogits []F, B int) {
	K := len(m.bnAt)
	for p := range K + 1 {
		m.backwardPass(p, 0, x, dlogits, B)
		m.st.between(K+p, 1)
	}
}

// input is what node i of nodes reads: the output of the node before it, or x.
func input[F float](nodes []*node[F], i int, x []F) []F {
	if i == 0 {
		return x
	}
	return nodes[i-1].y
}

// forwardPass runs pass of a training step on the B images of x, the chunk-th chunk of the
// batch starting at its image lo: the top-level nodes from the BatchNorm where the previous
// pass stopped (normalised by the batch's statistics) to the next BatchNorm, whose share of
// the statistics it leaves in customState; the last pass writes logits [B,10].
func (m *customNet[F]) forwardPass(pass, chunk, lo int, x []F, B int, logits []F) {
	m.lo = lo
	start, end := 0, len(m.nodes)
	if pass > 0 {
		i := m.bnAt[pass-1]
		n := m.nodes[i]
		b := m.st.bn[n.stat/2]
		C, H, W := bnDims(n)
		batchNormAffine(m.scale[:C], m.shift[:C], b.mean, b.invstd, m.p[n.param], m.p[n.param+1])
		batchNormApply(n.y[:B*n.out], n.arg2, input(m.nodes, i, x), m.scale, m.shift, B, C, H, W, n.bn, &m.bnsc)
		start = i + 1
	}
	if pass < len(m.bnAt) {
		end = m.bnAt[pass]
	}
	for i := start; i < end; i++ {
		m.nodeForward(m.nodes[i], input(m.nodes, i, x), B, true)
	}
	if pass < len(m.bnAt) {
		n := m.nodes[end]
		batchNormMoments(m.st.bn[n.stat/2].moments[chunk], input(m.nodes, end, x), B, n.l.In[0], n.plane)
		return
	}
	last := m.nodes[len(m.nodes)-1]
	copy(logits[:B*network.Classes], last.y[:B*network.Classes])
}

// backwardPass runs pass of a training step's backward on the chunk-th chunk, x its images:
// pass 0 from the logits' gradient dlogits [B,10] down to the last top-level BatchNorm, whose
// share of Σdy and Σdy·x̂ it leaves in customState; each later one from a BatchNorm (its
// input gradient from the batch's sums) down to the one before, or the input.
func (m *customNet[F]) backwardPass(pass, chunk int, x, dlogits []F, B int) {
	K := len(m.bnAt)
	if pass == 0 {
		each(m.nodes, func(n *node[F]) { clear(n.dy[:min(B*n.out, len(n.dy))]) })
	}
	hi := len(m.nodes)
	if pass > 0 {
		i := m.bnAt[K-pass]
		n := m.nodes[i]
		b := m.st.bn[n.stat/2]
		dgamma, dbeta := m.g[n.param], m.g[n.param+1]
		for c := range dgamma {
			dgamma[c] += F(b.sumDyXhat[chunk][c])
			dbeta[c] += F(b.sumDy[chunk][c])
		}
		if prev := m.nodes[max(i-1, 0)]; prev.bnNext {
			C, H, W := bnDims(n)
			g := &m.bnGrad
			g.x, g.y, g.dy, g.arg, g.C, g.H, g.W = prev.y, n.y, n.dy, n.arg2, C, H, W
			for c := range C {
				g.a[c], g.b[c], g.mu[c], g.e[c] = bnInputGradConsts(m.p[n.param][c], b.mean[c], b.invstd[c], b.totDy[c], b.totDyXhat[c], b.count)
			}
		} else if i > 0 {
			C, H, W := bnDims(n)
			bnInputGrad(m.nodes[i-1].dy, n.dy[:B*n.out], n.y, n.arg2, input(m.nodes, i, x), b.mean, b.invstd, b.totDy, b.totDyXhat, m.p[n.param], b.count, B, C, H, W, n.bn)
		}
		hi = i
	}
	lo := 0
	if pass < K {
		lo = m.bnAt[K-1-pass] + 1
	}
	m.seqBackward(m.nodes, x, nil, dlogits, B, lo, hi)
	if pass < K {
		n := m.nodes[lo-1]
		b := m.st.bn[n.stat/2]
		C, H, W := bnDims(n)
		clear(b.sumDy[chunk])
		clear(b.sumDyXhat[chunk])
		bnGradSums(b.sumDy[chunk], b.sumDyXhat[chunk], n.dy[:B*n.out], n.y, n.arg2, input(m.nodes, lo-1, x), b.mean, b.invstd, B, C, H, W, n.bn)
	}
}

// seqForward runs nodes on x [B,...] and returns the last one's output.
func (m *customNet[F]) seqForward(nodes []*node[F], x []F, B int, training bool) []F {
	for _, n := range nodes {
		m.nodeForward(n, x, B, training)
		x = n.y
	}
	return x
}

func (m *customNet[F]) bias(n *node[F], params [][]F) []F {
	if n.hasBias {
		return params[n.param+1]
	}
	return nil
}

func (m *customNet[F]) nodeForward(n *node[F], x []F, B int, training bool) {
	l, y := n.l, n.y[:B*n.out]
	switch l.Kind {
	case network.Conv:
		w, b := m.p[n.param], m.bias(n, m.p)
		if n.strided {
			convStridedForward(y, x, w, b, B, n.win, m.col, m.sc)
			return
		}
		if b == nil {
			b = m.zeros
		}
		convForward(m.convOut(n, B), x, w, b, B, m.convShape(n), m.sc)
	case network.Linear:
		b := m.bias(n, m.p)
		if b == nil {
			b = m.zeros
		}
		linearForward(y, x, m.p[n.param], b, B, n.in, l.Out, m.sc)
	case network.MaxPool:
		if n.pool2 {
			maxPool2Forward(y, n.arg, x, B, n.win.C, n.win.H, n.win.W)
			return
		}
		maxPoolForward(y, n.arg, x, B, n.win)
	case network.AvgPool:
		avgPoolForward(y, x, B, n.win)
	case network.GlobalAvgPool:
		globalAvgPoolForward(y, x, B*n.out, n.plane)
	case network.ReLU, network.LeakyReLU, network.Tanh, network.Sigmoid, network.GELU:
		activationForward(y, x, B*n.out, n.act, F(l.Slope))
	case network.BatchNorm:
		st, gamma, beta := m.stats(n), m.p[n.param], m.p[n.param+1]
		C, H, W := bnDims(n)
		if training { // a BatchNorm inside a block, on a batch run as one chunk
			b := m.st.bn[n.stat/2]
			batchNormTrain(y, n.arg2, b.mean, b.invstd, m.scale[:C], m.shift[:C], b.moments[0], x, gamma, beta, B, C, H, W, st, network.BNMomentum, network.BNEps, n.bn, &m.bnsc)
		} else {
			batchNormEvalAffine(m.scale[:C], m.shift[:C], gamma, beta, st, network.BNEps)
			batchNormApply(y, n.arg2, x, m.scale, m.shift, B, C, H, W, n.bn, &m.bnsc)
		}
	case network.Dropout:
		if !training || l.P == 0 {
			copy(y, x[:B*n.out])
			return
		}
		m.drawMask(n, B)
		dropoutForward(y, x, n.mask, B*n.out, l.P)
	case network.Flatten:
		copy(y, x[:B*n.out])
	case network.Residual:
		body := m.seqForward(n.body, x, B, training)
		for i := range y {
			y[i] = x[i] + body[i]
		}
	case network.Branches:
		ct, off := channels(n.outShape), 0
		for _, b := range n.branches {
			part := m.seqForward(b, x, B, training)
			cp := channels(b[len(b)-1].outShape)
			concatForward(y, part, B, ct, cp, off, n.out/ct)
			off += cp
		}
	}
}

// bnDims is the BatchNorm n's channels and plane: [C,H,W] of a map, [N,1,1] of features.
func bnDims[F float](n *node[F]) (C, H, W int) {
	if n.l.In.IsMap() {
		return n.l.In[0], n.l.In[1], n.l.In[2]
	}
	return n.l.In[0], 1, 1
}

// channels is the concatenation axis of a block's output: channels of a map, else features.
func channels(s network.Shape) int { return s[0] }

// stats returns the running statistics of the BatchNorm n, as float32 views of the shared
// state. The float64 instances of the gradient checks keep their own copies.
func (m *customNet[F]) stats(n *node[F]) bnStats[F] {
	mean, variance := m.st.stats[n.stat], m.st.stats[n.stat+1]
	tracked := &m.st.tracked[n.stat/2]
	if mf, ok := any(mean).([]F); ok {
		return bnStats[F]{mean: mf, variance: any(variance).([]F), tracked: tracked}
	}
	// float64 instances (tests): a private copy, which they may inspect through m.st.
	c := bnStats[F]{mean: make([]F, len(mean)), variance: make([]F, len(variance)), tracked: tracked}
	for i := range mean {
		c.mean[i], c.variance[i] = F(mean[i]), F(variance[i])
	}
	return c
}

// drawMask fills the dropout node n's mask for the chunk's B images with PyTorch's dropout
// mask: 1 (kept) with probability 1−p. Each image's mask comes from its own stream, keyed by
// the seed, the training step, the dropout and the image's place in the batch, so that a chunk
// draws its images' masks whoever runs it and whatever the other chunks are.
func (m *customNet[F]) drawMask(n *node[F], B int) {
	mask := n.mask[:B*n.out]
	if m.st.maskSource != nil {
		m.st.maskSource(mask, m.lo*n.out)
		return
	}
	// u = r/2⁵³ for r the top 53 bits of a draw, and u >= p exactly when r >= ⌈p·2⁵³⌉ (p·2⁵³
	// is exact): the integer test keeps the mask of the float one.
	threshold := uint64(math.Ceil(n.l.P * (1 << 53)))
	for i := range B {
		m.rng.Seed(m.st.seed, maskStream(m.st.step, n.drop, m.lo+i))
		row := mask[i*n.out:][:n.out]
		for j := range row {
			row[j] = uint8(oneIf(m.rng.Uint64()>>11 >= threshold))
		}
	}
}

// maskStream is the second seed of the stream of dropout drop's mask for image of training
// step step: SplitMix64's finaliser over the three, so that nearby keys give unrelated streams.
func maskStream(step uint64, drop, image int) uint64 {
	mix := func(z uint64) uint64 {
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		return z ^ z>>31
	}
	return mix(mix(mix(step)+uint64(drop)) + uint64(image))
}

// seqBackward adds the gradients of nodes[lo:hi], run forward on x, for the gradient dout of
// the last node's output: into their parameters' gradients and into the output gradients of
// the nodes before them, or, for the first node, into dx unless it is nil.
func (m *customNet[F]) seqBackward(nodes []*node[F], x, dx, dout []F, B, lo, hi int) {
	for i := hi - 1; i >= lo; i-- {
		in, din := x, dx
		if i > 0 {
			in, din = nodes[i-1].y, nodes[i-1].dy
		}
		dy := dout
		if i < len(nodes)-1 {
			dy = nodes[i].dy
		}
		m.nodeBackward(nodes[i], in, din, dy, B)
	}
}

func (m *customNet[F]) nodeBackward(n *node[F], x, dx, dy []F, B int) {
	l, y := n.l, n.y[:B*n.out]
	dy = dy[:min(B*n.out, len(dy))] // a conv with bnNext has none
	switch l.Kind {
	case network.Conv:
		w, dw, db := m.p[n.param], m.g[n.param], m.bias(n, m.g)
		if n.strided {
			convStridedBackward(dx, dw, db, dy, x, w, B, n.win, m.col, m.sc)
			return
		}
		if db == nil {
			db = m.dummy
		}
		o := m.convOut(n, B)
		if n.bnNext {
			o.next = &m.bnGrad
		}
		convBackward(o, dy, nil, x, w, dx, dw, db, B, m.convShape(n), m.sc)
	case network.Linear:
		db := m.bias(n, m.g)
		if db == nil {
			db = m.dummy
		}
		linearBackward(dx, m.g[n.param], db, dy, x, m.p[n.param], B, n.in, l.Out, m.sc)
	case network.MaxPool:
		if dx != nil {
			maxPoolBackward(dx, dy, n.arg, B, n.win)
		}
	case network.AvgPool:
		if dx != nil {
			avgPoolBackward(dx, dy, B, n.win)
		}
	case network.GlobalAvgPool:
		if dx != nil {
			globalAvgPoolBackward(dx, dy, B*n.out, n.plane)
		}
	case network.ReLU, network.LeakyReLU, network.Tanh, network.Sigmoid, network.GELU:
		if dx != nil {
			activationBackward(dx, dy, x, y, B*n.out, n.act, F(l.Slope))
		}
	case network.BatchNorm: // inside a block, on a batch run as one chunk
		C, H, W := bnDims(n)
		b := m.st.bn[n.stat/2]
		batchNormBackward(dx, m.g[n.param], m.g[n.param+1], dy, y, n.arg2, x, b.mean, b.invstd, b.sumDy[0], b.sumDyXhat[0], m.p[n.param], B, C, H, W, n.bn)
	case network.Dropout:
		if dx == nil {
			return
		}
		if l.P == 0 {
			addTo(dx[:B*n.out], dy)
			return
		}
		dropoutBackward(dx, dy, n.mask, B*n.out, l.P)
	case network.Flatten:
		if dx != nil {
			addTo(dx[:B*n.out], dy)
		}
	case network.Residual:
		if dx != nil {
			addTo(dx[:B*n.out], dy)
		}
		m.seqBackward(n.body, x, dx, dy, B, 0, len(n.body))
	case network.Branches:
		ct, off := channels(n.outShape), 0
		for _, b := range n.branches {
			last := b[len(b)-1]
			cp := channels(last.outShape)
			concatBackward(last.dy, dy, B, ct, cp, off, n.out/ct)
			m.seqBackward(b, x, dx, last.dy, B, 0, len(b))
			off += cp
		}
	}
}

// Buffer is a tensor of a network's state that is saved but not learnt: a BatchNorm's
// running_mean or running_var, or its num_batches_tracked (one value).
type Buffer struct {
	Name    string
	Values  []float32 // the Net's own: running statistics, [C]
	Tracked *int64    // num_batches_tracked; nil for the statistics
}

// Buffers returns a custom network's buffers in state_dict order (nil for the built-in
// models, which have none). They are the Net's own: write into them to load a checkpoint.
func (n *Net) Buffers() []Buffer {
	st := n.buffers
	if st == nil {
		return nil
	}
	var bufs []Buffer
	for i, name := range st.names {
		bufs = append(bufs, Buffer{Name: name, Values: st.stats[i]})
		if i%2 == 1 { // after running_var, as PyTorch orders them
			path := name[:len(name)-len(".running_var")]
			bufs = append(bufs, Buffer{Name: network.NumBatchesTracked(path), Tracked: &st.tracked[i/2]})
		}
	}
	return bufs
}

// SetTrainingSteps tells a custom network how many training batches it has run, which picks
// dropout's random stream for the next (batch t draws from the stream seeded (seed, t)): a
// resumed run sets it from its checkpoint to continue the stream exactly. The built-in models
// have no stream; for them it does nothing.
func (n *Net) SetTrainingSteps(steps uint64) {
	if n.buffers != nil {
		n.buffers.step = steps
	}
}

// CopyBuffers copies the buffers (BatchNorm's statistics) of the Net that src's parameters
// belong to into the Net of dst's, so that a copy of a network's weights also evaluates like
// it. Both are a Net's Params; for the built-in models, which have no buffers, it does
// nothing.
func CopyBuffers(dst, src []*Param) error {
	if len(dst) == 0 || len(src) == 0 || dst[0].net == nil || src[0].net == nil {
		return nil
	}
	d, s := dst[0].net.Buffers(), src[0].net.Buffers()
	if len(d) != len(s) {
		return fmt.Errorf("copy buffers: %d buffers into %d: not the same network", len(s), len(d))
	}
	for i := range s {
		if d[i].Name != s[i].Name || len(d[i].Values) != len(s[i].Values) {
			return fmt.Errorf("copy buffers: %s into %s: not the same network", s[i].Name, d[i].Name)
		}
	}
	for i := range s {
		copy(d[i].Values, s[i].Values)
		if s[i].Tracked != nil {
			*d[i].Tracked = *s[i].Tracked
		}
	}
	return nil
}
