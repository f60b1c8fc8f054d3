package config

import (
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxBytes is the largest configuration accepted. The file is a dozen
// "key: value" lines with comments (about 2 KB); 64 KiB leaves room for any
// amount of commentary a person writes, and keeps the YAML reader's cost
// small whatever the text is.
const MaxBytes = 64 << 10

// maxNesting is the deepest nesting of lists, mappings and flow brackets
// accepted. A configuration needs two levels ({epochs: 1} in a document);
// the YAML reader's time and memory grow with the square of the depth (a
// 200 KB file of nested '[' took 79 s and 15 GB), so anything deeper is
// refused before it reaches the reader.
const maxNesting = 32

// ReadFile reads a configuration file, refusing one larger than MaxBytes
// without reading all of it.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxBytes {
		return nil, tooLarge(path)
	}
	return data, nil
}

func tooLarge(filename string) *Error {
	return &Error{File: filename, Msg: fmt.Sprintf("the configuration is larger than %d KiB; a config file is a dozen 'key: value' lines, check that this is the right file", MaxBytes>>10)}
}

// checkText refuses, before the YAML reader sees it, text that is too
// large, too deeply nested or not UTF-8. src is the text after any
// byte-order mark.
func checkText(filename, src string) *Error {
	if len(src) > MaxBytes {
		return tooLarge(filename)
	}
	if !utf8.ValidString(src) {
		// The YAML reader would replace the bad bytes, and a folder name
		// would silently name another folder.
		at := firstInvalidUTF8(src)
		line, col := lineColumn(src, at)
		return &Error{File: filename, Line: line, Column: col,
			Msg: fmt.Sprintf("the file is not valid UTF-8 text (byte 0x%02X); save it as UTF-8", src[at])}
	}
	if at := strings.IndexFunc(src, notYAMLPrintable); at >= 0 {
		// YAML allows only printable text, tabs and line breaks; an
		// escape character in a folder name would reach the terminal
		// every time the name is shown.
		r, _ := utf8.DecodeRuneInString(src[at:])
		line, col := lineColumn(src, at)
		return &Error{File: filename, Line: line, Column: col,
			Msg: fmt.Sprintf("the file holds a control character (U+%04X), which YAML does not allow; delete it", r)}
	}
	if at, ok := tooDeep(src); !ok {
		line, col := lineColumn(src, at)
		return &Error{File: filename, Line: line, Column: col,
			Msg: fmt.Sprintf("nested more than %d levels deep; the file must be a list of 'key: value' lines (quote text that holds '[', '{' or '- ')", maxNesting)}
	}
	return nil
}

// notYAMLPrintable reports the characters YAML's c-printable excludes: the
// C0 and C1 controls but tab, line breaks and NEL, and DEL.
func notYAMLPrintable(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
		return false
	case r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f:
		return true
	}
	return false
}

// hasControl reports whether text holds a control character: a value
// written with YAML escapes ("\e[2J") can, though the file cannot.
func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

func firstInvalidUTF8(s string) int {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(s)
}

// tooDeep estimates how deeply src nests and returns the offset where it
// first goes deeper than maxNesting, and false. The estimate counts the
// indentation levels open at each line (as Python's tokenizer does), the
// block indicators "- ", "? " and ": " that open a level on the same line
// ("- - - x" is three lists deep) and the flow brackets '[' and '{' not in
// quotes or comments. It may count a level too many (a plain scalar like
// a[b) but never misses one, so valid files pass and the reader never sees
// deep ones.
func tooDeep(src string) (int, bool) {
	var indents []int // columns of the open indentation levels
	flow := 0         // open flow brackets
	lineStart := true
	for i := 0; i < len(src); {
		if lineStart {
			lineStart = false
			col := 0
			for i+col < len(src) && (src[i+col] == ' ' || src[i+col] == '\t') {
				col++
			}
			if end := i + col; end < len(src) && src[end] != '\n' && src[end] != '\r' && src[end] != '#' && flow == 0 {
				for len(indents) > 0 && indents[len(indents)-1] > col {
					indents = indents[:len(indents)-1]
				}
				if len(indents) == 0 || indents[len(indents)-1] < col {
					indents = append(indents, col)
				}
			}
			i += col
			if len(indents)+flow > maxNesting {
				return i, false
			}
			continue
		}
		c := src[i]
		prev := byte(' ')
		if i > 0 {
			prev = src[i-1]
		}
		tokenStart := prev == ' ' || prev == '\t' || prev == '\n' || prev == '\r' || prev == '[' || prev == '{' || prev == ','
		switch {
		case c == '\n' || c == '\r':
			lineStart = true
			i++
		case c == '#' && (prev == ' ' || prev == '\t' || prev == '\n' || prev == '\r' || i == 0):
			for i < len(src) && src[i] != '\n' && src[i] != '\r' {
				i++
			}
		case (c == '"' || c == '\'') && (tokenStart || prev == ':'):
			i = skipQuoted(src, i)
		case c == '[' || c == '{':
			flow++
			if len(indents)+flow > maxNesting {
				return i, false
			}
			i++
		case c == ']' || c == '}':
			flow = max(flow-1, 0)
			i++
		case (c == '-' || c == '?' || c == ':') && tokenStart && (i+1 == len(src) || src[i+1] == ' ' || src[i+1] == '\t'):
			// A block indicator in the middle of a line opens a level
			// whose content starts after it.
			col := i - lineBegin(src, i) + 1
			if len(indents) == 0 || indents[len(indents)-1] < col {
				indents = append(indents, col)
			}
			if len(indents)+flow > maxNesting {
				return i, false
			}
			i++
		default:
			i++
		}
	}
	return 0, true
}

// skipQuoted returns the offset after the quoted scalar that starts at
// src[i], or len(src) when it is never closed (the reader then reports it).
func skipQuoted(src string, i int) int {
	quote := src[i]
	for j := i + 1; j < len(src); j++ {
		switch {
		case quote == '"' && src[j] == '\\':
			j++
		case src[j] == quote && quote == '\'' && j+1 < len(src) && src[j+1] == '\'':
			j++ // '' is a quote inside single quotes
		case src[j] == quote:
			return j + 1
		}
	}
	return len(src)
}

// lineBegin returns the offset where the line holding src[i] starts.
func lineBegin(src string, i int) int {
	for i > 0 && src[i-1] != '\n' && src[i-1] != '\r' {
		i--
	}
	return i
}
