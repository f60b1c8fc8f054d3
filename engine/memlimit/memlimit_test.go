package memlimit

import (
	"strconv"
	"strings"
	"testing"

	"mnist-tui/engine"
	"mnist-tui/engine/config"
)

// A batch whose workspace would not fit in a quarter of memory is refused
// with the largest batch that does.
func TestCheckWorkspaceNamesTheLargestBatch(t *testing.T) {
	cfg := config.Defaults()
	cfg.Model, cfg.BatchSize, cfg.Threads = "inception", 60000, 2
	const memory = 8 << 30
	err := CheckAgainst(cfg, memory, "this machine's memory")
	if err == nil {
		t.Fatal("inception in batches of 60000 accepted with 8 GB")
	}
	msg := err.Error()
	_, after, ok := strings.Cut(msg, "use batch_size ")
	if !ok {
		t.Fatalf("no batch size offered: %s", msg)
	}
	largest, convErr := strconv.Atoi(strings.Fields(after)[0])
	if convErr != nil {
		t.Fatalf("%v in %q", convErr, msg)
	}
	fits, _ := engine.WorkspaceBytes("inception", largest, 2)
	over, _ := engine.WorkspaceBytes("inception", largest+1, 2)
	if fits > memory/4 || over <= memory/4 {
		t.Errorf("offered batch %d takes %d bytes, %d takes %d; the limit is %d", largest, fits, largest+1, over, memory/4)
	}
	for _, want := range []string{"batch_size 60000", "inception", "more than 2.00 GB, the quarter of this machine's memory (8.00 GB)", "--batch-size " + strconv.Itoa(largest)} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}

	cfg.BatchSize = largest
	if err := CheckAgainst(cfg, memory, "m"); err != nil {
		t.Errorf("the offered batch is refused: %v", err)
	}
	if err := CheckAgainst(config.Defaults(), memory, "m"); err != nil {
		t.Errorf("the tutorial's settings are refused: %v", err)
	}
	if err := CheckAgainst(cfg, 0, "m"); err != nil {
		t.Errorf("unknown memory refused a run: %v", err)
	}
}

// A custom network is measured by its own layers, not refused as an
// unknown model: a batch too large for it is refused with one that fits.
func TestCheckMeasuresCustomNetworks(t *testing.T) {
	cfg, err := config.Parse("custom.yaml", []byte("model: custom\nbatch_size: 60000\nnetwork:\n  - conv: {out: 64, kernel: 3, padding: 1}\n  - relu\n  - flatten\n  - linear: 10\n"))
	if err != nil {
		t.Fatal(err)
	}
	const memory = 8 << 30
	err = CheckAgainst(cfg, memory, "this machine's memory")
	if err == nil || !strings.Contains(err.Error(), "use batch_size ") {
		t.Fatalf("a 60000-image batch of a 64-channel 28x28 network accepted in 8 GB (err %v)", err)
	}
	cfg.BatchSize = 64
	if err := CheckAgainst(cfg, memory, "this machine's memory"); err != nil {
		t.Errorf("batch 64 refused: %v", err)
	}
}
