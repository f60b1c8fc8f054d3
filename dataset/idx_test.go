package dataset

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"
)

type badCase struct {
	name   string
	labels bool     // read as a labels file instead of an images file
	count  int      // items the file must hold; 0 means 3
	data   []byte   // raw IDX bytes (also tried gzipped unless raw)
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
		{name: "image size", count: 1, data: idxBytes([]uint32{1, 32, 32}, make([]byte, 32*32)),
			want: []string{"image size 32x32, want 28x28"}},
		// Each dimension on its own: a check of only one would pass the other.
		{name: "image rows", count: 1, data: idxBytes([]uint32{1, 32, 28}, make([]byte, 32*28)),
			want: []string{"image size 32x28, want 28x28"}},
		{name: "image columns", count: 1, data: idxBytes([]uint32{1, 28, 32}, make([]byte, 28*32)),
			want: []string{"image size 28x32, want 28x28"}},
		{name: "truncated magic", data: []byte{0, 0}, raw: true,
			want: []string{"truncated header: expected 4 bytes, got 2"}},
		{name: "truncated header", data: good[:10],
			want: []string{"truncated header: expected 16 bytes, got 10"}},
		{name: "truncated body", data: good[:16+2*ImageSize+100],
			want: []string{"truncated body: expected 2352 bytes of image data, got 1668"}},
		{name: "truncated labels", labels: true, count: 5, data: labelsFile(5)[:8+3],
			want: []string{"truncated body: expected 5 bytes of label data, got 3"}},
		{name: "trailing data", data: append(bytes.Clone(good), 1, 2, 3, 4, 5),
			want: []string{"trailing data after the 3 images", "longer than 2368 bytes"}},
		{name: "absurd count", data: idxBytes([]uint32{4_000_000_000, 28, 28}, make([]byte, 100)),
			want: []string{"header claims 4000000000 images, want 3"}},
		{name: "one image too many", data: imagesFile(4),
			want: []string{"header claims 4 images, want 3"}},
		{name: "zero count", data: idxBytes([]uint32{0, 28, 28}, nil),
			want: []string{"header claims 0 images, want 3"}},
		{name: "label outside 0-9", labels: true, count: 4, data: idxBytes([]uint32{4}, []byte{1, 2, 10, 3}),
			want: []string{"label 10 at index 2 is outside 0-9"}},
		{name: "gzip bad CRC", raw: true, data: flip(goodGz, len(goodGz)-8),
			want: []string{"gzip data is corrupt", "checksum"}},
		{name: "gzip bad size trailer", raw: true, data: flip(goodGz, len(goodGz)-1),
			want: []string{"gzip data is corrupt"}},
		{name: "gzip without trailer", raw: true, data: goodGz[:len(goodGz)-8],
			want: []string{"gzip data is corrupt", "cut short"}},
		// Corrupt deflate data may decode to more bytes than the file holds;
		// it is then refused as trailing data, before deflate notices.
		{name: "gzip corrupt deflate data", raw: true, data: flip(goodGz, len(goodGz)/2)},
		{name: "gzip magic only", raw: true, data: []byte{0x1f, 0x8b},
			want: []string{"gzip data is corrupt"}},
	}
}

func readAs(c badCase, name string, data []byte) error {
	count := c.count
	if count == 0 {
		count = 3
	}
	kind := imagesKind()
	if c.labels {
		kind = labelsKind()
	}
	_, err := decodeIDX(name, bytes.NewReader(data), kind, count, nil, true)
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
	for _, n := range []int{1, 3, 3000} {
		images, labels := imagesFile(n), labelsFile(n)
		for variant, enc := range map[string]func([]byte) []byte{
			"raw":  func(b []byte) []byte { return b },
			"gzip": func(b []byte) []byte { return gzipBytes(t, b) },
		} {
			got, err := decodeIDX("images", bytes.NewReader(enc(images)), imagesKind(), n, nil, true)
			if err != nil {
				t.Fatalf("%s n=%d: %v", variant, n, err)
			}
			if got.count != n || !bytes.Equal(got.data, fakeImageBody(n)) {
				t.Errorf("%s n=%d: got %d images (%d bytes), want the %d written", variant, n, got.count, len(got.data), n)
			}
			gotLabels, err := decodeIDX("labels", bytes.NewReader(enc(labels)), labelsKind(), n, nil, true)
			if err != nil {
				t.Fatalf("%s n=%d: %v", variant, n, err)
			}
			if !bytes.Equal(gotLabels.data, fakeLabelBody(n)) {
				t.Errorf("%s n=%d: labels differ from those written", variant, n)
			}
		}
	}
}

func TestNewSetPairsImagesAndLabels(t *testing.T) {
	images := decoded{data: fakeImageBody(4), count: 4}
	labels := decoded{data: fakeLabelBody(4), count: 4}
	set, err := newSet("small", "img", images, "lbl", labels)
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

func TestNewSetRefusesCountMismatch(t *testing.T) {
	images := decoded{data: fakeImageBody(3), count: 3}
	labels := decoded{data: fakeLabelBody(4), count: 4}
	_, err := newSet("small", "/d/img", images, "/d/lbl", labels)
	if err == nil {
		t.Fatal("3 images with 4 labels accepted")
	}
	for _, want := range []string{"/d/img", "/d/lbl", "3 images", "4 labels", "mismatch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
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
		_, err := decodeIDX("net-file", &failingReader{data: data, err: cause}, imagesKind(), 3, nil, true)
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
		images, err := decodeIDX("fuzz.idx", bytes.NewReader(data), imagesKind(), 2, nil, true)
		if err == nil && (images.count != 2 || len(images.data) != 2*ImageSize) {
			t.Fatalf("accepted %d images in %d bytes", images.count, len(images.data))
		}
		if err != nil && !strings.Contains(err.Error(), "fuzz.idx") {
			t.Fatalf("error %q does not name the file", err)
		}
		labels, err := decodeIDX("fuzz.idx", bytes.NewReader(data), labelsKind(), 7, nil, true)
		if err == nil {
			for i, l := range labels.data {
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

// countingReader serves prefix, then endless filler bytes, and counts what
// was read: the reader under test must stop on its own.
type countingReader struct {
	prefix []byte
	filler []byte // repeated after prefix; zeros if nil
	read   int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n := 0
	if len(r.prefix) > 0 {
		n = copy(p, r.prefix)
		r.prefix = r.prefix[n:]
	} else if r.filler == nil {
		clear(p)
		n = len(p)
	} else {
		for n < len(p) {
			n += copy(p[n:], r.filler[int(r.read+int64(n))%len(r.filler):])
		}
	}
	r.read += int64(n)
	return n, nil
}

// The attack of issue 14: a header that claims 9 999 999 images over a
// long run of zeros. The count is known, so the reader refuses it after the
// header instead of buffering gigabytes first.
func TestReaderRefusesAWrongCountAfterTheHeader(t *testing.T) {
	for _, keep := range []bool{true, false} { // Load decodes, Fetch only hashes
		src := &countingReader{prefix: idxBytes([]uint32{9_999_999, Rows, Cols}, nil)}
		_, err := decodeIDX("huge.idx", src, imagesKind(), 3, sha256.New(), keep)
		if err == nil || !strings.Contains(err.Error(), "header claims 9999999 images, want 3") {
			t.Fatalf("keep=%v: got %v, want the claimed count refused", keep, err)
		}
		// One buffered read of the source (64 KiB) is all it may take.
		if src.read > 64<<10 {
			t.Errorf("keep=%v: read %d bytes of a file refused by its 16-byte header", keep, src.read)
		}
	}
}

// A file whose header is right but which goes on after its last image is
// read one byte past its end, not further: the same for decoding (Load)
// and hashing (Fetch).
func TestReaderReadsOneBytePastTheEnd(t *testing.T) {
	size := imagesKind().fileSize(3)
	for mode, read := range map[string]func(io.Reader) error{
		"decode": func(r io.Reader) error { _, err := decodeIDX("long.idx", r, imagesKind(), 3, nil, true); return err },
		"hash": func(r io.Reader) error {
			_, err := decodeIDX("long.idx", r, imagesKind(), 3, sha256.New(), false)
			return err
		},
	} {
		src := &countingReader{prefix: imagesFile(3)}
		err := read(src)
		if err == nil || !strings.Contains(err.Error(), "trailing data after the 3 images") {
			t.Errorf("%s: got %v, want trailing data refused", mode, err)
		}
		if limit := size + 64<<10; src.read > limit {
			t.Errorf("%s: read %d bytes of a %d-byte file with a tail; at most one buffered read past it (%d) is needed",
				mode, src.read, size, limit)
		}
	}
}

// A gzip stream of empty stored blocks decompresses to nothing, forever;
// the source is cut off a little past what any gzip of the file can take.
func TestReaderStopsEndlessCompressedInput(t *testing.T) {
	gzipHeader := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}
	emptyStoredBlock := []byte{0x00, 0x00, 0x00, 0xff, 0xff} // BFINAL=0, BTYPE=00, LEN=0, NLEN=^0
	limit := maxCompressedSize(imagesKind().fileSize(3))
	for mode, read := range map[string]func(io.Reader) error{
		"decode": func(r io.Reader) error { _, err := decodeIDX("endless.gz", r, imagesKind(), 3, nil, true); return err },
		"hash": func(r io.Reader) error {
			_, err := decodeIDX("endless.gz", r, imagesKind(), 3, sha256.New(), false)
			return err
		},
	} {
		src := &countingReader{prefix: gzipHeader, filler: emptyStoredBlock}
		err := read(src)
		var fe *FormatError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), "more data than any copy of this file can hold") {
			t.Errorf("%s: got %v, want the endless source refused", mode, err)
		}
		if src.read > limit+64<<10 {
			t.Errorf("%s: read %d compressed bytes, the limit is %d", mode, src.read, limit)
		}
	}
}
