package train

import (
	"reflect"
	"testing"

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
