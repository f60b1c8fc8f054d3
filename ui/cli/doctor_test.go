package cli

import (
	"bytes"
	"strings"
	"testing"

	"mnist-tui/engine/doctor"
	"mnist-tui/engine/runs"
	"mnist-tui/engine/train"
)

// Headless output gives each doctor's note a line of its own, once, with
// the flag to try; --json gives the note and health records as they are
// in metrics.jsonl, and not the note again as a status message.
func TestHeadlessPrintsTheDoctorsNotes(t *testing.T) {
	note := runs.Note{Epoch: 1, Batch: 600, Step: 600, Rule: doctor.RuleStuck, Text: "The loss has stayed at 2.30.", FixKey: doctor.LearningRate, FixFactor: 10}
	health := runs.Health{Epoch: 1, Batch: 600, Step: 600, LR: 1e-5, Layers: []runs.LayerHealth{{Name: "fc", WeightNorm: 1, GradNorm: 0.1, UpdateRatio: 1e-6}}}
	s := train.Snapshot{State: train.Running, LR: 1e-5, Notes: []runs.Note{note}, Health: []runs.Health{health},
		Message: "doctor (h, f: learning rate x10 (0.0001)): The loss has stayed at 2.30."}

	var text bytes.Buffer
	p := printer{w: &text}
	p.print(s)
	p.print(s)
	if got, want := text.String(), "doctor: The loss has stayed at 2.30. Try --lr 0.0001.\n"; got != want {
		t.Errorf("headless output %q, want %q", got, want)
	}

	var js bytes.Buffer
	p = printer{w: &js, json: true}
	p.print(s)
	lines := strings.Split(strings.TrimSpace(js.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("--json output:\n%s\nwant a health and a note line", js.String())
	}
	for i, want := range []runs.Record{health, note} {
		got, err := runs.UnmarshalRecord([]byte(lines[i]))
		if err != nil || got.RecordType() != want.RecordType() {
			t.Errorf("line %d %s (%v), want a %s record", i, lines[i], err, want.RecordType())
		}
	}
}
