// Package dataset reads the MNIST family of data sets (MNIST, Fashion-MNIST):
// a strict IDX reader, fetching and SHA-256 verification of the four files of
// a set from a local folder or public sources, and a deterministic batch
// loader that normalises images into caller-provided float32 buffers.
package dataset

// The geometry every supported data set shares.
const (
	Rows       = 28
	Cols       = 28
	ImageSize  = Rows * Cols // bytes (pixels) per image
	NumClasses = 10
)

// Set is one split (train or test) of a data set, kept as the raw bytes of
// the files: images stay uint8 (47 MB for MNIST's train split instead of
// 188 MB as float32) and are normalised only when a batch is filled.
type Set struct {
	Name   string  // e.g. "mnist train"; used in messages
	Images []uint8 // N*ImageSize bytes, image after image, rows top to bottom
	Labels []uint8 // N class indices, each 0-9
	N      int
}

// Image returns the ImageSize pixels of image i (0 <= i < N). The slice
// aliases the set's memory and is capped so an append cannot overwrite the
// next image.
func (s *Set) Image(i int) []uint8 {
	lo, hi := i*ImageSize, (i+1)*ImageSize
	return s.Images[lo:hi:hi]
}
