package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"mnist-tui/dataset"
	"mnist-tui/dataset/prepare"
	"mnist-tui/engine"
	"mnist-tui/engine/train"
)

func runPredict(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet("predict", "predict CHECKPOINT IMAGE... [--top K] [--model M] [--explain]", env)
	top := fs.Int("top", 1, "how many of the best classes to print per image")
	explain := fs.Bool("explain", false, "show each image as prepared, step by step, which pixels made the answer (occlusion saliency), and every probability")
	model := fs.String("model", "", "model of a bare state_dict, when it cannot be recognised")
	dsName := fs.String("dataset", "", "data set the model was trained on, for its normalisation and class names (default: the checkpoint's, else mnist)")
	if err := parse(fs, reorderArgs(fs, args)); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return usagef("want a checkpoint and at least one image, got %s", pluralize(fs.NArg(), "argument"))
	}
	if *top < 1 || *top > 10 {
		return usagef("--top must be between 1 and 10, got %d", *top)
	}
	path := fs.Arg(0)
	ck, net, err := loadModel(path, *model, 1)
	if err != nil {
		return err
	}
	name := *dsName
	if name == "" {
		name = checkpointDataset(ck, "mnist")
	}
	info, err := lookupDataset(path, name, *dsName != "")
	if err != nil {
		return err
	}
	failed := 0
	for _, image := range fs.Args()[1:] {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if *explain {
			if err := explainFile(env.Stdout, net, info, image); err != nil {
				fmt.Fprintf(env.Stderr, "%s: %v\n", image, err)
				failed++
			}
			continue
		}
		probs, err := predictFile(net, info, image)
		if err != nil {
			fmt.Fprintf(env.Stderr, "%s: %v\n", image, err)
			failed++
			continue
		}
		fmt.Fprintf(env.Stdout, "%s: %s\n", image, formatTop(probs, info, *top))
	}
	if failed > 0 {
		return fmt.Errorf("%d of %s could not be read", failed, pluralize(fs.NArg()-1, "image"))
	}
	return nil
}

// predictFile reads one picture, prepares it as MNIST was prepared, and
// returns the model's probabilities.
func predictFile(net *engine.Net, info dataset.Info, path string) ([10]float32, error) {
	var probs [10]float32
	f, err := os.Open(path)
	if err != nil {
		return probs, errors.Unwrap(err) // the path is printed already
	}
	defer f.Close()
	img, err := prepare.Decode(f)
	if err != nil {
		return probs, err
	}
	pixels, err := prepare.FromImage(img)
	if err != nil {
		return probs, err
	}
	return train.Classify(net, info, pixels), nil
}

// formatTop prints the k most probable classes: "7 (p=0.98)".
func formatTop(probs [10]float32, info dataset.Info, k int) string {
	order := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	sort.SliceStable(order, func(i, j int) bool { return probs[order[i]] > probs[order[j]] })
	parts := make([]string, k)
	for i := range parts {
		c := order[i]
		parts[i] = fmt.Sprintf("%s (p=%.2f)", info.Classes[c], probs[c])
	}
	return strings.Join(parts, ", ")
}
