package main

import (
	"os"
	"strings"
	"testing"
)

// The README shows the dashboard as the program draws it: the block that
// scripts/dashboard-picture.sh captures from a real run, not a placeholder.
func TestReadmeShowsTheDashboard(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "<!-- dashboard -->\n")
	block, _, closed := strings.Cut(rest, "<!-- /dashboard -->")
	if !ok || !closed {
		t.Fatal("README.md lacks the <!-- dashboard --> ... <!-- /dashboard --> block the script fills")
	}
	lines := strings.Split(strings.TrimSpace(block), "\n")
	if len(lines) != 30+2 || lines[0] != "```" || lines[len(lines)-1] != "```" {
		t.Fatalf("the picture is not a 100x30 capture in a fenced block (%d lines); run scripts/dashboard-picture.sh", len(lines))
	}
	screen := strings.Join(lines[1:len(lines)-1], "\n")
	for _, want := range []string{"[RUNNING]", "[1 dashboard]", "running loss", "error %", "? all keys"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the picture lacks %q: run scripts/dashboard-picture.sh", want)
		}
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > 100 {
			t.Errorf("a line of %d columns in a 100-column capture: %q", n, l)
		}
	}
	if st, err := os.Stat("scripts/dashboard-picture.sh"); err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("scripts/dashboard-picture.sh is missing or not executable: %v", err)
	}
}
