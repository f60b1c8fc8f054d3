package augment

import "testing"

// BenchmarkDrawApply is the augmentation of one training image.
func BenchmarkDrawApply(b *testing.B) {
	s := Settings{Rotate: 15, Translate: 0.1, ScaleMin: 0.9, ScaleMax: 1.1}
	src := readFixture(b).Images[0] // an MNIST digit
	dst := make([]float32, 28*28)
	i := 0
	for b.Loop() {
		Apply(dst, src, 28, 28, Draw(s, 28, 28, 1, 1, i))
		i++
	}
}

// BenchmarkDraw is the drawing of one image's parameters.
func BenchmarkDraw(b *testing.B) {
	s := Settings{Rotate: 15, Translate: 0.1, ScaleMin: 0.9, ScaleMax: 1.1}
	i := 0
	for b.Loop() {
		_ = Draw(s, 28, 28, 1, 1, i)
		i++
	}
}
