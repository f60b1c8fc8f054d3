package inspect

import (
	"slices"
	"strings"
	"testing"

	"mnist-tui/engine/train"
)

func handResults(t *testing.T) Results {
	t.Helper()
	r, err := NewResults(evaluate(handLabels, handPreds, handConf), newSet("test", handLabels))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestConfusionAgainstHandCount(t *testing.T) {
	m := handResults(t).Confusion()
	if want := handMatrix(); m != want {
		t.Errorf("confusion\n%v\nwant\n%v", m, want)
	}
	if m.Total() != 12 || m.Correct() != 8 {
		t.Errorf("total %d correct %d, want 12 and 8", m.Total(), m.Correct())
	}
	if m.RowTotal(2) != 4 || m.RowTotal(5) != 0 {
		t.Errorf("row totals: class 2 has %d, class 5 has %d; want 4 and 0", m.RowTotal(2), m.RowTotal(5))
	}
}

func TestCellListsTheImagesBehindACount(t *testing.T) {
	r := handResults(t)
	for _, tc := range []struct {
		truth, pred int
		want        []int
	}{
		{0, 0, []int{0, 1}},
		{0, 1, []int{2}},
		{2, 2, []int{5, 7, 8}},
		{9, 4, []int{11}},
		{4, 9, nil},
	} {
		if got := r.Cell(tc.truth, tc.pred); !slices.Equal(got, tc.want) {
			t.Errorf("cell [%d][%d] = %v, want %v", tc.truth, tc.pred, got, tc.want)
		}
	}
}

func TestMistakesOrderedByConfidence(t *testing.T) {
	r := handResults(t)
	// Mistakes: image 2 (0.60), 6 (0.91), 9 (0.55), 11 (0.91).
	if got, want := r.Mistakes(true), []int{6, 11, 2, 9}; !slices.Equal(got, want) {
		t.Errorf("most confident first = %v, want %v (ties in test-set order)", got, want)
	}
	if got, want := r.Mistakes(false), []int{9, 2, 6, 11}; !slices.Equal(got, want) {
		t.Errorf("least confident first = %v, want %v", got, want)
	}
}

func TestNewResultsRejectsWhatDoesNotMatch(t *testing.T) {
	good := func() (*train.Evaluation, []uint8) {
		return evaluate(slices.Clone(handLabels), slices.Clone(handPreds), slices.Clone(handConf)), slices.Clone(handLabels)
	}
	for _, tc := range []struct {
		name  string
		spoil func(ev *train.Evaluation, labels []uint8) (*train.Evaluation, []uint8)
		want  string
	}{
		{"another set", func(ev *train.Evaluation, l []uint8) (*train.Evaluation, []uint8) {
			ev.N++
			return ev, l
		}, "does not match"},
		{"short probabilities", func(ev *train.Evaluation, l []uint8) (*train.Evaluation, []uint8) {
			ev.Probs = ev.Probs[:len(ev.Probs)-1]
			return ev, l
		}, "does not match"},
		{"prediction out of range", func(ev *train.Evaluation, l []uint8) (*train.Evaluation, []uint8) {
			ev.Pred[3] = 12
			return ev, l
		}, "image 3"},
		{"label out of range", func(ev *train.Evaluation, l []uint8) (*train.Evaluation, []uint8) {
			l[5] = 10
			return ev, l
		}, "image 5"},
		{"no evaluation", func(_ *train.Evaluation, l []uint8) (*train.Evaluation, []uint8) {
			return nil, l
		}, "no evaluation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, labels := tc.spoil(good())
			_, err := NewResults(ev, newSet("test", labels))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}
