package engine

// A model whose training step needs the whole batch between its passes (a custom network's
// BatchNorm: statistics over the batch, not the chunk) runs the step as several phases over the
// same chunks, with a reduction on one goroutine between them. Any worker may run any chunk of
// a pass: the model keeps each chunk's activations with the chunk, not with the worker.

// stagedNet is a worker's handle on such a model.
type stagedNet interface {
	// forwardPasses is how many passes the forward pass takes; the last also computes the
	// logits, after which the worker computes the loss and starts backward in the same phase.
	forwardPasses() int
	// forwardPass runs pass of the forward pass on chunk, the B images x that start at image
	// lo of the batch; the last one writes logits [B,10].
	forwardPass(pass, chunk, lo int, x []float32, B int, logits []float32)
	// backwardPass runs pass of the backward pass on chunk (pass 0 from dlogits [B,10]),
	// adding into the chunk's gradients.
	backwardPass(pass, chunk int, x, dlogits []float32, B int)
}

// batchPasses is the Net's side of a stagedNet: what runs between the passes.
type batchPasses interface {
	// passes is how many phases a training step runs: forward passes + backward passes − 1.
	passes() int
	// between runs after phase pass, on one goroutine, with chunks chunks in the step.
	between(pass, chunks int)
	// reserveInfer runs before Infer's chunks of up to images images, on one goroutine.
	reserveInfer(images int)
}

// trainPasses runs a training step of a staged model as its phases.
func (n *Net) trainPasses(chunks int) {
	b := n.phase
	for p := range n.staged.passes() {
		b.pass = p
		n.run(trainJob, chunks)
		n.staged.between(p, chunks)
	}
}

// stagedChunk runs the current pass of a training step on chunk c, the images x from lo.
func (w *worker) stagedChunk(s stagedNet, c, lo, images int, x []float32) {
	b := w.phase
	last := s.forwardPasses() - 1
	switch {
	case b.pass < last:
		s.forwardPass(b.pass, c, lo, x, images, nil)
	case b.pass == last:
		s.forwardPass(last, c, lo, x, images, w.logits)
		b.loss[c], b.correct[c] = smoothedCrossEntropy(w.dlogits, w.logits, b.y[lo:lo+images], images, numClasses, b.norm, b.smooth)
		if w.clearGrads {
			clear(b.grads[c])
		}
		s.backwardPass(0, c, x, w.dlogits, images)
	default:
		s.backwardPass(b.pass-last, c, x, nil, images)
	}
}
