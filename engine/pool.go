package engine

import (
	"sync/atomic"
	"time"

	"mnist-tui/engine/kernels"
)

// run carries out a phase of kind cut into chunks, on the calling goroutine as worker 0 and on
// as many pooled workers as there are chunks for. The pooled workers are woken, not waited
// for: whoever is running claims the next chunk, so a worker that another process keeps off
// its core costs nothing but its share of the chunks, and run returns once every chunk is
// done, not once every worker has looked.
func (n *Net) run(kind jobKind, chunks int) {
	b := n.phase
	b.kind = kind
	b.finished.Store(0)
	b.claims.Store(uint64(chunks) << 32) // publishes the phase: nothing is claimed yet
	if n.pool != nil {
		b.gen.Add(1) // wakes the pooled workers that are still spinning
		n.pool.wake(min(chunks, n.threads) - 1)
	}
	if !n.workers[0].work() {
		b.wait(int64(chunks))
	}
}

// spinFor is how long a thread that runs out of work keeps its core, polling for more, before
// it parks. A step's phases, and the steps of a training loop, follow each other within tens
// of microseconds, while waking a parked thread costs about as much again (more under a
// hypervisor): the two cores would take turns idling at every hand-over. The last chunks of a
// step end apart by up to a chunk's time, often more than 100 µs: with a spin that short,
// residual's pooled worker had parked by the next step on this project's Xeon and started it
// 150 µs late (the median of 300 steps, traced), at 1 ms it started within 1 µs. Alternating
// the two in one process (60 rounds of training steps and SGD steps at two threads), 1 ms was
// 1.04x as fast for cnn, 1.01x for residual and the same for inception.
const spinFor = time.Millisecond

// spin polls done until it is true or spinFor has passed, and reports whether it became true.
func spin(done func() bool) bool {
	start := time.Now()
	for i := 1; ; i++ {
		if done() {
			return true
		}
		if i%64 == 0 && time.Since(start) > spinFor {
			return false
		}
	}
}

// jobKind is what a phase does.
type jobKind int

const (
	trainJob  jobKind = iota // forward and backward on chunks of the batch
	inferJob                 // forward only on chunks of the batch
	reduceJob                // sum ranges of every chunk's gradients into chunk 0's
	sgdJob                   // an SGD step over ranges of the parameters
)

// phase is a step of parallel work (a TrainStep's passes, its reduction, an Infer), shared by
// the workers: what to do and to which data, which chunks are claimed and finished, and what
// each chunk produced. It is allocated once per Net. The fields other than the atomics are
// written by run's caller before the phase starts and only read during it.
type phase struct {
	kind    jobKind
	x       []float32 // [batch,1,28,28]
	batch   int
	pass    int         // train only: the phase of a staged model's step (see stagedNet)
	size    int         // images per chunk (the last may have fewer); reduceJob: gradients per chunk
	y       []int32     // [batch], train only
	norm    int         // batch size the loss is a mean over, train only
	smooth  float64     // the loss's label smoothing, train only
	logits  []float32   // [batch,10] output, infer only
	values  []float32   // the Net's parameters
	grads   [][]float32 // each training chunk's gradients; grads[0] are the Net's
	sources int         // reduceJob: how many of grads to sum
	sgd     sgdArgs     // sgdJob: the momentum buffers and hyperparameters
	loss    []float64   // each training chunk's share of the batch mean loss
	correct []int

	// claims holds the phase's number of chunks in its high 32 bits and how many have been
	// claimed in the low ones, so that one atomic add both claims a chunk and tells whether it
	// exists: a worker that wakes late, after the phase, claims nothing and touches nothing.
	claims   atomic.Uint64
	finished atomic.Int64 // chunks done
	// gen counts the phases handed to the pool, for the pooled workers that spin rather than
	// wait for a token.
	gen atomic.Uint64
	// waiting is set while run's caller parks on done: only then does the worker that
	// finishes the last chunk send it a token.
	waiting atomic.Bool
	done    chan struct{}
}

// wait returns once chunks chunks of the phase are finished, by another worker's hand.
func (b *phase) wait(chunks int64) {
	if spin(func() bool { return b.finished.Load() == chunks }) {
		return
	}
	b.waiting.Store(true)
	if b.finished.Load() == chunks && b.waiting.Swap(false) {
		return // finished meanwhile, and its worker saw no one waiting: no token is coming
	}
	<-b.done
}

// finish is called by a pooled worker that finished the phase's last chunk: it wakes run's
// caller if that is parked.
func (b *phase) finish() {
	if b.waiting.Swap(false) {
		b.done <- struct{}{}
	}
}

// claim returns the index of the next chunk, or ok false when every chunk is taken.
func (b *phase) claim() (c, chunks int, ok bool) {
	v := b.claims.Add(1)
	c, chunks = int(uint32(v))-1, int(v>>32)
	return c, chunks, c < chunks
}

// worker is one thread's state: its model instance (activations and scratch, bound to the
// gradients of the chunk it is working on).
type worker struct {
	net        chunkNet[float32]
	phase      *phase
	capacity   int       // images net is sized for
	clearGrads bool      // net's backward adds to the gradients, which must start at zero
	logits     []float32 // [capacity,10]
	dlogits    []float32 // [capacity,10]
}

// work runs chunks of the current phase until none is left and reports whether it finished
// the last one.
func (w *worker) work() (last bool) {
	b := w.phase
	for {
		c, chunks, ok := b.claim()
		if !ok {
			return last
		}
		w.chunk(c)
		last = b.finished.Add(1) == int64(chunks)
	}
}

func (w *worker) chunk(c int) {
	b := w.phase
	switch b.kind {
	case trainJob:
		lo := c * b.size
		images := min(b.size, b.batch-lo)
		w.reserve(images)
		w.net.bindGrads(b.grads[c])
		x := b.x[lo*imageSize : (lo+images)*imageSize]
		if s, ok := w.net.(stagedNet); ok {
			w.stagedChunk(s, c, lo, images, x)
			return
		}
		w.net.forward(x, images, w.logits)
		b.loss[c], b.correct[c] = smoothedCrossEntropy(w.dlogits, w.logits, b.y[lo:lo+images], images, numClasses, b.norm, b.smooth)
		if w.clearGrads {
			clear(b.grads[c])
		}
		w.net.backward(x, w.dlogits, images)
	case inferJob:
		lo := c * b.size
		images := min(b.size, b.batch-lo)
		w.reserve(images)
		w.net.forward(b.x[lo*imageSize:(lo+images)*imageSize], images, b.logits[lo*numClasses:(lo+images)*numClasses])
	case reduceJob:
		lo := c * b.size
		hi := min(lo+b.size, len(b.grads[0]))
		sum := b.grads[0][lo:hi]
		for _, g := range b.grads[1:b.sources] {
			kernels.Add(sum, g[lo:hi])
		}
	case sgdJob:
		lo := c * b.size
		hi := min(lo+b.size, len(b.values))
		a := &b.sgd
		kernels.SGDStep(b.values[lo:hi], b.grads[0][lo:hi], a.buf[lo:hi], a.lr, a.momentum, a.wd, a.first)
	}
}

// sgdArgs are an SGD step's momentum buffers (laid out as the parameters) and hyperparameters.
type sgdArgs struct {
	buf              []float32
	lr, momentum, wd float32
	first            bool
}

// sgdStep runs an SGD step (kernels.SGDStep) over all of the Net's parameters, its gradients
// and the momentum buffers buf, laid out as the parameters. A large model's parameters are cut
// into ranges of whole cache lines that the workers update in parallel: each element's update
// is its own, so the result is the same however they are cut. It reports false, doing
// nothing, when one core would do it as fast (one thread, or few parameters).
func (n *Net) sgdStep(buf []float32, lr, momentum, wd float32, first bool) bool {
	size := len(n.values)
	if n.pool == nil || size < parallelReduction {
		return false
	}
	b := n.phase
	b.sgd = sgdArgs{buf: buf, lr: lr, momentum: momentum, wd: wd, first: first}
	ranges := len(b.grads)
	b.size = ((size+ranges-1)/ranges + 15) &^ 15
	n.run(sgdJob, (size+b.size-1)/b.size)
	b.sgd.buf = nil
	return true
}

// reserveAll grows every worker's buffers to hold chunks of images images, before a phase
// hands out its chunks: whichever worker claims whichever chunk, none allocates while it runs.
// Left to the workers, one that another process kept off its core through the first steps
// would grow its buffers on a later step, the first chunk it happens to claim.
func (n *Net) reserveAll(images int) {
	for _, w := range n.workers {
		w.reserve(images)
	}
}

// reserve grows the worker's buffers to hold chunks of images images. Growing allocates; every
// later call with as many images or fewer reuses the buffers.
func (w *worker) reserve(images int) {
	if images <= w.capacity {
		return
	}
	w.net.reserve(images)
	w.logits = make([]float32, images*numClasses)
	w.dlogits = make([]float32, images*numClasses)
	w.capacity = images
}

// pool runs workers on long-lived goroutines, one per worker: starting goroutines per call
// would allocate on every step. A worker that runs out of chunks spins for a while (see
// spinFor) watching for the next phase, then parks on its own channel until a token wakes it.
// A token only says "look for chunks"; it is sent only to a worker that said it was parking,
// so none is ever left over, and the channel's room for one means sending never blocks.
type pool struct {
	tokens   []chan struct{} // tokens[i] wakes the i-th pooled worker
	sleeping []atomic.Bool   // sleeping[i]: the i-th pooled worker parks, or is about to
}

func startPool(workers []*worker) *pool {
	p := &pool{tokens: make([]chan struct{}, len(workers)), sleeping: make([]atomic.Bool, len(workers))}
	for i, w := range workers {
		ch := make(chan struct{}, 1)
		p.tokens[i] = ch
		go p.serve(w, ch, &p.sleeping[i])
	}
	return p
}

func (p *pool) serve(w *worker, tokens <-chan struct{}, sleeping *atomic.Bool) {
	b := w.phase
	seen := b.gen.Load()
	for {
		if !spin(func() bool { return b.gen.Load() != seen }) {
			sleeping.Store(true)
			if b.gen.Load() == seen || !sleeping.Swap(false) {
				// Parked, or a waker has cleared sleeping and its token is on the way.
				if _, ok := <-tokens; !ok {
					return
				}
			}
		}
		seen = b.gen.Load()
		if w.work() {
			b.finish()
		}
	}
}

// wake wakes those of the first count pooled workers that are parked.
func (p *pool) wake(count int) {
	for i, ch := range p.tokens[:count] {
		if p.sleeping[i].Swap(false) {
			ch <- struct{}{}
		}
	}
}

// stop ends the goroutines once no call is running.
func (p *pool) stop() {
	for _, ch := range p.tokens {
		close(ch)
	}
}
