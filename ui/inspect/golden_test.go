package inspect

import (
	"testing"

	"github.com/charmbracelet/x/exp/teatest"

	"mnist-tui/dataset"
	"mnist-tui/ui/view"
)

// Golden files hold pages drawn from the hand-made snapshot at fixed sizes,
// with renderers of a fixed colour profile. Regenerate them with
//
//	go test ./ui/inspect -update
//
// and read the diff before committing it.
func golden(t *testing.T, page view.View, info dataset.Info, width, height int, keys ...string) {
	t.Helper()
	page.SetSnapshot(handSnapshot(info))
	send(page, keys...)
	teatest.RequireEqualOutput(t, []byte(page.Render(width, height)))
}

// The size of the dashboard's page area in an 80x24 terminal, and a roomy one.
const (
	smallW, smallH = 80, 17
	roomyW, roomyH = 120, 34
)

func TestGoldenConfusionMNIST(t *testing.T) {
	golden(t, NewConfusion(noColor()), mnistInfo(t), smallW, smallH, "down", "down", "right")
}

func TestGoldenConfusionFashionColour(t *testing.T) {
	golden(t, NewConfusion(colour()), fashionInfo(t), roomyW, roomyH, "down", "down", "right", "right", "right", "right", "right", "right", "right")
}

func TestGoldenConfusionCellImages(t *testing.T) {
	golden(t, NewConfusion(noColor()), mnistInfo(t), roomyW, roomyH, "down", "down", "right", "right", "enter", "right")
}

func TestGoldenMistakes(t *testing.T) {
	golden(t, NewMistakes(noColor()), mnistInfo(t), roomyW, roomyH, "right")
}

func TestGoldenMistakesFashionSmallDigits(t *testing.T) {
	golden(t, NewMistakes(noColor()), fashionInfo(t), smallW, smallH)
}

func TestGoldenMistakeProbabilities(t *testing.T) {
	golden(t, NewMistakes(noColor()), fashionInfo(t), smallW, smallH, "enter")
}

func TestGoldenMistakeProbabilitiesColour(t *testing.T) {
	golden(t, NewMistakes(colour()), mnistInfo(t), roomyW, 20, "enter")
}

func TestGoldenDataFashion(t *testing.T) {
	golden(t, NewData(noColor()), fashionInfo(t), roomyW, roomyH)
}

func TestGoldenDataMNISTHiRes(t *testing.T) {
	golden(t, NewData(colour()), mnistInfo(t), smallW, smallH, "pgdown")
}

func TestGoldenTooSmall(t *testing.T) {
	golden(t, NewMistakes(noColor()), mnistInfo(t), 40, 5)
}
