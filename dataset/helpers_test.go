package dataset

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// idxBytes builds an IDX file of unsigned bytes: magic, sizes, body.
func idxBytes(dims []uint32, body []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(body)
	return b.Bytes()
}

// testImages returns n distinct-looking 28x28 images: pixel p of image i is
// (i*7 + p) mod 256.
func fakeImageBody(n int) []byte {
	body := make([]byte, n*ImageSize)
	for i := range n {
		for p := range ImageSize {
			body[i*ImageSize+p] = byte(i*7 + p)
		}
	}
	return body
}

func fakeLabelBody(n int) []byte {
	body := make([]byte, n)
	for i := range body {
		body[i] = byte((i * 3) % NumClasses)
	}
	return body
}

func imagesFile(n int) []byte { return idxBytes([]uint32{uint32(n), 28, 28}, fakeImageBody(n)) }
func labelsFile(n int) []byte { return idxBytes([]uint32{uint32(n)}, fakeLabelBody(n)) }

func gzipBytes(t testing.TB, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gunzipBytes(t testing.TB, gz []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFileBytes(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeSet is a small synthetic data set: its entry (with the hashes of its
// own files and no default sources) and the gzipped files by name.
type fakeSet struct {
	entry entry
	files map[string][]byte // gz name -> gzipped contents
	raw   map[string][]byte // gz name -> decompressed contents
}

const fakeTrainN, fakeTestN = 12, 5

func newFakeSet(t testing.TB) fakeSet {
	t.Helper()
	raws := [4][]byte{
		trainImages: imagesFile(fakeTrainN),
		trainLabels: labelsFile(fakeTrainN),
		testImages:  imagesFile(fakeTestN),
		testLabels:  labelsFile(fakeTestN),
	}
	specs := fourFiles(fakeTrainN, fakeTestN, sha256Hex(raws[0]), sha256Hex(raws[1]), sha256Hex(raws[2]), sha256Hex(raws[3]))
	fs := fakeSet{
		entry: entry{
			info:    Info{Name: "fake", Mean: 0.5, Std: 0.25},
			files:   specs,
			sources: func(*http.Client) []Source { return nil },
		},
		files: map[string][]byte{},
		raw:   map[string][]byte{},
	}
	for i, spec := range specs {
		fs.files[spec.gzName()] = gzipBytes(t, raws[i])
		fs.raw[spec.gzName()] = raws[i]
	}
	return fs
}

// writeTo puts the set's gzipped files into dir and returns dir.
func (s fakeSet) writeTo(t testing.TB, dir string) string {
	t.Helper()
	for name, data := range s.files {
		writeFile(t, filepath.Join(dir, name), data)
	}
	return dir
}

func (s fakeSet) names() []string {
	var names []string
	for _, spec := range s.entry.files {
		names = append(names, spec.gzName())
	}
	return names
}
