package train

import (
	"math"

	"mnist-tui/dataset"
	"mnist-tui/engine"
)

// Evaluation is a model's result on a whole data set, computed in inference
// mode (nothing kept for a backward pass).
type Evaluation struct {
	N         int
	Correct   int
	Loss      float64                                     // mean cross-entropy
	Confusion [dataset.NumClasses][dataset.NumClasses]int // [truth][prediction]
	Pred      []uint8                                     // the prediction for every image
	Conf      []float32                                   // the probability given to that prediction
	Probs     []float32                                   // N x NumClasses: every class's probability, image by image
}

// Accuracy is the percentage of images classified right.
func (e Evaluation) Accuracy() float64 {
	if e.N == 0 {
		return 0
	}
	return 100 * float64(e.Correct) / float64(e.N)
}

// ClassAccuracy is the percentage right among images whose truth is class c.
func (e Evaluation) ClassAccuracy(c int) float64 {
	total := 0
	for _, n := range e.Confusion[c] {
		total += n
	}
	if total == 0 {
		return 0
	}
	return 100 * float64(e.Confusion[c][c]) / float64(total)
}

// Evaluate runs the net over every image of set, batch images at a time.
// logits is a scratch buffer kept by the caller between calls (it may be nil).
func Evaluate(net *engine.Net, set *dataset.Set, info dataset.Info, batch int, scratch *EvalScratch) Evaluation {
	return EvaluateShifted(net, set, info, batch, 0, scratch)
}

// EvaluateShifted is Evaluate with test-time augmentation (tta_shift): with
// shift > 0 the net also sees every image moved shift pixels up, down, left
// and right, the space uncovered blank (raw 0), and an image's probabilities
// are the mean of the five views' softmax outputs, summed in that order in
// float32 and divided by 5, as torch.stack(probs).mean(0) computes them.
// With shift 0 it is Evaluate.
func EvaluateShifted(net *engine.Net, set *dataset.Set, info dataset.Info, batch, shift int, scratch *EvalScratch) Evaluation {
	if batch < 1 {
		batch = 1000
	}
	scratch.grow(batch)
	views := [][2]int{{0, 0}}
	if shift > 0 {
		// (dy, dx): a view's pixel (y, x) is the image's (y+dy, x+dx).
		views = append(views, [2]int{shift, 0}, [2]int{-shift, 0}, [2]int{0, shift}, [2]int{0, -shift})
	}
	var moved [dataset.ImageSize]uint8
	ev := Evaluation{N: set.N, Pred: make([]uint8, set.N), Conf: make([]float32, set.N), Probs: make([]float32, set.N*dataset.NumClasses)}
	for start := 0; start < set.N; start += batch {
		n := min(batch, set.N-start)
		for v, view := range views {
			for i := 0; i < n; i++ {
				img := set.Image(start + i)
				if view != [2]int{} {
					shiftImage(moved[:], img, view[0], view[1])
					img = moved[:]
				}
				dataset.Normalize(scratch.x[i*dataset.ImageSize:(i+1)*dataset.ImageSize], img, info.Mean, info.Std)
			}
			net.Infer(scratch.x[:n*dataset.ImageSize], n, scratch.logits[:n*dataset.NumClasses])
			for i := 0; i < n; i++ {
				probs := ev.Probs[(start+i)*dataset.NumClasses : (start+i+1)*dataset.NumClasses]
				logits := scratch.logits[i*dataset.NumClasses : (i+1)*dataset.NumClasses]
				if v == 0 {
					engine.Softmax(probs, logits)
					continue
				}
				var p [dataset.NumClasses]float32
				engine.Softmax(p[:], logits)
				for c := range probs {
					probs[c] += p[c]
				}
			}
		}
		for i := 0; i < n; i++ {
			probs := ev.Probs[(start+i)*dataset.NumClasses : (start+i+1)*dataset.NumClasses]
			if len(views) > 1 {
				for c := range probs {
					probs[c] /= float32(len(views))
				}
			}
			truth := int(set.Labels[start+i])
			pred := argmax(probs)
			ev.Pred[start+i] = uint8(pred)
			ev.Conf[start+i] = probs[pred]
			ev.Confusion[truth][pred]++
			if pred == truth {
				ev.Correct++
			}
			ev.Loss -= math.Log(math.Max(float64(probs[truth]), 1e-30))
		}
	}
	if set.N > 0 {
		ev.Loss /= float64(set.N)
	}
	return ev
}

// shiftImage writes src (28x28) moved so that dst's pixel (y, x) is src's
// (y+dy, x+dx), and 0 (background) where that falls outside.
func shiftImage(dst, src []uint8, dy, dx int) {
	const side = 28
	clear(dst[:dataset.ImageSize])
	for y := max(0, -dy); y < min(side, side-dy); y++ {
		from := (y+dy)*side + max(0, dx)
		to := y*side + max(0, -dx)
		copy(dst[to:y*side+min(side, side-dx)], src[from:(y+dy)*side+min(side, side+dx)])
	}
}

// EvalScratch holds Evaluate's buffers so repeated evaluations reuse them.
type EvalScratch struct {
	x, logits []float32
}

func (s *EvalScratch) grow(batch int) {
	if len(s.x) < batch*dataset.ImageSize {
		s.x = make([]float32, batch*dataset.ImageSize)
		s.logits = make([]float32, batch*dataset.NumClasses)
	}
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// pickSamples chooses which test images the dashboard shows after an epoch:
// about half of them misclassified (what is still hard), the rest right,
// chosen afresh each epoch but deterministically, so a run is reproducible.
func pickSamples(ev Evaluation, set *dataset.Set, info dataset.Info, net *engine.Net, count, epoch int) []Sample {
	if set.N == 0 {
		return nil
	}
	var wrong, right []int
	// Stride through the set by a prime from an epoch-dependent offset: cheap
	// and spread over the whole set.
	offset := (epoch * 7919) % set.N
	for k := 0; k < set.N && (len(wrong) < count || len(right) < count); k++ {
		i := (offset + k*104729) % set.N
		if int(ev.Pred[i]) != int(set.Labels[i]) {
			wrong = append(wrong, i)
		} else {
			right = append(right, i)
		}
	}
	nWrong := min(len(wrong), count/2)
	nRight := min(len(right), count-nWrong)
	nWrong = min(len(wrong), count-nRight) // few right ones: show more mistakes
	// Interleave, mistakes first, so a narrow screen that shows only the
	// first few still shows both kinds.
	chosen := make([]int, 0, nWrong+nRight)
	for k := 0; k < max(nWrong, nRight); k++ {
		if k < nWrong {
			chosen = append(chosen, wrong[k])
		}
		if k < nRight {
			chosen = append(chosen, right[k])
		}
	}
	return Describe(net, set, info, chosen)
}

// Describe runs the net on the given images of set and returns them with
// the model's answer and probabilities.
func Describe(net *engine.Net, set *dataset.Set, info dataset.Info, indices []int) []Sample {
	n := len(indices)
	if n == 0 {
		return nil
	}
	x := make([]float32, n*dataset.ImageSize)
	logits := make([]float32, n*dataset.NumClasses)
	for k, i := range indices {
		dataset.Normalize(x[k*dataset.ImageSize:(k+1)*dataset.ImageSize], set.Image(i), info.Mean, info.Std)
	}
	net.Infer(x, n, logits)
	samples := make([]Sample, n)
	for k, i := range indices {
		s := Sample{Index: i, Image: set.Image(i), Label: int(set.Labels[i])}
		engine.Softmax(s.Probs[:], logits[k*dataset.NumClasses:(k+1)*dataset.NumClasses])
		s.Pred = argmax(s.Probs[:])
		samples[k] = s
	}
	return samples
}

// Classify runs one prepared 28x28 image (see dataset/prepare) through the
// net and returns the probability of each class. predict and the draw view
// both come here.
func Classify(net *engine.Net, info dataset.Info, pixels [dataset.ImageSize]uint8) [dataset.NumClasses]float32 {
	var x [dataset.ImageSize]float32
	var logits, probs [dataset.NumClasses]float32
	dataset.Normalize(x[:], pixels[:], info.Mean, info.Std)
	net.Infer(x[:], 1, logits[:])
	engine.Softmax(probs[:], logits[:])
	return probs
}
