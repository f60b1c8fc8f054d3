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
// one cannot). The 2x2 relu-poolings take rows of any width (the vector kernels run a row's
// last unit under a mask).
//
// The batch is cut into chunks like the built-in models', so that every core trains. Two
// layers need more than a chunk: dropout draws each image's mask from a stream keyed by (seed,
// training step, layer, image), which any chunk computes for its own images; BatchNorm needs
// the whole batch's statistics, so a training step runs in passes that stop at each BatchNorm
// (see customState.between): the chunks' per-channel moments are merged in chunk order, and
// every chunk resumes with the batch's statistics; backward stops there again for Σdy and
// Σdy·x̂. Each chunk keeps its activations in its own instance of the network between the
// passes (whichever worker runs it), so a pass is a phase of the engine's pool like any other.
// To stop and resume inside residual and branches blocks, training walks the network as two
// flat lists of steps (see step), one in forward order and one in backward order, in which a
// BatchNorm is a step like the others.

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

func (w *customWorker) forwardPasses() int { return len((*w.nets)[0].fwdBN) + 1 }

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
	// fwdBN and bwdBN are the BatchNorms (indices into bn) in the order forward and backward
	// reach them: where a training step's passes stop.
	fwdBN, bwdBN []int
	seed         uint64
	step         uint64 // training batches run: batch t's dropout masks are keyed by (seed, t)
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
	// The orders of the steps every instance walks (newCustom builds the same).
	var param, stat, drop int
	fwd, bwd := trainingSteps(buildNodes[float32](spec.Layers, &param, &stat, &drop, true))
	for _, s := range fwd {
		if s.n.l.Kind == network.BatchNorm {
			st.fwdBN = append(st.fwdBN, s.n.stat/2)
		}
	}
	for _, s := range bwd {
		if s.n.l.Kind == network.BatchNorm {
			st.bwdBN = append(st.bwdBN, s.n.stat/2)
		}
	}
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

// passes is how many phases a training step runs: forward to each BatchNorm, on to the loss
// and back to the first BatchNorm backward reaches, and back to each next one.
func (st *customState) passes() int { return 2*len(st.fwdBN) + 1 }

// between runs on one goroutine after pass of a training step run in chunks: it merges the
// chunks' shares of a BatchNorm in chunk order, or ends the step after the last pass.
func (st *customState) between(pass, chunks int) {
	K := len(st.fwdBN)
	switch {
	case pass < K: // forward reached a BatchNorm: its batch statistics
		k := st.fwdBN[pass]
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
		b := st.bn[st.bwdBN[pass-K]]
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
	// bnNext: a stride-1 conv, its output unactivated, followed by a BatchNorm with ReLU and
	// pooling fused in, whose backward pass writes the conv's output gradient straight into the
	// conv's GEMM layout (bnPoolGrad): the conv's dy is never stored.
	bnNext bool
}

// step is one step of a training walk over the network: a node run on its own (a layer, or a
// BatchNorm, where the passes stop), or what a block does with its contents' outputs. The
// contents of a block are steps of their own, before the block's in forward order and after
// it in backward order.
type step[F float] struct {
	kind stepKind
	n    *node[F] // the layer, or the block
	in   *node[F] // the node whose output n reads (and whose dy takes n's input gradient); nil: the images
	dy   *node[F] // the node whose dy is the gradient of n's output: n, or the block whose body n ends
	part *node[F] // stepResidual: the body's last node; stepConcat: the branch's
	off  int      // stepConcat: the branch's first channel in the block's output
}

type stepKind uint8

const (
	stepNode     stepKind = iota
	stepResidual          // the block's output is its input plus its body's
	stepConcat            // one branch's output goes into its channels of the block's
)

// trainingSteps lays nodes out as the steps of a training walk, forward and backward. Backward
// takes a block before its contents and a branches block's branches in order, as a recursive
// walk would: the gradients add up in the same order.
func trainingSteps[F float](nodes []*node[F]) (fwd, bwd []step[F]) {
	var forward func(nodes []*node[F], in *node[F])
	forward = func(nodes []*node[F], in *node[F]) {
		for i, n := range nodes {
			if i > 0 {
				in = nodes[i-1]
			}
			switch n.l.Kind {
			case network.Residual:
				forward(n.body, in)
				fwd = append(fwd, step[F]{kind: stepResidual, n: n, in: in, part: last(n.body)})
			case network.Branches:
				off := 0
				for _, b := range n.branches {
					forward(b, in)
					fwd = append(fwd, step[F]{kind: stepConcat, n: n, part: last(b), off: off})
					off += channels(last(b).outShape)
				}
			default:
				fwd = append(fwd, step[F]{kind: stepNode, n: n, in: in})
			}
		}
	}
	// dout is the node whose dy is the gradient of the last node's output.
	var backward func(nodes []*node[F], in, dout *node[F])
	backward = func(nodes []*node[F], in, dout *node[F]) {
		for i := len(nodes) - 1; i >= 0; i-- {
			n, prev, dy := nodes[i], in, nodes[i]
			if i > 0 {
				prev = nodes[i-1]
			}
			if i == len(nodes)-1 {
				dy = dout
			}
			switch n.l.Kind {
			case network.Residual:
				bwd = append(bwd, step[F]{kind: stepResidual, n: n, in: prev, dy: dy})
				backward(n.body, prev, dy)
			case network.Branches:
				off := 0
				for _, b := range n.branches {
					bwd = append(bwd, step[F]{kind: stepConcat, n: n, dy: dy, part: last(b), off: off})
					backward(b, prev, last(b))
					off += channels(last(b).outShape)
				}
			default:
				bwd = append(bwd, step[F]{kind: stepNode, n: n, in: prev, dy: dy})
			}
		}
	}
	forward(nodes, nil)
	backward(nodes, nil, last(nodes))
	return fwd, bwd
}

func last[F float](nodes []*node[F]) *node[F] { return nodes[len(nodes)-1] }

// markBNNext marks the convolutions of nodes and their blocks that can take their output
// gradient from the BatchNorm after them (node.bnNext).
func markBNNext[F float](nodes []*node[F]) {
	for i, n := range nodes {
		if n.l.Kind == network.BatchNorm && i > 0 {
			if prev := nodes[i-1]; prev.l.Kind == network.Conv && !prev.strided && prev.fused == actNone && n.bn == bnReLUPool {
				prev.bnNext = true
			}
		}
		markBNNext(n.body)
		for _, b := range n.branches {
			markBNNext(b)
		}
	}
}

// customNet is one chunk's instance of a custom network: its activations, kept between the
// passes of a training step, and the scratch of whichever worker runs it.
type customNet[F float] struct {
	spec     *network.Network
	st       *customState
	nodes    []*node[F]
	fwd, bwd []step[F] // a training step's walk (trainingSteps)
	// fwdBN and bwdBN are the BatchNorms' places in fwd and bwd: where the passes stop.
	fwdBN, bwdBN []int
	p, g         [][]F // parameter values and the chunk's gradients, state_dict order
	bound        gradBindings[F, [][]F]
	capacity     int // images the activations hold
	sc           *scratch[F]
	col          []F // a strided convolution's im2col of one image
	zeros        []F // a bias of zeros for layers without one
	dummy        []F // where the gradient of that bias goes
	scale        []float64
	shift        []float64 // [C] a BatchNorm's affine map, see batchNormAffine
	lo           int       // the running chunk's first image in the batch: keys its dropout masks
	rng          rand.PCG

	bnsc   bnScratch[F]  // a BatchNorm's, for a plane at a time
	bnGrad bnPoolGrad[F] // a bnNext conv's BatchNorm's backward, handed to convBackward
}

func newCustom[F float](spec *network.Network, st *customState, values, grads []F) *customNet[F] {
	m := &customNet[F]{spec: spec, st: st}
	m.p = bindCustom(&binder[F]{buf: values}, spec)
	m.g = bindCustom(&binder[F]{buf: grads}, spec)
	param, stat, drop := 0, 0, 0
	m.nodes = buildNodes[F](spec.Layers, &param, &stat, &drop, true)
	markBNNext(m.nodes)
	m.fwd, m.bwd = trainingSteps(m.nodes)
	for i, s := range m.fwd {
		if s.n.l.Kind == network.BatchNorm {
			m.fwdBN = append(m.fwdBN, i)
		}
	}
	for i, s := range m.bwd {
		if s.n.l.Kind == network.BatchNorm {
			m.bwdBN = append(m.bwdBN, i)
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
	for p := range len(m.fwdBN) + 1 {
		m.forwardPass(p, 0, 0, x, B, logits)
		if p < len(m.fwdBN) {
			m.st.between(p, 1)
		}
	}
}

func (m *customNet[F]) backward(x, dlogits []F, B int) {
	K := len(m.fwdBN)
	for p := range K + 1 {
		m.backwardPass(p, 0, x, dlogits, B)
		m.st.between(K+p, 1)
	}
}

// input is what step s reads: its input node's output, or x.
func input[F float](s *step[F], x []F) []F {
	if s.in == nil {
		return x
	}
	return s.in.y
}

// forwardPass runs pass of a training step on the B images of x, the chunk-th chunk of the
// batch starting at its image lo: the steps from the BatchNorm where the previous pass stopped
// (normalised by the batch's statistics) to the next BatchNorm, whose share of the statistics
// it leaves in customState; the last pass writes logits [B,10].
func (m *customNet[F]) forwardPass(pass, chunk, lo int, x []F, B int, logits []F) {
	m.lo = lo
	start, end := 0, len(m.fwd)
	if pass > 0 {
		i := m.fwdBN[pass-1]
		s := &m.fwd[i]
		n := s.n
		b := m.st.bn[n.stat/2]
		C, H, W := bnDims(n)
		batchNormAffine(m.scale[:C], m.shift[:C], b.mean, b.invstd, m.p[n.param], m.p[n.param+1])
		batchNormApply(n.y[:B*n.out], n.arg2, input(s, x), m.scale, m.shift, B, C, H, W, n.bn, &m.bnsc)
		start = i + 1
	}
	if pass < len(m.fwdBN) {
		end = m.fwdBN[pass]
	}
	for i := start; i < end; i++ {
		m.stepForward(&m.fwd[i], x, B)
	}
	if pass < len(m.fwdBN) {
		s := &m.fwd[end]
		batchNormMoments(m.st.bn[s.n.stat/2].moments[chunk], input(s, x), B, s.n.l.In[0], s.n.plane)
		return
	}
	copy(logits[:B*network.Classes], last(m.nodes).y[:B*network.Classes])
}

func (m *customNet[F]) stepForward(s *step[F], x []F, B int) {
	n, in := s.n, input(s, x)
	switch s.kind {
	case stepNode:
		m.nodeForward(n, in, B, true)
	case stepResidual:
		y, body := n.y[:B*n.out], s.part.y
		for i := range y {
			y[i] = in[i] + body[i]
		}
	case stepConcat:
		ct := channels(n.outShape)
		concatForward(n.y, s.part.y, B, ct, channels(s.part.outShape), s.off, n.out/ct)
	}
}

// backwardPass runs pass of a training step's backward on the chunk-th chunk, x its images:
// pass 0 from the logits' gradient dlogits [B,10] down to the first BatchNorm on the way,
// whose share of Σdy and Σdy·x̂ it leaves in customState; each later one from a BatchNorm (its
// input gradient from the batch's sums) down to the next, or the input.
func (m *customNet[F]) backwardPass(pass, chunk int, x, dlogits []F, B int) {
	K := len(m.bwdBN)
	start, end := 0, len(m.bwd)
	if pass == 0 {
		each(m.nodes, func(n *node[F]) { clear(n.dy[:min(B*n.out, len(n.dy))]) })
		// The last node keeps its gradient like the others, for a BatchNorm there to find.
		copy(last(m.nodes).dy, dlogits[:B*network.Classes])
	} else {
		i := m.bwdBN[pass-1]
		s := &m.bwd[i]
		n := s.n
		b := m.st.bn[n.stat/2]
		dgamma, dbeta := m.g[n.param], m.g[n.param+1]
		for c := range dgamma {
			dgamma[c] += F(b.sumDyXhat[chunk][c])
			dbeta[c] += F(b.sumDy[chunk][c])
		}
		C, H, W := bnDims(n)
		if s.in != nil && s.in.bnNext {
			g := &m.bnGrad
			g.x, g.y, g.dy, g.arg, g.C, g.H, g.W = s.in.y, n.y, s.dy.dy, n.arg2, C, H, W
			for c := range C {
				g.a[c], g.b[c], g.mu[c], g.e[c] = bnInputGradConsts(m.p[n.param][c], b.mean[c], b.invstd[c], b.totDy[c], b.totDyXhat[c], b.count)
			}
		} else if s.in != nil {
			bnInputGrad(s.in.dy, s.dy.dy[:B*n.out], n.y, n.arg2, input(s, x), b.mean, b.invstd, b.totDy, b.totDyXhat, m.p[n.param], b.count, B, C, H, W, n.bn)
		}
		start = i + 1
	}
	if pass < K {
		end = m.bwdBN[pass]
	}
	for i := start; i < end; i++ {
		m.stepBackward(&m.bwd[i], x, B)
	}
	if pass < K {
		s := &m.bwd[end]
		n := s.n
		b := m.st.bn[n.stat/2]
		C, H, W := bnDims(n)
		clear(b.sumDy[chunk])
		clear(b.sumDyXhat[chunk])
		bnGradSums(b.sumDy[chunk], b.sumDyXhat[chunk], s.dy.dy[:B*n.out], n.y, n.arg2, input(s, x), b.mean, b.invstd, B, C, H, W, n.bn)
	}
}

// stepBackward adds the gradients of step s: into its parameters' and into its input node's dy
// (none for the images).
func (m *customNet[F]) stepBackward(s *step[F], x []F, B int) {
	n := s.n
	var dx []F
	if s.in != nil {
		dx = s.in.dy
	}
	dy := s.dy.dy[:min(B*n.out, len(s.dy.dy))] // a conv with bnNext has none
	switch s.kind {
	case stepNode:
		m.nodeBackward(n, input(s, x), dx, dy, B)
	case stepResidual: // the body's steps come next
		if dx != nil {
			addTo(dx[:B*n.out], dy)
		}
	case stepConcat: // the branch's steps come next
		ct := channels(n.outShape)
		concatBackward(s.part.dy, dy, B, ct, channels(s.part.outShape), s.off, n.out/ct)
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
		if training {
			// Training steps never get here: their passes stop at every BatchNorm and run its
			// pieces in between over the chunks (forwardPass, backwardPass). A BatchNorm layer
			// run on its own, as the per-layer PyTorch parity test does, runs the same pieces on
			// one chunk that is the whole batch.
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
	threshold := maskThreshold(n.l.P)
	for i := range B {
		m.rng.Seed(m.st.seed, maskStream(m.st.step, n.drop, m.lo+i))
		drawMaskRow(mask[i*n.out:][:n.out], &m.rng, threshold)
	}
}

// Each 64-bit draw decides two elements, its high half the first and its low half the next:
// u = r/2³² for r a 32-bit half, kept when u >= p. Half the draws of one per element, and
// finer than PyTorch's own float32 dropout, whose uniforms have 24 bits (ATen's
// transformation::uniform_real): p is taken to 2⁻³².

// maskThreshold is the integer test of u >= p: r >= ⌈p·2³²⌉, p·2³² being exact.
func maskThreshold(p float64) uint64 { return uint64(math.Ceil(p * (1 << 32))) }

// drawMaskRow fills row with draws of rng kept when their 32-bit halves reach threshold; an
// odd row's last element takes the high half of a last draw.
func drawMaskRow(row []uint8, rng *rand.PCG, threshold uint64) {
	for ; len(row) >= 2; row = row[2:] {
		r := rng.Uint64()
		row[0] = uint8(oneIf(r>>32 >= threshold))
		row[1] = uint8(oneIf(r&(1<<32-1) >= threshold))
	}
	if len(row) == 1 {
		row[0] = uint8(oneIf(rng.Uint64()>>32 >= threshold))
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

// nodeBackward adds the gradients of the layer n, run forward on x, for the gradient dy of its
// output: into its parameters' gradients and, unless dx is nil, into dx. Blocks are steps of
// the training walk (stepBackward), not nodes run here.
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
	case network.BatchNorm: // the batch seen whole: a layer on its own, as nodeForward's
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
