package config

import (
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"

	"mnist-tui/engine/internal/yamlpos"
)

// place is a 1-based line and column, counted in characters.
type place struct{ line, col int }

// span is a range of byte offsets, src[start:end].
type span struct{ start, end int }

// errorAt makes an *Error positioned where the YAML library placed node.
func errorAt(filename string, node ast.Node, key, msg string) *Error {
	line, col := yamlpos.Of(node)
	return &Error{File: filename, Line: line, Column: col, Key: key, Msg: msg}
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
	line, col := yamlpos.Of(node)
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
	// it; Value is the same for an unquoted token, and for a quoted one
	// lacks the quotes.
	candidates := []string{strings.TrimSpace(tk.Origin)}
	if s, isText := node.(*ast.StringNode); !isText || isPlain(s) {
		candidates = append(candidates, tk.Value)
	}
	for _, raw := range candidates {
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

// lineStarts returns the byte offset where each line of src starts. Like
// the YAML library, it takes "\r\n", "\n" and a lone "\r" as line breaks.
func lineStarts(src string) []int {
	starts := []int{0}
	for i := 0; i < len(src); i++ {
		switch {
		case src[i] == '\n':
			starts = append(starts, i+1)
		case src[i] == '\r' && (i+1 == len(src) || src[i+1] != '\n'):
			starts = append(starts, i+1)
		}
	}
	return starts
}

// splitLines returns the lines of src without their line breaks.
func splitLines(src string) []string {
	starts := lineStarts(src)
	lines := make([]string, len(starts))
	for i, start := range starts {
		end := len(src)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		lines[i] = strings.TrimRight(src[start:end], "\r\n")
	}
	return lines
}

// lineBounds returns the byte offsets of the start and end (before the line
// break) of the 1-based line in src.
func lineBounds(src string, line int) (start, end int, ok bool) {
	starts := lineStarts(src)
	if line < 1 || line > len(starts) {
		return 0, 0, false
	}
	start, end = starts[line-1], len(src)
	if line < len(starts) {
		end = starts[line]
	}
	end = start + len(strings.TrimRight(src[start:end], "\r\n"))
	return start, end, true
}

// lineColumn converts a byte offset in src into a 1-based line and column
// counted in characters, as the YAML library counts them.
func lineColumn(src string, offset int) (line, col int) {
	starts := lineStarts(src)
	line = sort.SearchInts(starts, offset+1) // the last start at or before offset, 1-based
	return line, utf8.RuneCountInString(src[starts[line-1]:offset]) + 1
}
