package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"unicode/utf8"
)

// metadataKey is the reserved header entry holding string->string metadata.
const metadataKey = "__metadata__"

// File is a parsed safetensors file.
type File struct {
	Tensors  []Tensor // in data-offset order
	Metadata map[string]string
}

// Get returns the tensor called name.
func (f *File) Get(name string) (Tensor, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return Tensor{}, false
}

// ReadFile reads and parses the safetensors file at path. Errors start with
// the path. See ReadFileChecked.
func ReadFile(path string) (*File, error) {
	return ReadFileChecked(path, MaxHeaderSize, nil)
}

// ReadFileChecked reads the safetensors file at path without ever holding
// more than its header before the header has been checked: a header longer
// than maxHeader bytes is refused unread, then a file whose size is not what
// its header describes, then whatever check refuses. check (if non-nil) gets
// the file with every tensor's Data nil, so a caller can refuse tensors it
// does not want by name, dtype and shape before their bytes are read. The
// tensors' Data slices share one buffer.
func ReadFileChecked(path string, maxHeader int, check func(header *File) error) (*File, error) {
	in, err := os.Open(path)
	if err != nil {
		return nil, err // *fs.PathError already says "open <path>: ..."
	}
	defer in.Close()
	f, body, err := readFrom(in, maxHeader, check)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.Tensors = cut(f.Tensors, body)
	return f, nil
}

// readFrom reads an open file: the header, checked as ReadFileChecked says,
// then the data section. It returns the file with nil Data and the data.
func readFrom(in *os.File, maxHeader int, check func(*File) error) (*File, []byte, error) {
	info, err := in.Stat()
	if err != nil {
		return nil, nil, err
	}
	// The checks below rest on the file's size, which only a regular file has.
	switch {
	case info.IsDir():
		return nil, nil, errors.New("safetensors: this is a folder; name a .safetensors file")
	case !info.Mode().IsRegular():
		return nil, nil, errors.New("safetensors: not a regular file (a device, pipe or socket?); name a .safetensors file")
	}
	size := info.Size()
	var prefix [8]byte
	if _, err := io.ReadFull(in, prefix[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, nil, fmt.Errorf("safetensors: file is %d bytes, too short to hold the 8-byte header length (empty or truncated file?)", size)
		}
		return nil, nil, err
	}
	n, err := headerLength(prefix[:], size, maxHeader)
	if err != nil {
		return nil, nil, err
	}
	header := make([]byte, n)
	if _, err := io.ReadFull(in, header); err != nil {
		return nil, nil, fmt.Errorf("safetensors: read the %d-byte header: %w (was the file cut short?)", n, err)
	}
	f, err := parseHeader(header, size-8-int64(n))
	if err != nil {
		return nil, nil, err
	}
	if check != nil {
		if err := check(f); err != nil {
			return nil, nil, err
		}
	}
	body := make([]byte, size-8-int64(n))
	if _, err := io.ReadFull(in, body); err != nil {
		return nil, nil, fmt.Errorf("safetensors: read the %d bytes of tensor data: %w (is the file being written?)", len(body), err)
	}
	if extra, _ := in.Read(prefix[:1]); extra > 0 {
		return nil, nil, fmt.Errorf("safetensors: the file grew while being read (is it being written?)")
	}
	return f, body, nil
}

// MaxHeaderSize is the reference implementation's limit. A larger header
// length means the file is not safetensors, or is corrupt or hostile.
const MaxHeaderSize = 100_000_000

// headerLength decodes the 8-byte header length of a file of size bytes and
// checks it against the limit and the file.
func headerLength(prefix []byte, size int64, maxHeader int) (int, error) {
	n := binary.LittleEndian.Uint64(prefix)
	if n > uint64(maxHeader) {
		return 0, fmt.Errorf("safetensors: header length %d is over the %d-byte limit (not a safetensors file, or corrupt)", n, maxHeader)
	}
	if n > uint64(size-8) {
		return 0, fmt.Errorf("safetensors: header length %d runs past the end of the %d-byte file (truncated file?)", n, size)
	}
	return int(n), nil
}

// Parse parses a whole safetensors file held in data. The tensors' Data
// slices point into data (capacity-limited, so appending to one cannot
// overwrite its neighbour); copy them if data will be reused.
func Parse(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("safetensors: file is %d bytes, too short to hold the 8-byte header length (empty or truncated file?)", len(data))
	}
	n, err := headerLength(data, int64(len(data)), MaxHeaderSize)
	if err != nil {
		return nil, err
	}
	header, body := data[8:8+n], data[8+n:]
	f, err := parseHeader(header, int64(len(body)))
	if err != nil {
		return nil, err
	}
	f.Tensors = cut(f.Tensors, body)
	return f, nil
}

// parseHeader decodes the header of a file whose data section is bodyLen
// bytes and checks that the tensors tile it exactly. The tensors' Data are
// nil, in data-offset order.
func parseHeader(header []byte, bodyLen int64) (*File, error) {
	infos, metadata, err := decodeHeader(header)
	if err != nil {
		return nil, fmt.Errorf("safetensors: header: %w", err)
	}
	if err := layOut(infos, bodyLen); err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f := &File{Tensors: make([]Tensor, len(infos)), Metadata: metadata}
	for i, info := range infos {
		f.Tensors[i] = Tensor{Name: info.name, DType: info.dtype, Shape: info.shape}
	}
	return f, nil
}

// tensorInfo is one tensor's header entry.
type tensorInfo struct {
	name       string
	dtype      string
	shape      []int
	begin, end int // data_offsets, relative to the data section
	size       int // bytes dtype*shape needs
}

// layOut sorts infos by offset and checks that the tensors tile a data
// section of bodyLen bytes exactly, as the specification requires (no gaps,
// no overlaps, no trailing bytes).
func layOut(infos []tensorInfo, bodyLen int64) error {
	// A stable sort keeps zero-length tensors sharing an offset in header order.
	sort.SliceStable(infos, func(i, j int) bool {
		if infos[i].begin != infos[j].begin {
			return infos[i].begin < infos[j].begin
		}
		return infos[i].end < infos[j].end
	})
	next, prev := 0, ""
	for _, info := range infos {
		switch {
		case info.begin < next:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap tensor %q, which ends at %d",
				info.name, info.begin, info.end, prev, next)
		case info.begin > next:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] leave a gap of %d bytes after offset %d; tensors must cover the data section without gaps",
				info.name, info.begin, info.end, info.begin-next, next)
		case int64(info.end) > bodyLen:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] run past the end of the file, whose data section is %d bytes (truncated file?)",
				info.name, info.begin, info.end, bodyLen)
		}
		next, prev = info.end, info.name
	}
	if int64(next) != bodyLen {
		return fmt.Errorf("%d trailing bytes after the last tensor's data (the data section is %d bytes, tensors cover %d)",
			bodyLen-int64(next), bodyLen, next)
	}
	return nil
}

// cut points each tensor's Data into body. The tensors are in offset order
// and tile body (layOut checked it), so each one starts where the one
// before it ends.
func cut(tensors []Tensor, body []byte) []Tensor {
	begin := 0
	for i, t := range tensors {
		size, _ := byteCount(t.DType, t.Shape) // checked when the header was decoded
		end := begin + size
		tensors[i].Data = body[begin:end:end]
		begin = end
	}
	return tensors
}

// decodeHeader decodes and checks the JSON header. It walks the JSON token by
// token instead of unmarshalling into maps so that it can refuse what
// encoding/json would let through silently: duplicate keys (last one wins),
// null for a number, keys matched case-insensitively.
func decodeHeader(header []byte) ([]tensorInfo, map[string]string, error) {
	if !utf8.Valid(header) {
		return nil, nil, errors.New("not valid UTF-8")
	}
	if len(header) == 0 || header[0] != '{' {
		return nil, nil, errors.New("does not start with '{'; not a safetensors file")
	}
	d := &headerDecoder{dec: json.NewDecoder(bytes.NewReader(header))}
	d.dec.UseNumber() // numbers come back as text, checked by ParseInt

	if err := d.delim('{', "the header"); err != nil {
		return nil, nil, err
	}
	var infos []tensorInfo
	metadata := map[string]string{}
	seen := map[string]bool{}
	for d.dec.More() {
		name, err := d.key("the header")
		if err != nil {
			return nil, nil, err
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("entry %q appears twice", name)
		}
		seen[name] = true
		if name == metadataKey {
			if metadata, err = d.metadata(); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", metadataKey, err)
			}
			continue
		}
		info, err := d.tensorInfo(name)
		if err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		infos = append(infos, info)
	}
	if err := d.delim('}', "the header"); err != nil {
		return nil, nil, err
	}
	// Only whitespace (writers pad with spaces) may follow the object.
	if tok, err := d.dec.Token(); err != io.EOF {
		if err != nil {
			return nil, nil, fmt.Errorf("after the header object: %w", err)
		}
		return nil, nil, fmt.Errorf("found %s after the header object", describe(tok))
	}
	return infos, metadata, nil
}

// headerDecoder reads the header's JSON tokens with messages that say what
// was expected where.
type headerDecoder struct {
	dec *json.Decoder
}

// syntaxError reports malformed JSON with where in the header it broke.
func (d *headerDecoder) syntaxError(where string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s is not valid JSON: the header ends before it is complete", where)
	}
	return fmt.Errorf("%s is not valid JSON (near header byte %d): %w", where, d.dec.InputOffset(), err)
}

func (d *headerDecoder) delim(want json.Delim, where string) error {
	tok, err := d.dec.Token()
	if err != nil {
		return d.syntaxError(where, err)
	}
	if tok != want {
		return fmt.Errorf("%s: expected %q, found %s", where, want.String(), describe(tok))
	}
	return nil
}

func (d *headerDecoder) key(where string) (string, error) {
	tok, err := d.dec.Token()
	if err != nil {
		return "", d.syntaxError(where, err)
	}
	s, ok := tok.(string)
	if !ok { // the decoder only yields strings in key position; be safe anyway
		return "", fmt.Errorf("%s: expected a key, found %s", where, describe(tok))
	}
	return s, nil
}

// str reads a value that must be a JSON string.
func (d *headerDecoder) str(where string) (string, error) {
	tok, err := d.dec.Token()
	if err != nil {
		return "", d.syntaxError(where, err)
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("%s must be a string, found %s", where, describe(tok))
	}
	return s, nil
}

// ints reads a value that must be a JSON array of whole numbers.
func (d *headerDecoder) ints(where string) ([]int, error) {
	if err := d.delim('[', where); err != nil {
		return nil, err
	}
	out := []int{}
	for d.dec.More() {
		tok, err := d.dec.Token()
		if err != nil {
			return nil, d.syntaxError(where, err)
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("%s must hold whole numbers, found %s", where, describe(tok))
		}
		v, err := strconv.ParseInt(string(num), 10, strconv.IntSize)
		if err != nil {
			return nil, fmt.Errorf("%s: %s is not a whole number that fits in an int", where, num)
		}
		out = append(out, int(v))
	}
	return out, d.delim(']', where)
}

// metadata reads the __metadata__ object: string keys to string values.
func (d *headerDecoder) metadata() (map[string]string, error) {
	if err := d.delim('{', "the value"); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for d.dec.More() {
		k, err := d.key("the object")
		if err != nil {
			return nil, err
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("key %q appears twice", k)
		}
		if out[k], err = d.str(fmt.Sprintf("the value of %q", k)); err != nil {
			return nil, err
		}
	}
	return out, d.delim('}', "the object")
}

// tensorInfo reads one tensor entry and checks it on its own; layOut checks
// how the entries fit together.
func (d *headerDecoder) tensorInfo(name string) (tensorInfo, error) {
	info := tensorInfo{name: name}
	if err := d.delim('{', "the entry"); err != nil {
		return info, err
	}
	var offsets []int
	seen := map[string]bool{}
	for d.dec.More() {
		field, err := d.key("the entry")
		if err != nil {
			return info, err
		}
		if seen[field] {
			return info, fmt.Errorf("field %q appears twice", field)
		}
		seen[field] = true
		switch field {
		case "dtype":
			info.dtype, err = d.str("dtype")
		case "shape":
			info.shape, err = d.ints("shape")
		case "data_offsets":
			offsets, err = d.ints("data_offsets")
		default:
			err = fmt.Errorf("unknown field %q (expected dtype, shape, data_offsets)", field)
		}
		if err != nil {
			return info, err
		}
	}
	if err := d.delim('}', "the entry"); err != nil {
		return info, err
	}
	for _, field := range []string{"dtype", "shape", "data_offsets"} {
		if !seen[field] {
			return info, fmt.Errorf("field %q is missing", field)
		}
	}

	var err error
	if info.size, err = byteCount(info.dtype, info.shape); err != nil {
		return info, err
	}
	if len(offsets) != 2 {
		return info, fmt.Errorf("data_offsets %v must be [begin, end]", offsets)
	}
	info.begin, info.end = offsets[0], offsets[1]
	if info.begin < 0 || info.end < info.begin {
		return info, fmt.Errorf("data_offsets %v must satisfy 0 <= begin <= end", offsets)
	}
	if info.end-info.begin != info.size {
		return info, fmt.Errorf("data_offsets %v hold %d bytes but dtype %s and shape %v need %d",
			offsets, info.end-info.begin, info.dtype, info.shape, info.size)
	}
	return info, nil
}

// describe names a JSON token for error messages.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return fmt.Sprintf("%q", v.String())
	case string:
		return fmt.Sprintf("the string %q", v)
	case json.Number:
		return "the number " + v.String()
	case bool:
		return fmt.Sprintf("%t", v)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}
