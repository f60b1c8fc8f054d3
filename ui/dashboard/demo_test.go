package dashboard

import (
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"mnist-tui/engine/train"
)

// TestDemo shows the dashboard on a synthetic run in the current terminal,
// for trying it by hand; it is skipped unless asked for:
//
//	DASHBOARD_DEMO=1 go test ./ui/dashboard -run TestDemo -count=1
//
// DASHBOARD_DEMO_MS sets the milliseconds per batch (default 5) and
// NO_COLOR=1 turns colours off.
func TestDemo(t *testing.T) {
	if os.Getenv("DASHBOARD_DEMO") == "" {
		t.Skip("set DASHBOARD_DEMO=1 to try the dashboard by hand")
	}
	// go test keeps the test's stdin and stdout for itself: talk to the
	// terminal directly.
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("demo needs a terminal: %v", err)
	}
	defer tty.Close()

	perBatch := 5 * time.Millisecond
	if ms, err := strconv.Atoi(os.Getenv("DASHBOARD_DEMO_MS")); err == nil && ms > 0 {
		perBatch = time.Duration(ms) * time.Millisecond
	}
	run := newSyntheticRun(10, 300, 10)
	start := run.start()
	start.State = train.Loading
	start.Message = "fetching MNIST"
	start.Download = &train.Download{File: "train-images-idx3-ubyte.gz", Total: 9_912_422}
	f := newFakeTrainer(start)
	f.stopDelay = time.Second
	go f.live(run, perBatch)

	err = Run(f, Options{Input: tty, Output: tty, NoColor: os.Getenv("NO_COLOR") != ""})
	switch {
	case errors.Is(err, ErrInterrupted):
		t.Log(err) // a second ctrl+c is a legitimate way out of a demo
	case err != nil:
		t.Fatal(err)
	}
}
