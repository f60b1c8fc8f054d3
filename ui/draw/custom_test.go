package draw

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mnist-tui/engine"
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

// switching answers for one run, then for the one that replaced it (a restart).
type switching struct{ cur *train.Trainer }

func (s *switching) Snapshot() train.Snapshot { return s.cur.Snapshot() }
func (s *switching) CopyWeights(ctx context.Context, dst []*engine.Param) error {
	return s.cur.CopyWeights(ctx, dst)
}

// A restart may keep the model (custom) and change the network: the page's nets are rebuilt
// for the new run, and every refresh after it succeeds, naming the new network.
func TestLiveFollowsARestartWithAnotherNetwork(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	runs := make([]*train.Trainer, 2)
	for i, src := range []string{
		"model: custom\nname: first\nnetwork:\n  - conv: {out: 2, kernel: 5, stride: 3}\n  - flatten\n  - linear: 10\n",
		"model: custom\nname: second\nnetwork:\n  - conv: {out: 4, kernel: 3, stride: 2}\n  - flatten\n  - linear: 10\n",
	} {
		cfg, err := config.Parse("c.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Epochs, cfg.BatchSize, cfg.LogInterval, cfg.Threads = 1, 16, 5, 1
		cfg.RunsDir = t.TempDir()
		runs[i] = train.New(cfg, train.Options{Data: syntheticData(64, 3), Samples: 2})
		if err := runs[i].Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	tr := &switching{cur: runs[0]}
	live := NewLive(tr)
	for range 2 { // both nets built for the first run
		if err := live.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	tr.cur = runs[1]
	for i := range 3 {
		if err := live.Refresh(ctx); err != nil {
			t.Fatalf("refresh %d after the restart: %v", i+1, err)
		}
	}
	if about := live.About(); !strings.Contains(about, "second") {
		t.Errorf("About() = %q, want the new network's name", about)
	}
}
