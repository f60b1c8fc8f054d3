package checkpoint

import (
	"path/filepath"
	"strings"
	"testing"

	"mnist-tui/engine"
	"mnist-tui/engine/config"
)

func customNet(t *testing.T, src string) (*engine.Net, config.Config) {
	t.Helper()
	cfg, err := config.Parse("c.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	net, err := engine.NewCustomNet(cfg.Network, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	return net, cfg
}

const bnNetwork = "model: custom\nnetwork:\n  - conv: {out: 2, kernel: 5, stride: 3}\n  - batchnorm\n  - flatten\n  - linear: 10\n"

// A custom network's checkpoint is checked against the network in its config, and carries
// the BatchNorm buffers.
func TestCustomCheckpointRoundTrip(t *testing.T) {
	net, cfg := customNet(t, bnNetwork)
	bufs := net.Buffers()
	bufs[0].Values[1], bufs[1].Values[0], *bufs[2].Tracked = 0.5, 2.5, 7
	meta := Meta{Model: config.Custom, Dataset: "mnist", Epoch: 1, Config: string(cfg.Marshal()), RunID: "r"}
	path := filepath.Join(t.TempDir(), "c.safetensors")
	if err := Save(path, net.Params(), nil, meta, bufs...); err != nil {
		t.Fatal(err)
	}
	ck, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := customNet(t, bnNetwork)
	if err := ck.LoadInto(fresh.Params(), nil); err != nil {
		t.Fatal(err)
	}
	if err := ck.LoadBuffers(fresh.Buffers()); err != nil {
		t.Fatal(err)
	}
	got := fresh.Buffers()
	if got[0].Values[1] != 0.5 || got[1].Values[0] != 2.5 || *got[2].Tracked != 7 || got[2].Name != "1.num_batches_tracked" {
		t.Errorf("buffers read back as %+v %+v %s=%d", got[0], got[1], got[2].Name, *got[2].Tracked)
	}

	// The same tensors under a config declaring another network do not load.
	other := strings.Replace(bnNetwork, "out: 2", "out: 3", 1)
	_, otherCfg := customNet(t, other)
	meta.Config = string(otherCfg.Marshal())
	if err := Save(path, net.Params(), nil, meta, bufs...); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), `tensor "0.weight" has shape [2 1 5 5], the model's is [3 1 5 5]`) {
		t.Errorf("loading tensors of another network: %v", err)
	}
}
