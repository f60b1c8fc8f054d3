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
	scale := 1 / float64(norm)
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
		loss += logSum - float64(row[label])
		for j, v := range row {
			p := math.Exp(float64(v) - logSum)
			if j == label {
				p--
			}
			drow[j] = F(p * scale)
		}
	}
	return loss * scale, correct
}
