package engine

import (
	"fmt"
	"math"
)

// Softmax writes softmax(logits) into dst[:len(logits)], subtracting the maximum first so that
// large logits cannot overflow. The sum runs in float64. dst must be at least as long as logits.
func Softmax(dst, logits []float32) {
	if len(dst) < len(logits) {
		panic(fmt.Sprintf("engine.Softmax: dst holds %d values, logits %d: give dst room for every logit", len(dst), len(logits)))
	}
	if len(logits) == 0 {
		return
	}
	m := logits[0]
	for _, v := range logits[1:] {
		m = max(m, v)
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v - m))
	}
	for i, v := range logits {
		dst[i] = float32(math.Exp(float64(v-m)) / sum)
	}
}

// SetLabelSmoothing makes TrainStep's loss PyTorch's CrossEntropyLoss(label_smoothing=s): the
// target of each image is 1-s on its label plus s/10 on every class. 0 (the default) is the plain
// loss, computed exactly as before. s must be in [0, 1]; the Net must not be in use.
func (n *Net) SetLabelSmoothing(s float64) {
	if math.IsNaN(s) || s < 0 || s > 1 {
		panic(fmt.Sprintf("engine.SetLabelSmoothing(%v): want a value from 0 to 1", s))
	}
	n.labelSmoothing = s
}

// crossEntropyForwardBackward is softmax cross-entropy on logits [B,V] against labels y [B], as
// torch.nn.CrossEntropyLoss computes it, except that it divides by norm rather than B: a worker
// holding part of a batch passes the whole batch's size, so that the workers' losses and gradients
// add up to those of the batch mean. It returns Σ_i loss_i / norm and how many rows' argmax (first
// maximum on ties, like torch.argmax) equals the label, and overwrites dlogits [B,V] with
// (softmax − onehot(y)) / norm, the gradient of the returned loss.
//
// Each row is worked in float64 (V is 10: cheap) with the maximum subtracted, so neither a large
// logit nor a confident wrong answer loses precision.
func crossEntropyForwardBackward[F float](dlogits, logits []F, y []int32, B, V, norm int) (loss float64, correct int) {
	return smoothedCrossEntropy(dlogits, logits, y, B, V, norm, 0)
}

// smoothedCrossEntropy is crossEntropyForwardBackward with label smoothing s, as
// torch.nn.CrossEntropyLoss(label_smoothing=s) computes it: each row's loss is
//
//	(1-s)*(-log p[label]) + s/V * Σ_j -log p[j]
//
// and its gradient softmax − ((1-s)*onehot(y) + s/V). With s = 0 every operation is the plain
// loss's, so the result is bit for bit the same.
func smoothedCrossEntropy[F float](dlogits, logits []F, y []int32, B, V, norm int, s float64) (loss float64, correct int) {
	scale := 1 / float64(norm)
	spread := s / float64(V)
	for i := range B {
		row, drow := logits[i*V:(i+1)*V], dlogits[i*V:(i+1)*V]
		label := int(y[i])
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if best == label {
			correct++
		}
		m := float64(row[best])
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v) - m)
		}
		logSum := m + math.Log(sum)
		nll := logSum - float64(row[label])
		if s != 0 {
			var all float64
			for _, v := range row {
				all += logSum - float64(v)
			}
			nll = (1-s)*nll + spread*all
		}
		loss += nll
		for j, v := range row {
			p := math.Exp(float64(v) - logSum)
			if j == label {
				p -= 1 - s
			}
			if s != 0 {
				p -= spread
			}
			drow[j] = F(p * scale)
		}
	}
	return loss * scale, correct
}
