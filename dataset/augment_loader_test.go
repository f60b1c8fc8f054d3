package dataset

import (
	"math"
	"slices"
	"testing"
	"time"

	"mnist-tui/dataset/augment"
)

var testAugment = augment.Settings{Rotate: 15, Translate: 0.1, ScaleMin: 0.9, ScaleMax: 1.1}

// inkedSet returns n images with a different blob of ink each, so that
// every transform shows in the pixels.
func inkedSet(n int) *Set {
	s := &Set{Name: "inked", Images: make([]uint8, n*ImageSize), Labels: make([]uint8, n), N: n}
	for i := range n {
		img := s.Image(i)
		for p := range img {
			r, c := p/Cols, p%Cols
			if r > 6+i%5 && r < 20 && c > 8 && c < 18+i%4 {
				img[p] = uint8(40 + (r*c+i*13)%215)
			}
		}
		s.Labels[i] = uint8(i % NumClasses)
	}
	return s
}

// augmentedEpoch drains one epoch of l, returning its images and labels.
// reseek makes every batch start from Seek, so none is prepared ahead.
func augmentedEpoch(l *Loader, batchSize, epoch int, reseek bool) ([]float32, []int32) {
	x, y := make([]float32, batchSize*ImageSize), make([]int32, batchSize)
	var xs []float32
	var ys []int32
	l.Seek(epoch, 0)
	for b := 0; ; b++ {
		if reseek {
			l.Seek(epoch, b)
		}
		n := l.Next(x, y)
		if n == 0 {
			return xs, ys
		}
		xs, ys = append(xs, x[:n*ImageSize]...), append(ys, y[:n]...)
	}
}

// TestAugmentedBatchesAreAFunctionOfSeedEpochImage: batches prepared ahead
// in the goroutine equal batches made on the spot; another batch size gives
// the same images (parameters follow the image, not its place in a stream);
// each image is augment.Apply of augment.Draw for its index, normalised.
func TestAugmentedBatchesAreAFunctionOfSeedEpochImage(t *testing.T) {
	set := inkedSet(100)
	ahead := NewLoader(set, testInfo, 16, true, 5)
	ahead.Augment(testAugment)
	defer ahead.Close()
	onTheSpot := NewLoader(set, testInfo, 16, true, 5)
	onTheSpot.Augment(testAugment)
	defer onTheSpot.Close()
	other := NewLoader(set, testInfo, 7, true, 5)
	other.Augment(testAugment)
	defer other.Close()

	x1, y1 := augmentedEpoch(ahead, 16, 2, false)
	x2, y2 := augmentedEpoch(onTheSpot, 16, 2, true)
	x3, y3 := augmentedEpoch(other, 7, 2, false)
	if !slices.Equal(x1, x2) || !slices.Equal(y1, y2) {
		t.Fatal("batches prepared ahead differ from batches made on the spot")
	}
	if !slices.Equal(x1, x3) || !slices.Equal(y1, y3) {
		t.Fatal("batch size 7 augments the images differently from batch size 16")
	}
	want := make([]float32, ImageSize)
	levels := augment.Normalization(testInfo.Mean, testInfo.Std)
	for pos, idx := range ahead.order { // the shuffled order of epoch 2
		img := set.Image(idx)
		p := augment.Draw(testAugment, Rows, Cols, 5, 2, idx)
		augment.ApplyNormalized(want, img, Rows, Cols, p, augment.InkBox(img, Rows, Cols), levels)
		if !slices.Equal(x1[pos*ImageSize:(pos+1)*ImageSize], want) {
			t.Fatalf("image %d is not its own transform", idx)
		}
	}
	x4, _ := augmentedEpoch(ahead, 16, 3, false)
	if slices.Equal(x1, x4) {
		t.Fatal("epoch 3 augments like epoch 2")
	}
	plain := NewLoader(set, testInfo, 16, true, 5)
	if x5, _ := augmentedEpoch(plain, 16, 2, false); slices.Equal(x1, x5) {
		t.Fatal("augmented images equal the plain ones")
	}
}

// TestAugmentedBackgroundIsThePlainOne: the background of augmented images
// (here every image's top-left corner, far from its ink) is bit for bit
// the value plain images have there, the normalised 0.
func TestAugmentedBackgroundIsThePlainOne(t *testing.T) {
	l := NewLoader(inkedSet(40), testInfo, 8, true, 5)
	l.Augment(testAugment)
	defer l.Close()
	x, _ := augmentedEpoch(l, 8, 1, false)
	want := normalized(0, testInfo.Mean, testInfo.Std)
	for i := 0; i < len(x); i += ImageSize {
		if x[i] != want {
			t.Fatalf("image %d's corner is %v, plain images' background %v", i/ImageSize, x[i], want)
		}
	}
}

// TestAugmentOffChangesNothing: settings that leave images alone keep the
// plain path, bit for bit (the tutorial's run must not move).
func TestAugmentOffChangesNothing(t *testing.T) {
	set := inkedSet(50)
	off := NewLoader(set, testInfo, 16, true, 5)
	off.Augment(augment.Off())
	defer off.Close()
	xOff, _ := augmentedEpoch(off, 16, 1, false)
	xPlain, _ := augmentedEpoch(NewLoader(set, testInfo, 16, true, 5), 16, 1, false)
	if !slices.Equal(xOff, xPlain) {
		t.Fatal("augment.Off() changed the images")
	}
}

func TestAugmentedNextDoesNotAllocate(t *testing.T) {
	const bs = 64
	l := NewLoader(inkedSet(1000), testInfo, bs, true, 3)
	l.Augment(testAugment)
	defer l.Close()
	x, y := make([]float32, bs*ImageSize), make([]int32, bs)
	epoch := 1
	allocs := testing.AllocsPerRun(50, func() {
		if l.Next(x, y) == 0 {
			epoch++
			l.Start(epoch)
		}
	})
	if allocs != 0 {
		t.Errorf("Next with augmentation allocates %v times per call, want 0", allocs)
	}
}

// BenchmarkAugmentBatch is the preparation of one augmented batch of 64
// real MNIST digits (skipped when MNIST is not cached), the work the
// loader's goroutine does beside the training, reported per image:
//
//	go test -run '^$' -bench AugmentBatch ./dataset/
func BenchmarkAugmentBatch(b *testing.B) {
	train, _, err := Load(b.Context(), "mnist", FetchOptions{Offline: true})
	if err != nil {
		b.Skipf("MNIST is not cached (%v): run mnist-tui once to fetch it", err)
	}
	info, _ := Lookup("mnist")
	const bs = 64
	l := NewLoader(train, info, bs, true, 1)
	l.Augment(testAugment)
	defer l.Close()
	x, y := make([]float32, bs*ImageSize), make([]int32, bs)
	lo := 0
	fastest := time.Duration(math.MaxInt64) // the batch least disturbed by other processes
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		l.fillAugmented(x, y, augmentJob{lo, lo + bs, 1})
		fastest = min(fastest, time.Since(start))
		lo = (lo + bs) % (train.N - bs)
	}
	b.ReportMetric(float64(fastest.Nanoseconds())/bs, "fastest-ns/image")
}
