package cli

import (
	"context"
	"fmt"
	"path/filepath"

	"mnist-tui/engine/checkpoint"
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
	if err := pytorch.Export(*dir, ck); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "wrote %s and %s\nevaluate it: python3 %s %s --data-dir FOLDER_WITH_THE_GZ_FILES\n",
		filepath.Join(*dir, "model.py"), filepath.Join(*dir, "model.safetensors"),
		filepath.Join(*dir, "model.py"), filepath.Join(*dir, "model.safetensors"))
	return nil
}
