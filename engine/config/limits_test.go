package config

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Deeply nested text is refused before the YAML reader, whose cost grows
// with the square of the depth, sees it.
func TestParseRefusesDeepNesting(t *testing.T) {
	indented := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(strings.Repeat(" ", i) + "- \n")
		}
		return b.String()
	}
	for _, tt := range []struct {
		name, src string
		line, col int
		wantInMsg string
	}{
		{"flow lists", strings.Repeat("[", 30000), 1, maxNesting, "nested more than"},
		{"flow lists after a key", "epochs: " + strings.Repeat("[", 30000), 1, 9 + maxNesting - 1, "nested more than"},
		{"flow mappings", strings.Repeat("{a: ", 16000), 1, 4*(maxNesting-1) + 1, "nested more than"},
		{"compact lists", strings.Repeat("- ", 30000) + "x", 1, 2*(maxNesting-1) + 1, "nested more than"},
		{"indented lists", indented(250), maxNesting, maxNesting, "nested more than"},
		{"the attack: 200 KB of [", strings.Repeat("[", 200_000), 0, 0, "larger than 64 KiB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			bytes := allocated(func() { _, err = Parse("deep.yaml", []byte(tt.src)) })
			var cerr *Error
			if !errors.As(err, &cerr) || !strings.Contains(cerr.Msg, tt.wantInMsg) {
				t.Fatalf("Parse = %v; want an *Error saying %q", err, tt.wantInMsg)
			}
			if cerr.Line != tt.line || cerr.Column != tt.col {
				t.Errorf("error at %d:%d, want %d:%d: %v", cerr.Line, cerr.Column, tt.line, tt.col, err)
			}
			// The reader alone takes about 1.4 GB for 30 000 compact lists.
			if bytes > 8<<20 {
				t.Errorf("refusing it allocated %d MB", bytes>>20)
			}
		})
	}
}

// What a configuration may hold passes the nesting estimate.
func TestParseAcceptsShallowText(t *testing.T) {
	for _, src := range []string{
		"{epochs: 1, model: linear}\n",
		"data_dir: \"" + strings.Repeat("[{", 100) + "\"\n",
		"data_dir: '" + strings.Repeat("[", 100) + "'' - - -'\n",
		"# " + strings.Repeat("[", 100) + "\nepochs: 3 # {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\n",
		strings.Repeat("#\n", 200) + "      epochs: 3\n      seed: 2\n",
		"# " + strings.Repeat("x", MaxBytes-20) + "\nepochs: 3\n",
	} {
		if _, err := Parse("ok.yaml", []byte(src)); err != nil {
			t.Errorf("Parse(%.60q) = %v", src, err)
		}
	}
	if data, err := os.ReadFile(repoConfig); err != nil {
		t.Fatal(err)
	} else if depth, ok := tooDeep(string(data)); !ok {
		t.Errorf("the repository's config.yaml is too deep at %d", depth)
	}
}

func TestParseRefusesTooLarge(t *testing.T) {
	src := "# " + strings.Repeat("x", MaxBytes) + "\n"
	_, err := Parse("big.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "big.yaml: the configuration is larger than 64 KiB") {
		t.Errorf("Parse = %v", err)
	}

	path := filepath.Join(t.TempDir(), "big.yaml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// 1 GB, sparse: ReadFile must stop after MaxBytes+1.
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var data []byte
	bytes := allocated(func() { data, err = ReadFile(path) })
	if err == nil || data != nil || !strings.Contains(err.Error(), "larger than 64 KiB") {
		t.Errorf("ReadFile = %d bytes, %v", len(data), err)
	}
	if bytes > 1<<20 {
		t.Errorf("ReadFile allocated %d MB", bytes>>20)
	}
	if _, _, err := Load(path, nil); err == nil || !strings.Contains(err.Error(), "larger than 64 KiB") {
		t.Errorf("Load = %v", err)
	}
}

// Invalid UTF-8 would be replaced by the reader, naming another folder.
func TestParseRefusesInvalidUTF8(t *testing.T) {
	for _, tt := range []struct {
		src       string
		line, col int
	}{
		{"data_dir: lat\xe9\n", 1, 14},
		{"\ufeffepochs: 3\n# é\nruns_dir: \x80\n", 3, 11},
		{"# ünïcödé\n# ok \xff\n", 2, 6},
	} {
		_, err := Parse("c.yaml", []byte(tt.src))
		var cerr *Error
		if !errors.As(err, &cerr) || !strings.Contains(cerr.Msg, "not valid UTF-8") || cerr.Line != tt.line || cerr.Column != tt.col {
			t.Errorf("Parse(%q) = %v; want not valid UTF-8 at %d:%d", tt.src, err, tt.line, tt.col)
		}
	}
}
