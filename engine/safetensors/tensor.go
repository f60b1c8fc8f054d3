// Package safetensors reads and writes the safetensors file format, the one
// PyTorch users load with safetensors.torch.load_file.
//
// A file is an 8-byte little-endian header length N, N bytes of JSON header,
// then the raw little-endian tensor bytes:
//
//	{"conv1.weight": {"dtype": "F32", "shape": [6, 1, 5, 5], "data_offsets": [0, 600]},
//	 "__metadata__": {"epoch": "3"}}
//
// Offsets count from the first byte after the header. The reader is strict:
// anything the specification forbids, or that PyTorch's loader would refuse,
// is an error that names the problem and the tensor.
package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Tensor is one named tensor of a file.
type Tensor struct {
	Name  string
	DType string // "F32", "F64", "I64", "I32", "U8", "BOOL", "F16", "BF16", ...
	Shape []int
	Data  []byte // little-endian, len = product(Shape) * size(DType)
}

// dtypeSizes maps every dtype this package accepts to its element size in
// bytes. The sub-byte types of recent safetensors versions (F4, F6_*) are not
// accepted: their byte length is not a whole number of elements.
var dtypeSizes = map[string]int{
	"BOOL":    1,
	"U8":      1,
	"I8":      1,
	"F8_E5M2": 1,
	"F8_E4M3": 1,
	"F8_E8M0": 1,
	"I16":     2,
	"U16":     2,
	"F16":     2,
	"BF16":    2,
	"I32":     4,
	"U32":     4,
	"F32":     4,
	"I64":     8,
	"U64":     8,
	"F64":     8,
	"C64":     8,
}

// DTypeSize returns the size in bytes of one element of dtype, and false if
// the dtype is not one this package knows.
func DTypeSize(dtype string) (int, bool) {
	size, ok := dtypeSizes[dtype]
	return size, ok
}

// knownDTypes lists the accepted dtypes, sorted, for error messages.
func knownDTypes() []string {
	names := make([]string, 0, len(dtypeSizes))
	for name := range dtypeSizes {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// F32 makes a float32 tensor. It copies shape and data. A shape that does not
// match len(data) is reported when the tensor is encoded.
func F32(name string, shape []int, data []float32) Tensor {
	buf := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	return Tensor{Name: name, DType: "F32", Shape: append([]int{}, shape...), Data: buf}
}

// I64 makes an int64 tensor. It copies shape and data. A shape that does not
// match len(data) is reported when the tensor is encoded.
func I64(name string, shape []int, data []int64) Tensor {
	buf := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(buf[8*i:], uint64(v))
	}
	return Tensor{Name: name, DType: "I64", Shape: append([]int{}, shape...), Data: buf}
}

// Float32s decodes the data of an F32 tensor into a new slice.
func (t Tensor) Float32s() ([]float32, error) {
	if err := t.checkElements("F32", 4); err != nil {
		return nil, err
	}
	out := make([]float32, len(t.Data)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out, nil
}

// Int64s decodes the data of an I64 tensor into a new slice.
func (t Tensor) Int64s() ([]int64, error) {
	if err := t.checkElements("I64", 8); err != nil {
		return nil, err
	}
	out := make([]int64, len(t.Data)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(t.Data[8*i:]))
	}
	return out, nil
}

// checkElements makes sure t holds whole elements of the wanted dtype, so
// that a hand-built Tensor with a short Data slice is an error, not a panic.
func (t Tensor) checkElements(want string, size int) error {
	if t.DType != want {
		return fmt.Errorf("safetensors: tensor %q has dtype %s, not %s", t.Name, t.DType, want)
	}
	n, err := elementCount(t.Shape)
	if err != nil {
		return fmt.Errorf("safetensors: tensor %q: %w", t.Name, err)
	}
	if len(t.Data) != n*size {
		return fmt.Errorf("safetensors: tensor %q: shape %v needs %d bytes of %s but it holds %d",
			t.Name, t.Shape, n*size, want, len(t.Data))
	}
	return nil
}

// elementCount is the product of shape's dims. It fails on a negative dim or
// a product that does not fit in an int, as a hostile header could ask for.
// The empty shape is a scalar: one element.
func elementCount(shape []int) (int, error) {
	n := 1
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v: dim %d is negative", shape, i)
		}
		if d != 0 && n > math.MaxInt/d {
			return 0, fmt.Errorf("shape %v: element count overflows", shape)
		}
		n *= d
	}
	return n, nil
}

// byteCount is the size in bytes of a tensor of this dtype and shape.
func byteCount(dtype string, shape []int) (int, error) {
	size, ok := dtypeSizes[dtype]
	if !ok {
		return 0, fmt.Errorf("unknown dtype %q (known: %s)", dtype, strings.Join(knownDTypes(), ", "))
	}
	n, err := elementCount(shape)
	if err != nil {
		return 0, err
	}
	if n > math.MaxInt/size {
		return 0, fmt.Errorf("shape %v of %s: byte size overflows", shape, dtype)
	}
	return n * size, nil
}
