package engine

import (
	"math"
	"math/rand/v2"
	"testing"

	"mnist-tui/engine/network"
)

// everyLayer uses each layer and block of the format, strides and padding included.
const everyLayer = `network:
  - conv: {out: 4, kernel: 3, stride: 2, padding: 1}
  - batchnorm
  - leaky_relu: 0.1
  - residual:
      - conv: {out: 4, kernel: 3, padding: 1, bias: false}
      - tanh
      - avgpool: {kernel: 3, stride: 1, padding: 1}
  - branches:
      - - maxpool: {kernel: 3, stride: 2, padding: 1}
        - sigmoid
      - - conv: {out: 3, kernel: 2, stride: 2}
        - gelu
  - relu
  - global_avgpool
  - flatten
  - dropout: 0.3
  - linear: 6
  - batchnorm
  - relu
  - linear: {out: 10, bias: false}
`

func mustNetwork(t testing.TB, src string) *network.Network {
	t.Helper()
	n, err := network.ParseFile("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The backward pass of every layer, checked against central differences of the loss in
// float64, in training mode (BatchNorm on batch statistics, dropout with a fixed stream).
func TestCustomGradientsFloat64(t *testing.T) {
	spec := mustNetwork(t, everyLayer)
	var list binder[float64]
	bindCustom(&list, spec)
	values32 := make([]float32, list.off)
	initParams(values32, list.specs, 3)
	values, grads := make([]float64, list.off), make([]float64, list.off)
	for i, v := range values32 {
		values[i] = float64(v)
	}
	st := newCustomState(spec, 5)
	m := newCustom(spec, st, values, grads)
	const B = 3
	m.reserve(B)
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, B*imageSize)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	y := []int32{3, 7, 1}
	logits, dlogits := make([]float64, B*10), make([]float64, B*10)
	loss := func() float64 {
		st.step = 0 // the same dropout masks every time
		m.forwardTrain(x, B, logits)
		l, _ := crossEntropyForwardBackward(dlogits, logits, y, B, 10, B)
		return l
	}
	loss()
	clear(grads)
	m.backward(x, dlogits, B)

	off := 0
	for _, s := range list.specs {
		for _, i := range []int{0, s.size() / 2, s.size() - 1} {
			at := off + i
			const h = 1e-6
			v := values[at]
			values[at] = v + h
			up := loss()
			values[at] = v - h
			down := loss()
			values[at] = v
			num := (up - down) / (2 * h)
			if diff := math.Abs(num - grads[at]); diff > 1e-6*max(1, math.Abs(num)) {
				t.Errorf("%s[%d]: backward %.9g, central difference %.9g", s.name, i, grads[at], num)
			}
		}
		off += s.size()
	}
}
