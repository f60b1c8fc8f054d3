package dashboard

import (
	"strings"
	"testing"

	"github.com/muesli/termenv"

	"mnist-tui/engine/config"
	"mnist-tui/engine/train"
)

// The header says how the run trains: its recipe, optimizer and schedule;
// Adam's header leaves out the momentum it does not use.
func TestHeaderShowsRecipeOptimizerAndSchedule(t *testing.T) {
	st := newStyles(colorRenderer(termenv.Ascii))
	fast, err := config.Recipe("fast")
	if err != nil {
		t.Fatal(err)
	}
	fast.Optimizer, fast.Schedule = "adamw", "cosine"
	snap := train.Snapshot{Model: "cnn", Dataset: "mnist", Params: 21840, Epochs: 3, Momentum: 0.5, LR: 0.003, Config: fast}
	header := headerLines(snap, "mnist-tui", false, 120, st)
	line1, line2, _ := strings.Cut(header, "\n")
	for _, want := range []string{"recipe fast", "adamw", "cosine schedule"} {
		if !strings.Contains(line1, want) {
			t.Errorf("header line 1 lacks %q: %q", want, line1)
		}
	}
	if strings.Contains(line2, "momentum") {
		t.Errorf("adamw's header shows a momentum: %q", line2)
	}

	snap.Config = config.Defaults()
	snap.Config.Nesterov = true
	line1, line2, _ = strings.Cut(headerLines(snap, "mnist-tui", false, 120, st), "\n")
	if strings.Contains(line1, "recipe") || !strings.Contains(line1, "sgd nesterov") || !strings.Contains(line1, "constant schedule") {
		t.Errorf("the default run's header line 1: %q", line1)
	}
	if !strings.Contains(line2, "momentum 0.5") {
		t.Errorf("sgd's header lacks its momentum: %q", line2)
	}
}
