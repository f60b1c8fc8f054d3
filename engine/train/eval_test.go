package train

import (
	"math"
	"testing"

	"mnist-tui/dataset"
	"mnist-tui/engine"
)

// pixelReader is a linear net whose answer is known without running it: its
// weights pass pixels 0-9 straight through every layer (identity on the
// first ten units, zero elsewhere), so an image that is dark except for
// pixel k gets logit (1-mean)/std for class k and 0 for the others.
func pixelReader(t *testing.T) *engine.Net {
	t.Helper()
	net, err := engine.NewNet("linear", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range net.Params() {
		values := p.Value.Data().([]float32)
		clear(values)
		if shape := p.Value.Shape(); len(shape) == 2 { // a weight [out, in]
			for j := range dataset.NumClasses {
				values[j*shape[1]+j] = 1
			}
		}
	}
	return net
}

// TestEvaluateConfusionAndClassAccuracy evaluates a hand-made set whose
// every prediction is known, and checks the matrix cell by cell: a matrix
// indexed [prediction][truth] instead of [truth][prediction] fails it.
func TestEvaluateConfusionAndClassAccuracy(t *testing.T) {
	cases := []struct{ truth, pred int }{
		{0, 0}, {0, 0}, {0, 3}, {1, 1}, {2, 7}, {2, 2}, {3, 0}, {9, 9}, {9, 4}, {9, 9},
	}
	set := &dataset.Set{N: len(cases), Images: make([]uint8, len(cases)*dataset.ImageSize), Labels: make([]uint8, len(cases))}
	for i, c := range cases {
		set.Labels[i] = uint8(c.truth)
		set.Images[i*dataset.ImageSize+c.pred] = 255 // the pixel pixelReader reads as class c.pred
	}
	info, err := dataset.Lookup("mnist")
	if err != nil {
		t.Fatal(err)
	}

	// batch 3 leaves a last batch of one: every image must still be counted once.
	ev := Evaluate(pixelReader(t), set, info, 3, &EvalScratch{})

	var want [dataset.NumClasses][dataset.NumClasses]int
	for _, c := range cases {
		want[c.truth][c.pred]++
	}
	if ev.Confusion != want {
		t.Errorf("confusion matrix [truth][prediction]:\n got %v\nwant %v", ev.Confusion, want)
	}
	wantClass := map[int]float64{0: 200.0 / 3, 1: 100, 2: 50, 3: 0, 4: 0, 7: 0, 9: 200.0 / 3}
	for c, w := range wantClass {
		if got := ev.ClassAccuracy(c); math.Abs(got-w) > 1e-9 {
			t.Errorf("ClassAccuracy(%d) = %.4f %%, want %.4f %%", c, got, w)
		}
	}
	if ev.N != 10 || ev.Correct != 6 || ev.Accuracy() != 60 {
		t.Errorf("N %d, correct %d, accuracy %.2f %%; want 10, 6, 60 %%", ev.N, ev.Correct, ev.Accuracy())
	}

	// The probabilities follow from the logits: a = (1-mean)/std for the lit
	// class, 0 for the nine others.
	a := float64((1 - info.Mean) / info.Std)
	pLit, pOther := math.Exp(a)/(math.Exp(a)+9), 1/(math.Exp(a)+9)
	wantLoss := 0.0
	for i, c := range cases {
		if int(ev.Pred[i]) != c.pred || math.Abs(float64(ev.Conf[i])-pLit) > 1e-6 {
			t.Errorf("image %d: predicted %d with p=%.6f, want %d with p=%.6f", i, ev.Pred[i], ev.Conf[i], c.pred, pLit)
		}
		if p := ev.Probs[i*dataset.NumClasses+c.truth]; c.truth != c.pred && math.Abs(float64(p)-pOther) > 1e-6 {
			t.Errorf("image %d: p(truth %d) = %.6f, want %.6f", i, c.truth, p, pOther)
		}
		if c.truth == c.pred {
			wantLoss -= math.Log(pLit)
		} else {
			wantLoss -= math.Log(pOther)
		}
	}
	wantLoss /= float64(len(cases))
	if math.Abs(ev.Loss-wantLoss) > 1e-6 {
		t.Errorf("mean loss %.7f, want %.7f", ev.Loss, wantLoss)
	}
}

// ClassAccuracy reads its class's row: the images whose truth is c.
func TestClassAccuracyReadsTheTruthRow(t *testing.T) {
	var ev Evaluation
	ev.Confusion[4][4] = 3 // three 4s read as 4
	ev.Confusion[4][9] = 1 // one 4 read as 9
	ev.Confusion[7][4] = 4 // four 7s read as 4: no bearing on the 4s' accuracy
	if got := ev.ClassAccuracy(4); got != 75 {
		t.Errorf("ClassAccuracy(4) = %.2f %%, want 75 %% (3 of the 4 images of a 4)", got)
	}
	if got := ev.ClassAccuracy(7); got != 0 {
		t.Errorf("ClassAccuracy(7) = %.2f %%, want 0", got)
	}
	if got := ev.ClassAccuracy(5); got != 0 {
		t.Errorf("ClassAccuracy of a class without images = %.2f %%, want 0", got)
	}
}
