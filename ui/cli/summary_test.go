package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mnist-tui/dataset"
	"mnist-tui/engine"
	"mnist-tui/engine/checkpoint"
	"mnist-tui/engine/config"
	"mnist-tui/engine/train"
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

// eval reads a custom network's checkpoint: the network from its config, the weights and the
// BatchNorm statistics from its tensors, giving the accuracy of the network that was saved.
func TestEvalReadsACustomNetworkCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("reads real MNIST")
	}
	cfg, err := config.Parse("c.yaml", []byte("model: custom\nname: tiny-bn\nnetwork:\n  - conv: {out: 2, kernel: 5, stride: 3}\n  - batchnorm\n  - flatten\n  - linear: 10\n"))
	if err != nil {
		t.Fatal(err)
	}
	net, err := engine.NewCustomNet(cfg.Network, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Statistics far from the defaults: evaluation without them would give another accuracy.
	for _, b := range net.Buffers() {
		for i := range b.Values {
			b.Values[i] = 0.3 + float32(i)
		}
	}
	_, test, err := dataset.Load(context.Background(), "mnist", dataset.FetchOptions{DataDir: dataDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := dataset.Lookup("mnist")
	want := train.Evaluate(net, test, info, 1000, &train.EvalScratch{}).Accuracy()

	path := filepath.Join(t.TempDir(), "custom.safetensors")
	meta := checkpoint.Meta{Model: config.Custom, Dataset: "mnist", Epoch: 1, Config: string(cfg.Marshal()), RunID: "r"}
	if err := checkpoint.Save(path, net.Params(), nil, meta, net.Buffers()...); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, t.TempDir(), "eval", path, "--data-dir", dataDir(t))
	if line := fmt.Sprintf("Accuracy on test set: %.2f %%", want); code != exitOK || !strings.Contains(out, line) || !strings.Contains(out, "(tiny-bn)") {
		t.Errorf("eval: exit %d, want %q:\n%s%s", code, line, out, errOut)
	}
}

func TestModels(t *testing.T) {
	dir := t.TempDir()
	code, out, _ := run(t, dir, "models")
	if code != exitOK || !strings.Contains(out, "cnn            21,840          480,500") || !strings.Contains(out, "residual       41,514        2,013,184") {
		t.Errorf("models: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, dir, "models", "cnn")
	if code != exitOK {
		t.Fatalf("models cnn: exit %d", code)
	}
	// What it prints is a configuration that trains the cnn as a custom network.
	cfg, err := config.Parse("pasted.yaml", []byte(out))
	if err != nil || cfg.Model != config.Custom || len(cfg.Network.Layers) != 9 {
		t.Errorf("models cnn does not read back as a custom network (%v):\n%s", err, out)
	}
	if code, _, errOut := run(t, dir, "models", "vgg"); code != exitUsage || !strings.Contains(errOut, "linear, cnn, inception, residual") {
		t.Errorf("models vgg: exit %d, %q", code, errOut)
	}
}

// eval and draw name a custom network's checkpoint as the dashboard named it while it
// trained: by its config's name, else "custom".
func TestModelLabelOfACheckpoint(t *testing.T) {
	for _, c := range []struct{ name, want string }{{"wide-bn", "wide-bn"}, {"", "custom"}} {
		cfg, err := config.Parse("c.yaml", []byte("model: custom\nname: \""+c.name+"\"\nnetwork:\n  - flatten\n  - linear: 10\n"))
		if err != nil {
			t.Fatal(err)
		}
		net, err := engine.NewCustomNet(cfg.Network, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "custom.safetensors")
		meta := checkpoint.Meta{Model: config.Custom, Dataset: "mnist", Epoch: 1, Config: string(cfg.Marshal()), RunID: "r"}
		if err := checkpoint.Save(path, net.Params(), nil, meta, net.Buffers()...); err != nil {
			t.Fatal(err)
		}
		ck, loaded, err := loadModel(path, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := modelLabel(ck, loaded); got != c.want {
			t.Errorf("name %q: labelled %q, want %q", c.name, got, c.want)
		}
	}
}

// A file with a network but no model: custom summarizes the built-in model it trains, and
// says that its network is not used.
func TestSummaryNotesAnUnusedNetwork(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "forgot.yaml")
	if err := os.WriteFile(path, []byte("name: mine\nnetwork:\n  - flatten\n  - linear: 10\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, dir, "summary", "--config", path)
	if code != exitOK || !strings.Contains(out, "Network cnn") || !strings.Contains(errOut, "note: the network under network: is not used: model is cnn; set model: custom") {
		t.Errorf("summary: exit %d\n%s\nstderr %q", code, out, errOut)
	}
}

// The command list says that compare takes configurations too, and what models M prints.
func TestHelpNamesCompareConfigs(t *testing.T) {
	_, out, errOut := run(t, t.TempDir(), "help")
	for _, want := range []string{"configurations (--config A --config B)", "as a config of your own (model: custom)"} {
		if !strings.Contains(out+errOut, want) {
			t.Errorf("help lacks %q:\n%s%s", want, out, errOut)
		}
	}
}
