package prepare

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"testing"
)

// drawBar draws a w x h picture with an ink rectangle, ink and paper colours given.
func drawBar(w, h int, r image.Rectangle, ink, paper color.Color) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if (image.Point{x, y}).In(r) {
				img.Set(x, y, ink)
			} else {
				img.Set(x, y, paper)
			}
		}
	}
	return img
}

// inkStats returns the bounding box size and centre of mass of a prepared image.
func inkStats(img [Size * Size]uint8) (bw, bh int, cx, cy float64) {
	v := make([]float32, len(img))
	for i, p := range img {
		v[i] = float32(p) / 255
	}
	x0, y0, x1, y1, _ := inkBounds(v, Size, Size, 0.01)
	cx, cy = centreOfMass(v, Size, Size)
	return x1 - x0, y1 - y0, cx, cy
}

func TestDarkInkOnWhiteIsInvertedCroppedScaledCentred(t *testing.T) {
	// A tall bar, off-centre in a large white picture: like a photographed "1".
	img := drawBar(300, 400, image.Rect(40, 50, 100, 350), color.Black, color.White)
	out, err := FromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	bw, bh, cx, cy := inkStats(out)
	if bh != Box {
		t.Errorf("longer side is %d pixels, want %d", bh, Box)
	}
	if want := int(math.Round(60.0 * Box / 300)); bw != want {
		t.Errorf("shorter side is %d pixels, want %d (aspect ratio kept)", bw, want)
	}
	if math.Abs(cx-Size/2) > 0.5 || math.Abs(cy-Size/2) > 0.5 {
		t.Errorf("centre of mass at (%.2f, %.2f), want (14, 14)", cx, cy)
	}
	if out[0] != 0 || out[14*Size+14] != 255 {
		t.Errorf("background %d (want 0), centre %d (want 255): ink must be bright on black", out[0], out[14*Size+14])
	}
}

func TestPolarityDoesNotMatter(t *testing.T) {
	r := image.Rect(10, 20, 30, 60)
	light, err := FromImage(drawBar(64, 80, r, color.Black, color.White))
	if err != nil {
		t.Fatal(err)
	}
	dark, err := FromImage(drawBar(64, 80, r, color.White, color.Black))
	if err != nil {
		t.Fatal(err)
	}
	if light != dark {
		t.Error("black-on-white and white-on-black pictures of the same shape prepare differently")
	}
}

func TestTransparentBackgroundCountsAsPaper(t *testing.T) {
	img := drawBar(50, 50, image.Rect(20, 5, 30, 45), color.Black, color.Transparent)
	out, err := FromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	if _, bh, _, _ := inkStats(out); bh != Box {
		t.Errorf("ink height %d, want %d", bh, Box)
	}
}

func TestBlankImageIsAnError(t *testing.T) {
	for _, c := range []color.Color{color.White, color.Black, color.Gray{128}} {
		_, err := FromImage(drawBar(40, 40, image.Rectangle{}, c, c))
		if !errors.Is(err, ErrNoInk) {
			t.Errorf("blank %v picture: err %v, want ErrNoInk", c, err)
		}
	}
}

func TestAlreadyPreparedDigitIsAlmostUnchanged(t *testing.T) {
	// A digit that is already 20 px tall and centred must come back in place.
	in := make([]float32, Size*Size)
	for y := 4; y < 24; y++ {
		for x := 11; x < 17; x++ {
			in[y*Size+x] = 1
		}
	}
	out, err := FromInk(in, Size, Size)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range in {
		if math.Abs(float64(out[i])/255-float64(v)) > 0.01 {
			t.Fatalf("pixel (%d,%d) changed from %.2f to %d", i%Size, i/Size, v, out[i])
		}
	}
}

func TestDecodeRejectsGarbageAndHugeImages(t *testing.T) {
	if _, err := Decode(bytes.NewReader([]byte("this is not an image"))); err == nil {
		t.Error("garbage decoded without error")
	}
	// A PNG header that claims 100000 x 100000 pixels.
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1)))
	b := buf.Bytes()
	copy(b[16:24], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0})
	if _, err := Decode(bytes.NewReader(b)); err == nil {
		t.Error("a 10-gigapixel header was accepted")
	}
}

func FuzzPrepare(f *testing.F) {
	var buf bytes.Buffer
	png.Encode(&buf, drawBar(12, 9, image.Rect(2, 2, 5, 8), color.Black, color.White))
	f.Add(buf.Bytes())
	f.Add([]byte("GIF89a"))
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		if b := img.Bounds(); b.Dx()*b.Dy() > 1<<20 {
			return // decoding works; preparing very large fuzz images is just slow
		}
		FromImage(img) // must not panic; errors are fine
	})
}
