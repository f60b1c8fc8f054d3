package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
)

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

// fileSize is the exact decompressed size of a file of count items: the
// magic number, one 4-byte size per dimension, then the items.
func (k idxKind) fileSize(count int) int64 {
	return int64(4+4*k.dims) + int64(count)*int64(k.itemSize)
}

// magic is the IDX magic number: two zero bytes, type 0x08 (unsigned byte),
// then the dimension count.
func (k idxKind) magic() uint32 { return 0x0800 | uint32(k.dims) }

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

// decodeIDX reads one IDX file of the given kind holding exactly count
// items. The exact size is known before the first byte is read, so a
// header that claims another count is refused at once, the body gets one
// buffer of the right size, and the reader never reads more than one byte
// past the end: a hostile file cannot make it buffer or decompress more
// than the real file holds. When sum is not nil every decompressed byte is
// also written to it, so verification and parsing share one pass. Without
// keep the body is only read (for the hash), not kept or checked.
func decodeIDX(file string, r io.Reader, kind idxKind, count int, sum hash.Hash, keep bool) (decoded, error) {
	in, gzipped, err := decompress(file, r, kind.fileSize(count))
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

	if claimed := binary.BigEndian.Uint32(sizes); uint64(claimed) != uint64(count) {
		return decoded{}, bad("header claims %d %s, want %d (this file holds exactly %d; is it the right file?)",
			claimed, kind.what, count, count)
	}
	if kind.dims == 3 {
		rows, cols := binary.BigEndian.Uint32(sizes[4:]), binary.BigEndian.Uint32(sizes[8:])
		if rows != Rows || cols != Cols {
			return decoded{}, bad("image size %dx%d, want %dx%d", rows, cols, Rows, Cols)
		}
	}

	bodySize := count * kind.itemSize
	if !keep {
		got, err := io.CopyN(io.Discard, in, int64(bodySize))
		if err != nil {
			return decoded{}, shortRead(file, err, "truncated body", bodySize, int(got), " of "+kind.item+" data")
		}
		return decoded{count: count}, checkEnd(file, in, count, kind)
	}
	body := make([]byte, bodySize)
	if got, err := io.ReadFull(in, body); err != nil {
		return decoded{}, shortRead(file, err, "truncated body", bodySize, got, " of "+kind.item+" data")
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
	return decoded{data: body, count: count}, nil
}

// checkEnd makes sure nothing follows the body, reading at most one byte:
// one is enough to tell trailing data from the end. Reaching the end also
// makes gzip verify its CRC-32 and size trailer.
func checkEnd(file string, in io.Reader, count int, kind idxKind) error {
	var one [1]byte
	n, err := io.ReadFull(in, one[:])
	switch {
	case n > 0:
		return &FormatError{File: file, Reason: fmt.Sprintf("trailing data after the %d %s (the file is longer than %d bytes)",
			count, kind.what, kind.fileSize(count))}
	case err == io.EOF:
		return nil
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
// failures of r itself. size is the decompressed size the caller expects:
// r itself is cut off a little beyond what any gzip of that much data can
// take (maxCompressedSize), so a stream of empty deflate blocks cannot keep
// the reader busy forever.
func decompress(file string, r io.Reader, size int64) (in io.Reader, gzipped bool, err error) {
	limited := &sourceLimit{file: file, r: &ioErrReader{file: file, r: r}, left: maxCompressedSize(size)}
	src := bufio.NewReaderSize(limited, 64<<10)
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

// maxCompressedSize bounds the bytes a source may send for a file of size
// decompressed bytes: deflate's worst case is stored blocks (5 bytes per
// 65 535), plus a gzip header (at most about 66 KB with its optional
// fields) and trailer. The bound is generous; it only stops endless input.
func maxCompressedSize(size int64) int64 {
	return size + size/1024 + 1<<20
}

// sourceLimit fails once more than left bytes have been read from r.
type sourceLimit struct {
	file string
	r    io.Reader
	left int64
}

func (l *sourceLimit) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, &FormatError{File: l.file, Reason: "the source sends more data than any copy of this file can hold"}
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, &FormatError{File: l.file, Reason: "the source sends more data than any copy of this file can hold"}
	}
	return n, err
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
	var formatErr *FormatError
	if errors.As(err, &ioErr) || errors.As(err, &formatErr) {
		return n, err // the source failed, or sent too much: not corrupt deflate data
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
