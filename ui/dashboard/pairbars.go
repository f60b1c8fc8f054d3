package dashboard

import (
	"math"
	"strings"

	"mnist-tui/engine/train"
)

// Train and test error side by side, one pair of bars an epoch: when the
// training error keeps falling while the test error does not, the gap is
// the overfitting, visible at a glance.

// eighths are the partial bar cells, from one eighth to a full cell.
var eighths = []rune("▁▂▃▄▅▆▇█")

// pairScale is the zoomed range of the bars: its top follows the test
// errors (the number that matters; a training bar above it is cut, topped
// with ▲: the first epoch's training error is a mean over the epoch while
// the network learns, far above everything after it), its base goes low
// enough for the training bars too, since a training error below the test
// error is the overfitting the chart is there to show.
func pairScale(trainErrs, testErrs []float64) (top, base float64) {
	top, base = errorScale(testErrs)
	lowest := math.Inf(1)
	for _, e := range trainErrs {
		lowest = min(lowest, e)
	}
	if lowest < base {
		base = max(0, lowest-(top-lowest)/4)
	}
	return top, base
}

// pairBars draws, per epoch, per columns: the first half the training
// error (▒ for whole cells, ░ for a part, so it reads without colour), the
// rest the test error (eighth blocks). With a single column an epoch,
// only the test error. Rows top to bottom, each width cells; the bars end
// at the right edge.
func pairBars(history []train.EpochResult, top, base float64, per, width, height int, st styles) []string {
	cells := make([][]string, height)
	for r := range cells {
		cells[r] = make([]string, width)
		for c := range cells[r] {
			cells[r][c] = " "
		}
	}
	start := width - len(history)*per
	trainCols := per / 2
	if per < 2 {
		trainCols = 0
	}
	span := top - base
	for i, e := range history {
		for k := range per {
			col := start + i*per + k
			if col < 0 {
				continue
			}
			isTrain := k < trainCols
			v := errorRate(e.TestAcc)
			if isTrain {
				v = errorRate(e.TrainAcc)
			}
			h := 0.0
			if span > 0 {
				h = (v - base) / span * float64(height) // in cells
			}
			clipped := h > float64(height)+1e-9
			h = math.Max(0, math.Min(h, float64(height)))
			for r := range height {
				fill := h - float64(height-1-r) // how much of this cell, from its bottom
				var s string
				switch {
				case fill <= 0:
					continue
				case isTrain && r == 0 && clipped:
					s = "▲"
				case isTrain && fill >= 1:
					s = "▒"
				case isTrain:
					s = "░"
				case fill >= 1:
					s = "█"
				default:
					s = string(eighths[max(0, int(fill*8+0.5)-1)])
				}
				if isTrain {
					cells[r][col] = st.dim.Render(s)
				} else {
					cells[r][col] = st.bars.Render(s)
				}
			}
		}
	}
	rows := make([]string, height)
	for r := range cells {
		rows[r] = strings.Join(cells[r], "")
	}
	return rows
}
