package inspect

import (
	"cmp"
	"fmt"
	"slices"

	"mnist-tui/dataset"
	"mnist-tui/engine/train"
)

// Matrix is a confusion matrix: Matrix[truth][prediction] counts the test
// images of class truth that the model called prediction.
type Matrix [10][10]int

// RowTotal is the number of images whose truth is class truth.
func (m Matrix) RowTotal(truth int) int {
	n := 0
	for _, c := range m[truth] {
		n += c
	}
	return n
}

// Total is the number of images counted.
func (m Matrix) Total() int {
	n := 0
	for truth := range m {
		n += m.RowTotal(truth)
	}
	return n
}

// Correct is the number of images on the diagonal.
func (m Matrix) Correct() int {
	n := 0
	for c := range m {
		n += m[c][c]
	}
	return n
}

// Results are an evaluation's answers lined up with the test set's labels,
// checked once to agree (same length, every class in range), so that the
// pages can index them without further checks.
type Results struct {
	labels []uint8   // the truth, image by image
	preds  []uint8   // the model's answer
	conf   []float32 // the probability of that answer
	probs  []float32 // N x 10 class probabilities
}

// NewResults pairs ev with the test set it was computed on. It fails when
// they disagree: a different number of images, short slices, or a class
// outside 0-9.
func NewResults(ev *train.Evaluation, test *dataset.Set) (Results, error) {
	if ev == nil || test == nil {
		return Results{}, fmt.Errorf("results: no evaluation or no test set")
	}
	n := test.N
	switch {
	case len(test.Labels) != n:
		return Results{}, fmt.Errorf("results: test set has %d labels for %d images", len(test.Labels), n)
	case len(test.Images) != n*dataset.ImageSize:
		return Results{}, fmt.Errorf("results: test set has %d pixels for %d images, want %d",
			len(test.Images), n, n*dataset.ImageSize)
	case ev.N != n || len(ev.Pred) != n || len(ev.Conf) != n || len(ev.Probs) != n*10:
		return Results{}, fmt.Errorf("results: evaluation of %d images (%d predictions, %d confidences, %d probabilities) "+
			"does not match the test set's %d images; was it made on another data set?",
			ev.N, len(ev.Pred), len(ev.Conf), len(ev.Probs), n)
	}
	for i := range n {
		if test.Labels[i] >= 10 || ev.Pred[i] >= 10 {
			return Results{}, fmt.Errorf("results: image %d has label %d and prediction %d; classes are 0-9",
				i, test.Labels[i], ev.Pred[i])
		}
	}
	return Results{labels: test.Labels, preds: ev.Pred, conf: ev.Conf, probs: ev.Probs}, nil
}

// Len is the number of images.
func (r Results) Len() int { return len(r.labels) }

// Label, Pred and Conf are image i's truth, the model's answer, and the
// probability it gave that answer.
func (r Results) Label(i int) int       { return int(r.labels[i]) }
func (r Results) Pred(i int) int        { return int(r.preds[i]) }
func (r Results) Conf(i int) float32    { return r.conf[i] }
func (r Results) Probs(i int) []float32 { return r.probs[i*10 : (i+1)*10 : (i+1)*10] }

// Confusion counts every image into its [truth][prediction] cell.
func (r Results) Confusion() Matrix {
	var m Matrix
	for i, truth := range r.labels {
		m[truth][r.preds[i]]++
	}
	return m
}

// Cell lists, in test-set order, the images of class truth that the model
// called pred: the images behind one count of the confusion matrix.
func (r Results) Cell(truth, pred int) []int {
	var out []int
	for i, l := range r.labels {
		if int(l) == truth && int(r.preds[i]) == pred {
			out = append(out, i)
		}
	}
	return out
}

// Mistakes lists the misclassified images ordered by the confidence of their
// wrong answer: most confident first (the model is sure and wrong: a bad
// label, or something it has really not learned), or least confident first.
// Equal confidences keep test-set order, so the list is the same every time.
func (r Results) Mistakes(mostConfidentFirst bool) []int {
	var out []int
	for i, l := range r.labels {
		if l != r.preds[i] {
			out = append(out, i)
		}
	}
	slices.SortStableFunc(out, func(a, b int) int {
		if mostConfidentFirst {
			return cmp.Compare(r.conf[b], r.conf[a])
		}
		return cmp.Compare(r.conf[a], r.conf[b])
	})
	return out
}
