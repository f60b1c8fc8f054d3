package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
)

// MaxImages caps the item count an IDX header may claim. A corrupt or
// hostile header could otherwise claim billions of images; the real sets
// hold 70 000 at most.
const MaxImages = 10_000_000

// FormatError reports an IDX file (or its gzip wrapping) that is not what
// the reader expects. Like image/png's FormatError it describes the data,
// not an I/O failure; unlike it, it names the file.
type FormatError struct {
	File   string // the file's path or a description of where it came from
	Reason string // what is wrong, e.g. "truncated body: expected 7840 bytes of image data, got 12"
	Err    error  // underlying cause (gzip errors), may be nil
}

func (e *FormatError) Error() string {
	return "dataset: " + e.File + ": invalid IDX file: " + e.Reason
}

func (e *FormatError) Unwrap() error { return e.Err }

// idxKind is what a caller expects an IDX file to hold.
type idxKind struct {
	what     string // "images" or "labels", for messages
	item     string // "image" or "label", for messages
	dims     int    // dimension count in the magic number
	itemSize int    // bytes per item
}

func imagesKind() idxKind {
	return idxKind{what: "images", item: "image", dims: 3, itemSize: ImageSize}
}
func labelsKind() idxKind { return idxKind{what: "labels", item: "label", dims: 1, itemSize: 1} }

// magic is the IDX magic number: two zero bytes, type 0x08 (unsigned byte),
// then the dimension count.
func (k idxKind) magic() uint32 { return 0x0800 | uint32(k.dims) }

// ReadImages decodes an idx3 image file (raw or gzip, detected by content),
// checking everything down to the last byte. name is used in errors only.
func ReadImages(name string, r io.Reader) (images []uint8, n int, err error) {
	d, err := decodeIDX(name, r, imagesKind(), nil)
	return d.data, d.count, err
}

// ReadLabels decodes an idx1 label file (raw or gzip, detected by content)
// and checks every label is a class 0-9. name is used in errors only.
func ReadLabels(name string, r io.Reader) ([]uint8, error) {
	d, err := decodeIDX(name, r, labelsKind(), nil)
	return d.data, err
}

// ReadSetFiles reads a pair of image and label files into a Set named name.
func ReadSetFiles(name, imagesPath, labelsPath string) (*Set, error) {
	images, err := readFile(imagesPath, imagesKind())
	if err != nil {
		return nil, err
	}
	labels, err := readFile(labelsPath, labelsKind())
	if err != nil {
		return nil, err
	}
	return newSet(name, imagesPath, images, labelsPath, labels)
}

func readFile(path string, kind idxKind) (decoded, error) {
	f, err := os.Open(path)
	if err != nil {
		return decoded{}, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	return decodeIDX(path, f, kind, nil)
}

// newSet pairs decoded images and labels, refusing a pair whose counts
// disagree: training on it would silently drop or misalign examples.
func newSet(name, imagesFile string, images decoded, labelsFile string, labels decoded) (*Set, error) {
	if images.count != labels.count {
		return nil, fmt.Errorf("dataset: %s and %s: count mismatch: %d images but %d labels; the two files belong to different sets",
			imagesFile, labelsFile, images.count, labels.count)
	}
	return &Set{Name: name, Images: images.data, Labels: labels.data, N: images.count}, nil
}

// decoded is the checked body of one IDX file.
type decoded struct {
	data  []uint8
	count int
}

// decodeIDX reads one IDX file of the given kind. When sum is not nil every
// decompressed byte is also written to it, so verification and parsing
// share one pass over the data.
func decodeIDX(file string, r io.Reader, kind idxKind, sum hash.Hash) (decoded, error) {
	in, gzipped, err := decompress(file, r)
	if err != nil {
		return decoded{}, err
	}
	if sum != nil {
		in = io.TeeReader(in, sum)
	}
	bad := func(format string, args ...any) error {
		return &FormatError{File: file, Reason: fmt.Sprintf(format, args...)}
	}

	var header [4 + 4*3]byte
	magic := header[:4]
	if got, err := io.ReadFull(in, magic); got == 0 && err == io.EOF {
		if gzipped {
			return decoded{}, bad("empty file (the gzip stream decompresses to nothing)")
		}
		return decoded{}, bad("empty file")
	} else if err != nil {
		return decoded{}, shortRead(file, err, "truncated header", len(magic), got, "")
	}
	if magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 {
		return decoded{}, bad("bad magic number 0x%08x, want 0x%08x (IDX %s of unsigned bytes)",
			binary.BigEndian.Uint32(magic), kind.magic(), kind.what)
	}
	if dims := int(magic[3]); dims != kind.dims {
		return decoded{}, bad("wrong dimension count %d, want %d (IDX %s files have %d; is this the right file?)",
			dims, kind.dims, kind.what, kind.dims)
	}
	sizes := header[4 : 4+4*kind.dims]
	if got, err := io.ReadFull(in, sizes); err != nil {
		return decoded{}, shortRead(file, err, "truncated header", len(magic)+len(sizes), len(magic)+got, "")
	}

	count := binary.BigEndian.Uint32(sizes)
	switch {
	case count == 0:
		return decoded{}, bad("header claims 0 %s: the file holds no data", kind.what)
	case count > MaxImages:
		return decoded{}, bad("header claims %d %s, more than the limit of %d", count, kind.what, MaxImages)
	}
	if kind.dims == 3 {
		rows, cols := binary.BigEndian.Uint32(sizes[4:]), binary.BigEndian.Uint32(sizes[8:])
		if rows != Rows || cols != Cols {
			return decoded{}, bad("image size %dx%d, want %dx%d", rows, cols, Rows, Cols)
		}
	}

	bodySize := int(count) * kind.itemSize
	body, err := readBody(in, bodySize)
	if err != nil {
		return decoded{}, shortRead(file, err, "truncated body", bodySize, len(body), " of "+kind.item+" data")
	}
	if err := checkEnd(file, in, count, kind); err != nil {
		return decoded{}, err
	}

	if kind.dims == 1 {
		for i, label := range body {
			if label >= NumClasses {
				return decoded{}, bad("label %d at index %d is outside 0-%d", label, i, NumClasses-1)
			}
		}
	}
	return decoded{data: body, count: int(count)}, nil
}

// readBody reads exactly size bytes. It grows its buffer as data arrives
// instead of allocating size up front, so a header that lies about its
// count costs memory only for bytes that really exist.
func readBody(in io.Reader, size int) ([]byte, error) {
	const firstChunk = 1 << 20
	buf := make([]byte, 0, min(size, firstChunk))
	for len(buf) < size {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(2*cap(buf), size))
			copy(grown, buf)
			buf = grown
		}
		n, err := in.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF && len(buf) < size {
			return buf, io.ErrUnexpectedEOF
		}
		if err != nil && err != io.EOF {
			return buf, err
		}
	}
	return buf, nil
}

// checkEnd makes sure nothing follows the body. Reading to the end also
// makes gzip verify its CRC-32 and size trailer. It stops counting at a
// limit so a huge tail is not read just to be reported.
func checkEnd(file string, in io.Reader, count uint32, kind idxKind) error {
	const limit = 1 << 20
	n, err := io.Copy(io.Discard, io.LimitReader(in, limit+1))
	var fe *FormatError
	switch {
	case errors.As(err, &fe):
		// Corrupt gzip data explains extra bytes better than "garbage".
		return err
	case n > limit:
		return &FormatError{File: file, Reason: fmt.Sprintf("trailing garbage: more than %d bytes after the %d %s", limit, count, kind.what)}
	case n > 0:
		return &FormatError{File: file, Reason: fmt.Sprintf("trailing garbage: %d bytes after the %d %s", n, count, kind.what)}
	}
	return err
}

// shortRead turns an error from reading part of the file into the most
// useful message: gzip and I/O errors pass through, a clean end of data
// becomes "truncated ...: expected N bytes, got M".
func shortRead(file string, err error, what string, want, got int, ofWhat string) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return &FormatError{File: file, Reason: fmt.Sprintf("%s: expected %d bytes%s, got %d", what, want, ofWhat, got)}
	}
	return err
}

// decompress detects gzip by its magic bytes 1f 8b (the name may lie) and
// returns a reader of the decompressed data. Errors of the returned reader
// are already labelled: *FormatError for corrupt gzip data, *ioError for
// failures of r itself.
func decompress(file string, r io.Reader) (in io.Reader, gzipped bool, err error) {
	src := bufio.NewReaderSize(&ioErrReader{file: file, r: r}, 64<<10)
	head, err := src.Peek(2)
	if err != nil && err != io.EOF {
		return nil, false, err
	}
	if len(head) < 2 || head[0] != 0x1f || head[1] != 0x8b {
		return src, false, nil
	}
	zr, err := gzip.NewReader(src)
	if err != nil {
		return nil, true, gzipError(file, err)
	}
	return &gzipReader{file: file, zr: zr}, true, nil
}

// gzipReader labels gzip's errors: data corruption becomes a FormatError,
// while I/O errors from the underlying reader (already *ioError) pass
// through so a dropped download is not blamed on the file.
type gzipReader struct {
	file string
	zr   *gzip.Reader
}

func (g *gzipReader) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	if err == nil || err == io.EOF {
		return n, err
	}
	var ioErr *ioError
	if errors.As(err, &ioErr) {
		return n, err
	}
	return n, gzipError(g.file, err)
}

func gzipError(file string, err error) error {
	reason := "gzip data is corrupt: " + err.Error()
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		reason = "gzip data is corrupt: the compressed stream is cut short (missing data or trailer)"
	}
	return &FormatError{File: file, Reason: reason, Err: err}
}

// ioError marks a failure of the underlying reader (disk, network), as
// opposed to bad data.
type ioError struct {
	file string
	err  error
}

func (e *ioError) Error() string { return fmt.Sprintf("dataset: %s: read: %v", e.file, e.err) }
func (e *ioError) Unwrap() error { return e.err }

type ioErrReader struct {
	file string
	r    io.Reader
}

func (r *ioErrReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = &ioError{file: r.file, err: err}
	}
	return n, err
}
