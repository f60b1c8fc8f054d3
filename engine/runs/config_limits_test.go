package runs

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The runs page reads every run folder's config.yaml: a deeply nested or
// huge one is a note on that run, found at once, not gigabytes of YAML
// parsing.
func TestLoadNotesAHostileConfig(t *testing.T) {
	for name, text := range map[string]string{
		"deep":  strings.Repeat("- ", 30000) + "x\n",
		"large": strings.Repeat("# padding\n", 1<<20),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r, _ := Load(dir)
			runtime.ReadMemStats(&after)
			if !strings.Contains(strings.Join(r.Notes, "\n"), ConfigFile) {
				t.Errorf("notes %q do not mention %s", r.Notes, ConfigFile)
			}
			if mb := (after.TotalAlloc - before.TotalAlloc) >> 20; mb > 8 {
				t.Errorf("reading the run allocated %d MB", mb)
			}
		})
	}
}
