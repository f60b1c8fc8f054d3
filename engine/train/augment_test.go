package train

import (
	"slices"
	"testing"
)

// TestAugmentationReachesTraining: the augment_* keys change the images the
// run trains on (the transform itself is checked against torchvision in
// dataset/augment), and the same seed gives the same augmented run.
func TestAugmentationReachesTraining(t *testing.T) {
	data := syntheticData(320, 50, 5)
	losses := func(rotate float64) []float64 {
		cfg := testConfig(t)
		cfg.AugmentRotate, cfg.AugmentTranslate = rotate, 0.1
		if rotate == 0 {
			cfg.AugmentTranslate = 0
		}
		cfg.LogInterval = 1
		tr := New(cfg, Options{Data: data})
		stopAtStep(tr, 3)
		s := runToEnd(t, tr)
		var out []float64
		for _, l := range s.Logs {
			out = append(out, l.Loss)
		}
		if len(out) < 3 {
			t.Fatalf("%d log points after three steps", len(out))
		}
		return out
	}
	plain, augmented, again := losses(0), losses(20), losses(20)
	if plain[2] == augmented[2] {
		t.Fatalf("the third step's loss is %v with and without augmentation", plain[2])
	}
	if !slices.Equal(augmented, again) {
		t.Fatalf("two augmented runs with one seed differ: losses %v and %v", augmented, again)
	}
}
