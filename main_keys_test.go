package main

import (
	"strings"
	"testing"
	"time"
)

// mouseReported reports whether the program asked the terminal for mouse
// events (button-event tracking, what bubbletea's cell motion mode uses).
func mouseReported(t *testing.T, socket string) bool {
	t.Helper()
	return strings.TrimSpace(tmux(t, socket, "display-message", "-p", "-t", "e2e", "#{mouse_button_flag}")) == "1"
}

// TestPagesAndKeysInARealTerminal goes through the pages at 80x24 as a
// user would: keys typed together each count, the draw page answers the
// page numbers, ? and q, ? shows the page's keys, and the mouse is taken
// only on the pages that use it.
func TestPagesAndKeysInARealTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model for an epoch in a terminal")
	}
	_, socket := startInTmux(t, 80, 24, "--model", "linear", "--epochs", "1")
	waitScreen(t, socket, "[RUNNING]", 60*time.Second)
	if mouseReported(t, socket) {
		t.Error("the dashboard page takes the mouse: text cannot be selected")
	}

	// One write of two keys, as a paste or a slow link delivers them.
	tmux(t, socket, "send-keys", "-t", "e2e", "34")
	waitScreen(t, socket, "[4 mistakes]", 10*time.Second)

	tmux(t, socket, "send-keys", "-t", "e2e", "6")
	screen := waitScreen(t, socket, "[6 draw]", 10*time.Second)
	if !strings.Contains(lastLine(screen), "esc back") {
		t.Errorf("the draw page's hint line hides esc:\n%s", screen)
	}
	if !mouseReported(t, socket) {
		t.Error("the draw page does not take the mouse")
	}
	tmux(t, socket, "send-keys", "-t", "e2e", "?")
	waitScreen(t, socket, "draw page", 10*time.Second)
	waitScreen(t, socket, "paint at cursor", 10*time.Second)
	tmux(t, socket, "send-keys", "-t", "e2e", "Escape")
	waitScreen(t, socket, "left button draws", 10*time.Second) // the help closed
	// An escape and a key in one read are alt+key: let the escape go alone.
	time.Sleep(300 * time.Millisecond)
	tmux(t, socket, "send-keys", "-t", "e2e", "2")
	waitScreen(t, socket, "[2 runs]", 10*time.Second)
	if mouseReported(t, socket) {
		t.Error("the runs page still takes the mouse after leaving the draw page")
	}
	tmux(t, socket, "send-keys", "-t", "e2e", "6")
	waitScreen(t, socket, "[6 draw]", 10*time.Second)
	tmux(t, socket, "send-keys", "-t", "e2e", "q")
	if screen := waitScreen(t, socket, "EXIT=", 30*time.Second); !strings.Contains(screen, "EXIT=0") {
		t.Errorf("q on the draw page did not quit with 0:\n%s", screen)
	}
}

// lastLine is the last line of a screen that has something on it.
func lastLine(screen string) string {
	lines := strings.Split(strings.TrimRight(screen, "\n "), "\n")
	return lines[len(lines)-1]
}
