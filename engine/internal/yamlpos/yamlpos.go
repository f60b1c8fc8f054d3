// Package yamlpos says where in a YAML file a parsed node stands, for error messages that
// point at the line a reader has to fix. engine/config and engine/network both report
// positions this way, so that their messages agree.
package yamlpos

import (
	"errors"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// Of returns the 1-based line and column where the YAML library placed node, 0, 0 if unknown.
func Of(node ast.Node) (line, col int) {
	switch n := node.(type) {
	case nil:
		return 0, 0
	case *ast.MappingNode:
		// The library places a block mapping at its first colon; the first key is where a
		// reader looks.
		if len(n.Values) > 0 && !n.IsFlowStyle {
			return Of(n.Values[0])
		}
	case *ast.MappingValueNode:
		if n == nil {
			return 0, 0
		}
		return Of(n.Key)
	}
	tk := node.GetToken()
	if tk == nil || tk.Position == nil {
		return 0, 0
	}
	return tk.Position.Line, tk.Position.Column
}

// SyntaxError returns the YAML library's message for a file it could not parse and where it
// placed the problem (0, 0 if unknown), without the position and source excerpt that err's
// Error() folds into one text.
func SyntaxError(err error) (msg string, line, col int) {
	var yerr yaml.Error
	if !errors.As(err, &yerr) {
		return err.Error(), 0, 0
	}
	if tk := yerr.GetToken(); tk != nil && tk.Position != nil {
		line, col = tk.Position.Line, tk.Position.Column
	}
	msg = yerr.GetMessage()
	if strings.HasSuffix(msg, "not allowed in this context") {
		// The library's words for a line indented wrongly, which they do not name.
		msg += " (check the indentation of this line and the one above: the '- ' items of a list start in one column, a key's settings sit further right than the key, and the top-level keys at the left edge)"
	}
	return msg, line, col
}
