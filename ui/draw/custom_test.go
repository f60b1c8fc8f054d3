package draw

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"mnist-tui/engine/checkpoint"
	"mnist-tui/engine/config"
	"mnist-tui/engine/train"
)

// The draw page follows a custom network too, BatchNorm's statistics included: without them
// its net would evaluate with the initial ones.
func TestLiveFollowsACustomNetwork(t *testing.T) {
	cfg, err := config.Parse("c.yaml", []byte("model: custom\nnetwork:\n  - conv: {out: 2, kernel: 5, stride: 3}\n  - batchnorm\n  - flatten\n  - linear: 10\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Epochs, cfg.BatchSize, cfg.LogInterval, cfg.Threads = 1, 16, 5, 1
	cfg.RunsDir = t.TempDir()
	tr := train.New(cfg, train.Options{Data: syntheticData(64, 3), Samples: 2})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := tr.Run(ctx); err != nil {
		t.Fatal(err)
	}
	live := NewLive(tr)
	if err := live.Refresh(ctx); err != nil {
		t.Fatalf("refresh after the run: %v", err)
	}
	ck, err := checkpoint.Load(filepath.Join(tr.Snapshot().RunDir, "last.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range live.active.Buffers() {
		if b.Tracked != nil {
			continue
		}
		saved, _ := ck.File.Get(b.Name)
		want, err := saved.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(b.Values, want) {
			t.Errorf("%s: the page's net holds %v, the run saved %v", b.Name, b.Values, want)
		}
	}
}
