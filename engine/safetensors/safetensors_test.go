package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// fileOf assembles a safetensors file from a header and a data section.
func fileOf(header string, body []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, body...)
}

func encode(t testing.TB, tensors []Tensor, metadata map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, tensors, metadata); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return buf.Bytes()
}

// sampleTensors covers every size class, a scalar and an empty tensor.
func sampleTensors() []Tensor {
	return []Tensor{
		F32("conv1.weight", []int{2, 1, 2, 2}, []float32{1, -2, 3.5, 0, float32(math.Inf(1)), -0.25, 1e-30, 7}),
		F32("conv1.bias", []int{2}, []float32{0.5, -1}),
		I64("bn.num_batches_tracked", []int{}, []int64{-9000000000}),
		{Name: "mask", DType: "BOOL", Shape: []int{3}, Data: []byte{1, 0, 1}},
		{Name: "half", DType: "F16", Shape: []int{2}, Data: []byte{0x00, 0x3c, 0x00, 0xc0}},
		{Name: "empty", DType: "F64", Shape: []int{0, 3}, Data: []byte{}},
		{Name: "bytes", DType: "U8", Shape: []int{1, 3}, Data: []byte{255, 0, 7}},
	}
}

func TestRoundTrip(t *testing.T) {
	tensors := sampleTensors()
	meta := map[string]string{"epoch": "3", "config": "lr: 0.01\nnote: \"quoted\" <b>&</b>", "": "empty key"}
	data := encode(t, tensors, meta)

	n := binary.LittleEndian.Uint64(data)
	if n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	if data[8] != '{' {
		t.Errorf("header starts with %q, want '{'", data[8])
	}

	f, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if !reflect.DeepEqual(f.Metadata, meta) {
		t.Errorf("metadata = %v, want %v", f.Metadata, meta)
	}
	if len(f.Tensors) != len(tensors) {
		t.Fatalf("got %d tensors, want %d", len(f.Tensors), len(tensors))
	}
	for i, want := range tensors {
		got := f.Tensors[i]
		if got.Name != want.Name || got.DType != want.DType || !reflect.DeepEqual(got.Shape, want.Shape) || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("tensor %d = %+v, want %+v", i, got, want)
		}
	}

	w, ok := f.Get("conv1.weight")
	if !ok {
		t.Fatal("Get(conv1.weight) found nothing")
	}
	vals, err := w.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{1, -2, 3.5, 0, float32(math.Inf(1)), -0.25, 1e-30, 7}
	if !reflect.DeepEqual(vals, want) {
		t.Errorf("Float32s = %v, want %v", vals, want)
	}
	steps, _ := f.Get("bn.num_batches_tracked")
	ints, err := steps.Int64s()
	if err != nil || len(ints) != 1 || ints[0] != -9000000000 {
		t.Errorf("Int64s = %v, %v; want [-9000000000]", ints, err)
	}
	if _, ok := f.Get("nope"); ok {
		t.Error("Get(nope) found a tensor")
	}
}

func TestRoundTripNoTensors(t *testing.T) {
	for _, meta := range []map[string]string{nil, {}, {"k": "v"}} {
		f, err := Parse(encode(t, nil, meta))
		if err != nil {
			t.Fatalf("metadata %v: %v", meta, err)
		}
		if len(f.Tensors) != 0 || len(f.Metadata) != len(meta) || f.Metadata == nil {
			t.Errorf("metadata %v: got %+v", meta, f)
		}
	}
}

// pythonFile is what safetensors.torch.save_file writes for
//
//	{"weight": tensor([[1., 2.], [3., 4.]]), "bias": tensor([0.5, -1.]),
//	 "bn.num_batches_tracked": tensor(7)} with metadata {"format": "pt"}:
//
// compact JSON, metadata first, tensors sorted by alignment then name, the
// header padded with spaces to a multiple of 8, float32 little-endian.
func pythonFile() []byte {
	header := `{"__metadata__":{"format":"pt"},` +
		`"bn.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]},` +
		`"bias":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},` +
		`"weight":{"dtype":"F32","shape":[2,2],"data_offsets":[16,32]}}`
	header += strings.Repeat(" ", (8-len(header)%8)%8)
	body := []byte{
		7, 0, 0, 0, 0, 0, 0, 0, // int64 7
		0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x80, 0xbf, // 0.5, -1
		0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40, // 1, 2
		0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0x80, 0x40, // 3, 4
	}
	return fileOf(header, body)
}

func TestPythonFile(t *testing.T) {
	f, err := Parse(pythonFile())
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if f.Metadata["format"] != "pt" {
		t.Errorf("metadata = %v", f.Metadata)
	}
	var names []string
	for _, tt := range f.Tensors {
		names = append(names, tt.Name)
	}
	if want := []string{"bn.num_batches_tracked", "bias", "weight"}; !reflect.DeepEqual(names, want) {
		t.Errorf("tensor order = %v, want %v", names, want)
	}
	w, _ := f.Get("weight")
	if got, err := w.Float32s(); err != nil || !reflect.DeepEqual(got, []float32{1, 2, 3, 4}) || !reflect.DeepEqual(w.Shape, []int{2, 2}) {
		t.Errorf("weight = %v %v (%v)", w.Shape, got, err)
	}
	b, _ := f.Get("bias")
	if got, err := b.Float32s(); err != nil || !reflect.DeepEqual(got, []float32{0.5, -1}) {
		t.Errorf("bias = %v (%v)", got, err)
	}
	s, _ := f.Get("bn.num_batches_tracked")
	if got, err := s.Int64s(); err != nil || !reflect.DeepEqual(got, []int64{7}) || len(s.Shape) != 0 {
		t.Errorf("num_batches_tracked = %v %v (%v)", s.Shape, got, err)
	}

	// Our writer, given the same tensors in the same order, writes the same bytes.
	again := encode(t, f.Tensors, f.Metadata)
	if !bytes.Equal(again, pythonFile()) {
		t.Errorf("Encode differs from the Python writer:\n got %q\nwant %q", again, pythonFile())
	}
}

func TestTypedAccessorsRefuseOtherDTypes(t *testing.T) {
	f, err := Parse(pythonFile())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := f.Get("bn.num_batches_tracked")
	if _, err := s.Float32s(); err == nil || !strings.Contains(err.Error(), "I64") || !strings.Contains(err.Error(), "bn.num_batches_tracked") {
		t.Errorf("Float32s of an I64 tensor: err = %v, want one naming the tensor and I64", err)
	}
	w, _ := f.Get("weight")
	if _, err := w.Int64s(); err == nil || !strings.Contains(err.Error(), "F32") {
		t.Errorf("Int64s of an F32 tensor: err = %v, want one naming F32", err)
	}
	short := Tensor{Name: "short", DType: "F32", Shape: []int{3}, Data: make([]byte, 8)}
	if _, err := short.Float32s(); err == nil {
		t.Error("Float32s of a tensor with too little data succeeded")
	}
}

type badFile struct {
	name string
	data []byte
	want []string // substrings the error must contain
}

func badFiles() []badFile {
	f32 := func(n int) []byte { return make([]byte, 4*n) }
	hugeLen := binary.LittleEndian.AppendUint64(nil, 200_000_000)
	return []badFile{
		{"empty file", nil, []string{"0 bytes", "too short"}},
		{"shorter than 8 bytes", []byte{1, 0, 0}, []string{"3 bytes"}},
		{"header length past end", append(binary.LittleEndian.AppendUint64(nil, 50), "{}"...), []string{"header length 50", "past the end"}},
		{"absurd header length", append(hugeLen, "{}"...), []string{"200000000", "limit"}},
		{"header length near 2^64", append(binary.LittleEndian.AppendUint64(nil, math.MaxUint64), "{}"...), []string{"limit"}},
		{"empty header", fileOf("", nil), []string{"'{'"}},
		{"not JSON", fileOf("{nope", nil), []string{"not valid JSON"}},
		{"truncated JSON", fileOf(`{"w":{"dtype":"F32"`, nil), []string{"not valid JSON"}},
		{"not an object", fileOf("[1, 2]", nil), []string{"'{'"}},
		{"not UTF-8", fileOf("{\"w\xff\":{}}", nil), []string{"UTF-8"}},
		{"content after the object", fileOf(`{} {}`, nil), []string{"after the header object"}},
		{"garbage after the object", fileOf(`{}x`, nil), []string{"after the header object"}},
		{"duplicate tensor", fileOf(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32(2)), []string{`"w"`, "twice"}},
		{"duplicate metadata", fileOf(`{"__metadata__":{},"__metadata__":{}}`, nil), []string{"__metadata__", "twice"}},
		{"entry not an object", fileOf(`{"w":5}`, nil), []string{`tensor "w"`, "the number 5"}},
		{"unknown dtype", fileOf(`{"w":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}}`, f32(1)), []string{`tensor "w"`, `unknown dtype "F31"`}},
		{"dtype not a string", fileOf(`{"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, f32(1)), []string{`tensor "w"`, "dtype must be a string"}},
		{"missing shape", fileOf(`{"w":{"dtype":"F32","data_offsets":[0,4]}}`, f32(1)), []string{`tensor "w"`, `"shape" is missing`}},
		{"null shape", fileOf(`{"w":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}`, f32(1)), []string{`tensor "w"`, "shape", "null"}},
		{"null dim", fileOf(`{"w":{"dtype":"F32","shape":[null],"data_offsets":[0,4]}}`, f32(1)), []string{`tensor "w"`, "shape", "null"}},
		{"fractional dim", fileOf(`{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, f32(1)), []string{`tensor "w"`, "1.5"}},
		{"string dim", fileOf(`{"w":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}`, f32(1)), []string{`tensor "w"`, `the string "1"`}},
		{"negative dim", fileOf(`{"w":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,0]}}`, nil), []string{`tensor "w"`, "negative"}},
		{"overflowing shape", fileOf(`{"w":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,4]}}`, f32(1)), []string{`tensor "w"`, "overflows"}},
		{"overflowing bytes", fileOf(`{"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,4]}}`, f32(1)), []string{`tensor "w"`, "overflows"}},
		{"dim beyond int64", fileOf(`{"w":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}}`, f32(1)), []string{`tensor "w"`, "99999999999999999999"}},
		{"unknown field", fileOf(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"strides":[1]}}`, f32(1)), []string{`tensor "w"`, `"strides"`}},
		{"case-folded field", fileOf(`{"w":{"DTYPE":"F32","shape":[1],"data_offsets":[0,4]}}`, f32(1)), []string{`tensor "w"`, `"DTYPE"`}},
		{"duplicate field", fileOf(`{"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32(1)), []string{`tensor "w"`, `"dtype" appears twice`}},
		{"three offsets", fileOf(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, f32(1)), []string{`tensor "w"`, "[begin, end]"}},
		{"reversed offsets", fileOf(`{"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, f32(1)), []string{`tensor "w"`, "begin <= end"}},
		{"negative offset", fileOf(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, f32(1)), []string{`tensor "w"`, "begin <= end"}},
		{"offsets disagree with shape", fileOf(`{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}`, f32(5)), []string{`tensor "w"`, "20 bytes", "need 24"}},
		{"overlap", fileOf(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, f32(3)), []string{`tensor "b"`, "overlap", `"a"`}},
		{"gap", fileOf(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, f32(3)), []string{`tensor "b"`, "gap of 4 bytes"}},
		{"gap at the start", fileOf(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32(2)), []string{`tensor "a"`, "gap"}},
		{"tensor past end", fileOf(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, f32(2)), []string{`tensor "b"`, "past the end", "8 bytes"}},
		{"trailing bytes", fileOf(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32(2)), []string{"4 trailing bytes"}},
		{"data but no tensors", fileOf(`{}`, []byte{1}), []string{"1 trailing bytes"}},
		{"metadata not an object", fileOf(`{"__metadata__":"x"}`, nil), []string{"__metadata__", "expected \"{\""}},
		{"metadata value a number", fileOf(`{"__metadata__":{"epoch":3}}`, nil), []string{"__metadata__", `"epoch"`, "must be a string"}},
		{"metadata value null", fileOf(`{"__metadata__":{"epoch":null}}`, nil), []string{`"epoch"`, "null"}},
		{"metadata value an object", fileOf(`{"__metadata__":{"h":{"a":"b"}}}`, nil), []string{`"h"`, "an object"}},
		{"metadata duplicate key", fileOf(`{"__metadata__":{"k":"a","k":"b"}}`, nil), []string{`"k" appears twice`}},
	}
}

func TestParseRejectsBadFiles(t *testing.T) {
	for _, tc := range badFiles() {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.data)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", f)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestParseAcceptsEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"whitespace padding", fileOf("{ }\n\t  \r ", nil)},
		{"zero-size tensors sharing an offset", fileOf(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"c":{"dtype":"I64","shape":[3,0],"data_offsets":[2,2]}}`, []byte{1, 2})},
		{"tensors listed out of offset order", fileOf(`{"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{1, 2})},
		{"escaped names", fileOf(`{"a\"\u00e9\n":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{9})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse(tc.data); err != nil {
				t.Fatal(err)
			}
		})
	}
	f, err := Parse(fileOf(`{"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{1, 2}))
	if err != nil {
		t.Fatal(err)
	}
	if f.Tensors[0].Name != "a" || f.Tensors[0].Data[0] != 1 || f.Tensors[1].Name != "b" || f.Tensors[1].Data[0] != 2 {
		t.Errorf("tensors not in data-offset order with their own bytes: %+v", f.Tensors)
	}
	// Data slices are capacity-limited: appending to one must not clobber the next.
	_ = append(f.Tensors[0].Data, 0xEE)
	if f.Tensors[1].Data[0] != 2 {
		t.Error("appending to one tensor's Data overwrote the next tensor")
	}
}

func TestReadFileNamesPath(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.safetensors")
	if err := os.WriteFile(path, []byte{1, 2}, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(path); err == nil || !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("ReadFile error = %v, want it prefixed with %s", err, path)
	}
	missing := filepath.Join(dir, "missing.safetensors")
	if _, err := ReadFile(missing); err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile of a missing file: err = %v", err)
	}
	good := filepath.Join(dir, "good.safetensors")
	if err := os.WriteFile(good, pythonFile(), 0o644); err != nil {
		t.Fatal(err)
	}
	if f, err := ReadFile(good); err != nil || len(f.Tensors) != 3 {
		t.Errorf("ReadFile(good) = %v, %v", f, err)
	}
}

func TestEncodeRejectsBadInput(t *testing.T) {
	ok := F32("ok", []int{1}, []float32{1})
	for _, tc := range []struct {
		name    string
		tensors []Tensor
		meta    map[string]string
		want    string
	}{
		{"shape/data mismatch", []Tensor{ok, F32("w", []int{2, 3}, []float32{1, 2})}, nil, `tensor "w"`},
		{"negative dim", []Tensor{F32("w", []int{-1}, nil)}, nil, "negative"},
		{"unknown dtype", []Tensor{{Name: "w", DType: "f32", Shape: []int{1}, Data: make([]byte, 4)}}, nil, "unknown dtype"},
		{"duplicate name", []Tensor{ok, ok}, nil, `"ok" appears twice`},
		{"reserved name", []Tensor{F32("__metadata__", []int{1}, []float32{1})}, nil, "reserved"},
		{"name not UTF-8", []Tensor{F32("w\xff", []int{1}, []float32{1})}, nil, "UTF-8"},
		{"metadata not UTF-8", []Tensor{ok}, map[string]string{"k": "\xff"}, "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Encode(&buf, tc.tensors, tc.meta)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Encode error = %v, want one mentioning %s", err, tc.want)
			}
			if buf.Len() != 0 {
				t.Errorf("Encode wrote %d bytes before failing", buf.Len())
			}
		})
	}
}

// failingWriter accepts limit bytes, then fails.
type failingWriter struct {
	limit   int
	written int
}

var errDiskFull = errors.New("injected: no space left on device")

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.written+len(p) > w.limit {
		n := w.limit - w.written
		w.written = w.limit
		return n, errDiskFull
	}
	w.written += len(p)
	return len(p), nil
}

func TestEncodeReportsWriteErrors(t *testing.T) {
	full := len(encode(t, sampleTensors(), nil))
	for _, limit := range []int{0, 20, full - 1} {
		err := Encode(&failingWriter{limit: limit}, sampleTensors(), nil)
		if !errors.Is(err, errDiskFull) {
			t.Errorf("limit %d: err = %v, want the writer's error", limit, err)
		}
	}
}

// dirNames lists a folder, to spot leftover temporary files.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	if err := WriteFileAtomic(path, sampleTensors()[:2], map[string]string{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, sampleTensors(), map[string]string{"v": "2"}); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["v"] != "2" || len(f.Tensors) != len(sampleTensors()) {
		t.Errorf("file holds %v with %d tensors, want the second write", f.Metadata, len(f.Tensors))
	}
	if names := dirNames(t, dir); !reflect.DeepEqual(names, []string{"model.safetensors"}) {
		t.Errorf("folder holds %v, want only model.safetensors", names)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v (%v), want 0644", info.Mode(), err)
	}

	// Replacing keeps the mode of the file being replaced.
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, nil, nil); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("mode after replace = %v (%v), want 0600", info.Mode(), err)
	}
}

func TestWriteFileAtomicFailureKeepsOldFile(t *testing.T) {
	failures := map[string]func(dir, path string) error{
		"invalid tensors": func(dir, path string) error {
			return WriteFileAtomic(path, []Tensor{F32("w", []int{5}, []float32{1})}, nil)
		},
		"rename onto a folder": func(dir, path string) error {
			target := filepath.Join(dir, "folder")
			if err := os.MkdirAll(filepath.Join(target, "inside"), 0o755); err != nil {
				return fmt.Errorf("setup: %w", err)
			}
			return WriteFileAtomic(target, sampleTensors(), nil)
		},
	}
	for name, fail := range failures {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "model.safetensors")
			old := encode(t, sampleTensors()[:1], map[string]string{"v": "old"})
			if err := os.WriteFile(path, old, 0o644); err != nil {
				t.Fatal(err)
			}
			before := dirNames(t, dir)

			err := fail(dir, path)
			if err == nil || strings.HasPrefix(err.Error(), "setup") {
				t.Fatalf("write did not fail as arranged: %v", err)
			}
			got, readErr := os.ReadFile(path)
			if readErr != nil || !bytes.Equal(got, old) {
				t.Errorf("old file changed or unreadable (%v)", readErr)
			}
			after := dirNames(t, dir)
			for _, n := range after {
				if strings.Contains(n, ".tmp-") {
					t.Errorf("temporary file %s left behind (folder: %v, before: %v)", n, after, before)
				}
			}
		})
	}
}

func TestWriteFileAtomicMissingFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "model.safetensors")
	if err := WriteFileAtomic(path, nil, nil); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want one naming %s", err, path)
	}
}

// FuzzParse checks that no input panics Parse and that whatever Parse
// accepts survives Encode and Parse again unchanged.
func FuzzParse(f *testing.F) {
	f.Add(pythonFile())
	f.Add(encode(f, sampleTensors(), map[string]string{"a": "b"}))
	f.Add(encode(f, nil, nil))
	for _, bad := range badFiles() {
		f.Add(bad.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parsed, err := Parse(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		next := 0
		for _, tt := range parsed.Tensors {
			size, err := byteCount(tt.DType, tt.Shape)
			if err != nil || size != len(tt.Data) {
				t.Fatalf("accepted tensor %q with %d bytes for %s %v (%v)", tt.Name, len(tt.Data), tt.DType, tt.Shape, err)
			}
			next += size
		}
		if want := len(data) - 8 - int(binary.LittleEndian.Uint64(data)); next != want {
			t.Fatalf("tensors cover %d bytes of a %d-byte data section", next, want)
		}

		var buf bytes.Buffer
		if err := Encode(&buf, parsed.Tensors, parsed.Metadata); err != nil {
			t.Fatalf("Encode refused what Parse accepted: %v", err)
		}
		again, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("Parse refused what Encode wrote: %v", err)
		}
		if !reflect.DeepEqual(again, parsed) {
			t.Fatalf("round trip changed the file:\n got %+v\nwant %+v", again, parsed)
		}
	})
}

// allocatedBy returns how many bytes of memory run allocates.
func allocatedBy(run func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	run()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// sparseFile writes data and then extends the file with zeros to size bytes
// without storing them, as a hostile or damaged file may be huge.
func sparseFile(t *testing.T, data []byte, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "big.safetensors")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
	return path
}

// A file is judged by its header and its size before its data is read: a
// huge file whose size is not what its header says, or whose tensors the
// caller does not want, costs no more memory than its header.
func TestReadFileCheckedRefusesBeforeReadingData(t *testing.T) {
	const big = 256 << 20
	const budget = 1 << 20 // far below the file, far above a header
	small := fileOf(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4))
	claimsBig := fileOf(fmt.Sprintf(`{"w":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}`, big, big), nil)
	headerLen := binary.LittleEndian.AppendUint64(nil, 1<<20)

	refuse := errors.New("not the tensors this caller wants")
	var seen *File
	for _, tc := range []struct {
		name     string
		path     string
		maxHead  int
		check    func(*File) error
		want     []string
		wantSeen bool
	}{
		{"trailing data", sparseFile(t, small, big), MaxHeaderSize, nil, []string{"trailing bytes", fmt.Sprint(big - len(small))}, false},
		{"data the header claims but the file lacks", sparseFile(t, claimsBig, int64(len(claimsBig))+4), MaxHeaderSize, nil, []string{`tensor "w"`, "past the end", "truncated"}, false},
		{"tensors the caller refuses", sparseFile(t, claimsBig, int64(len(claimsBig))+big), MaxHeaderSize,
			func(f *File) error { seen = f; return refuse }, []string{refuse.Error()}, true},
		{"header over the caller's limit", sparseFile(t, append(headerLen, '{'), big), 1 << 16, nil, []string{"1048576", "65536-byte limit"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen = nil
			var err error
			used := allocatedBy(func() { _, err = ReadFileChecked(tc.path, tc.maxHead, tc.check) })
			if err == nil {
				t.Fatal("ReadFileChecked succeeded")
			}
			for _, want := range append(tc.want, tc.path) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if used > budget {
				t.Errorf("allocated %d bytes to refuse the file, want under %d: the data was read before the header was checked", used, budget)
			}
			if tc.wantSeen {
				if seen == nil || len(seen.Tensors) != 1 || seen.Tensors[0].Name != "w" || seen.Tensors[0].Data != nil {
					t.Errorf("check saw %+v, want tensor w with no data yet", seen)
				}
			}
		})
	}
}

// The check sees the header; what it accepts is then read whole.
func TestReadFileCheckedReadsWhatTheCheckAccepts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := WriteFileAtomic(path, sampleTensors(), map[string]string{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	var names []string
	f, err := ReadFileChecked(path, MaxHeaderSize, func(h *File) error {
		for _, tt := range h.Tensors {
			names = append(names, tt.Name)
		}
		if h.Metadata["v"] != "1" {
			return fmt.Errorf("metadata %v", h.Metadata)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want, err := Parse(encode(t, sampleTensors(), map[string]string{"v": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f, want) || len(names) != len(want.Tensors) {
		t.Errorf("read %+v (check saw %v), want %+v", f, names, want)
	}
}

// A folder or a device has no size to check the header against.
func TestReadFileRefusesWhatIsNotARegularFile(t *testing.T) {
	for _, path := range []string{t.TempDir(), os.DevNull} {
		if _, err := ReadFile(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("ReadFile(%s): err = %v, want one naming it", path, err)
		}
	}
}
