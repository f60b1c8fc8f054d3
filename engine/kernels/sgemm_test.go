package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

// gemmCase is one Sgemm call to check: shapes, transposes, scalars and padding of the strides.
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	padA, padB     int // extra floats per row beyond the matrix width
	padC           int
}

func (tc gemmCase) String() string {
	return fmt.Sprintf("tA=%v tB=%v m=%d n=%d k=%d alpha=%g beta=%g pad=%d/%d/%d",
		tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.padA, tc.padB, tc.padC)
}

// operands builds A, B and C for tc. Stride gaps of A and B hold NaN, so any read outside the
// matrices poisons the result; C's gaps hold a sentinel that must survive untouched. With
// beta == 0, C itself is NaN, which must not leak into the result.
func (tc gemmCase) operands(rng *rand.Rand) (a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	aRows, aCols := tc.m, tc.k
	if tc.transA {
		aRows, aCols = tc.k, tc.m
	}
	bRows, bCols := tc.k, tc.n
	if tc.transB {
		bRows, bCols = tc.n, tc.k
	}
	nan := float32(math.NaN())
	a, lda = filled(rng, aRows, aCols, aCols+tc.padA, nan)
	b, ldb = filled(rng, bRows, bCols, bCols+tc.padB, nan)
	c, ldc = filled(rng, tc.m, tc.n, tc.n+tc.padC, cSentinel)
	if tc.beta == 0 {
		for i := 0; i < tc.m; i++ {
			for j := 0; j < tc.n; j++ {
				c[i*ldc+j] = nan
			}
		}
	}
	return a, max(lda, 1), b, max(ldb, 1), c, max(ldc, 1)
}

const cSentinel = 12345.5

// filled returns a rows x cols matrix with stride ld, values uniform in [-1, 1) and gap in the
// padding. The slice ends right after the last element, as tightly as Sgemm allows.
func filled(rng *rand.Rand, rows, cols, ld int, gap float32) ([]float32, int) {
	if rows == 0 || cols == 0 {
		return nil, ld
	}
	x := make([]float32, (rows-1)*ld+cols)
	for i := range x {
		if i%ld < cols {
			x[i] = 2*rng.Float32() - 1
		} else {
			x[i] = gap
		}
	}
	return x, ld
}

// checkCase runs tc through kern and SgemmRef and compares them element by element. Both sum k
// products in float32, so each is within about (k+2)*eps of the exact value, relative to the
// magnitude |alpha|*sum|a*b| + |beta*c|; their difference is held to twice that.
func checkCase(t *testing.T, kern kernel, tc gemmCase, rng *rand.Rand) {
	t.Helper()
	a, lda, b, ldb, c, ldc := tc.operands(rng)
	want := append([]float32(nil), c...)
	SgemmRef(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
	cBefore := append([]float32(nil), c...)
	checkSgemm("test", tc.transA, tc.transB, tc.m, tc.n, tc.k, a, lda, b, ldb, c, ldc)
	kern.sgemm(nil, false, matrix{a, lda, tc.transA}, matrix{b, ldb, tc.transB}, tc.m, tc.n, tc.k, tc.alpha, tc.beta, c, ldc)

	opA := matrix{a, lda, tc.transA}
	opB := matrix{b, ldb, tc.transB}
	const eps = 1.0 / (1 << 23)
	tol := 2 * float64(tc.k+2) * eps
	for i := 0; i < tc.m; i++ {
		for j := 0; j < tc.n; j++ {
			var mag float64
			for p := 0; p < tc.k; p++ {
				mag += math.Abs(float64(opA.at(i, p)) * float64(opB.at(p, j)))
			}
			mag *= math.Abs(float64(tc.alpha))
			if tc.beta != 0 {
				mag += math.Abs(float64(tc.beta) * float64(cBefore[i*ldc+j]))
			}
			got, ref := c[i*ldc+j], want[i*ldc+j]
			if diff := math.Abs(float64(got) - float64(ref)); !(diff <= tol*mag+1e-30) {
				t.Fatalf("%s %v: C[%d][%d] = %g, reference %g (|diff| %g > %g)", kern.name, tc, i, j, got, ref, diff, tol*mag)
			}
		}
		for j := tc.n; j < ldc && i*ldc+j < len(c); j++ {
			if c[i*ldc+j] != cSentinel {
				t.Fatalf("%s %v: wrote C[%d] in the stride gap after row %d", kern.name, tc, i*ldc+j, i)
			}
		}
	}
}

// kernelsUnderTest is every kernel set this build can run, plus each one with B packed by
// the driver instead of by the kernel, so both paths of the driver are covered.
func kernelsUnderTest() []kernel {
	var ks []kernel
	for _, k := range append([]kernel{goKernel}, platformKernels()...) {
		ks = append(ks, k)
		if k.tilePack != nil {
			k.name += "/go-packing"
			k.tilePack = nil
			ks = append(ks, k)
		}
	}
	return ks
}

var scalars = [][2]float32{{1, 0}, {1, 1}, {-0.5, 0}, {0.75, -0.5}, {2, 1}, {-1, 2.5}, {0, 0}, {0, -2}}

// TestSgemmOddShapes covers every register-tile edge: m, n, k from 1 to 70 (primes, multiples
// of the tile and one past them), all four transpose combinations, assorted alpha and beta, and
// strides wider than the rows.
func TestSgemmOddShapes(t *testing.T) {
	dims := []int{1, 2, 3, 4, 5, 7, 8, 9, 11, 13, 16, 17, 23, 24, 25, 31, 33, 47, 48, 49, 64, 70}
	for _, kern := range kernelsUnderTest() {
		t.Run(kern.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			for trans := 0; trans < 4; trans++ {
				for i := 0; i < 80; i++ {
					s := scalars[rng.IntN(len(scalars))]
					tc := gemmCase{
						transA: trans&1 != 0, transB: trans&2 != 0,
						m: dims[rng.IntN(len(dims))], n: dims[rng.IntN(len(dims))], k: dims[rng.IntN(len(dims))],
						alpha: s[0], beta: s[1],
						padA: rng.IntN(3) * rng.IntN(9), padB: rng.IntN(3) * rng.IntN(9), padC: rng.IntN(3) * rng.IntN(9),
					}
					checkCase(t, kern, tc, rng)
				}
			}
		})
	}
}

// TestSgemmBlocking crosses the cache-block boundaries: k beyond kcMax (several k panels, beta
// applied once), m beyond mcMax, n beyond one B panel.
func TestSgemmBlocking(t *testing.T) {
	shapes := [][3]int{{130, 70, 300}, {10, 500, 257}, {5, 1000, 100}, {33, 41, 600}, {121, 9, 3}, {9, 7, 2100}}
	for _, kern := range kernelsUnderTest() {
		t.Run(kern.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			for _, s := range shapes {
				for trans := 0; trans < 4; trans++ {
					tc := gemmCase{transA: trans&1 != 0, transB: trans&2 != 0, m: s[0], n: s[1], k: s[2],
						alpha: 0.5, beta: -1, padA: 3, padB: 1, padC: 2}
					checkCase(t, kern, tc, rng)
				}
			}
		})
	}
}

// TestSgemmDotTiles runs the A*B^T path through every dot tile size of every set (rows 1..4
// of the last row block, columns 1..4 of the last column block) with each beta case, for k on
// both sides of the vector and mask widths, so every row and column of every tile's final sum
// and store is checked against the reference, along with the stride gaps around C.
func TestSgemmDotTiles(t *testing.T) {
	ks := []int{1, 7, 8, 9, 15, 16, 17, 31, 33, 100}
	for _, kern := range kernelsUnderTest() {
		t.Run(kern.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(9, 10))
			for m := 1; m <= 8; m++ {
				for n := 1; n <= 9; n++ {
					for _, sc := range [][2]float32{{1, 0}, {0.75, -0.5}} {
						tc := gemmCase{transB: true, m: m, n: n, k: ks[rng.IntN(len(ks))],
							alpha: sc[0], beta: sc[1], padA: rng.IntN(5), padB: rng.IntN(5), padC: 1 + rng.IntN(4)}
						checkCase(t, kern, tc, rng)
					}
				}
			}
		})
	}
}

// TestSgemmTallTiles runs each kernel set whose tiles are taller than mr (AVX-512's 8 rows)
// through every tile height 1..8 of the last row block, every width of the last sliver, the
// packing, in-place and column paths, against the reference; and checks that its results are
// bit-identical to the same set's kernels on 4-row slivers, which it claims (each element of C
// is the same chain of FMAs whatever the height of its tile).
func TestSgemmTallTiles(t *testing.T) {
	ms := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 20, 24, 25, 33, 40}
	ns := []int{1, 16, 20, 32, 47, 48, 49, 100, 144}
	ks := []int{1, 3, 4, 31, 33, 128, 129, 300}
	tested := false
	for _, kern := range kernelsUnderTest() {
		if kern.rows() <= mr {
			continue
		}
		tested = true
		short := kern
		short.name += "/4-row"
		short.mr, short.tileCol = mr, nil
		t.Run(kern.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, 12))
			for _, m := range ms {
				for _, n := range ns {
					for _, transA := range []bool{false, true} {
						s := scalars[rng.IntN(4)]
						tc := gemmCase{transA: transA, m: m, n: n, k: ks[rng.IntN(len(ks))], alpha: s[0], beta: s[1],
							padA: rng.IntN(3), padB: rng.IntN(3) * 8, padC: rng.IntN(3)}
						seed := rng.Uint64()
						checkCase(t, kern, tc, rand.New(rand.NewPCG(seed, 0)))
						a, lda, b, ldb, c, ldc := tc.operands(rand.New(rand.NewPCG(seed, 0)))
						want := append([]float32(nil), c...)
						short.sgemm(nil, false, matrix{a, lda, transA}, matrix{b, ldb, false}, m, n, tc.k, tc.alpha, tc.beta, want, ldc)
						kern.sgemm(nil, false, matrix{a, lda, transA}, matrix{b, ldb, false}, m, n, tc.k, tc.alpha, tc.beta, c, ldc)
						for i := range c {
							if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
								t.Fatalf("%v: C[%d] = %g with %d-row tiles, %g with 4-row ones", tc, i, c[i], kern.rows(), want[i])
							}
						}
					}
				}
			}
		})
	}
	if !tested {
		t.Skip("no kernel set of this build and CPU has tiles taller than 4 rows")
	}
}

func TestSgemmEmpty(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, kern := range kernelsUnderTest() {
		for _, s := range [][3]int{{0, 5, 5}, {5, 0, 5}, {5, 5, 0}, {0, 0, 0}} {
			for _, sc := range scalars {
				checkCase(t, kern, gemmCase{m: s[0], n: s[1], k: s[2], alpha: sc[0], beta: sc[1], padC: 1}, rng)
			}
		}
	}
}

// TestSgemmAlphaZeroSkipsAB checks the BLAS convention: with alpha == 0, A and B are not read,
// so even infinities in them do not turn C into NaN.
func TestSgemmAlphaZeroSkipsAB(t *testing.T) {
	inf := float32(math.Inf(1))
	a := []float32{inf, inf, inf, inf}
	b := []float32{inf, inf, inf, inf}
	c := []float32{1, 2, 3, 4}
	Sgemm(false, false, 2, 2, 2, 0, a, 2, b, 2, 3, c, 2)
	want := []float32{3, 6, 9, 12}
	for i := range c {
		if c[i] != want[i] {
			t.Fatalf("alpha = 0: C = %v, want %v", c, want)
		}
	}
}

// TestSgemmPublic runs the exported function once per transpose combination, so the kernel
// chosen at start-up is exercised through the real entry point.
func TestSgemmPublic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for trans := 0; trans < 4; trans++ {
		tc := gemmCase{transA: trans&1 != 0, transB: trans&2 != 0, m: 10, n: 77, k: 25, alpha: 1, beta: 0}
		a, lda, b, ldb, c, ldc := tc.operands(rng)
		want := append([]float32(nil), c...)
		SgemmRef(tc.transA, tc.transB, tc.m, tc.n, tc.k, 1, a, lda, b, ldb, 0, want, ldc)
		Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, 1, a, lda, b, ldb, 0, c, ldc)
		for i := range c {
			if d := math.Abs(float64(c[i] - want[i])); d > 1e-5 {
				t.Fatalf("%s: %v: C[%d] = %g, reference %g", Implementation(), tc, i, c[i], want[i])
			}
		}
	}
}

func TestSgemmPanicsOnBadArguments(t *testing.T) {
	buf := make([]float32, 100)
	cases := []struct {
		name, want string
		call       func()
	}{
		{"negative m", "negative dimension", func() { Sgemm(false, false, -1, 2, 2, 1, buf, 2, buf, 2, 0, buf, 2) }},
		{"lda too small", "stride of A is 2, want at least 3", func() { Sgemm(false, false, 2, 2, 3, 1, buf, 2, buf, 2, 0, buf, 2) }},
		{"transposed lda", "stride of A is 3, want at least 4", func() { Sgemm(true, false, 4, 2, 3, 1, buf, 3, buf, 2, 0, buf, 2) }},
		{"B too short", "B has 5 elements, want at least 6", func() { Sgemm(false, false, 2, 2, 3, 1, buf, 3, buf[:5], 2, 0, buf, 2) }},
		{"transposed B short", "B has 5 elements, want at least 6", func() { Sgemm(false, true, 2, 2, 3, 1, buf, 3, buf[:5], 3, 0, buf, 2) }},
		{"C too short", "C has 3 elements, want at least 4", func() { Sgemm(false, false, 2, 2, 3, 1, buf, 3, buf, 2, 0, buf[:3], 2) }},
		{"ref too", "SgemmRef: stride of C is 1", func() { SgemmRef(false, false, 2, 2, 3, 1, buf, 3, buf, 2, 0, buf, 1) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.Contains(msg, tc.want) {
					t.Fatalf("panic %q, want it to mention %q", msg, tc.want)
				}
			}()
			tc.call()
		})
	}
}

// TestSgemmConcurrent has goroutines share the package (and its buffer pool) as the engine's
// workers do; run it with -race.
func TestSgemmConcurrent(t *testing.T) {
	const workers = 4
	rng := rand.New(rand.NewPCG(9, 10))
	type job struct {
		a, b, c, want []float32
	}
	jobs := make([]job, workers)
	for w := range jobs {
		a, _ := filled(rng, 20, 250, 250, 0)
		b, _ := filled(rng, 250, 300, 300, 0)
		want := make([]float32, 20*300)
		SgemmRef(false, false, 20, 300, 250, 1, a, 250, b, 300, 0, want, 300)
		jobs[w] = job{a, b, make([]float32, len(want)), want}
	}
	var wg sync.WaitGroup
	for w := range jobs {
		wg.Add(1)
		go func(j job) {
			defer wg.Done()
			for range 5 {
				Sgemm(false, false, 20, 300, 250, 1, j.a, 250, j.b, 300, 0, j.c, 300)
			}
		}(jobs[w])
	}
	wg.Wait()
	for w, j := range jobs {
		for i := range j.c {
			if d := math.Abs(float64(j.c[i] - j.want[i])); d > 1e-3 {
				t.Fatalf("worker %d: C[%d] = %g, reference %g", w, i, j.c[i], j.want[i])
			}
		}
	}
}

func TestSgemmDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items on purpose")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	a, _ := filled(rng, 32, 784, 784, 0)
	w, _ := filled(rng, 512, 784, 784, 0)
	c := make([]float32, 32*512)
	for _, kern := range kernelsUnderTest() {
		allocs := testing.AllocsPerRun(20, func() {
			// 13 columns short of a full tile: the ragged-edge path runs too.
			kern.sgemm(nil, false, matrix{a, 784, false}, matrix{w, 784, true}, 32, 499, 784, 1, 0, c, 512)
			kern.sgemm(nil, false, matrix{a, 784, false}, matrix{w, 784, false}, 10, 499, 300, 1, 1, c, 512)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per call, want 0", kern.name, allocs)
		}
	}
	if allocs := testing.AllocsPerRun(20, func() { Sgemm(true, false, 20, 30, 32, 1, a, 784, w, 784, 0, c, 512) }); allocs != 0 {
		t.Errorf("Sgemm: %v allocations per call, want 0", allocs)
	}
}

// TestWorkspaceMatchesSgemm holds Workspace.Sgemm to the package-level Sgemm bit for bit on odd
// shapes and every transpose combination, reusing one Workspace across calls of different
// shapes, as a worker does.
func TestWorkspaceMatchesSgemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	ws := NewWorkspace()
	dims := []int{1, 3, 4, 7, 24, 25, 31, 70, 300}
	for i := 0; i < 120; i++ {
		s := scalars[rng.IntN(len(scalars))]
		tc := gemmCase{transA: i&1 != 0, transB: i&2 != 0,
			m: dims[rng.IntN(len(dims))], n: dims[rng.IntN(len(dims))], k: dims[rng.IntN(len(dims))],
			alpha: s[0], beta: s[1], padC: rng.IntN(3)}
		a, lda, b, ldb, c, ldc := tc.operands(rng)
		want := append([]float32(nil), c...)
		Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
		ws.Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
		for j := range c {
			if math.Float32bits(c[j]) != math.Float32bits(want[j]) {
				t.Fatalf("%v: C[%d] = %g through a Workspace, %g through Sgemm", tc, j, c[j], want[j])
			}
		}
	}
}

// TestSgemmSameA runs products that share A through one Workspace, as a convolution's groups
// of images do, and holds each to the package-level Sgemm bit for bit: with sameA the first
// call's packing of A serves the later ones, whatever B, C and their shapes. Between runs A
// changes shape, slice or values while the caller still says sameA (where the shape or
// slice differs the workspace notices) or says it has changed (the values).
func TestSgemmSameA(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	ws := NewWorkspace()
	dims := []int{1, 3, 4, 7, 24, 25, 31, 70, 300}
	var prev packedA
	for i := 0; i < 60; i++ {
		transA := i&1 != 0
		m, k := dims[rng.IntN(len(dims))], dims[rng.IntN(len(dims))]
		if i%7 == 6 {
			k = 40000 // too deep to pack whole: never reused
			if testing.Short() {
				m = min(m, 7) // emulated (CI's arm64 run), a 300-row product this deep takes minutes
			}
		}
		a, lda := filled(rng, m, k, k+rng.IntN(2), 0)
		if transA {
			a, lda = filled(rng, k, m, m+rng.IntN(2), 0)
		}
		// A wrong sameA on the first call is survived where the shape differs from the last
		// run's: the workspace compares shapes (a slice's values it cannot).
		shape := packedA{m: m, k: k, ld: lda, trans: transA}
		first := shape != prev
		prev = shape
		for call := range 4 {
			n := dims[rng.IntN(len(dims))]
			if k == 40000 && testing.Short() {
				n = min(n, 7)
			}
			transB := rng.IntN(3) == 0 // a dot product in between: it packs nothing
			b, ldb := filled(rng, k, n, n, 0)
			if transB {
				b, ldb = filled(rng, n, k, k, 0)
			}
			c, want := make([]float32, m*n), make([]float32, m*n)
			Sgemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, want, n)
			ws.SgemmSameA(call > 0 || first, transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, n)
			for j := range c {
				if math.Float32bits(c[j]) != math.Float32bits(want[j]) {
					t.Fatalf("run %d call %d (tA=%v tB=%v m=%d n=%d k=%d): C[%d] = %g, Sgemm %g", i, call, transA, transB, m, n, k, j, c[j], want[j])
				}
			}
		}
		// The caller's next run, with other values in the same slice, says so.
		for j := range a {
			a[j] = 2*rng.Float32() - 1
		}
		b, _ := filled(rng, k, 5, 5, 0)
		c, want := make([]float32, m*5), make([]float32, m*5)
		Sgemm(transA, false, m, 5, k, 1, a, lda, b, 5, 0, want, 5)
		ws.SgemmSameA(false, transA, false, m, 5, k, 1, a, lda, b, 5, 0, c, 5)
		for j := range c {
			if math.Float32bits(c[j]) != math.Float32bits(want[j]) {
				t.Fatalf("run %d with new values: C[%d] = %g, Sgemm %g", i, j, c[j], want[j])
			}
		}
	}
}

// TestWorkspaceDoesNotAllocate: unlike the pool, which the race detector empties on purpose,
// a Workspace never allocates, under the race detector too.
func TestWorkspaceDoesNotAllocate(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	a, _ := filled(rng, 20, 250, 250, 0)
	b, _ := filled(rng, 250, 300, 300, 0)
	c := make([]float32, 20*300)
	ws := NewWorkspace()
	allocs := testing.AllocsPerRun(20, func() {
		ws.Sgemm(false, false, 20, 300, 250, 1, a, 250, b, 300, 0, c, 300)
		ws.Sgemm(true, false, 250, 300, 20, 1, a, 250, c, 300, 0, b, 300)
	})
	if allocs != 0 && !raceEnabled {
		t.Errorf("%v allocations per call, want 0", allocs)
	}
}

// TestWorkspacesConcurrent has goroutines multiply at once, each with its own Workspace, as the
// engine's workers do; run it with -race.
func TestWorkspacesConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	a, _ := filled(rng, 20, 250, 250, 0)
	b, _ := filled(rng, 250, 300, 300, 0)
	want := make([]float32, 20*300)
	Sgemm(false, false, 20, 300, 250, 1, a, 250, b, 300, 0, want, 300)
	var wg sync.WaitGroup
	results := make([][]float32, 4)
	for w := range results {
		results[w] = make([]float32, len(want))
		wg.Add(1)
		go func(c []float32) {
			defer wg.Done()
			ws := NewWorkspace()
			for range 5 {
				ws.Sgemm(false, false, 20, 300, 250, 1, a, 250, b, 300, 0, c, 300)
			}
		}(results[w])
	}
	wg.Wait()
	for w, c := range results {
		for j := range c {
			if c[j] != want[j] {
				t.Fatalf("goroutine %d: C[%d] = %g, want %g", w, j, c[j], want[j])
			}
		}
	}
}

// TestPackedBAligned checks that the packed B sliver starts on a cache line, in a Workspace
// and in a pooled workspace: the AVX-512 tiles' 64-byte loads from it would otherwise each
// span two lines.
func TestPackedBAligned(t *testing.T) {
	pooled := workspaces.Get().(*workspace)
	defer workspaces.Put(pooled)
	for name, ws := range map[string]*workspace{"Workspace": &NewWorkspace().w, "pool": pooled} {
		if at := uintptr(unsafe.Pointer(&ws.b[0])); at%64 != 0 {
			t.Errorf("%s: packed B at %#x, %d bytes past a cache line", name, at, at%64)
		}
	}
}
