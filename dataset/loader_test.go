package dataset

import (
	"math"
	"slices"
	"testing"
)

// indexedSet returns n images whose first two pixels encode the image's
// index (little-endian), so a batch reveals which images it holds.
func indexedSet(n int) *Set {
	s := &Set{Name: "indexed", Images: make([]uint8, n*ImageSize), Labels: make([]uint8, n), N: n}
	for i := range n {
		img := s.Image(i)
		img[0], img[1] = uint8(i), uint8(i>>8)
		img[2] = uint8(i * 31) // vary other pixels too
		s.Labels[i] = uint8(i % NumClasses)
	}
	return s
}

var testInfo = Info{Name: "test", Mean: 0.1307, Std: 0.3081}

// epochOrder drains one epoch and returns the dataset indices in the order
// they came out, decoded from the normalised pixels, checking labels too.
func epochOrder(t *testing.T, l *Loader, set *Set, batchSize int) []int {
	t.Helper()
	x := make([]float32, batchSize*ImageSize)
	y := make([]int32, batchSize)
	px := make([]float32, ImageSize)
	var order []int
	for {
		n := l.Next(x, y)
		if n == 0 {
			return order
		}
		for k := range n {
			got := x[k*ImageSize : (k+1)*ImageSize]
			idx := decodeIndex(t, got)
			Normalize(px, set.Image(idx), testInfo.Mean, testInfo.Std)
			if !slices.Equal(got, px) {
				t.Fatalf("batch image %d: values differ from Normalize(set.Image(%d))", k, idx)
			}
			if y[k] != int32(set.Labels[idx]) {
				t.Fatalf("image %d came with label %d, want %d", idx, y[k], set.Labels[idx])
			}
			order = append(order, idx)
		}
	}
}

// decodeIndex inverts the normalisation of the two index pixels.
func decodeIndex(t *testing.T, img []float32) int {
	t.Helper()
	pixel := func(v float32) int {
		return int(math.Round(float64(v*testInfo.Std+testInfo.Mean) * 255))
	}
	return pixel(img[0]) | pixel(img[1])<<8
}

func TestLoaderVisitsEveryIndexOncePerEpoch(t *testing.T) {
	const n, bs = 1000, 64
	set := indexedSet(n)
	for _, shuffle := range []bool{false, true} {
		l := NewLoader(set, testInfo, bs, shuffle, 42)
		for epoch := 1; epoch <= 3; epoch++ {
			l.Start(epoch)
			order := epochOrder(t, l, set, bs)
			sorted := slices.Sorted(slices.Values(order))
			for i, idx := range sorted {
				if idx != i {
					t.Fatalf("shuffle=%v epoch %d: sorted order has %d at %d; some index is missing or repeated", shuffle, epoch, idx, i)
				}
			}
			if !shuffle && !slices.Equal(order, sorted) {
				t.Errorf("epoch %d without shuffle is not in natural order", epoch)
			}
			if shuffle && slices.Equal(order, sorted) {
				t.Errorf("epoch %d with shuffle is in natural order", epoch)
			}
		}
	}
}

func TestLoaderShuffleIsAFunctionOfSeedAndEpoch(t *testing.T) {
	const n, bs = 500, 32
	set := indexedSet(n)
	orderOf := func(seed uint64, epoch int, warmup ...int) []int {
		l := NewLoader(set, testInfo, bs, true, seed)
		for _, e := range warmup { // history must not matter
			l.Start(e)
			l.Next(make([]float32, bs*ImageSize), make([]int32, bs))
		}
		l.Start(epoch)
		return epochOrder(t, l, set, bs)
	}
	a := orderOf(7, 2)
	if b := orderOf(7, 2, 5, 1, 3); !slices.Equal(a, b) {
		t.Error("same (seed, epoch) gave different orders after a different history")
	}
	if c := orderOf(7, 3); slices.Equal(a, c) {
		t.Error("epochs 2 and 3 have the same order")
	}
	if d := orderOf(8, 2); slices.Equal(a, d) {
		t.Error("seeds 7 and 8 give the same order")
	}
}

func TestLoaderKeepsLastPartialBatch(t *testing.T) {
	cases := []struct{ n, bs, batches, last int }{
		{n: 10, bs: 4, batches: 3, last: 2},
		{n: 12, bs: 4, batches: 3, last: 4},
		{n: 3, bs: 64, batches: 1, last: 3},
		{n: 60000, bs: 64, batches: 938, last: 32}, // MNIST train with the tutorial's batch size
	}
	for _, c := range cases {
		set := &Set{Images: make([]uint8, c.n*ImageSize), Labels: make([]uint8, c.n), N: c.n}
		l := NewLoader(set, testInfo, c.bs, true, 1)
		if got := l.Batches(); got != c.batches {
			t.Errorf("N=%d bs=%d: Batches() = %d, want %d", c.n, c.bs, got, c.batches)
		}
		x, y := make([]float32, c.bs*ImageSize), make([]int32, c.bs)
		var sizes []int
		if c.n > 1000 {
			// Only the end matters; skipping there keeps the test fast
			// under -race.
			l.Seek(1, c.batches-2)
			sizes = make([]int, c.batches-2)
		}
		for n := l.Next(x, y); n > 0; n = l.Next(x, y) {
			sizes = append(sizes, n)
		}
		if len(sizes) != c.batches || sizes[len(sizes)-1] != c.last {
			t.Errorf("N=%d bs=%d: got %d batches ending with %v, want %d ending with %d",
				c.n, c.bs, len(sizes), sizes[len(sizes)-1], c.batches, c.last)
		}
		if n := l.Next(x, y); n != 0 {
			t.Errorf("N=%d bs=%d: Next after the last batch returned %d images, want 0", c.n, c.bs, n)
		}
	}
}

func TestLoaderSeekResumesExactly(t *testing.T) {
	const n, bs = 300, 16
	set := indexedSet(n)
	x, y := make([]float32, bs*ImageSize), make([]int32, bs)

	for _, stop := range []int{0, 1, 7, 18, 19} { // 19 = Batches(): nothing left
		original := NewLoader(set, testInfo, bs, true, 99)
		original.Start(4)
		for range stop {
			original.Next(x, y)
		}
		epoch, batch := 4, stop
		rest := epochOrder(t, original, set, bs)

		resumed := NewLoader(set, testInfo, bs, true, 99)
		resumed.Seek(epoch, batch)
		if got := epochOrder(t, resumed, set, bs); !slices.Equal(got, rest) {
			t.Errorf("resuming at batch %d: got %d images in another order than the original run's %d", stop, len(got), len(rest))
		}
	}
}

func TestNormalize(t *testing.T) {
	img := []uint8{0, 1, 128, 255}
	dst := make([]float32, len(img))
	const mean, std = 0.1307, 0.3081
	Normalize(dst, img, mean, std)
	for i, px := range img {
		want := (float64(px)/255 - mean) / std
		if math.Abs(float64(dst[i])-want) > 1e-6 {
			t.Errorf("pixel %d: got %v, want %v", px, dst[i], want)
		}
	}
	// The tutorial's well-known extremes for MNIST.
	if math.Abs(float64(dst[0])-(-0.4242)) > 1e-4 || math.Abs(float64(dst[3])-2.8215) > 1e-4 {
		t.Errorf("black/white normalise to %v/%v, want about -0.4242/2.8215", dst[0], dst[3])
	}
}

func TestLoaderBatchSizeBelowOne(t *testing.T) {
	l := NewLoader(indexedSet(3), testInfo, 0, false, 0)
	if l.Batches() != 3 {
		t.Errorf("batch size 0: Batches() = %d, want 3 (treated as 1)", l.Batches())
	}
}

func TestLoaderNextDoesNotAllocate(t *testing.T) {
	const bs = 64
	l := NewLoader(indexedSet(1000), testInfo, bs, true, 3)
	x, y := make([]float32, bs*ImageSize), make([]int32, bs)
	epoch := 1
	allocs := testing.AllocsPerRun(100, func() {
		if l.Next(x, y) == 0 {
			epoch++
			l.Start(epoch)
		}
	})
	if allocs != 0 {
		t.Errorf("Next allocates %v times per call, want 0", allocs)
	}
}

func BenchmarkLoaderNext(b *testing.B) {
	const bs = 64
	l := NewLoader(indexedSet(60000), testInfo, bs, true, 3)
	x, y := make([]float32, bs*ImageSize), make([]int32, bs)
	b.SetBytes(bs * ImageSize)
	epoch := 1
	for b.Loop() {
		if l.Next(x, y) == 0 {
			epoch++
			l.Start(epoch)
		}
	}
}
