package dashboard

import (
	"strings"
	"testing"

	"github.com/muesli/termenv"

	"mnist-tui/engine/train"
)

// Two epochs worked by hand: training error 10 % then 0.5 %, test error
// 3 % then 2 %. The top is the worst test error, 3; the base goes down to
// 0 for the 0.5 % training error (0.5 - 2.5/4 < 0). In 3 rows, a cell is
// 1 %: epoch 1's training bar is cut at the top (▲), its test bar is full;
// epoch 2's training bar is half a cell (░), its test bar two cells.
func TestPairBarsShowTrainAndTestError(t *testing.T) {
	st := newStyles(colorRenderer(termenv.Ascii))
	h := []train.EpochResult{{Epoch: 1, TrainAcc: 90, TestAcc: 97}, {Epoch: 2, TrainAcc: 99.5, TestAcc: 98}}
	top, base := pairScale([]float64{10, 0.5}, []float64{3, 2})
	if top != 3 || base != 0 {
		t.Fatalf("scale %g..%g, want 0..3", base, top)
	}
	got := strings.Join(pairBars(h, top, base, 4, 8, 3, st), "\n")
	want := strings.Join([]string{
		"▲▲██    ",
		"▒▒██  ██",
		"▒▒██░░██",
	}, "\n")
	if got != want {
		t.Errorf("bars\n%s\nwant\n%s", got, want)
	}
	// One column an epoch: the test error alone.
	got = strings.Join(pairBars(h, top, base, 1, 2, 3, st), "\n")
	if want := "█ \n██\n██"; got != want {
		t.Errorf("narrow bars\n%s\nwant\n%s", got, want)
	}
}
