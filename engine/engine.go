// Package engine trains the MNIST classifiers on the CPU without an ML framework.
//
// It is written like llm.c: every layer is a forward and a backward function over flat float32
// slices (layers.go, conv.go, loss.go), and each model (model_*.go) calls them top to bottom,
// forward and then backward in reverse, with no graph in between. A Net holds one model's
// parameters and a set of workers; TrainStep splits a batch into one contiguous chunk per worker,
// each worker runs its chunk through its own copy of the activations, and the workers' gradients
// are summed in a fixed order, so a run is bit-identical to the last for a given thread count.
//
// Parameters are named, shaped and ordered as the PyTorch models' state_dicts
// (engine/pytorch/models.py), so checkpoints move between the two by name.
package engine

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
)

const (
	imageSize  = 28 * 28 // floats per input image [1,28,28]
	numClasses = 10

	// maxThreads bounds the workers of one Net: each holds a full copy of the gradients.
	maxThreads = 256

	// inferChunk is how many images a worker runs through at once during Infer when training has
	// not already sized it for more, so that evaluating 10,000 images at once needs no
	// 10,000-image workspace.
	inferChunk = 64
)

// chunkNet is one worker's instance of a model: it shares the parameter values with the other
// workers and owns its gradients, activations and scratch. The engine runs float32 ones; the
// gradient checks build float64 ones from the same code.
type chunkNet[F float] interface {
	// reserve sizes the activations and scratch for chunks of up to images images.
	reserve(images int)
	// forward writes logits [B,10] for x [B,1,28,28], keeping the activations backward needs.
	forward(x []F, B int, logits []F)
	// backward adds the gradient of the loss whose logits gradient is dlogits [B,10] into the
	// worker's parameter gradients. It must follow forward on the same x and B.
	backward(x, dlogits []F, B int)
}

// modelDef is an entry of the model table.
type modelDef struct {
	name string
	// bind walks a flat parameter buffer in state_dict order (see binder); its result is unused
	// here, where it only lists the parameters.
	bind func(*binder[float32])
	// newChunkNet binds a worker's model to the shared values and its own gradients.
	newChunkNet func(values, grads []float32) chunkNet[float32]
}

// modelTable lists the models in the order Models reports them.
var modelTable = [...]modelDef{
	{"linear", func(b *binder[float32]) { bindMLP(b) }, newMLP[float32]},
	{"cnn", func(b *binder[float32]) { bindCNN(b) }, newCNN[float32]},
	{"inception", func(b *binder[float32]) { bindInception(b) }, newInception[float32]},
	{"residual", func(b *binder[float32]) { bindResidual(b) }, newResidual[float32]},
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
	pool    *pool // runs workers[1:]; nil with one thread
	jobs    []job // one per worker, reused by every call
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
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	if threads > maxThreads {
		return nil, fmt.Errorf("engine: %d threads: at most %d (each thread keeps its own copy of the gradients); use fewer", threads, maxThreads)
	}

	var list binder[float32]
	def.bind(&list)
	n := &Net{
		model:   model,
		threads: threads,
		values:  make([]float32, list.off),
		grads:   make([]float32, list.off),
		jobs:    make([]job, threads),
	}
	initParams(n.values, list.specs, seed)
	n.params = newParams(list.specs, n.values, n.grads)

	n.workers = make([]*worker, threads)
	for i := range n.workers {
		// Worker 0 writes straight into the Net's gradients; TrainStep adds the others' to them.
		grads := n.grads
		if i > 0 {
			grads = make([]float32, len(n.values))
		}
		n.workers[i] = &worker{net: def.newChunkNet(n.values, grads), grads: grads}
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

	active := n.split(batch)
	for i := range active {
		j := &n.jobs[i]
		j.train, j.y, j.norm = true, y[j.lo:j.lo+j.images], batch
	}
	n.run(x, active)

	// Reduce in worker order, so that the sums come out the same every run. Worker 0's
	// gradients are already in n.grads.
	for _, w := range n.workers[:active] {
		loss += w.loss
		correct += w.correct
	}
	for _, w := range n.workers[1:active] {
		for i, g := range w.grads {
			n.grads[i] += g
		}
	}
	return loss, correct
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
	active := n.split(batch)
	for i := range active {
		j := &n.jobs[i]
		j.train, j.logits = false, logits[j.lo*numClasses:(j.lo+j.images)*numClasses]
	}
	n.run(x, active)
}

func checkImages(method string, x []float32, batch int) {
	if len(x) < batch*imageSize {
		panic(fmt.Sprintf("engine: %s: x holds %d values, want batch %d × %d = %d", method, len(x), batch, imageSize, batch*imageSize))
	}
}

// split gives each worker a contiguous chunk of the batch, ceil(batch/threads) images each, and
// returns how many workers got images (the rest sit out, e.g. a 3-image batch on 4 threads).
func (n *Net) split(batch int) (active int) {
	chunk := (batch + n.threads - 1) / n.threads
	for i := range n.jobs {
		lo := min(i*chunk, batch)
		hi := min(lo+chunk, batch)
		if hi == lo {
			return i
		}
		n.jobs[i] = job{lo: lo, images: hi - lo}
	}
	return n.threads
}

// run hands jobs[1:active] to the pool, runs jobs[0] on the calling goroutine, and waits.
func (n *Net) run(x []float32, active int) {
	for i := range active {
		j := &n.jobs[i]
		j.x = x[j.lo*imageSize : (j.lo+j.images)*imageSize]
	}
	if active > 1 {
		n.pool.done.Add(active - 1)
		for i := 1; i < active; i++ {
			n.pool.jobs[i-1] <- n.jobs[i]
		}
	}
	n.workers[0].do(n.jobs[0])
	if active > 1 {
		n.pool.done.Wait()
	}
}

// job is one worker's share of a TrainStep or Infer call.
type job struct {
	train  bool
	lo     int       // first image of the chunk within the batch
	images int       // chunk size
	x      []float32 // [images,1,28,28]
	y      []int32   // [images], train only
	norm   int       // batch size the loss is a mean over, train only
	logits []float32 // [images,10] output, Infer only
}

// worker is one thread's state: its model instance (activations, scratch, gradients) and the
// results of its last training chunk.
type worker struct {
	net      chunkNet[float32]
	grads    []float32 // flat, state_dict order; bound into net
	capacity int       // images net is sized for
	logits   []float32 // [capacity,10]
	dlogits  []float32 // [capacity,10]

	loss    float64 // this chunk's share of the batch mean loss
	correct int
}

func (w *worker) do(j job) {
	if j.train {
		w.train(j)
	} else {
		w.infer(j)
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

func (w *worker) train(j job) {
	w.reserve(j.images)
	w.net.forward(j.x, j.images, w.logits)
	w.loss, w.correct = crossEntropyForwardBackward(w.dlogits, w.logits, j.y, j.images, numClasses, j.norm)
	clear(w.grads)
	w.net.backward(j.x, w.dlogits, j.images)
}

// infer runs the chunk in pieces no larger than the worker already holds (at least inferChunk).
func (w *worker) infer(j job) {
	w.reserve(min(j.images, max(w.capacity, inferChunk)))
	for lo := 0; lo < j.images; lo += w.capacity {
		b := min(w.capacity, j.images-lo)
		w.net.forward(j.x[lo*imageSize:(lo+b)*imageSize], b, j.logits[lo*numClasses:(lo+b)*numClasses])
	}
}

// pool runs workers on long-lived goroutines, one per worker, fed through unbuffered channels:
// starting goroutines per call would allocate on every step.
type pool struct {
	jobs []chan job // jobs[i] feeds the i-th pooled worker
	done sync.WaitGroup
}

func startPool(workers []*worker) *pool {
	p := &pool{jobs: make([]chan job, len(workers))}
	for i, w := range workers {
		ch := make(chan job)
		p.jobs[i] = ch
		go p.serve(w, ch)
	}
	return p
}

func (p *pool) serve(w *worker, jobs <-chan job) {
	for j := range jobs {
		w.do(j)
		p.done.Done()
	}
}

// stop ends the goroutines once no call is running.
func (p *pool) stop() {
	for _, ch := range p.jobs {
		close(ch)
	}
}
