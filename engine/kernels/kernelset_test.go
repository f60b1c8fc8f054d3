package kernels

import (
	"os"
	"strings"
	"testing"
)

// platformKernels lists the assembly GEMM kernels of the sets this CPU runs.
func platformKernels() []kernel {
	var ks []kernel
	for _, s := range platformSets() {
		if s.runs {
			ks = append(ks, s.kern)
		}
	}
	return ks
}

// platformElems lists the assembly elementwise functions of the sets this CPU runs.
func platformElems() []elemOps {
	var es []elemOps
	for _, s := range platformSets() {
		if s.runs {
			es = append(es, s.elem)
		}
	}
	return es
}

// TestEveryKernelSet says which sets this run covers: the tests of the kernels run every set
// the CPU supports, and the others are reported here as skipped.
func TestEveryKernelSet(t *testing.T) {
	for _, s := range allSets() {
		t.Run(s.name, func(t *testing.T) {
			if !s.runs {
				t.Skipf("this CPU lacks %s: the %s kernels are not tested here", s.needs, s.name)
			}
			if s.kern.tile == nil || s.kern.dot == nil || s.elem.sgd == nil || s.kern.nr > nrMax || s.kern.rows() > mrMax || s.kern.nr%s.kern.vec != 0 || s.kern.kc < 1 || s.kern.kc > kcMax {
				t.Fatalf("kernel set %s is incomplete or its tile (%d rows, %d columns of %d-float vectors) or its k panels (%d) do not fit the driver", s.name, s.kern.rows(), s.kern.nr, s.kern.vec, s.kern.kc)
			}
		})
	}
}

// TestStartupSet checks the set chosen at start-up: the one EnvVar names, else the best this
// CPU runs. A bad EnvVar fails here, so a test run never measures another set than asked.
func TestStartupSet(t *testing.T) {
	if err := Select(""); err != nil {
		t.Fatalf("Select(\"\"): %v", err)
	}
	want := Supported()[0]
	if env := os.Getenv(EnvVar); env != "" && env != "auto" {
		want = env
	}
	if got := Implementation(); got != want {
		t.Fatalf("Implementation() = %q, want %q (%s=%q, supported %v)", got, want, EnvVar, os.Getenv(EnvVar), Supported())
	}
}

func TestLookup(t *testing.T) {
	sets := []kernelSet{
		{name: "wide", runs: false, needs: "wide vectors"},
		{name: "narrow", runs: true},
		goSet,
	}
	for _, name := range []string{"", "auto", "narrow"} {
		if s, err := lookup(sets, name); err != nil || s.name != "narrow" {
			t.Errorf("lookup(%q) = %q, %v; want narrow", name, s.name, err)
		}
	}
	if s, err := lookup(sets, "go"); err != nil || s.name != "go" {
		t.Errorf("lookup(go) = %q, %v; want go", s.name, err)
	}
	_, err := lookup(sets, "wide")
	if err == nil || !strings.Contains(err.Error(), "needs wide vectors, which this CPU lacks") || !strings.Contains(err.Error(), "choose auto, narrow, go") {
		t.Errorf("lookup(wide) on a CPU without it: error %v, want it refused with what it needs and the choices", err)
	}
	_, err = lookup(sets, "avx1024")
	if err == nil || !strings.Contains(err.Error(), `unknown kernel set "avx1024"`) {
		t.Errorf("lookup(avx1024): error %v, want unknown", err)
	}
}

// TestSelect switches to every supported set and back, and leaves the set alone when asked
// for one that cannot run.
func TestSelect(t *testing.T) {
	start := Implementation()
	defer func() {
		if err := Select(start); err != nil {
			t.Fatal(err)
		}
	}()
	for _, name := range Supported() {
		if err := Select(name); err != nil || Implementation() != name {
			t.Fatalf("Select(%q) = %v, then Implementation() = %q", name, err, Implementation())
		}
	}
	before := Implementation()
	if err := Select("avx1024"); err == nil || Implementation() != before {
		t.Fatalf("Select(avx1024) = %v and switched to %q", err, Implementation())
	}
	for _, s := range allSets() {
		if !s.runs {
			if err := Select(s.name); err == nil || !strings.Contains(err.Error(), "lacks") {
				t.Errorf("Select(%q) on a CPU without %s = %v, want refused", s.name, s.needs, err)
			}
		}
	}
}
