package kernels

// goTile is the portable outer-product micro-kernel (see tileFunc). It works one C row at a
// time on 8-column chunks, keeping the eight sums in locals the compiler can hold in registers.
// It ignores the prefetch hint.
func goTile(rows, vecs, kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, _ uintptr, _ int) {
	a = a[:kc*rows]
	for r := 0; r < rows; r++ {
		for v := 0; v < vecs; v++ {
			var s0, s1, s2, s3, s4, s5, s6, s7 float32
			for p := 0; p < kc; p++ {
				av := a[p*rows+r]
				bb := b[p*bstride+8*v:]
				bb = bb[:8]
				s0 += av * bb[0]
				s1 += av * bb[1]
				s2 += av * bb[2]
				s3 += av * bb[3]
				s4 += av * bb[4]
				s5 += av * bb[5]
				s6 += av * bb[6]
				s7 += av * bb[7]
			}
			sums := [8]float32{s0, s1, s2, s3, s4, s5, s6, s7}
			store(sums[:], alpha, beta, c[r*ldc+8*v:])
		}
	}
}

// goDot is the portable dot-product micro-kernel (see dotFunc). Four partial sums per dot
// product break the dependency chain of the additions.
func goDot(rows, cols, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32) {
	for r := 0; r < rows; r++ {
		ar := a[r*lda : r*lda+k]
		for j := 0; j < cols; j++ {
			br := b[j*ldb : j*ldb+k]
			var s0, s1, s2, s3 float32
			p := 0
			for ; p+4 <= k; p += 4 {
				s0 += ar[p] * br[p]
				s1 += ar[p+1] * br[p+1]
				s2 += ar[p+2] * br[p+2]
				s3 += ar[p+3] * br[p+3]
			}
			for ; p < k; p++ {
				s0 += ar[p] * br[p]
			}
			sum := [1]float32{(s0 + s1) + (s2 + s3)}
			store(sum[:], alpha, beta, c[r*ldc+j:])
		}
	}
}

// store sets dst[x] = alpha*sums[x] + beta*dst[x], without reading dst when beta == 0.
func store(sums []float32, alpha, beta float32, dst []float32) {
	dst = dst[:len(sums)]
	for x, s := range sums {
		if beta == 0 {
			dst[x] = alpha * s
		} else {
			dst[x] = alpha*s + beta*dst[x]
		}
	}
}

// goKernel runs Sgemm on the portable micro-kernels; it packs every B sliver before use.
var goKernel = kernel{name: "go", nr: nr, kc: kcMax, vec: 8, tile: goTile, dot: goDot}
