package augment

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

type affineFixture struct {
	Images [][]uint8 `json:"images"`
	Cases  []struct {
		Angle float64     `json:"angle"`
		TX    int         `json:"tx"`
		TY    int         `json:"ty"`
		Scale float64     `json:"scale"`
		Float [][]float32 `json:"float"`
		Uint8 [][]int     `json:"uint8"`
	} `json:"cases"`
}

func readFixture(t testing.TB) affineFixture {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "torch_affine.json"))
	if err != nil {
		t.Fatalf("%v (engine/pytorch/make_augment_fixtures.py writes it)", err)
	}
	var f affineFixture
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("torch_affine.json: %v", err)
	}
	if len(f.Cases) == 0 || len(f.Images) == 0 {
		t.Fatal("torch_affine.json holds no cases")
	}
	return f
}

// floatTolerance is on the 0-255 scale: the largest difference measured
// against torchvision 0.14.1 was 2.14e-4 (float32 rounding of the sampling
// coordinates, 8e-7 of full scale), kept with a margin of 2.5.
const floatTolerance = 5e-4

// TestApplyMatchesTorchvision compares Apply with F.affine on the float32
// tensor of the raw pixels, before any rounding.
func TestApplyMatchesTorchvision(t *testing.T) {
	f := readFixture(t)
	got := make([]float32, 28*28)
	worst := 0.0
	for _, c := range f.Cases {
		p := Params{Angle: c.Angle, TX: c.TX, TY: c.TY, Scale: c.Scale}
		for i, img := range f.Images {
			Apply(got, img, 28, 28, p)
			for k, want := range c.Float[i] {
				d := math.Abs(float64(got[k] - want))
				worst = max(worst, d)
				if d > floatTolerance {
					t.Fatalf("%+v image %d pixel (%d,%d): %v, torchvision %v", p, i, k%28, k/28, got[k], want)
				}
			}
		}
	}
	t.Logf("largest difference from torchvision: %.3g (0-255 scale)", worst)
}

// TestApplyUint8MatchesTorchvision compares ApplyUint8 with F.affine on the
// uint8 tensor, which rounds half to even: equal bytes, except where the
// float value lies so close to a half that float32 rounding decides.
func TestApplyUint8MatchesTorchvision(t *testing.T) {
	f := readFixture(t)
	got := make([]uint8, 28*28)
	scratch := make([]float32, 28*28)
	differ := 0
	for _, c := range f.Cases {
		p := Params{Angle: c.Angle, TX: c.TX, TY: c.TY, Scale: c.Scale}
		for i, img := range f.Images {
			ApplyUint8(got, img, 28, 28, p, scratch)
			for k, want := range c.Uint8[i] {
				if int(got[k]) == want {
					continue
				}
				frac := c.Float[i][k] - float32(math.Floor(float64(c.Float[i][k])))
				if math.Abs(float64(frac)-0.5) > floatTolerance {
					t.Fatalf("%+v image %d pixel (%d,%d): %d, torchvision %d (float %v)", p, i, k%28, k/28, got[k], want, c.Float[i][k])
				}
				differ++
			}
		}
	}
	t.Logf("%d bytes differ from torchvision's, each at a half", differ)
}

// TestDrawDependsOnlyOnSeedEpochIndex draws the parameters of many images
// from several goroutines in scrambled order and compares them with a plain
// loop: no shared stream, so no thread count or order changes them.
func TestDrawDependsOnlyOnSeedEpochIndex(t *testing.T) {
	s := Settings{Rotate: 20, Translate: 0.1, ScaleMin: 0.9, ScaleMax: 1.1}
	const n = 2000
	want := make([]Params, n)
	for i := range want {
		want[i] = Draw(s, 28, 28, 7, 3, i)
	}
	got := make([]Params, n)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := n - 1 - w; i >= 0; i -= 4 {
				got[i] = Draw(s, 28, 28, 7, 3, i)
			}
		}()
	}
	wg.Wait()
	if !slices.Equal(got, want) {
		t.Fatal("parameters drawn concurrently differ from those drawn in order")
	}
	if Draw(s, 28, 28, 7, 4, 0) == want[0] || Draw(s, 28, 28, 8, 3, 0) == want[0] || want[1] == want[0] {
		t.Fatal("another epoch, seed or image drew the same parameters")
	}
}

// TestDrawRanges checks RandomAffine's ranges: angle in [-20, 20], shifts
// whole pixels within ±round(0.1*28) = ±3 (each value reached), scale in
// [0.9, 1.1], each spread over its range.
func TestDrawRanges(t *testing.T) {
	s := Settings{Rotate: 20, Translate: 0.1, ScaleMin: 0.9, ScaleMax: 1.1}
	shifts := map[int]int{}
	lo, hi := Params{Angle: 20, Scale: 1.1}, Params{Angle: -20, Scale: 0.9}
	for i := range 5000 {
		p := Draw(s, 28, 28, 1, 1, i)
		if math.Abs(p.Angle) > 20 || p.Scale < 0.9 || p.Scale > 1.1 || abs(p.TX) > 3 || abs(p.TY) > 3 {
			t.Fatalf("image %d: %+v is outside the ranges", i, p)
		}
		shifts[p.TX]++
		lo.Angle, hi.Angle = min(lo.Angle, p.Angle), max(hi.Angle, p.Angle)
		lo.Scale, hi.Scale = min(lo.Scale, p.Scale), max(hi.Scale, p.Scale)
	}
	if len(shifts) != 7 || lo.Angle > -19.9 || hi.Angle < 19.9 || lo.Scale > 0.901 || hi.Scale < 1.099 {
		t.Fatalf("draws do not cover the ranges: shifts %v, angle [%v, %v], scale [%v, %v]", shifts, lo.Angle, hi.Angle, lo.Scale, hi.Scale)
	}
	// uniform(-2.8, 2.8) rounded half to even gives ±3 only above 2.5: a
	// share of 0.3/5.6 each, about 268 of 5000.
	if shifts[3] < 200 || shifts[3] > 340 {
		t.Fatalf("shift 3 drawn %d times of 5000, want about 268", shifts[3])
	}
	if !Off().IsOff() || s.IsOff() {
		t.Fatal("IsOff is wrong")
	}
}

func abs(v int) int { return max(v, -v) }

// TestApplyNormalizedIsApplyThenLevels: the normalised images are Apply's
// values mapped by the levels, bit for bit, the background included, and
// Normalization is (v/255 - mean)/std to float32 rounding, exactly so for
// the background.
func TestApplyNormalizedIsApplyThenLevels(t *testing.T) {
	const mean, std = 0.1307, 0.3081
	levels := Normalization(mean, std)
	if background := float32(0)/255 - mean; levels.of(0) != background/std {
		t.Fatalf("the background normalises to %v, the formula to %v", levels.of(0), background/std)
	}
	for v := float32(0); v <= 255; v += 0.37 {
		want := (v/255 - mean) / std
		if d := math.Abs(float64(levels.of(v) - want)); d > 1e-6 {
			t.Fatalf("%v normalises to %v, the formula to %v", v, levels.of(v), want)
		}
	}
	images, sides := testImages(t)
	for _, p := range testParams(50) {
		for n, img := range images {
			side := sides[n]
			raw, normalized := make([]float32, side*side), make([]float32, side*side)
			Apply(raw, img, side, side, p)
			ApplyNormalized(normalized, img, side, side, p, InkBox(img, side, side), levels)
			for k, v := range raw {
				if normalized[k] != levels.of(v) {
					t.Fatalf("%+v image %d pixel %d: %v normalised, %v raw", p, n, k, normalized[k], v)
				}
			}
		}
	}
}

// TestApplyWithoutATransform: a scale of 0 or an angle that is no number
// leaves no read; the image becomes background, and nothing panics.
func TestApplyWithoutATransform(t *testing.T) {
	f := readFixture(t)
	dst := make([]float32, 28*28)
	for _, p := range []Params{{Scale: 0}, {Angle: math.NaN(), Scale: 1}, {Angle: math.Inf(-1), Scale: 1}} {
		Apply(dst, f.Images[0], 28, 28, p)
		for k, v := range dst {
			if v != 0 {
				t.Fatalf("%+v: pixel %d is %v", p, k, v)
			}
		}
	}
}
