package train

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"mnist-tui/engine/runs"
)

// A metrics.jsonl with a resumption in it: the second session started
// again at step 20, so what the first logged after 20 is gone; resuming
// at step 30 (the start of epoch 2) keeps the rest, a torn line skipped,
// the health record before its log line for the doctor.
func TestReadEarlierFollowsResumptions(t *testing.T) {
	h := func(step int64, grad float64) runs.Health {
		return runs.Health{Epoch: 1, Step: step, LR: 0.01, Layers: []runs.LayerHealth{{Name: "fc", GradNorm: grad}}}
	}
	log := func(step int64) runs.Log { return runs.Log{Epoch: 1, Step: step, Loss: 1} }
	first := []runs.Record{
		runs.Start{RunID: "r", Epoch: 1},
		log(10), h(10, 1), log(20), h(20, 2),
		runs.Note{Epoch: 1, Step: 25, Rule: "rising"}, log(30), h(30, 3), // dropped by the resumption
		runs.Start{RunID: "r", Epoch: 1, Batch: 20, Step: 20},
		log(30), h(30, 33), runs.Note{Epoch: 1, Step: 30, Rule: "stuck"},
		runs.Epoch{Epoch: 1, TestAcc: 50},
		log(40), h(40, 4), // after the checkpoint
	}
	var lines []string
	for _, r := range first {
		line, err := runs.MarshalRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(line))
	}
	lines = append(lines[:3], append([]string{`{"type":"log","ep`}, lines[3:]...)...)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, runs.MetricsFile), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readEarlier(dir, 30, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := earlier{
		health: []runs.Health{h(10, 1), h(20, 2), h(30, 33)},
		notes:  []runs.Note{{Epoch: 1, Step: 30, Rule: "stuck"}},
		seen:   []runs.Record{h(10, 1), log(10), h(20, 2), log(20), h(30, 33), log(30), runs.Epoch{Epoch: 1, TestAcc: 50}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read\n%+v\nwant\n%+v", got, want)
	}
	if e, err := readEarlier(t.TempDir(), 30, 2); err != nil || len(e.seen) != 0 {
		t.Errorf("a folder without metrics: %+v, %v", e, err)
	}
}
