package yamlpos

import (
	"errors"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

func TestOf(t *testing.T) {
	src := "top:\n  epochs: 3\n  flow: {a: 1}\n"
	file, err := parser.ParseBytes([]byte(src), 0)
	if err != nil {
		t.Fatal(err)
	}
	body := file.Docs[0].Body.(*ast.MappingNode)
	root := body.Values[0]
	inner := root.Value.(*ast.MappingNode)
	flow := inner.Values[1].Value.(*ast.MappingNode)
	for _, tt := range []struct {
		name      string
		node      ast.Node
		line, col int
	}{
		{"the document is placed at its first key", body, 1, 1},
		{"a key-value pair is placed at its key", root, 1, 1},
		{"a block mapping is placed at its first key, not its colon", inner, 2, 3},
		{"a scalar is placed where it starts", inner.Values[0].Value, 2, 11},
		{"a flow mapping is placed at its brace", flow, 3, 9},
		{"no node has no place", nil, 0, 0},
		{"a nil pair has no place", (*ast.MappingValueNode)(nil), 0, 0},
	} {
		line, col := Of(tt.node)
		if line != tt.line || col != tt.col {
			t.Errorf("%s: Of = %d:%d, want %d:%d", tt.name, line, col, tt.line, tt.col)
		}
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := parser.ParseBytes([]byte("a: 1\nb: [1, 2\n"), 0)
	if err == nil {
		t.Fatal("an unclosed list parsed")
	}
	// err.Error() is "[2:4] sequence end token ']' not found" followed by the source lines.
	msg, line, col := SyntaxError(err)
	if msg != "sequence end token ']' not found" || line != 2 || col != 4 {
		t.Errorf("SyntaxError = %q at %d:%d, want the library's message alone, at the list's bracket 2:4", msg, line, col)
	}

	other := errors.New("disk on fire")
	if msg, line, col := SyntaxError(other); msg != "disk on fire" || line != 0 || col != 0 {
		t.Errorf("a non-YAML error gives %q at %d:%d, want its text at 0:0", msg, line, col)
	}
}

// The library's message for a line indented wrongly gets a word on indentation.
func TestSyntaxErrorIndentation(t *testing.T) {
	for _, src := range []string{
		"network:\n  - conv: {out: 4, kernel: 3}\n   - relu\n",
		"network:\n  - flatten\n - linear: 10\n",
		"model: custom\n epochs: 2\n",
	} {
		_, err := parser.ParseBytes([]byte(src), 0)
		if err == nil {
			t.Fatalf("%q parsed", src)
		}
		if msg, _, _ := SyntaxError(err); !strings.Contains(msg, "check the indentation") {
			t.Errorf("%q: %q, want a word on indentation", src, msg)
		}
	}
}
