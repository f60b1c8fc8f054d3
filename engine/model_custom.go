package engine

import (
	"fmt"
	"math/rand/v2"

	"mnist-tui/engine/network"
)

// A network declared in config.yaml (model: custom), run by walking its layers: each layer is
// a node holding its geometry, the index of its parameters and its activations, and forward
// and backward call the layer functions of netlayers.go (and layers.go, conv.go for linear and
// stride-1 convolutions) node after node.
//
// BatchNorm and dropout make a network stateful: BatchNorm's batch statistics are those of the
// WHOLE batch, and dropout's masks come from one random stream that steps once a batch. Such a
// network trains each batch as one chunk on one worker (modelDef.wholeBatch): correct, and
// deterministic for a seed whatever the thread count, but a training step then uses one core
// (inference still uses them all: in evaluation both layers are stateless). The faster design,
// left for later, is a two-phase step: the chunks' forward passes stop at each BatchNorm, its
// per-chunk sums (Σx, Σx² in float64, per channel) are added in chunk order, and the chunks
// resume with the batch's statistics; backward needs the same reduction of Σdy and Σdy·x̂.

// NewCustomNet builds the checked network spec with weights drawn from seed and threads
// workers (threads <= 0: one per CPU). Parameters are named as package network names them.
func NewCustomNet(spec *network.Network, seed uint64, threads int) (*Net, error) {
	if spec == nil || !spec.Checked {
		return nil, fmt.Errorf("engine: custom network: not checked; build it with network.Parse and Check")
	}
	st := newCustomState(spec, seed)
	def := &modelDef{
		name:        "custom",
		bind:        func(b *binder[float32]) { bindCustom(b, spec) },
		newChunkNet: func(values, grads []float32) chunkNet[float32] { return newCustom(spec, st, values, grads) },
		wholeBatch:  st.stateful,
	}
	n, err := newNet(def, seed, threads)
	if err != nil {
		return nil, err
	}
	n.buffers = st
	return n, nil
}

// customState is what a network's workers share besides the parameters: BatchNorm's running
// statistics and the dropout stream. Only training writes it, one chunk at a time.
type customState struct {
	names   []string    // the buffers' state_dict names, running_mean and running_var of each BatchNorm
	stats   [][]float32 // their values, [C] each
	tracked []int64     // each BatchNorm's num_batches_tracked
	seed    uint64
	step    uint64 // training batches run: the dropout stream of batch t is seeded (seed, t)
	rng     rand.PCG
	// stateful: the network holds a BatchNorm or a dropout (see modelDef.wholeBatch).
	stateful bool
	// maskSource, when set, gives the dropout masks instead of the stream: the parity tests
	// inject PyTorch's.
	maskSource func(mask []uint8)
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
		}
		st.stateful = st.stateful || l.Kind == network.BatchNorm || l.Kind == network.Dropout
	})
	return st
}

// bindCustom walks the parameters in state_dict order and returns their views, in that order.
func bindCustom[F float](b *binder[F], spec *network.Network) [][]F {
	var views [][]F
	for _, t := range spec.Params() {
		views = append(views, b.takeSpec(paramSpec{name: t.Name, shape: t.Shape, fanIn: t.FanIn, init: t.Init}))
	}
	return views
}

// node is one layer of the running network.
type node[F float] struct {
	l         *network.Layer
	in, out   int // floats of one image going in and coming out
	win       window
	param     int  // index of the layer's first parameter view (weight; bias after it)
	hasBias   bool // conv, linear
	stat      int  // BatchNorm: its running_mean is customState.stats[stat], running_var the next; its count tracked[stat/2]
	body      []*node[F]
	branches  [][]*node[F]
	act       activation
	strided   bool    // conv: stride > 1, run by convStrided*
	plane     int     // BatchNorm and global_avgpool: values per channel of one image
	y, dy     []F     // [B,out]: the output and its gradient
	arg       []int32 // maxpool: each output's winner, its index in the input plane
	mask      []uint8 // dropout: 1 kept, 0 dropped
	mean, inv []F     // BatchNorm: the batch's statistics
}

// customNet is one worker's instance of a custom network.
type customNet[F float] struct {
	spec  *network.Network
	st    *customState
	nodes []*node[F]
	p, g  [][]F // parameter values and the running chunk's gradients, state_dict order
	bound gradBindings[F, [][]F]
	sc    *scratch[F]
	col   []F // a strided convolution's im2col of one image
	zeros []F // a bias of zeros for layers without one
	dummy []F // where the gradient of that bias goes
}

func newCustom[F float](spec *network.Network, st *customState, values, grads []F) *customNet[F] {
	m := &customNet[F]{spec: spec, st: st}
	m.p = bindCustom(&binder[F]{buf: values}, spec)
	m.g = bindCustom(&binder[F]{buf: grads}, spec)
	param, stat := 0, 0
	m.nodes = buildNodes[F](spec.Layers, &param, &stat)
	return m
}

// buildNodes makes the nodes of layers, counting parameters and BatchNorms in state_dict order.
func buildNodes[F float](layers []network.Layer, param, stat *int) []*node[F] {
	nodes := make([]*node[F], len(layers))
	for i := range layers {
		l := &layers[i]
		n := &node[F]{l: l, in: l.In.Size(), out: l.OutShape.Size(), param: *param}
		*param += len(l.Params(""))
		if l.In.IsMap() {
			n.win = window{C: l.In[0], OC: l.OutShape[0], H: l.In[1], W: l.In[2], K: l.Kernel, S: l.Stride, P: l.Padding}
			n.plane = l.In[1] * l.In[2]
		} else {
			n.plane = 1
		}
		switch l.Kind {
		case network.Conv:
			n.hasBias, n.strided = l.Bias, l.Stride > 1
		case network.Linear:
			n.hasBias = l.Bias
		case network.BatchNorm:
			n.stat = *stat
			*stat += 2
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
			n.body = buildNodes[F](l.Body, param, stat)
		case network.Branches:
			for _, b := range l.Branches {
				n.branches = append(n.branches, buildNodes[F](b, param, stat))
			}
		}
		nodes[i] = n
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

func (m *customNet[F]) reserve(images int) {
	var shapes []convShape
	col, widest := 0, 0
	each(m.nodes, func(n *node[F]) {
		n.y, n.dy = make([]F, images*n.out), make([]F, images*n.out)
		switch n.l.Kind {
		case network.Conv:
			if n.strided {
				col = max(col, n.win.C*n.win.K*n.win.K*n.win.OH()*n.win.OW())
			} else {
				shapes = append(shapes, m.convShape(n))
			}
			widest = max(widest, n.win.OC)
		case network.Linear:
			widest = max(widest, n.l.Out)
		case network.MaxPool:
			n.arg = make([]int32, images*n.out)
		case network.Dropout:
			n.mask = make([]uint8, images*n.out)
		case network.BatchNorm:
			n.mean, n.inv = make([]F, n.l.In[0]), make([]F, n.l.In[0])
		}
	})
	m.sc = newScratch[F](images, shapes...)
	m.col = make([]F, col)
	m.zeros, m.dummy = make([]F, widest), make([]F, widest)
}

func (m *customNet[F]) convShape(n *node[F]) convShape {
	return convShape{C: n.win.C, OC: n.win.OC, H: n.win.H, W: n.win.W, K: n.win.K, Pad: n.win.P}
}

func (m *customNet[F]) forward(x []F, B int, logits []F) { m.run(x, B, logits, false) }

func (m *customNet[F]) forwardTrain(x []F, B int, logits []F) {
	// Only a stateful network runs a batch as one chunk; the chunks of the others run at the
	// same time and must not touch the shared state (which they have no use for).
	if m.st.stateful {
		m.st.rng.Seed(m.st.seed, m.st.step)
		m.st.step++
	}
	m.run(x, B, logits, true)
}

func (m *customNet[F]) run(x []F, B int, logits []F, training bool) {
	out := m.seqForward(m.nodes, x, B, training)
	copy(logits[:B*network.Classes], out[:B*network.Classes])
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
		s := m.convShape(n)
		convForward(out(actNone, y, s), x, w, b, B, s, m.sc)
	case network.Linear:
		b := m.bias(n, m.p)
		if b == nil {
			b = m.zeros
		}
		linearForward(y, x, m.p[n.param], b, B, n.in, l.Out, m.sc)
	case network.MaxPool:
		maxPoolForward(y, n.arg, x, B, n.win)
	case network.AvgPool:
		avgPoolForward(y, x, B, n.win)
	case network.GlobalAvgPool:
		globalAvgPoolForward(y, x, B*n.out, n.plane)
	case network.ReLU, network.LeakyReLU, network.Tanh, network.Sigmoid, network.GELU:
		activationForward(y, x, B*n.out, n.act, F(l.Slope))
	case network.BatchNorm:
		st := m.stats(n)
		if training {
			batchNormTrain(y, n.mean, n.inv, x, m.p[n.param], m.p[n.param+1], B, l.In[0], n.plane, st, network.BNMomentum, network.BNEps)
		} else {
			batchNormEval(y, x, m.p[n.param], m.p[n.param+1], B, l.In[0], n.plane, st, network.BNEps)
		}
	case network.Dropout:
		if !training || l.P == 0 {
			copy(y, x[:B*n.out])
			return
		}
		m.drawMask(n.mask[:B*n.out], l.P)
		dropoutForward(y, x, n.mask, B*n.out, l.P)
	case network.Flatten:
		copy(y, x[:B*n.out])
	case network.Residual:
		body := m.seqForward(n.body, x, B, training)
		for i := range y {
			y[i] = x[i] + body[i]
		}
	case network.Branches:
		ct, off := channels(l.OutShape), 0
		for _, b := range n.branches {
			part := m.seqForward(b, x, B, training)
			cp := channels(b[len(b)-1].l.OutShape)
			concatForward(y, part, B, ct, cp, off, n.out/ct)
			off += cp
		}
	}
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

// drawMask fills mask with PyTorch's dropout mask: 1 (kept) with probability 1−p, from the
// batch's stream.
func (m *customNet[F]) drawMask(mask []uint8, p float64) {
	if m.st.maskSource != nil {
		m.st.maskSource(mask)
		return
	}
	for i := range mask {
		u := float64(m.st.rng.Uint64()>>11) / (1 << 53)
		mask[i] = 0
		if u >= p {
			mask[i] = 1
		}
	}
}

func (m *customNet[F]) backward(x, dlogits []F, B int) {
	each(m.nodes, func(n *node[F]) { clear(n.dy[:B*n.out]) })
	m.seqBackward(m.nodes, x, nil, dlogits, B)
}

// seqBackward adds the gradients of nodes, run forward on x, for the gradient dout of the
// last one's output: into their parameters' gradients and, unless dx is nil, into dx.
func (m *customNet[F]) seqBackward(nodes []*node[F], x, dx, dout []F, B int) {
	for i := len(nodes) - 1; i >= 0; i-- {
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
	dy = dy[:B*n.out]
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
		s := m.convShape(n)
		convBackward(out(actNone, y, s), dy, nil, x, w, dx, dw, db, B, s, m.sc)
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
	case network.BatchNorm:
		batchNormBackward(dx, m.g[n.param], m.g[n.param+1], dy, x, n.mean, n.inv, m.p[n.param], B, l.In[0], n.plane)
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
		m.seqBackward(n.body, x, dx, dy, B)
	case network.Branches:
		ct, off := channels(l.OutShape), 0
		for _, b := range n.branches {
			last := b[len(b)-1]
			cp := channels(last.l.OutShape)
			concatBackward(last.dy, dy, B, ct, cp, off, n.out/ct)
			m.seqBackward(b, x, dx, last.dy, B)
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
