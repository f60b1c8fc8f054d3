package cli

import (
	"flag"
	"io"
	"strings"
	"testing"

	"mnist-tui/engine/config"
)

// The training levers of config.yaml have flags that override it for one run; a flag not
// given leaves the file's value.
func TestTrainingFlagsOverrideTheConfig(t *testing.T) {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var cf configFlags
	cf.register(fs)
	args := []string{"--optimizer", "adamw", "--weight-decay", "0.01", "--schedule", "onecycle", "--max-lr", "0.02",
		"--cycle-momentum", "--label-smoothing", "0.1", "--clip-grad-norm", "1.5", "--ema-decay", "0.999", "--tta-shift", "2"}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	base := config.Defaults()
	base.WarmupSteps = 7 // from the file: no flag given
	got := cf.apply(fs, base)
	want := base
	want.Optimizer, want.WeightDecay, want.Schedule, want.MaxLR, want.CycleMomentum = "adamw", 0.01, "onecycle", 0.02, true
	want.LabelSmoothing, want.ClipGradNorm, want.EMADecay, want.TTAShift = 0.1, 1.5, 0.999, 2
	if got != want {
		t.Errorf("flags %v give\n%+v\nwant\n%+v", args, got, want)
	}

	fs = flag.NewFlagSet("train", flag.ContinueOnError)
	cf = configFlags{}
	cf.register(fs)
	if err := fs.Parse([]string{"--schedule", "cosine", "--warmup-steps", "100"}); err != nil {
		t.Fatal(err)
	}
	if got := cf.apply(fs, config.Defaults()); got.Schedule != "cosine" || got.WarmupSteps != 100 || got.Optimizer != "sgd" {
		t.Errorf("--schedule cosine --warmup-steps 100 give %+v", got)
	}
}

// A flag's value is checked as the file's would be, naming the key.
func TestTrainingFlagsAreValidated(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "--optimizer", "rmsprop"}, "optimizer: must be one of sgd, adam, adamw"},
		{[]string{"train", "--schedule", "linear"}, "schedule: must be one of constant, step, cosine, onecycle"},
		{[]string{"train", "--cycle-momentum"}, "cycle_momentum: is an option of schedule onecycle"},
		{[]string{"train", "--ema-decay", "1"}, "ema_decay"},
		{[]string{"train", "--clip-grad-norm", "-1"}, "clip_grad_norm"},
		{[]string{"train", "--tta-shift", "9"}, "tta_shift: must be a whole number from 0 to 4"},
	} {
		code, _, stderr := run(t, t.TempDir(), c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, exitUsage, c.want)
		}
	}
}

// The --model flag's help names every model the flag takes, custom included.
func TestModelFlagHelpNamesCustom(t *testing.T) {
	_, out, errOut := run(t, t.TempDir(), "train", "--help")
	for _, l := range strings.Split(out+errOut, "\n") {
		if strings.Contains(l, "--model") {
			if !strings.Contains(l, "custom") {
				t.Errorf("the --model help does not name custom: %q", l)
			}
			return
		}
	}
	t.Errorf("train --help has no --model line:\n%s%s", out, errOut)
}
