package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"mnist-tui/dataset"
	"mnist-tui/dataset/prepare"
	"mnist-tui/ui/draw"
	"mnist-tui/ui/layers"
	"mnist-tui/ui/view"
)

// runDraw opens the draw page on its own for a checkpoint: draw a digit with
// the mouse and watch the model read it.
func runDraw(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet("draw", "draw CHECKPOINT [--model M] [--dataset D]", env)
	model := fs.String("model", "", "model of a bare state_dict, when it cannot be recognised")
	dsName := fs.String("dataset", "", "data set the model was trained on, for its normalisation and class names (default: the checkpoint's, else mnist)")
	if err := parse(fs, reorderArgs(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one checkpoint file, got %s", pluralize(fs.NArg(), "argument"))
	}
	if !env.IsTerminal {
		return errors.New("draw needs a terminal (with mouse reporting, or use the arrows and space); to read pictures in a script use: mnist-tui predict")
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

	_, noColor := os.LookupEnv("NO_COLOR")
	renderer := lipgloss.NewRenderer(os.Stdout)
	if noColor {
		renderer.SetColorProfile(termenv.Ascii)
	}
	opts := view.Options{Renderer: renderer, NoColor: noColor}
	label := modelLabel(ck, net)
	src := draw.NewFixed(net, info, fmt.Sprintf("%s (%s) from %s", label, info.Name, path))
	page := draw.New(src, info.Classes, opts)
	inside, err := layers.NewFixed(net, ck.Network(), info, label)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	layersPage := layers.New(inside, opts)
	layersPage.SetDrawing(func() ([dataset.ImageSize]uint8, bool) {
		pixels, err := prepare.FromImage(page.Canvas().Image())
		return pixels, err == nil
	})
	title := "mnist-tui draw · " + path
	program := layers.BesideDraw(draw.Standalone(page, title+" · l: every layer"), layersPage, title+" · layers")
	_, err = tea.NewProgram(program,
		tea.WithAltScreen(), tea.WithMouseCellMotion(), tea.WithContext(ctx)).Run()
	if err != nil && ctx.Err() != nil {
		return nil // interrupted by a signal: nothing to save, nothing went wrong
	}
	if err != nil {
		return fmt.Errorf("draw: %w", err)
	}
	return nil
}
