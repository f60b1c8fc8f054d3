package yamlpos

import (
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
