package dataset

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

type badCase struct {
	name   string
	labels bool     // read with ReadLabels instead of ReadImages
	data   []byte   // raw IDX bytes (also tried gzipped unless gzipOnly)
	want   []string // substrings the error must contain
	raw    bool     // data is not to be gzipped (it is gzip already, or tests raw-only framing)
}

func badCases(t testing.TB) []badCase {
	good := imagesFile(3)
	goodGz := gzipBytes(t, good)
	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 0xff
		return c
	}
	return []badCase{
		{name: "empty", data: nil, want: []string{"empty file"}},
		{name: "bad magic type", data: append([]byte{0, 0, 0x09, 3}, good[4:]...),
			want: []string{"bad magic number 0x00000903", "want 0x00000803"}},
		{name: "bad magic byte order", data: append([]byte{3, 8, 0, 0}, good[4:]...),
			want: []string{"bad magic number 0x03080000"}},
		{name: "labels file read as images", data: labelsFile(3),
			want: []string{"wrong dimension count 1, want 3"}},
		{name: "images file read as labels", labels: true, data: good,
			want: []string{"wrong dimension count 3, want 1"}},
		{name: "image size", data: idxBytes([]uint32{1, 32, 32}, make([]byte, 32*32)),
			want: []string{"image size 32x32, want 28x28"}},
		{name: "truncated magic", data: []byte{0, 0}, raw: true,
			want: []string{"truncated header: expected 4 bytes, got 2"}},
		{name: "truncated header", data: good[:10],
			want: []string{"truncated header: expected 16 bytes, got 10"}},
		{name: "truncated body", data: good[:16+2*ImageSize+100],
			want: []string{"truncated body: expected 2352 bytes of image data, got 1668"}},
		{name: "truncated labels", labels: true, data: labelsFile(5)[:8+3],
			want: []string{"truncated body: expected 5 bytes of label data, got 3"}},
		{name: "trailing garbage", data: append(bytes.Clone(good), 1, 2, 3, 4, 5),
			want: []string{"trailing garbage: 5 bytes after the 3 images"}},
		{name: "absurd count", data: idxBytes([]uint32{4_000_000_000, 28, 28}, make([]byte, 100)),
			want: []string{"header claims 4000000000 images, more than the limit of 10000000"}},
		{name: "zero count", data: idxBytes([]uint32{0, 28, 28}, nil),
			want: []string{"header claims 0 images"}},
		{name: "label outside 0-9", labels: true, data: idxBytes([]uint32{4}, []byte{1, 2, 10, 3}),
			want: []string{"label 10 at index 2 is outside 0-9"}},
		{name: "gzip bad CRC", raw: true, data: flip(goodGz, len(goodGz)-8),
			want: []string{"gzip data is corrupt", "checksum"}},
		{name: "gzip bad size trailer", raw: true, data: flip(goodGz, len(goodGz)-1),
			want: []string{"gzip data is corrupt"}},
		{name: "gzip without trailer", raw: true, data: goodGz[:len(goodGz)-8],
			want: []string{"gzip data is corrupt", "cut short"}},
		{name: "gzip corrupt deflate data", raw: true, data: flip(goodGz, len(goodGz)/2),
			want: []string{"gzip data is corrupt"}},
		{name: "gzip magic only", raw: true, data: []byte{0x1f, 0x8b},
			want: []string{"gzip data is corrupt"}},
	}
}

func readAs(c badCase, name string, data []byte) error {
	if c.labels {
		_, err := ReadLabels(name, bytes.NewReader(data))
		return err
	}
	_, _, err := ReadImages(name, bytes.NewReader(data))
	return err
}

func TestReaderRejectsMalformedFiles(t *testing.T) {
	for _, c := range badCases(t) {
		variants := map[string][]byte{"raw": c.data}
		if !c.raw {
			variants["gzip"] = gzipBytes(t, c.data)
		}
		for variant, data := range variants {
			t.Run(c.name+"/"+variant, func(t *testing.T) {
				file := "/data/" + strings.ReplaceAll(c.name, " ", "-") + ".idx"
				err := readAs(c, file, data)
				if err == nil {
					t.Fatal("malformed file accepted")
				}
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Errorf("error %q is a %T, want *FormatError", err, err)
				}
				msg := err.Error()
				for _, want := range append([]string{file}, c.want...) {
					if !strings.Contains(msg, want) {
						t.Errorf("error %q does not contain %q", msg, want)
					}
				}
			})
		}
	}
}

func TestReaderAcceptsGoodFilesRawAndGzip(t *testing.T) {
	// 3000 images are more than the reader's first 1 MiB chunk, so this also
	// covers the growing buffer.
	for _, n := range []int{1, 3, 3000} {
		images, labels := imagesFile(n), labelsFile(n)
		for variant, enc := range map[string]func([]byte) []byte{
			"raw":  func(b []byte) []byte { return b },
			"gzip": func(b []byte) []byte { return gzipBytes(t, b) },
		} {
			got, gotN, err := ReadImages("images", bytes.NewReader(enc(images)))
			if err != nil {
				t.Fatalf("%s n=%d: %v", variant, n, err)
			}
			if gotN != n || !bytes.Equal(got, fakeImageBody(n)) {
				t.Errorf("%s n=%d: got %d images (%d bytes), want the %d written", variant, n, gotN, len(got), n)
			}
			gotLabels, err := ReadLabels("labels", bytes.NewReader(enc(labels)))
			if err != nil {
				t.Fatalf("%s n=%d: %v", variant, n, err)
			}
			if !bytes.Equal(gotLabels, fakeLabelBody(n)) {
				t.Errorf("%s n=%d: labels differ from those written", variant, n)
			}
		}
	}
}

func TestReadSetFiles(t *testing.T) {
	dir := t.TempDir()
	imgPath, lblPath := filepath.Join(dir, "img.gz"), filepath.Join(dir, "lbl")
	writeFile(t, imgPath, gzipBytes(t, imagesFile(4)))
	writeFile(t, lblPath, labelsFile(4))

	set, err := ReadSetFiles("small", imgPath, lblPath)
	if err != nil {
		t.Fatal(err)
	}
	if set.N != 4 || set.Name != "small" || len(set.Images) != 4*ImageSize || len(set.Labels) != 4 {
		t.Fatalf("got set %q with N=%d, %d image bytes, %d labels", set.Name, set.N, len(set.Images), len(set.Labels))
	}
	body := fakeImageBody(4)
	for i := range 4 {
		if !bytes.Equal(set.Image(i), body[i*ImageSize:(i+1)*ImageSize]) {
			t.Errorf("Image(%d) is not image %d of the file", i, i)
		}
	}
	if img := set.Image(1); cap(img) != ImageSize {
		t.Errorf("Image(1) has capacity %d; an append could overwrite image 2", cap(img))
	}
}

func TestReadSetFilesCountMismatch(t *testing.T) {
	dir := t.TempDir()
	imgPath, lblPath := filepath.Join(dir, "img"), filepath.Join(dir, "lbl")
	writeFile(t, imgPath, imagesFile(3))
	writeFile(t, lblPath, labelsFile(4))
	_, err := ReadSetFiles("small", imgPath, lblPath)
	if err == nil {
		t.Fatal("3 images with 4 labels accepted")
	}
	for _, want := range []string{imgPath, lblPath, "3 images", "4 labels", "mismatch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestReadSetFilesMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := ReadSetFiles("x", missing, missing)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("got %v, want an error naming %s", err, missing)
	}
}

// failingReader returns some data, then an I/O error.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReaderReportsIOErrorsAsSuch(t *testing.T) {
	cause := errors.New("connection reset")
	good := imagesFile(3)
	goodGz := gzipBytes(t, good)
	for variant, data := range map[string][]byte{"raw": good[:1000], "gzip": goodGz[:len(goodGz)/2]} {
		_, _, err := ReadImages("net-file", &failingReader{data: data, err: cause})
		if !errors.Is(err, cause) {
			t.Errorf("%s: got %v, want the reader's own error", variant, err)
		}
		var fe *FormatError
		if errors.As(err, &fe) {
			t.Errorf("%s: an I/O failure was reported as a format error: %v", variant, err)
		}
		if err != nil && !strings.Contains(err.Error(), "net-file") {
			t.Errorf("%s: error %q does not name the file", variant, err)
		}
	}
}

func FuzzReadIDX(f *testing.F) {
	f.Add(imagesFile(2))
	f.Add(labelsFile(7))
	f.Add(gzipBytes(f, imagesFile(1)))
	f.Add(gzipBytes(f, labelsFile(3)))
	for _, c := range badCases(f) {
		f.Add(c.data)
		if !c.raw {
			f.Add(gzipBytes(f, c.data))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		images, n, err := ReadImages("fuzz.idx", bytes.NewReader(data))
		if err == nil && (n < 1 || len(images) != n*ImageSize) {
			t.Fatalf("accepted %d images in %d bytes", n, len(images))
		}
		if err != nil && !strings.Contains(err.Error(), "fuzz.idx") {
			t.Fatalf("error %q does not name the file", err)
		}
		labels, err := ReadLabels("fuzz.idx", bytes.NewReader(data))
		if err == nil {
			for i, l := range labels {
				if l >= NumClasses {
					t.Fatalf("accepted label %d at %d", l, i)
				}
			}
		}
		if err != nil && !strings.Contains(err.Error(), "fuzz.idx") {
			t.Fatalf("error %q does not name the file", err)
		}
	})
}

var _ io.Reader = (*failingReader)(nil)
