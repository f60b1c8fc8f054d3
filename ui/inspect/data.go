package inspect

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"mnist-tui/dataset"
	"mnist-tui/dataset/augment"
	"mnist-tui/engine/train"
	"mnist-tui/ui/view"
)

// Data is the page of the training set: a grid of digits with their labels,
// page after page, like the first figure of the PyTorch tutorial, to see
// what the model learns from.
type Data struct {
	base
	set     *dataset.Set
	setName string // "mnist", "fashion-mnist"
	err     error  // the set is malformed
	grid    imageGrid

	// augmented shows each image as the run's augmentation turns it in
	// epoch; with augmentation off, as exampleAugment would.
	augmented bool
	settings  augment.Settings
	seed      uint64
	epoch     int
	scratch   []float32
}

// exampleAugment is shown when the run does not augment: usual settings for
// digits, so the key shows what the augment_* keys would do.
var exampleAugment = augment.Settings{Rotate: 15, Translate: 0.1, ScaleMin: 0.9, ScaleMax: 1.1}

// NewData returns the training set page.
func NewData(opts view.Options) *Data {
	return &Data{base: newBase(opts), grid: imageGrid{browse: true}}
}

// Name is the page's label in the tab bar.
func (d *Data) Name() string { return "data" }

// SetSnapshot takes the loaded data set; nothing is computed.
func (d *Data) SetSnapshot(s train.Snapshot) {
	d.names = namesOf(s)
	d.settings = augment.Settings{Rotate: s.Config.AugmentRotate, Translate: s.Config.AugmentTranslate,
		ScaleMin: s.Config.AugmentScaleMin, ScaleMax: s.Config.AugmentScaleMax}
	d.seed, d.epoch = s.Config.Seed, max(s.Epoch, 1)
	var set *dataset.Set
	if s.Data != nil {
		set, d.setName = s.Data.Train, s.Data.Info.Name
	}
	if set == d.set {
		return
	}
	d.set, d.err = set, checkSet(set)
	n := 0
	if set != nil && d.err == nil {
		n = set.N
	}
	d.grid.setCount(n)
}

// checkSet says what is wrong with a set whose sizes disagree, so that the
// page never indexes past its end.
func checkSet(s *dataset.Set) error {
	switch {
	case s == nil:
		return nil
	case s.N < 0 || len(s.Labels) != s.N:
		return fmt.Errorf("%s: %d labels for %d images", s.Name, len(s.Labels), s.N)
	case len(s.Images) != s.N*dataset.ImageSize:
		return fmt.Errorf("%s: %d pixels for %d images, want %d", s.Name, len(s.Images), s.N, s.N*dataset.ImageSize)
	}
	return nil
}

// Update answers the page's keys.
func (d *Data) Update(msg tea.Msg) tea.Cmd {
	if mouse, ok := msg.(tea.MouseMsg); ok {
		switch action, _, _ := d.mouse(mouse); action {
		case mouseWheelUp:
			d.grid.pageUp()
		case mouseWheelDown:
			d.grid.pageDown()
		}
		return nil
	}
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	switch {
	case key.Matches(k, d.keys.Zoom):
		d.grid.toggleZoom()
	case key.Matches(k, d.keys.Augment):
		d.augmented = !d.augmented
	default:
		d.keys.moveGrid(k, &d.grid)
	}
	return nil
}

// Keys are the bindings that do something now.
func (d *Data) Keys() []key.Binding {
	if d.set == nil || d.err != nil {
		return nil
	}
	return []key.Binding{d.keys.Turn, d.keys.Ends, d.keys.Zoom, d.keys.Augment, mouseHelp("wheel", "turn pages")}
}

// CapturesKeys is false: the page leaves the dashboard its keys.
func (d *Data) CapturesKeys() bool { return false }

// Render draws the page in exactly width x height cells.
func (d *Data) Render(width, height int) string {
	switch {
	case d.set == nil:
		return message("the training set appears once the data set is loaded", d.st.dim, width, height)
	case d.err != nil:
		return message("cannot show the training set: "+d.err.Error(), d.st.bad, width, height)
	}
	settings := d.settings
	if settings.IsOff() {
		settings = exampleAugment
	}
	cardAt := func(i int) card {
		img := d.set.Image(i)
		if d.augmented {
			img = d.augmentedImage(settings, i)
		}
		return card{image: img, caption: []string{d.names.of(int(d.set.Labels[i]))}, style: d.st.label}
	}
	worst := []string{strings.Repeat("W", d.names.widest())}
	grid, ok := d.grid.render(cardAt, worst, d.dd, d.hiRes, d.st, width, height-gridTop)
	if !ok {
		w, h := minGridSize(worst)
		return needSize(w, h+1, width, height, d.st)
	}
	title := "training set"
	if d.setName != "" {
		title += " · " + d.setName
	}
	if d.augmented {
		title += fmt.Sprintf(" · augmented, epoch %d", d.epoch)
		if d.settings.IsOff() {
			title += " (example)" // this run does not augment
		}
	}
	head := d.st.title.Render(title) + d.st.dim.Render(" · "+d.grid.position())
	return block(append([]string{head}, grid...), width, height)
}

// augmentedImage is image i as the trainer's loader augments it in the
// page's epoch (rounded to bytes for display).
func (d *Data) augmentedImage(s augment.Settings, i int) []uint8 {
	if d.scratch == nil {
		d.scratch = make([]float32, dataset.ImageSize)
	}
	out := make([]uint8, dataset.ImageSize)
	p := augment.Draw(s, dataset.Rows, dataset.Cols, d.seed, d.epoch, i)
	augment.ApplyUint8(out, d.set.Image(i), dataset.Rows, dataset.Cols, p, d.scratch)
	return out
}
