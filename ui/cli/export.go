package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"mnist-tui/engine/checkpoint"
	"mnist-tui/engine/config"
	"mnist-tui/engine/network"
	"mnist-tui/engine/pytorch"
)

// runExport writes a custom network's checkpoint as a PyTorch module.
func runExport(_ context.Context, env *Env, args []string) error {
	fs := newFlagSet("export", "export CHECKPOINT --pytorch DIR", env)
	dir := fs.String("pytorch", "", "`folder` to write model.py and model.safetensors into")
	if err := parse(fs, reorderArgs(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one checkpoint file, got %d arguments", fs.NArg())
	}
	if *dir == "" {
		return usagef("--pytorch DIR is required: the folder to write model.py and model.safetensors into")
	}
	ck, err := checkpoint.Load(fs.Arg(0))
	if err != nil {
		return err
	}
	if ck.Network() == nil && slices.Contains(network.Presets(), ck.Model) {
		// engine/pytorch/models.py, which holds the built-in models, is in the source
		// tree, not beside the binary: say what works with the binary alone.
		return fmt.Errorf("export: %s holds the built-in %s model; export writes custom networks: "+
			"'mnist-tui models %s > %s.yaml' writes it as one, 'mnist-tui train --config %s.yaml' trains it, and its checkpoint exports. "+
			"This file itself loads into the PyTorch tutorial's class as it is (README: Runs and checkpoints)",
			fs.Arg(0), ck.Model, ck.Model, ck.Model, ck.Model)
	}
	if err := pytorch.Export(*dir, ck); err != nil {
		return err
	}
	py, weights := filepath.Join(*dir, "model.py"), filepath.Join(*dir, "model.safetensors")
	fmt.Fprintf(env.Stdout, "wrote %s and %s\n", py, weights)
	data, found := exportDataDir(ck)
	fmt.Fprintf(env.Stdout, "evaluate it: python3 %s %s --data-dir %s\n", shellQuote(py), shellQuote(weights), shellQuote(data))
	if !found {
		fmt.Fprintf(env.Stdout, "(%s does not hold the test set yet: 'mnist-tui data --data-dir %s' fetches it)\n", data, shellQuote(data))
	}
	return nil
}

// exportDataDir is the folder the checkpoint's run read its data set from, the one to give
// model.py: its config's data_dir, else the user cache folder's; found says whether the test
// images are there.
func exportDataDir(ck *checkpoint.Checkpoint) (dir string, found bool) {
	name := checkpointDataset(ck, "mnist")
	if ck.HasMeta {
		if cfg, err := config.Parse("the checkpoint's config", []byte(ck.Meta.Config)); err == nil {
			dir = cfg.DataDir
		}
	}
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "FOLDER_WITH_THE_GZ_FILES", false
		}
		dir = filepath.Join(cache, "mnist-tui", name)
	}
	_, err := os.Stat(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"))
	return dir, err == nil
}

// shellQuote makes a path one word for a POSIX shell, as it is when it needs nothing.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`&|;<>()*?[]{}~!#") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
