package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	src := "model: custom\nname: tiny\nbatch_size: 32\nnetwork:\n  - conv: {out: 4, kernel: 3}\n  - batchnorm\n  - relu\n  - flatten\n  - linear: 10\n"
	if err := os.WriteFile(good, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(strings.Replace(src, "kernel: 3", "kernel: 30", 1)), 0o644); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := run(t, dir, "summary", "--config", good)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"Conv2d(1, 4, k=3) (0)", "[32,4,26,26]", "BatchNorm2d(4) (1)", "Linear(2704, 10) (4)", "Network tiny", "Total params: 27,098"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = run(t, dir, "summary", "--model", "residual")
	if code != 0 || !strings.Contains(out, "Total params: 41,514") {
		t.Errorf("--model residual: exit %d\n%s", code, out)
	}

	code, _, errOut = run(t, dir, "summary", "--config", bad)
	if code != 1 || !strings.Contains(errOut, "bad.yaml:5:5: network: layer 0 (conv): kernel 30 is larger than its 28x28 input") {
		t.Errorf("bad network: exit %d, stderr %q", code, errOut)
	}
}
