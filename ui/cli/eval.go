package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"mnist-tui/dataset"
	"mnist-tui/engine"
	"mnist-tui/engine/checkpoint"
	"mnist-tui/engine/config"
	"mnist-tui/engine/train"
)

func runEval(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet("eval", "eval CHECKPOINT [--dataset D] [--data-dir DIR] [--model M]", env)
	var cf configFlags
	fs.StringVar(&cf.path, "config", "", "configuration `file` (default ./config.yaml, else the built-in default)")
	fs.StringVar(&cf.dataset, "dataset", "", "data set: mnist or fashion-mnist (default: the checkpoint's)")
	fs.StringVar(&cf.dataDir, "data-dir", "", "`folder` holding the data set's four .gz files")
	// Bound to cf like the other config flags: cf.load applies every flag
	// given, so a --model held elsewhere would be applied as "".
	fs.StringVar(&cf.model, "model", "", "model of a bare state_dict, when it cannot be recognised")
	fs.IntVar(&cf.threads, "threads", 0, "worker threads (0 = all cores)")
	if err := parse(fs, reorderArgs(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one checkpoint file, got %s", pluralize(fs.NArg(), "argument"))
	}
	cfg, _, err := cf.load(fs, env)
	if err != nil {
		return err
	}
	ck, net, err := loadModel(fs.Arg(0), cf.model, cfg.Threads)
	if err != nil {
		return err
	}
	dsName := cfg.Dataset
	if !flagSet(fs, "dataset") {
		dsName = checkpointDataset(ck, dsName)
	}
	info, err := lookupDataset(fs.Arg(0), dsName, flagSet(fs, "dataset"))
	if err != nil {
		return err
	}
	_, test, err := dataset.Load(ctx, dsName, dataset.FetchOptions{DataDir: cfg.DataDir})
	if err != nil {
		return err
	}
	ev := train.Evaluate(net, test, info, 1000, &train.EvalScratch{})
	fmt.Fprintf(env.Stdout, "%s (%s) on the %s test set, %s\n", fs.Arg(0), modelLabel(ck, net), dsName, pluralize(ev.N, "image"))
	fmt.Fprintf(env.Stdout, "Accuracy on test set: %.2f %%\n", ev.Accuracy())
	fmt.Fprintf(env.Stdout, "Mean loss: %.4f\n\n", ev.Loss)
	writeClassAccuracy(env.Stdout, ev, info)
	fmt.Fprintln(env.Stdout)
	writeConfusion(env.Stdout, ev, info)
	return nil
}

// loadModel reads a checkpoint (ours, or a bare PyTorch state_dict) into a
// new net. The model is the checkpoint's, the one recognised from its
// tensors, or the one named.
func loadModel(path, model string, threads int) (*checkpoint.Checkpoint, *engine.Net, error) {
	ck, err := checkpoint.Load(path)
	if err != nil {
		return nil, nil, err
	}
	named := model != ""
	if !named {
		model = ck.Model
	}
	if model == "" {
		model, err = checkpoint.DetectModel(ck.File)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w (name it with --model)", path, err)
		}
	}
	net, err := newCheckpointNet(ck, model, threads)
	if err != nil && named {
		return nil, nil, usageError{fmt.Errorf("--model: %w", err)}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: the checkpoint names %w; pass --model to say which model it holds", path, err)
	}
	if err := ck.LoadInto(net.Params(), nil); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := ck.LoadBuffers(net.Buffers()); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return ck, net, nil
}

// modelLabel names the checkpoint's model as the dashboard did while it trained: a custom
// network by the name its config gave it (name: wide-bn), the others by the model.
func modelLabel(ck *checkpoint.Checkpoint, net *engine.Net) string {
	if net.Model() != config.Custom || !ck.HasMeta {
		return net.Model()
	}
	cfg, err := config.Parse("the checkpoint's config", []byte(ck.Meta.Config))
	if err != nil || cfg.Model != config.Custom {
		return net.Model()
	}
	return cfg.Label()
}

// checkpointDataset is the data set a checkpoint was trained on, or def
// when it does not say (a bare state_dict).
func checkpointDataset(ck *checkpoint.Checkpoint, def string) string {
	if ck.HasMeta && ck.Meta.Dataset != "" {
		return ck.Meta.Dataset
	}
	return def
}

// lookupDataset finds the data set a command is to use. An unknown name
// given with --dataset is the command line's fault (exit 2); one read from
// the checkpoint is the file's (exit 1), and the fix is to name one.
func lookupDataset(checkpointPath, name string, fromFlag bool) (dataset.Info, error) {
	info, err := dataset.Lookup(name)
	switch {
	case err == nil:
		return info, nil
	case fromFlag:
		return info, usageError{fmt.Errorf("--dataset: %w", err)}
	}
	return info, fmt.Errorf("%s: the checkpoint was trained on data set %q, which this program does not know; pass --dataset %s to use another",
		checkpointPath, name, strings.Join(dataset.Names(), " or --dataset "))
}

func writeClassAccuracy(w io.Writer, ev train.Evaluation, info dataset.Info) {
	fmt.Fprintln(w, "Per-class accuracy:")
	for c := 0; c < 10; c++ {
		total := 0
		for _, n := range ev.Confusion[c] {
			total += n
		}
		fmt.Fprintf(w, "  %-14s %6.2f %%  (%d of %d)\n", classLabel(info, c), ev.ClassAccuracy(c), ev.Confusion[c][c], total)
	}
}

func writeConfusion(w io.Writer, ev train.Evaluation, info dataset.Info) {
	fmt.Fprintln(w, "Confusion matrix (rows: truth, columns: prediction):")
	fmt.Fprintf(w, "%14s", "")
	for c := 0; c < 10; c++ {
		fmt.Fprintf(w, "%6d", c)
	}
	fmt.Fprintln(w)
	for truth := 0; truth < 10; truth++ {
		fmt.Fprintf(w, "  %-12.12s", classLabel(info, truth))
		for pred := 0; pred < 10; pred++ {
			fmt.Fprintf(w, "%6d", ev.Confusion[truth][pred])
		}
		fmt.Fprintln(w)
	}
}

// classLabel is "3" for MNIST and "3 Dress" for Fashion-MNIST.
func classLabel(info dataset.Info, c int) string {
	if name := info.Classes[c]; name != fmt.Sprint(c) {
		return fmt.Sprintf("%d %s", c, name)
	}
	return fmt.Sprint(c)
}
