package main

// End-to-end tests: they build the real binary and run it as a user would,
// in a terminal (tmux) and as a process that gets signals.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binDir holds the binary mnistTui builds; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mnist-tui-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// mnistTui builds the program once per test binary and returns its path.
//
// go test caches a passing result under the test binary and the files and
// environment variables the tests consulted. The binary under test is built
// by a subprocess, whose reads go test never sees, so after a change to the
// program the old results would be reported from the cache. Hence the build
// also opens every folder and stats every file that goes into the program,
// as go list names them: go test then records their sizes and times (and
// each folder's file names), and a change to any of them reruns the tests.
// It runs inside a test, not in TestMain, because go test records only
// while tests run.
func mnistTui(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildErr = trackSources(); buildErr != nil {
			return
		}
		binary = filepath.Join(binDir, "mnist-tui")
		if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building mnist-tui: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// trackSources makes go test record the program's inputs (see mnistTui):
// every package of this module the program imports, with its Go, assembly
// and embedded files, and go.mod and go.sum; and the variables that change
// how go build builds it.
func trackSources() error {
	out, err := exec.Command("go", "list", "-deps",
		"-f", `{{if and .Module .Module.Main}}{{.Dir}}{{range .GoFiles}}|{{.}}{{end}}{{range .SFiles}}|{{.}}{{end}}{{range .HFiles}}|{{.}}{{end}}{{range .EmbedFiles}}|{{.}}{{end}}{{end}}`,
		".").Output()
	if err != nil {
		return fmt.Errorf("go list: %v", err)
	}
	files := []string{"go.mod", "go.sum"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		fields := strings.Split(line, "|")
		dir := fields[0]
		if _, err := os.ReadDir(dir); err != nil { // records the folder's file names
			return err
		}
		for _, name := range fields[1:] {
			files = append(files, filepath.Join(dir, name))
		}
	}
	if len(files) < 10 {
		return fmt.Errorf("go list named only %d source files: %s", len(files), out)
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return err
		}
	}
	for _, v := range []string{"GOFLAGS", "GOAMD64", "GOEXPERIMENT", "CGO_ENABLED", "GOTOOLCHAIN"} {
		os.Getenv(v)
	}
	return nil
}

// dataDir fetches and verifies MNIST once into a cache shared by the tests.
func dataDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "mnist-tui-test-data", "mnist")
	if out, err := exec.Command(mnistTui(t), "data", "--data-dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("mnist-tui data: %v\n%s", err, out)
	}
	return dir
}

// tmux runs a tmux command on the test's own server, so it never touches
// the user's sessions.
func tmux(t *testing.T, socket string, args ...string) string {
	t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", socket}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// waitScreen polls the pane until it shows want, and returns the screen.
func waitScreen(t *testing.T, socket, want string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var screen string
	for time.Now().Before(deadline) {
		screen = tmux(t, socket, "capture-pane", "-p", "-t", "e2e")
		if strings.Contains(screen, want) {
			return screen
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the screen never showed %q; last screen:\n%s", want, screen)
	return ""
}

// startInTmux runs mnist-tui with args (and the test data) in a fresh work
// folder, in a w x h tmux window of the test's own server, and returns the
// folder and the server's socket. When the program ends the pane shows
// EXIT=<code> and stays for 30 s, so the test can read it.
func startInTmux(t *testing.T, w, h int, args ...string) (work, socket string) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (.ci/run installs it)")
	}
	data := dataDir(t)
	work = t.TempDir()
	socket = fmt.Sprintf("mnist-tui-e2e-%s-%d", t.Name(), os.Getpid())
	t.Cleanup(func() { exec.Command("tmux", "-L", socket, "kill-server").Run() })
	command := fmt.Sprintf("%q", mnistTui(t))
	for _, a := range append(args, "--data-dir", data) {
		command += fmt.Sprintf(" %q", a)
	}
	script := fmt.Sprintf("cd %q && %s; echo EXIT=$?; sleep 30", work, command)
	tmux(t, socket, "new-session", "-d", "-s", "e2e", "-x", strconv.Itoa(w), "-y", strconv.Itoa(h), "sh", "-c", script)
	return work, socket
}

// TestDashboardKeysInARealTerminal runs mnist-tui in tmux, pauses, saves,
// resumes and quits with the keys, and checks the screen and the files.
func TestDashboardKeysInARealTerminal(t *testing.T) {
	work, socket := startInTmux(t, 110, 34, "--model", "linear", "--epochs", "2")

	waitScreen(t, socket, "[RUNNING]", 60*time.Second)
	tmux(t, socket, "send-keys", "-t", "e2e", "Space")
	screen := waitScreen(t, socket, "[PAUSED]", 10*time.Second)
	if !strings.Contains(screen, "epoch 1/2") {
		t.Errorf("paused screen lacks the epoch:\n%s", screen)
	}
	tmux(t, socket, "send-keys", "-t", "e2e", "s")
	waitScreen(t, socket, "saved runs", 10*time.Second)
	tmux(t, socket, "send-keys", "-t", "e2e", "Space")
	waitScreen(t, socket, "[RUNNING]", 10*time.Second)
	tmux(t, socket, "send-keys", "-t", "e2e", "q")
	screen = waitScreen(t, socket, "EXIT=", 30*time.Second)
	if !strings.Contains(screen, "EXIT=0") {
		t.Errorf("quitting with q did not exit 0:\n%s", screen)
	}
	if strings.Contains(screen, "[RUNNING]") {
		t.Errorf("the terminal was not restored after quitting:\n%s", screen)
	}
	for _, pattern := range []string{"step-*.safetensors", "last.safetensors", "config.yaml", "metrics.jsonl"} {
		if m, _ := filepath.Glob(filepath.Join(work, "runs", "*", pattern)); len(m) != 1 {
			t.Errorf("run folder: %d files match %s, want 1", len(m), pattern)
		}
	}
}

// TestCompareInARealTerminal runs a two-model comparison under the
// dashboard: the second model starts by itself when the first finishes, the
// compare page shows both, and quitting prints and saves the table.
func TestCompareInARealTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two models for an epoch each")
	}
	work, socket := startInTmux(t, 120, 36, "compare", "--models", "linear,cnn", "--epochs", "1")

	waitScreen(t, socket, "compare · linear", 60*time.Second)
	waitScreen(t, socket, "compare · cnn", 120*time.Second)
	waitScreen(t, socket, "comparison done", 120*time.Second)
	tmux(t, socket, "send-keys", "-t", "e2e", "m")
	screen := waitScreen(t, socket, "2 of 2 models finished", 10*time.Second)
	for _, want := range []string{"-linear", "-cnn", "linear ", "cnn "} {
		if !strings.Contains(screen, want) {
			t.Errorf("the compare page lacks %q:\n%s", want, screen)
		}
	}
	tmux(t, socket, "send-keys", "-t", "e2e", "q")
	screen = waitScreen(t, socket, "EXIT=", 30*time.Second)
	if !strings.Contains(screen, "EXIT=0") || !strings.Contains(screen, "# Model comparison") {
		t.Errorf("quitting did not exit 0 with the table:\n%s", screen)
	}
	if reports, _ := filepath.Glob(filepath.Join(work, "runs", "compare-*.md")); len(reports) != 1 {
		t.Errorf("reports %v, want one", reports)
	}
}

// TestSignalsStopAtABatchAndSayHowToResume sends SIGTERM and SIGHUP to a
// headless run: it must save last.safetensors, print how to resume, exit
// non-zero, and the checkpoint must resume.
func TestSignalsStopAtABatchAndSayHowToResume(t *testing.T) {
	data := dataDir(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			work := t.TempDir()
			cmd := exec.Command(mnistTui(t), "train", "--headless", "--model", "linear", "--epochs", "5", "--data-dir", data, "--runs-dir", work)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait for the first checkpoint (end of epoch 1): the signal then
			// lands mid-epoch 2.
			deadline := time.Now().Add(2 * time.Minute)
			for {
				if m, _ := filepath.Glob(filepath.Join(work, "*", "last.safetensors")); len(m) > 0 {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatalf("no checkpoint after 2 minutes\n%s", stdout.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond)
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
				t.Errorf("exit after %v: %v, want exit code 1", sig, err)
			}
			if !strings.Contains(stderr.String(), "mnist-tui train --resume ") {
				t.Errorf("stderr does not say how to resume:\n%s", stderr.String())
			}
			last, _ := filepath.Glob(filepath.Join(work, "*", "last.safetensors"))
			if len(last) != 1 {
				t.Fatalf("last.safetensors: %v", last)
			}
			out, err := exec.Command(mnistTui(t), "train", "--resume", last[0], "--epochs", "2", "--headless").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "[2 / 2]: Accuracy on test set:") {
				t.Errorf("resuming %s: %v\n%s", last[0], err, out)
			}
		})
	}
}

// TestVersionAndExitCodesOfTheBuiltProgram checks what only the real
// binary has: its build information, and the process exit codes the README
// promises (0 success, 2 a wrong command line).
func TestVersionAndExitCodesOfTheBuiltProgram(t *testing.T) {
	bin := mnistTui(t)
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "mnist-tui ") || !strings.Contains(string(out), "built with go1.") {
		t.Errorf("--version: %v, output %q", err, out)
	}
	// With version control stamped (go build's default in a git checkout),
	// the revision is the checkout's.
	if head, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil && !strings.Contains(string(out), "revision unknown") {
		if want := "revision " + strings.TrimSpace(string(head)); !strings.Contains(string(out), want) {
			t.Errorf("--version says %q, want %q", out, want)
		}
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"--help"}, 0},
		{[]string{"--no-such-flag"}, 2},
		{[]string{"eval"}, 2},
		{[]string{"frobnicate"}, 2},
	} {
		err := exec.Command(bin, c.args...).Run()
		code := 0
		if exit, ok := err.(*exec.ExitError); ok {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code {
			t.Errorf("mnist-tui %v: exit %d, want %d", c.args, code, c.code)
		}
	}
}
