package cli

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"mnist-tui/engine/cputime"
	"mnist-tui/engine/kernels"
)

// TestBenchJSON runs a tiny benchmark and checks that it reports what bench.py reports for
// PyTorch, under the same field names, with believable values.
func TestBenchJSON(t *testing.T) {
	code, stdout, stderr := run(t, t.TempDir(), "bench", "--model", "cnn", "--batches", "3", "--repeat", "1", "--threads", "2", "--json")
	if code != 0 {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d lines, want one JSON object for the one model: %q", len(lines), stdout)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &res); err != nil {
		t.Fatalf("%v in %q", err, lines[0])
	}
	if res["model"] != "cnn" || res["threads"] != 2.0 || res["batch"] != 64.0 {
		t.Errorf("model, threads, batch = %v, %v, %v; want cnn, 2, 64", res["model"], res["threads"], res["batch"])
	}
	fields := []string{"train_img_s", "infer_img_s", "peak_rss_mb"}
	if cputime.Process() > 0 {
		fields = append(fields, "train_img_cpu_s", "infer_img_cpu_s")
	}
	for _, field := range fields {
		if v, ok := res[field].(float64); !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive number", field, res[field])
		}
	}
	// The engine allocates nothing per step; the odd runtime allocation while goroutines park
	// is all that may show, except under the race detector (seen at 2.3 a step in CI, with
	// other packages' race tests loading the machine), where only the field's presence counts.
	v, ok := res["allocs_per_step"].(float64)
	if !ok || v < 0 || (!raceEnabled && v >= 1) {
		t.Errorf("allocs_per_step = %v, want a number below 1", res["allocs_per_step"])
	}
}

func TestBenchTable(t *testing.T) {
	code, stdout, stderr := run(t, t.TempDir(), "bench", "--model", "linear", "--batches", "2", "--repeat", "1")
	if code != 0 {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "train img/s") || !strings.Contains(stdout, "linear") {
		t.Errorf("table %q lacks its header or the model's row", stdout)
	}
	if code, _, stderr := run(t, t.TempDir(), "bench", "--model", "lenet"); code != exitUsage || !strings.Contains(stderr, "lenet") {
		t.Errorf("unknown model: exit %d, stderr %q; want a usage error naming it", code, stderr)
	}
}

// TestBenchKernels forces each kernel set this CPU runs and checks the report names it, and
// that a set the CPU lacks or an unknown one is refused as a usage error saying so.
func TestBenchKernels(t *testing.T) {
	start := kernels.Implementation()
	t.Cleanup(func() {
		if err := kernels.Select(start); err != nil {
			t.Fatal(err)
		}
	})
	for _, set := range kernels.Supported() {
		code, stdout, stderr := run(t, t.TempDir(), "bench", "--model", "linear", "--batches", "1", "--repeat", "1", "--kernels", set, "--json")
		if code != 0 {
			t.Fatalf("--kernels %s: exit code %d, stderr %q", set, code, stderr)
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &res); err != nil || res["kernels"] != set {
			t.Errorf("--kernels %s: reported kernels %v (%v) in %q", set, res["kernels"], err, stdout)
		}
	}
	for _, set := range []string{"avx1024", "avx512", "avx2"} {
		if slices.Contains(kernels.Supported(), set) {
			continue
		}
		code, _, stderr := run(t, t.TempDir(), "bench", "--model", "linear", "--batches", "1", "--kernels", set)
		if code != exitUsage || !strings.Contains(stderr, set) {
			t.Errorf("--kernels %s: exit %d, stderr %q; want a usage error naming it", set, code, stderr)
		}
	}
}
