package config

import (
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
)

// place is a 1-based line and column, counted in characters.
type place struct{ line, col int }

// span is a range of byte offsets, src[start:end].
type span struct{ start, end int }

// errorAt makes an *Error positioned where the YAML library placed node.
func errorAt(filename string, node ast.Node, key, msg string) *Error {
	line, col := position(node)
	return &Error{File: filename, Line: line, Column: col, Key: key, Msg: msg}
}

// position is the line and column where the YAML library placed node, 0 if
// unknown.
func position(node ast.Node) (line, col int) {
	switch n := node.(type) {
	case nil:
		return 0, 0
	case *ast.MappingNode:
		// The library places a block mapping at its first colon; the
		// first key is where a reader looks.
		if len(n.Values) > 0 && !n.IsFlowStyle {
			return position(n.Values[0])
		}
	case *ast.MappingValueNode:
		if n == nil {
			return 0, 0
		}
		return position(n.Key)
	}
	tk := node.GetToken()
	if tk == nil || tk.Position == nil {
		return 0, 0
	}
	return tk.Position.Line, tk.Position.Column
}

// scalarSpan finds the text of a scalar value node in src, the text that was
// parsed.
//
// The library's column is not always where the text starts: a plain value
// followed by blanks at the end of its line is placed too far right, by the
// number of blanks ("epochs: 1  " puts the 1 in column 11). So the text is
// looked for on the node's line, at the last place where it starts no later
// than the library's column. It cannot start later than its true place (the
// blanks after it are not part of it), and any earlier match is excluded by
// taking the last one.
func scalarSpan(src string, node ast.Node) (span, bool) {
	switch node.(type) {
	case *ast.StringNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode, *ast.NullNode:
	default:
		return span{}, false // not a one-token value
	}
	line, col := position(node)
	lineStart, lineEnd, ok := lineBounds(src, line)
	if !ok || col < 1 {
		return span{}, false
	}
	reported := lineStart
	for c := 1; c < col && reported < lineEnd; c++ {
		_, size := utf8.DecodeRuneInString(src[reported:])
		reported += size
	}
	tk := node.GetToken()
	// Origin is the token as written (with quotes) plus the blanks around
	// it; Value is the same for an unquoted token.
	for _, raw := range []string{strings.TrimSpace(tk.Origin), tk.Value} {
		if raw == "" || strings.ContainsAny(raw, "\r\n") {
			continue
		}
		limit := min(reported+len(raw), lineEnd)
		if i := strings.LastIndex(src[lineStart:limit], raw); i >= 0 {
			return span{lineStart + i, lineStart + i + len(raw)}, true
		}
	}
	return span{}, false
}

// lineBounds returns the byte offsets of the start and end (before any line
// break) of the 1-based line in src.
func lineBounds(src string, line int) (start, end int, ok bool) {
	if line < 1 {
		return 0, 0, false
	}
	for l := 1; l < line; l++ {
		i := strings.IndexByte(src[start:], '\n')
		if i < 0 {
			return 0, 0, false
		}
		start += i + 1
	}
	end = len(src)
	if i := strings.IndexByte(src[start:], '\n'); i >= 0 {
		end = start + i
	}
	if end > start && src[end-1] == '\r' {
		end--
	}
	return start, end, true
}

// lineColumn converts a byte offset in src into a 1-based line and column
// counted in characters, as the YAML library counts them.
func lineColumn(src string, offset int) (line, col int) {
	before := src[:offset]
	lineStart := strings.LastIndexByte(before, '\n') + 1
	return strings.Count(before, "\n") + 1, utf8.RuneCountInString(before[lineStart:]) + 1
}
