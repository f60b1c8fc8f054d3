package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"mnist-tui/ui/editor"
	"mnist-tui/ui/view"
)

// Text typed in the config editor and never applied survives the
// dashboard closing, and the user is told where it is.
func TestKeepDraftsSavesUnappliedEditorText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "my.yaml")
	untouched := editor.New(path, []byte("epochs: 3\n"), view.Options{NoColor: true})
	typed := editor.New(path, []byte("epochs: 3\n"), view.Options{NoColor: true})
	typed.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("#")})

	var out bytes.Buffer
	if err := keepDrafts(&out, []view.View{untouched}); err != nil || out.Len() != 0 {
		t.Fatalf("an untouched editor: %q, %v", out.String(), err)
	}
	if err := keepDrafts(&out, []view.View{untouched, typed}); err != nil {
		t.Fatal(err)
	}
	draft := filepath.Join(filepath.Dir(path), "my.draft.yaml")
	if !strings.Contains(out.String(), draft) {
		t.Errorf("message %q does not name %s", out.String(), draft)
	}
	if data, err := os.ReadFile(draft); err != nil || !strings.Contains(string(data), "#") {
		t.Errorf("draft %q, %v", data, err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the config file was written (%v)", err)
	}
}
