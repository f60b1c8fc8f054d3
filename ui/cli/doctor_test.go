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

// The issue's own case, on real MNIST: the tutorial's cnn with --lr
// 0.00001 hears from the doctor within its first epoch, as a line of its
// own naming the flag to try; the healthy linear run of
// TestHeadlessTrainingPrintsTheTutorialsLines has no such line.
func TestDoctorSpeaksAtATinyLearningRate(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on real MNIST")
	}
	dir := t.TempDir()
	code, stdout, stderr := run(t, dir, "train", "--headless", "--model", "cnn", "--epochs", "1", "--lr", "0.00001", "--data-dir", dataDir(t))
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var doctorLines []string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "doctor: ") {
			doctorLines = append(doctorLines, l)
		}
	}
	if len(doctorLines) == 0 || !strings.HasSuffix(doctorLines[0], "Try --lr 0.0001.") || !strings.Contains(doctorLines[0], "learning rate") {
		t.Errorf("doctor lines %q, want one about the learning rate offering --lr 0.0001:\n%s", doctorLines, stdout)
	}
	if i, j := strings.Index(stdout, "doctor: "), strings.Index(stdout, "[1 / 1]: Accuracy"); i < 0 || j < i {
		t.Errorf("the note does not come within the first epoch:\n%s", stdout)
	}
}

// A learning rate far too high for the cnn (0.4, forty times the
// tutorial's) kills conv2's ReLUs within the first 300 steps: the doctor
// says so in the first epoch, naming the layer, and offers a lower rate.
func TestDoctorSeesDeadReLUsAtAHighLearningRate(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on real MNIST")
	}
	dir := t.TempDir()
	code, stdout, stderr := run(t, dir, "train", "--headless", "--model", "cnn", "--epochs", "1", "--lr", "0.4", "--data-dir", dataDir(t))
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "doctor: ") && strings.Contains(l, "conv2.0's 20 ReLUs") {
			if !strings.HasSuffix(l, "Try --lr 0.04.") {
				t.Errorf("the dead ReLU note does not offer a lower rate: %s", l)
			}
			return
		}
	}
	t.Errorf("no doctor line about conv2.0's dead ReLUs:\n%s", stdout)
}
