package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"unicode/utf8"

	"mnist-tui/engine/atomicfile"
)

// Encode writes tensors and metadata as a safetensors file. Tensors are laid
// out contiguously in the order given; the header is padded with spaces to a
// multiple of 8 bytes so the data starts 8-byte aligned, as the Python
// writer does. Everything is checked before the first byte is written, so
// bad input never leaves a partial file behind a successful-looking write.
func Encode(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	header, err := encodeHeader(tensors, metadata)
	if err != nil {
		return fmt.Errorf("safetensors: encode: %w", err)
	}
	prefixed := make([]byte, 8, 8+len(header))
	binary.LittleEndian.PutUint64(prefixed, uint64(len(header)))
	if _, err := w.Write(append(prefixed, header...)); err != nil {
		return fmt.Errorf("safetensors: write header: %w", err)
	}
	for _, t := range tensors {
		if _, err := w.Write(t.Data); err != nil {
			return fmt.Errorf("safetensors: write tensor %q: %w", t.Name, err)
		}
	}
	return nil
}

// HeaderSize is the length of the header Encode would write for tensors and
// metadata, so a writer can keep within a reader's tighter limit.
func HeaderSize(tensors []Tensor, metadata map[string]string) (int, error) {
	header, err := encodeHeader(tensors, metadata)
	if err != nil {
		return 0, fmt.Errorf("safetensors: encode: %w", err)
	}
	return len(header), nil
}

// encodeHeader validates the input and builds the padded JSON header. Every
// file it accepts, Parse accepts too.
func encodeHeader(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	buf := []byte{'{'}
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k, v := range metadata {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return nil, fmt.Errorf("metadata %q: key or value is not valid UTF-8", k)
			}
			keys = append(keys, k)
		}
		sort.Strings(keys) // deterministic output
		buf = appendString(buf, metadataKey)
		buf = append(buf, ":{"...)
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendString(buf, k)
			buf = append(buf, ':')
			buf = appendString(buf, metadata[k])
		}
		buf = append(buf, '}')
	}

	seen := make(map[string]bool, len(tensors))
	offset := 0
	for i, t := range tensors {
		switch {
		case t.Name == metadataKey:
			return nil, fmt.Errorf("tensor %d: the name %q is reserved for metadata", i, metadataKey)
		case !utf8.ValidString(t.Name):
			return nil, fmt.Errorf("tensor %d: name %q is not valid UTF-8", i, t.Name)
		case seen[t.Name]:
			return nil, fmt.Errorf("tensor %q appears twice", t.Name)
		}
		seen[t.Name] = true
		size, err := byteCount(t.DType, t.Shape)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		if len(t.Data) != size {
			return nil, fmt.Errorf("tensor %q: dtype %s and shape %v need %d bytes, Data has %d",
				t.Name, t.DType, t.Shape, size, len(t.Data))
		}

		if len(buf) > 1 {
			buf = append(buf, ',')
		}
		buf = appendString(buf, t.Name)
		buf = append(buf, `:{"dtype":`...)
		buf = appendString(buf, t.DType)
		buf = append(buf, `,"shape":[`...)
		for j, d := range t.Shape {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendInt(buf, int64(d), 10)
		}
		buf = append(buf, `],"data_offsets":[`...)
		buf = strconv.AppendInt(buf, int64(offset), 10)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(offset+size), 10)
		buf = append(buf, "]}"...)
		offset += size
	}
	buf = append(buf, '}')
	for len(buf)%8 != 0 {
		buf = append(buf, ' ')
	}
	if len(buf) > MaxHeaderSize {
		return nil, fmt.Errorf("header would be %d bytes, over the %d-byte limit readers accept", len(buf), MaxHeaderSize)
	}
	return buf, nil
}

// appendString appends s as a JSON string. s is valid UTF-8 (checked by the
// caller), so marshalling cannot fail or alter it.
func appendString(buf []byte, s string) []byte {
	quoted, _ := json.Marshal(s)
	return append(buf, quoted...)
}

// WriteFileAtomic writes a safetensors file so that path holds either its old
// content or the complete new file, never a torn one (see atomicfile.Write).
func WriteFileAtomic(path string, tensors []Tensor, metadata map[string]string) error {
	if err := atomicfile.Write(path, func(w io.Writer) error { return Encode(w, tensors, metadata) }); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}
