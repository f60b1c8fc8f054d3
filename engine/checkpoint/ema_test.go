package checkpoint

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mnist-tui/engine"
	"mnist-tui/engine/config"
	"mnist-tui/engine/safetensors"
)

// The averaged weights and BatchNorm statistics of a run with ema_decay go into the checkpoint
// beside the weights and come back exactly; a file without them leaves the average unstarted,
// and one averaging only some tensors is refused.
func TestEMARoundTrip(t *testing.T) {
	net, cfg := customNet(t, bnNetwork)
	ema := engine.NewEMA(net.Params(), net.Buffers(), 0.9)
	ema.Update()
	for _, p := range net.Params() {
		p.Value.Data().([]float32)[0] += 1 // the weights move on
	}
	net.Buffers()[0].Values[1] = 3
	ema.Update()
	meta := Meta{Model: config.Custom, Dataset: "mnist", Epoch: 1, Config: string(cfg.Marshal()), RunID: "r"}
	path := filepath.Join(t.TempDir(), "c.safetensors")
	if err := SaveWithEMA(path, net.Params(), nil, ema, meta, net.Buffers()...); err != nil {
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
	restored := engine.NewEMA(fresh.Params(), fresh.Buffers(), 0.9)
	found, err := ck.LoadEMA(restored)
	if err != nil || !found || !restored.Started() {
		t.Fatalf("LoadEMA: found %v, started %v, err %v", found, restored.Started(), err)
	}
	for i, p := range ema.Params() {
		want, got := p.Value.Data().([]float32), restored.Params()[i].Value.Data().([]float32)
		if !slices.Equal(want, got) {
			t.Errorf("averaged %s read back as %v, saved %v", p.Name, got, want)
		}
	}
	if len(restored.Buffers()) != 2 || !slices.Equal(restored.Buffers()[0].Values, ema.Buffers()[0].Values) || restored.Buffers()[0].Values[1] == 0 {
		t.Errorf("averaged statistics read back as %+v, saved %+v", restored.Buffers(), ema.Buffers())
	}

	// Without an average, the file holds none and the next one starts afresh.
	if err := Save(path, net.Params(), nil, meta, net.Buffers()...); err != nil {
		t.Fatal(err)
	}
	if ck, err = Load(path); err != nil {
		t.Fatal(err)
	}
	if found, err := ck.LoadEMA(engine.NewEMA(fresh.Params(), fresh.Buffers(), 0.9)); found || err != nil {
		t.Errorf("a file without an average: found %v, err %v", found, err)
	}

	// An average of some tensors only is no average of the model.
	if err := SaveWithEMA(path, net.Params(), nil, ema, meta, net.Buffers()...); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Tensors = slices.DeleteFunc(f.Tensors, func(t safetensors.Tensor) bool { return t.Name == "optimizer.ema.1.running_var" })
	if err := safetensors.WriteFileAtomic(path, f.Tensors, f.Metadata); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), `averaged tensor "optimizer.ema.1.running_var" is missing`) {
		t.Errorf("a partial average: %v", err)
	}
}
