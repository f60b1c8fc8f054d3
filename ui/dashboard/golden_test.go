package dashboard

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"mnist-tui/engine/train"
)

// Golden files hold key frames at 120x40. They are regenerated with
//
//	go test ./ui/dashboard -update
//
// Every frame is drawn from a synthetic run whose times are counted in
// steps, so nothing depends on the clock; colours come from renderers with
// a fixed profile, so nothing depends on the terminal running the tests.
func TestMain(m *testing.M) {
	// Library parts drawn with lipgloss's default renderer must not probe
	// the terminal either.
	lipgloss.SetColorProfile(termenv.Ascii)
	lipgloss.SetHasDarkBackground(true)
	os.Exit(m.Run())
}

const goldenW, goldenH = 120, 40

// runGolden runs the model in a real bubbletea program, types keys, quits,
// and compares the final frame with testdata/<test name>.golden.
func runGolden(t *testing.T, f *fakeTrainer, opts Options, w, h int, keys ...string) {
	t.Helper()
	tm := teatest.NewTestModel(t, New(f, opts), teatest.WithInitialTermSize(w, h))
	// The frame has been drawn once the state badge is on screen.
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte(f.Snapshot().State.String())) || bytes.Contains(b, []byte("too small"))
	}, teatest.WithDuration(5*time.Second))
	for _, k := range keys {
		tm.Send(press(k))
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second))
	teatest.RequireEqualOutput(t, []byte(final.View()))
}

func TestGoldenRunning(t *testing.T) {
	run := newSyntheticRun(10, 100, 10)
	s := run.start()
	run.advance(&s, 650) // past the lr drop at the start of epoch 6
	runGolden(t, newFakeTrainer(s), Options{NoColor: true}, goldenW, goldenH)
}

// With colours the digits are hi-res from the start (a switches them).
func TestGoldenRunningHiResColour(t *testing.T) {
	runGolden(t, newFakeTrainer(midRun()), Options{Renderer: colorRenderer(termenv.ANSI256)}, goldenW, goldenH)
}

func TestGoldenLoadingWithDownload(t *testing.T) {
	s := newSyntheticRun(10, 100, 10).start()
	s.State = train.Loading
	s.Model, s.Params = "", 0
	s.Epoch = 0
	s.Message = "fetching MNIST into ~/.cache/mnist-tui"
	s.Download = &train.Download{File: "train-images-idx3-ubyte.gz", Done: 3 << 20, Total: 9_912_422}
	runGolden(t, newFakeTrainer(s), Options{NoColor: true}, goldenW, goldenH)
}

func TestGoldenFailedWithHelp(t *testing.T) {
	s := midRun()
	s.State = train.Failed
	s.Err = errors.New("loss is NaN at step 351: lower the learning rate and resume from runs/demo/step-300.safetensors")
	runGolden(t, newFakeTrainer(s), Options{NoColor: true}, goldenW, goldenH, "?")
}

// The whole quit path through a real program: q sends Stop, the (fake)
// trainer saves and ends, and the program quits on its own.
func TestGoldenQuitAfterStop(t *testing.T) {
	f := newFakeTrainer(midRun())
	tm := teatest.NewTestModel(t, New(f, Options{NoColor: true}), teatest.WithInitialTermSize(goldenW, goldenH))
	tm.Send(press("q"))
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second))
	if got := f.commands(); len(got) != 1 || got[0] != (train.Stop{}) {
		t.Errorf("sent %v, want [Stop]", got)
	}
	teatest.RequireEqualOutput(t, []byte(final.View()))
}

func TestGoldenSmallest(t *testing.T) {
	runGolden(t, newFakeTrainer(midRun()), Options{NoColor: true}, minWidth, minHeight)
}

func TestGoldenTooSmall(t *testing.T) {
	runGolden(t, newFakeTrainer(midRun()), Options{NoColor: true}, 60, 20)
}
