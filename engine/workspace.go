package engine

import (
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"mnist-tui/engine/kernels"
)

// maxChunks is how many chunks (each with its own gradient buffer) a Net of params parameters
// and threads workers cuts a batch into at most.
func maxChunks(params, threads int) int {
	if threads <= 1 {
		return 1
	}
	if params >= bigGradients {
		return threads
	}
	return chunksPerThread * threads
}

// chunking is how TrainStep cuts a batch: size images per chunk (the last may hold fewer), in
// chunks chunks, at most maxChunks of them.
func chunking(batch, maxChunks int) (size, chunks int) {
	chunks = min(batch, maxChunks)
	size = (batch + chunks - 1) / chunks
	return size, (batch + size - 1) / size
}

// reserveBytes is what a model's reserve(images) allocates: its activations and their
// gradients, both laid out by layout, and the scratch for convs.
func reserveBytes[T any](images int, layout func(*arena[float32], int) T, convs []convShape) int64 {
	var count arena[float32]
	layout(&count, images)
	acts := int64(count.nf)*int64(unsafe.Sizeof(float32(0))) + int64(count.nb)
	scratch := int64(scratchSizes(images, colBudget, minGroupPixels, convs).total())*int64(unsafe.Sizeof(float32(0))) + int64(unsafe.Sizeof(kernels.Workspace{}))
	return 2*acts + scratch
}

// WorkspaceBytes is the memory a Net of model with threads workers (threads <= 0: one per CPU,
// as NewNet) holds once it has trained on batches of batch images and run Infer: its
// parameters, a gradient buffer per chunk, and each worker's activations, their gradients and
// scratch for the largest chunk. It is counted from the same layouts NewNet and TrainStep use,
// without allocating them, so a caller can refuse a batch that would not fit before starting.
// The optimiser's momentum (one more copy of the parameters) and the images are the caller's.
func WorkspaceBytes(model string, batch, threads int) (int64, error) {
	var def *modelDef
	for i := range modelTable {
		if modelTable[i].name == model {
			def = &modelTable[i]
		}
	}
	if def == nil {
		return 0, fmt.Errorf("engine: unknown model %q: want one of %s", model, strings.Join(Models(), ", "))
	}
	if batch < 1 {
		return 0, fmt.Errorf("engine: batch %d: want at least one image", batch)
	}
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	var list binder[float32]
	def.bind(&list)
	params := int64(list.off)
	chunks := maxChunks(list.off, threads)
	size, _ := chunking(batch, chunks)
	images := max(size, inferChunk) // Infer grows a worker to at least inferChunk
	perWorker := def.reserveBytes(images) + 2*int64(images*numClasses)*int64(unsafe.Sizeof(float32(0)))
	floatBytes := int64(unsafe.Sizeof(float32(0)))
	return params*floatBytes*int64(1+chunks) + int64(threads)*perWorker, nil
}
