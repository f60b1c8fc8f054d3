package kernels

import (
	"fmt"
	"os"
	"strings"
)

// EnvVar names the environment variable that chooses the kernel set of a process that does
// not choose one itself (Select): tests and benchmarks run with MNIST_TUI_KERNELS=avx2 run
// on the AVX2 kernels even on an AVX-512 machine. Empty or "auto" means the best set the CPU
// runs.
const EnvVar = "MNIST_TUI_KERNELS"

// kernelSet is one complete implementation of the package: the GEMM's micro-kernels and the
// elementwise functions, with the CPU features it needs.
type kernelSet struct {
	name  string
	kern  kernel
	elem  elemOps
	runs  bool   // this CPU has what the set needs
	needs string // the CPU features, for the message refusing the set
}

// goSet is the portable set, which runs everywhere.
var goSet = kernelSet{name: "go", kern: goKernel, elem: goElem, runs: true}

// allSets lists every kernel set of this build, best first.
func allSets() []kernelSet { return append(platformSets(), goSet) }

// active is the set every function of the package runs: chosen when the program starts, from
// EnvVar or else the CPU, or by Select before any kernel runs. envErr is what was wrong with
// EnvVar, if anything (the best set runs instead).
var active, envErr = fromEnv()

func fromEnv() (kernelSet, error) {
	name := os.Getenv(EnvVar)
	s, err := lookup(allSets(), name)
	if err != nil {
		s, _ = lookup(allSets(), "auto")
		return s, fmt.Errorf("environment variable %s=%q: %w", EnvVar, name, err)
	}
	return s, nil
}

// lookup finds the set name among sets: "auto" (or "") is the first one this CPU runs.
func lookup(sets []kernelSet, name string) (kernelSet, error) {
	var runnable []string
	for _, s := range sets {
		if s.runs {
			runnable = append(runnable, s.name)
		}
	}
	choices := "auto, " + strings.Join(runnable, ", ")
	for _, s := range sets {
		if name == s.name || (name == "" || name == "auto") && s.runs {
			if !s.runs {
				return kernelSet{}, fmt.Errorf("kernel set %q needs %s, which this CPU lacks: choose %s", name, s.needs, choices)
			}
			return s, nil
		}
	}
	return kernelSet{}, fmt.Errorf("unknown kernel set %q: choose %s", name, choices)
}

// Select makes the kernel set name ("auto", "avx512", "avx2" or "go") the one the package
// runs for the rest of the process, and refuses a set this build or CPU cannot run. An empty
// name keeps the start-up choice and reports a bad EnvVar. Call it once, at start-up, before
// anything runs a kernel: it is not safe to call concurrently with the package's functions.
func Select(name string) error {
	if name == "" {
		return envErr
	}
	s, err := lookup(allSets(), name)
	if err != nil {
		return err
	}
	active = s
	return nil
}

// Implementation names the kernel set that runs ("avx512", "avx2" or "go"), for logs and
// benchmark reports.
func Implementation() string { return active.name }

// Supported lists the kernel sets this build runs on this CPU, best first.
func Supported() []string {
	var names []string
	for _, s := range allSets() {
		if s.runs {
			names = append(names, s.name)
		}
	}
	return names
}
