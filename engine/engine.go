// Package engine trains the MNIST classifiers on the CPU without an ML framework.
//
// It is written like llm.c: every layer is a forward and a backward function over flat float32
// slices (layers.go, conv.go, loss.go), and each model (model_*.go) calls them top to bottom,
// forward and then backward in reverse, with no graph in between. A Net holds one model's
// parameters and a set of workers, one per thread. TrainStep cuts a batch into contiguous
// chunks, a fixed number per thread; the workers claim chunks one at a time, so a core that
// another process slows down simply does fewer of them, and run each through their own copy of
// the activations into the chunk's own gradient buffer. The chunks' gradients are then summed in
// chunk order, so a run is bit-identical to the last for a given thread count, whichever worker
// ran which chunk.
//
// Parameters are named, shaped and ordered as the PyTorch models' state_dicts
// (engine/pytorch/models.py), so checkpoints move between the two by name.
package engine

import (
	"fmt"
	"runtime"
	"strings"
)

const (
	imageSize  = 28 * 28 // floats per input image [1,28,28]
	numClasses = 10

	// maxThreads bounds the workers of one Net: each chunk holds a full copy of the gradients.
	maxThreads = 256

	// chunksPerThread is how many chunks TrainStep cuts a batch into per thread (with more than
	// one): enough for a worker to pick up a slowed-down one's share, few enough that each
	// chunk keeps its GEMMs long and the extra gradient copies cheap to sum. A model with at
	// least bigGradients parameters gets one chunk per thread: its steps are dominated by
	// moving gradients through memory, which every extra chunk adds to.
	chunksPerThread = 2
	bigGradients    = 256 * 1024

	// inferChunk is how many images a worker runs through at once during Infer when training has
	// not already sized it for more, so that evaluating 10,000 images at once needs no
	// 10,000-image workspace.
	inferChunk = 64

	// parallelReduction is the number of parameters from which the workers share the summing of
	// the chunks' gradients, and the optimiser's step (SGD.Step): below it, one core does it
	// faster than it takes to hand out the work.
	parallelReduction = 64 * 1024
)

// chunkNet is one worker's instance of a model: it shares the parameter values with the other
// workers, owns its activations and scratch, and adds gradients into whichever buffer it is
// bound to. The engine runs float32 ones; the gradient checks build float64 ones from the same
// code.
type chunkNet[F float] interface {
	// reserve sizes the activations and scratch for chunks of up to images images.
	reserve(images int)
	// bindGrads makes backward add into grads (flat, state_dict order).
	bindGrads(grads []F)
	// forward writes logits [B,10] for x [B,1,28,28], keeping the activations backward needs.
	forward(x []F, B int, logits []F)
	// backward adds the gradient of the loss whose logits gradient is dlogits [B,10] into the
	// worker's parameter gradients (or writes it there, for a gradSetter). It must follow
	// forward on the same x and B.
	backward(x, dlogits []F, B int)
}

// gradSetter is a chunkNet whose backward writes every parameter gradient outright rather
// than adding to it: the worker need not clear a chunk's gradients before running it.
type gradSetter interface{ setsGrads() }

// modelDef is an entry of the model table.
type modelDef struct {
	name string
	// bind walks a flat parameter buffer in state_dict order (see binder); its result is unused
	// here, where it only lists the parameters.
	bind func(*binder[float32])
	// newChunkNet binds a worker's model to the shared values and a gradient buffer.
	newChunkNet func(values, grads []float32) chunkNet[float32]
	// reserveBytes is what a worker's reserve(images) allocates: the same layout and
	// convolutions, counted.
	reserveBytes func(images int) int64
}

// modelTable lists the models in the order Models reports them.
var modelTable = [...]modelDef{
	{"linear", func(b *binder[float32]) { bindMLP(b) }, newMLP[float32], func(n int) int64 {
		return reserveBytes(n, layoutMLP[float32], mlpConvs())
	}},
	{"cnn", func(b *binder[float32]) { bindCNN(b) }, newCNN[float32], func(n int) int64 {
		return reserveBytes(n, layoutCNN[float32], cnnConvs())
	}},
	{"inception", func(b *binder[float32]) { bindInception(b) }, newInception[float32], func(n int) int64 {
		return reserveBytes(n, layoutInception[float32], inceptionConvs())
	}},
	{"residual", func(b *binder[float32]) { bindResidual(b) }, newResidual[float32], func(n int) int64 {
		return reserveBytes(n, layoutResidual[float32], residualConvs())
	}},
}

// Models returns the names NewNet accepts.
func Models() []string {
	names := make([]string, len(modelTable))
	for i, m := range modelTable {
		names[i] = m.name
	}
	return names
}

// Net is a model with its parameters, gradients and workers. Its methods are not safe for
// concurrent use.
type Net struct {
	model   string
	threads int
	params  []*Param
	values  []float32 // all parameters, flat, state_dict order
	grads   []float32 // their gradients after TrainStep, same layout
	workers []*worker
	pool    *pool  // runs workers[1:]; nil with one thread
	phase   *phase // the parallel work under way, shared with the workers

	buffers *customState // a custom network's BatchNorm statistics and dropout stream; else nil
	staged  batchPasses  // a model whose step runs in passes (stagedNet); else nil

	labelSmoothing float64 // see SetLabelSmoothing
}

// NewNet builds model with weights drawn from seed (see initParams) and threads workers
// (threads <= 0: one per CPU).
func NewNet(model string, seed uint64, threads int) (*Net, error) {
	var def *modelDef
	for i := range modelTable {
		if modelTable[i].name == model {
			def = &modelTable[i]
		}
	}
	if def == nil {
		return nil, fmt.Errorf("engine: unknown model %q: want one of %s", model, strings.Join(Models(), ", "))
	}
	return newNet(def, seed, threads)
}

// newNet builds the model def describes (see NewNet).
func newNet(def *modelDef, seed uint64, threads int) (*Net, error) {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	if threads > maxThreads {
		return nil, fmt.Errorf("engine: %d threads: at most %d (each keeps copies of the gradients); use fewer", threads, maxThreads)
	}

	var list binder[float32]
	def.bind(&list)
	n := &Net{
		model:   def.name,
		threads: threads,
		values:  make([]float32, list.off),
		grads:   make([]float32, list.off),
	}
	initParams(n.values, list.specs, seed)
	n.params = newParams(list.specs, n.values, n.grads)
	for _, p := range n.params {
		p.net = n
	}

	// Chunk 0's gradients are the Net's; TrainStep adds the other chunks' to them.
	chunks := maxChunks(len(n.values), threads)
	b := &phase{
		values: n.values,
		grads:  make([][]float32, chunks), loss: make([]float64, chunks), correct: make([]int, chunks),
		done: make(chan struct{}, 1),
	}
	b.grads[0] = n.grads
	for c := 1; c < chunks; c++ {
		b.grads[c] = make([]float32, len(n.values))
	}
	n.phase = b

	n.workers = make([]*worker, threads)
	for i := range n.workers {
		w := &worker{net: def.newChunkNet(n.values, n.grads), phase: b}
		_, sets := w.net.(gradSetter)
		w.clearGrads = !sets
		// Any worker may run any chunk: bind it to every chunk's gradients now, so that
		// switching between them later never allocates.
		for _, g := range b.grads {
			w.net.bindGrads(g)
		}
		n.workers[i] = w
	}
	if threads > 1 {
		n.pool = startPool(n.workers[1:])
		// The pool's goroutines hold the workers but not the Net, so the Net can become
		// unreachable; when it does, stop them.
		runtime.AddCleanup(n, (*pool).stop, n.pool)
	}
	return n, nil
}

// Model returns the model's name.
func (n *Net) Model() string { return n.model }

// Threads returns the number of workers.
func (n *Net) Threads() int { return n.threads }

// Params returns the parameters in state_dict order. The slice is the Net's own.
func (n *Net) Params() []*Param { return n.params }

// NumParams returns the number of learnable scalars.
func (n *Net) NumParams() int { return len(n.values) }

// TrainStep runs forward and backward on a batch: x is [batch,1,28,28] normalised, y holds labels
// 0-9. After it, every Param.Grad holds the gradient of the mean loss. Returns the mean loss and
// how many argmax predictions were right. Does not update weights.
//
// It panics if x or y is shorter than batch images, batch < 1, or a label is outside 0-9: those
// are bugs in the caller (the dataset package validates labels when it reads them).
func (n *Net) TrainStep(x []float32, y []int32, batch int) (loss float64, correct int) {
	if batch < 1 {
		panic(fmt.Sprintf("engine: TrainStep: batch %d: want at least one image", batch))
	}
	checkImages("TrainStep", x, batch)
	if len(y) < batch {
		panic(fmt.Sprintf("engine: TrainStep: %d labels for a batch of %d", len(y), batch))
	}
	for i, label := range y[:batch] {
		if label < 0 || label >= numClasses {
			panic(fmt.Sprintf("engine: TrainStep: label %d of the batch is %d, want 0-%d", i, label, numClasses-1))
		}
	}

	b := n.phase
	size, chunks := chunking(batch, len(b.grads))
	n.reserveAll(size)
	b.x, b.batch, b.size = x[:batch*imageSize], batch, size
	b.y, b.norm, b.smooth = y[:batch], batch, n.labelSmoothing
	if n.staged != nil {
		n.trainPasses(chunks)
	} else {
		n.run(trainJob, chunks)
	}

	// Sum in chunk order, so that the sums come out the same whichever worker ran what.
	for c := range chunks {
		loss += b.loss[c]
		correct += b.correct[c]
	}
	n.reduce(chunks)
	return loss, correct
}

// reduce adds the gradients of chunks 1..chunks-1 into chunk 0's, which are n.grads. Each
// element is summed in chunk order, ((g0 + g1) + g2) + ..., so a run gives the same bits every
// time; a large model's elements are cut into ranges that the workers sum in parallel (each in
// the same order), so that the reduction does not run on one core while the others wait.
func (n *Net) reduce(chunks int) {
	if chunks == 1 {
		return
	}
	size := len(n.grads)
	ranges := 1
	if size >= parallelReduction {
		ranges = len(n.phase.grads) // as many as chunks: enough to share, few to hand out
	}
	// Ranges of whole cache lines, so that no two workers write the same line.
	b := n.phase
	b.sources = chunks
	b.size = ((size+ranges-1)/ranges + 15) &^ 15
	n.run(reduceJob, (size+b.size-1)/b.size)
}

// Infer writes logits [batch,10] for x, keeping nothing for backward (inference mode): the
// gradients of the last TrainStep stay as they were. It panics if x or logits is shorter than
// batch images; batch 0 does nothing.
func (n *Net) Infer(x []float32, batch int, logits []float32) {
	if batch < 0 {
		panic(fmt.Sprintf("engine: Infer: batch %d: want a count of images", batch))
	}
	checkImages("Infer", x, batch)
	if len(logits) < batch*numClasses {
		panic(fmt.Sprintf("engine: Infer: logits holds %d values, want batch %d × %d = %d", len(logits), batch, numClasses, batch*numClasses))
	}
	if batch == 0 {
		return
	}
	// Chunks as large as the workers already hold (at least inferChunk): logits do not depend
	// on how images are grouped, so any worker may run any chunk, as many as it gets to.
	size := inferChunk
	for _, w := range n.workers {
		size = max(size, w.capacity)
	}
	size = min(size, (batch+n.threads-1)/n.threads)
	n.reserveAll(size)
	if n.staged != nil {
		n.staged.reserveInfer(size)
	}
	b := n.phase
	b.x, b.batch, b.size = x[:batch*imageSize], batch, size
	b.logits = logits[:batch*numClasses]
	n.run(inferJob, (batch+size-1)/size)
}

func checkImages(method string, x []float32, batch int) {
	if len(x) < batch*imageSize {
		panic(fmt.Sprintf("engine: %s: x holds %d values, want batch %d × %d = %d", method, len(x), batch, imageSize, batch*imageSize))
	}
}
