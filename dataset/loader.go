package dataset

import (
	"fmt"
	"math/rand/v2"

	"mnist-tui/dataset/augment"
)

// Normalize writes (x/255 - mean)/std for each pixel x of img into
// dst[:len(img)]. dst must hold at least len(img) values; a shorter dst is a
// programming error and panics.
func Normalize(dst []float32, img []uint8, mean, std float32) {
	if len(dst) < len(img) {
		panic(fmt.Sprintf("dataset.Normalize: dst holds %d values, img has %d pixels", len(dst), len(img)))
	}
	dst = dst[:len(img)]
	for i, x := range img {
		dst[i] = normalized(x, mean, std)
	}
}

// normalized is the one formula both Normalize and the Loader's lookup
// table use, so training and prediction see bit-identical inputs.
func normalized(x uint8, mean, std float32) float32 {
	return (float32(x)/255 - mean) / std
}

// Loader hands out the batches of one set, epoch after epoch, in an order
// that depends only on (seed, epoch): a run resumed from a checkpoint sees
// exactly the batches it would have seen. A Loader is not safe for
// concurrent use.
type Loader struct {
	set       *Set
	batchSize int
	shuffle   bool
	seed      uint64
	norm      [256]float32 // normalised value of each pixel value

	pcg   rand.PCG
	rng   *rand.Rand // draws from pcg; kept to avoid allocating per epoch
	order []int      // dataset index of each position in this epoch

	epoch int
	batch int // batches already returned this epoch

	mean, std float32
	aug       *augmenter // nil: images as they are
}

// augmenter prepares the next batch's augmented images in its own goroutine
// while the caller trains on the current one. Only one batch is ever in
// preparation, and the loader touches nothing the goroutine reads (order,
// x, y) until it has answered on done.
type augmenter struct {
	settings augment.Settings
	work     chan augmentJob
	done     chan struct{}
	pending  bool // a job was sent and done not yet received
	next     int  // the batch index being prepared when pending
	x        []float32
	y        []int32
	levels   augment.Levels // the normalisation, fused into the resampling
	ink      []augment.Box  // each image's ink, found once
	closed   bool
}

type augmentJob struct{ lo, hi, epoch int }

// NewLoader returns a loader positioned at the start of epoch 1. A batch
// size below 1 is treated as 1 (callers validate their configuration).
// Without shuffle, every epoch is in the set's natural order.
func NewLoader(set *Set, info Info, batchSize int, shuffle bool, seed uint64) *Loader {
	if set == nil {
		set = &Set{}
	}
	l := &Loader{
		set:       set,
		batchSize: max(batchSize, 1),
		shuffle:   shuffle,
		seed:      seed,
		order:     make([]int, set.N),
	}
	for x := range l.norm {
		l.norm[x] = normalized(uint8(x), info.Mean, info.Std)
	}
	l.rng = rand.New(&l.pcg)
	l.mean, l.std = info.Mean, info.Std
	l.Start(1)
	return l
}

// Augment makes every following batch transform each image as torchvision's
// RandomAffine does (see package augment) before normalising it, with
// parameters drawn from (seed, epoch, image index): the same images whatever
// the batch size or order of preparation. Each batch after the first of a
// run of Next calls is prepared in a goroutine while the caller works on
// the one before; Close stops that goroutine. Settings that leave images
// as they are change nothing. Call it once, before the first Next.
func (l *Loader) Augment(s augment.Settings) {
	if s.IsOff() || l.aug != nil {
		return
	}
	a := &augmenter{
		settings: s,
		work:     make(chan augmentJob),
		done:     make(chan struct{}),
		x:        make([]float32, l.batchSize*ImageSize),
		y:        make([]int32, l.batchSize),
		levels:   augment.Normalization(l.mean, l.std),
		ink:      make([]augment.Box, l.set.N),
	}
	for i := range a.ink {
		a.ink[i] = augment.InkBox(l.set.Image(i), Rows, Cols)
	}
	l.aug = a
	go func() {
		for j := range a.work {
			l.fillAugmented(a.x, a.y, j)
			a.done <- struct{}{}
		}
	}()
}

// Close stops the augmenting goroutine, if any. The loader must not be used
// afterwards.
func (l *Loader) Close() {
	if l.aug == nil || l.aug.closed {
		return
	}
	l.wait()
	l.aug.closed = true
	close(l.aug.work)
}

// wait receives the batch in preparation, if any.
func (l *Loader) wait() {
	if l.aug != nil && l.aug.pending {
		<-l.aug.done
		l.aug.pending = false
	}
}

// Batches is the number of batches per epoch: ceil(N / batchSize). The last,
// partial batch is kept (60000 images in batches of 64 end with one of 32).
func (l *Loader) Batches() int { return (l.set.N + l.batchSize - 1) / l.batchSize }

// Start begins epoch (1-based). The order is rebuilt from scratch, so it is
// a pure function of (seed, epoch), whatever happened before.
func (l *Loader) Start(epoch int) {
	l.wait() // the goroutine may be reading the order
	l.epoch, l.batch = epoch, 0
	for i := range l.order {
		l.order[i] = i
	}
	if !l.shuffle {
		return
	}
	// Fisher-Yates, written out rather than rand.Shuffle so the order is
	// pinned down by this code and PCG alone.
	l.pcg.Seed(l.seed, uint64(epoch))
	for i := len(l.order) - 1; i > 0; i-- {
		j := int(l.rng.Uint64N(uint64(i + 1)))
		l.order[i], l.order[j] = l.order[j], l.order[i]
	}
}

// Seek positions the loader so that the next Next returns batch index
// `batch` (0-based) of epoch `epoch`: the exact place a checkpoint taken
// after `batch` batches of that epoch left off. batch is clamped to
// [0, Batches()].
func (l *Loader) Seek(epoch, batch int) {
	l.Start(epoch)
	l.batch = min(max(batch, 0), l.Batches())
}

// Next fills x[:n*ImageSize] with the next batch's normalised images and
// y[:n] with their labels, and returns n; 0 means the epoch is done. x and
// y must hold a full batch (batchSize*ImageSize and batchSize values);
// shorter buffers are a programming error and panic.
func (l *Loader) Next(x []float32, y []int32) (n int) {
	if l.batch >= l.Batches() {
		return 0
	}
	lo := l.batch * l.batchSize
	hi := min(lo+l.batchSize, l.set.N)
	n = hi - lo
	if len(x) < n*ImageSize || len(y) < n {
		panic(fmt.Sprintf("dataset.Loader.Next: buffers hold %d values and %d labels, the batch needs %d and %d",
			len(x), len(y), n*ImageSize, n))
	}
	if l.aug == nil {
		for k, idx := range l.order[lo:hi] {
			dst := x[k*ImageSize : (k+1)*ImageSize]
			for i, px := range l.set.Image(idx) {
				dst[i] = l.norm[px]
			}
			y[k] = int32(l.set.Labels[idx])
		}
		l.batch++
		return n
	}
	a := l.aug
	if a.pending && a.next == l.batch {
		l.wait()
		copy(x[:n*ImageSize], a.x)
		copy(y[:n], a.y)
	} else {
		l.wait()
		l.fillAugmented(x, y, augmentJob{lo, hi, l.epoch})
	}
	l.batch++
	if l.batch < l.Batches() && !a.closed {
		lo := l.batch * l.batchSize
		a.pending, a.next = true, l.batch
		a.work <- augmentJob{lo, min(lo+l.batchSize, l.set.N), l.epoch}
	}
	return n
}

// fillAugmented writes the augmented, normalised images and the labels of
// positions [lo, hi) of the epoch's order into x and y.
func (l *Loader) fillAugmented(x []float32, y []int32, j augmentJob) {
	a := l.aug
	order := l.order[j.lo:j.hi]
	for k, idx := range order {
		if k+1 < len(order) {
			augment.Prefetch(l.set.Image(order[k+1]))
		}
		p := augment.Draw(a.settings, Rows, Cols, l.seed, j.epoch, idx)
		augment.ApplyNormalized(x[k*ImageSize:(k+1)*ImageSize], l.set.Image(idx), Rows, Cols, p, a.ink[idx], a.levels)
		y[k] = int32(l.set.Labels[idx])
	}
}
