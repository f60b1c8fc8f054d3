package draw

import (
	"errors"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
)

// maxDrawings bounds the search for a free drawing-<n>.png name.
const maxDrawings = 10000

// savePNG writes img into dir as the first drawing-<n>.png that does not
// exist yet (never overwriting one) and returns its path.
func savePNG(dir string, img image.Image) (string, error) {
	for n := 1; n <= maxDrawings; n++ {
		path := filepath.Join(dir, fmt.Sprintf("drawing-%d.png", n))
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("save the drawing: %w", err)
		}
		if err := png.Encode(f, img); err != nil {
			f.Close()
			os.Remove(path)
			return "", fmt.Errorf("save the drawing as %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			os.Remove(path)
			return "", fmt.Errorf("save the drawing as %s: %w", path, err)
		}
		return path, nil
	}
	return "", fmt.Errorf("save the drawing: drawing-1.png to drawing-%d.png all exist in %s; move some away", maxDrawings, dir)
}
