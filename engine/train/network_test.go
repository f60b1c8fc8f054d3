package train

import (
	"path/filepath"
	"reflect"
	"testing"

	"mnist-tui/engine/checkpoint"
	"mnist-tui/engine/config"
)

// customConfig trains a small network of the config.yaml format with BatchNorm, dropout and
// a residual block.
func customConfig(t *testing.T) config.Config {
	t.Helper()
	cfg, err := config.Parse("custom.yaml", []byte(`model: custom
name: tiny-bn
network:
  - conv: {out: 4, kernel: 3, stride: 2, padding: 1}
  - batchnorm
  - relu
  - residual:
      - conv: {out: 4, kernel: 3, padding: 1}
      - relu
  - flatten
  - dropout: 0.1
  - linear: 10
`))
	if err != nil {
		t.Fatal(err)
	}
	base := testConfig(t)
	base.Model, base.Name, base.Network = cfg.Model, cfg.Name, cfg.Network
	base.LearningRate = 0.05
	return base
}

func TestTrainsACustomNetwork(t *testing.T) {
	s := runToEnd(t, New(customConfig(t), Options{Data: syntheticData(640, 200, 1)}))
	if s.State != Done {
		t.Fatalf("state %v, want DONE (message %q)", s.State, s.Message)
	}
	if got := s.History[len(s.History)-1].TestAcc; got < 90 {
		t.Errorf("test accuracy after 2 epochs on an easy synthetic set: %.2f %%, want >= 90", got)
	}
}

// The status line names a custom network by its name:, as the dashboard's header does.
func TestTrainingMessageNamesTheNetwork(t *testing.T) {
	cfg := customConfig(t)
	if got, want := trainingMessage(cfg, 2, "r1"), "training tiny-bn on mnist, 2 threads, run r1"; got != want {
		t.Errorf("custom network: %q, want %q", got, want)
	}
	cfg.Model = "cnn"
	if got, want := trainingMessage(cfg, 1, "r2"), "training cnn on mnist, 1 thread, run r2"; got != want {
		t.Errorf("built-in model: %q, want %q", got, want)
	}
}

// Same seed and threads, same bits: every log point's loss and every epoch's results, with
// BatchNorm and dropout.
func TestCustomNetworkSameSeedSameRun(t *testing.T) {
	data := syntheticData(320, 50, 2)
	a := runToEnd(t, New(customConfig(t), Options{Data: data}))
	b := runToEnd(t, New(customConfig(t), Options{Data: data}))
	if len(a.Logs) == 0 || !reflect.DeepEqual(a.Logs, b.Logs) {
		t.Errorf("two runs with the same seed and threads logged\n%+v\n%+v", a.Logs, b.Logs)
	}
	for i := range a.History { // timings differ, results must not
		a.History[i].Seconds, a.History[i].ImagesPerSec = 0, 0
		b.History[i].Seconds, b.History[i].ImagesPerSec = 0, 0
	}
	if len(a.History) == 0 || !reflect.DeepEqual(a.History, b.History) {
		t.Errorf("two runs with the same seed and threads ended epochs with\n%+v\n%+v", a.History, b.History)
	}
}

// stateOf reads every tensor of a checkpoint, F32 and I64 (num_batches_tracked) alike.
func stateOf(t *testing.T, path string) map[string]any {
	t.Helper()
	ck, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for _, tensor := range ck.File.Tensors {
		if tensor.DType == "I64" {
			v, err := tensor.Int64s()
			if err != nil {
				t.Fatal(err)
			}
			out[tensor.Name] = v
			continue
		}
		v, err := tensor.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		out[tensor.Name] = v
	}
	return out
}

// A custom network's checkpoint holds its BatchNorm statistics, and resuming continues the
// run exactly: weights, momentum, statistics and dropout's stream.
func TestCustomNetworkResumeIsExact(t *testing.T) {
	data := syntheticData(320, 50, 3)
	whole := runToEnd(t, New(customConfig(t), Options{Data: data}))
	want := stateOf(t, filepath.Join(whole.RunDir, "last.safetensors"))
	if got, ok := want["1.num_batches_tracked"].([]int64); !ok || got[0] != 20 {
		t.Fatalf("1.num_batches_tracked = %v, want [20] (2 epochs of 10 batches)", want["1.num_batches_tracked"])
	}
	if _, ok := want["1.running_var"]; !ok {
		t.Fatal("the checkpoint lacks 1.running_var")
	}

	cfg := customConfig(t)
	first := New(cfg, Options{Data: data})
	stopAtStep(first, 13)
	part := runToEnd(t, first)
	resumed := runToEnd(t, New(cfg, Options{Data: data, Resume: filepath.Join(part.RunDir, "last.safetensors")}))
	if got := stateOf(t, filepath.Join(resumed.RunDir, "last.safetensors")); !reflect.DeepEqual(want, got) {
		t.Error("resumed weights, momentum or statistics differ from an uninterrupted run")
	}
	if !reflect.DeepEqual(whole.Logs, resumed.Logs) {
		t.Errorf("log points differ:\n%+v\n%+v", whole.Logs, resumed.Logs)
	}
}
