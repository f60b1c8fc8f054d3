// Package saliency shows which pixels of an image made a model give its
// answer, by occlusion: hide a small patch (paint it background), run the
// model again, and see how much the probability of the class falls. Every
// position of the patch is one image of a single batch through Infer.
//
// Occlusion rather than gradient x input: it needs nothing from the
// engine but Infer, so it works unchanged for every model (and for the
// custom networks to come), costs training nothing, and its number reads
// directly — "hiding this stroke takes the 9 from 97 % to 40 %". Gradient
// x input needs an input gradient through each model's first layer, and
// is weakest exactly where an explanation is wanted: a confident answer
// saturates the softmax and its gradient all but vanishes.
package saliency

import (
	"fmt"
	"math"

	"mnist-tui/engine"
)

// Side is the side of the images (MNIST's 28x28); Patch the side of the
// square hidden at a time: about a stroke's width, so a map shows strokes
// rather than single pixels. The patch moves one pixel at a time.
const (
	Side  = 28
	Patch = 4
)

// positions is the number of patch positions along a side.
const positions = Side - Patch + 1

// Map is a saliency map: for each pixel, the mean fall of the class's
// evidence over the patch positions that hide it. Positive: the pixel
// pushed the model toward the class; negative: away from it.
//
// The evidence is the log-odds of the class, log(p / (1-p)), rather than
// its probability: a confident answer's probability stays at 1.00 whatever
// one patch hides (the softmax saturates), so a map of probabilities shows
// only the one patch that breaks the answer; log-odds keep adding up.
type Map [Side * Side]float32

// Result is a map with what it explains.
type Result struct {
	Map   Map
	Class int     // the class explained
	Prob  float32 // its probability on the whole image
	Max   float32 // the largest absolute value of Map, for scaling (0: nothing mattered)
}

// Scratch holds the batch of occluded images between calls (a few MB),
// so that a page explaining at every stroke does not allocate them anew.
type Scratch struct {
	batch, logits []float32
}

// Occlusion explains why net gives class for x, a normalised image of
// Side x Side; background is the normalised value of an empty pixel. The
// net must not be in use by another goroutine (Infer is not safe for
// concurrent use).
func Occlusion(net *engine.Net, x []float32, class int, background float32, s *Scratch) (Result, error) {
	if len(x) != Side*Side {
		return Result{}, fmt.Errorf("saliency: image of %d values, want %d", len(x), Side*Side)
	}
	if class < 0 || class >= 10 {
		return Result{}, fmt.Errorf("saliency: class %d, want 0-9", class)
	}
	if s == nil {
		s = &Scratch{}
	}
	n := 1 + positions*positions // the whole image first
	if len(s.batch) < n*Side*Side {
		s.batch = make([]float32, n*Side*Side)
		s.logits = make([]float32, n*10)
	}
	copy(s.batch, x)
	for py := range positions {
		for px := range positions {
			img := s.batch[(1+py*positions+px)*Side*Side:][:Side*Side]
			copy(img, x)
			for y := py; y < py+Patch; y++ {
				for xx := px; xx < px+Patch; xx++ {
					img[y*Side+xx] = background
				}
			}
		}
	}
	net.Infer(s.batch[:n*Side*Side], n, s.logits[:n*10])
	var probs [10]float32
	engine.Softmax(probs[:], s.logits[:10])
	res := Result{Class: class, Prob: probs[class]}
	base := logOdds(s.logits[:10], class)
	var sum Map
	var count [Side * Side]int
	for py := range positions {
		for px := range positions {
			i := 1 + py*positions + px
			drop := base - logOdds(s.logits[i*10:(i+1)*10], class)
			for y := py; y < py+Patch; y++ {
				for xx := px; xx < px+Patch; xx++ {
					sum[y*Side+xx] += drop
					count[y*Side+xx]++
				}
			}
		}
	}
	for i := range sum {
		res.Map[i] = sum[i] / float32(count[i])
		res.Max = max(res.Max, res.Map[i], -res.Map[i])
	}
	return res, nil
}

// logOdds is log(p / (1-p)) of class under the softmax of logits: its
// logit against the log-sum-exp of the others, computed without the
// softmax's rounding to 1.
func logOdds(logits []float32, class int) float32 {
	m := math.Inf(-1)
	for k, v := range logits {
		if k != class {
			m = max(m, float64(v))
		}
	}
	var sum float64
	for k, v := range logits {
		if k != class {
			sum += math.Exp(float64(v) - m)
		}
	}
	return float32(float64(logits[class]) - m - math.Log(sum))
}
