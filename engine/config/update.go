package config

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"mnist-tui/engine/network"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// Update returns a copy of the YAML document data with the values of some
// keys changed, for editing config.yaml from the dashboard. Only the text of
// each value that really changes is rewritten: comments, key order, blank
// lines, quoting and line endings of everything else stay as the user wrote
// them. A key the document does not set yet is added at the end (unless the
// new value is its default, which needs no line).
//
// changes maps key names to Go values: a string for text keys, any integer
// type for whole-number keys, any integer or float type for learning_rate,
// momentum and weight_decay. Update fails, returning an *Error and leaving
// data untouched, when data is not a valid configuration, when a key is
// unknown or a value has the wrong type, or when the result would not pass
// Parse (a value out of range, say).
func Update(filename string, data []byte, changes map[string]any) ([]byte, error) {
	doc, err := parseDocument(filename, data)
	if err != nil {
		return nil, err
	}
	unknown := make([]string, 0, len(changes))
	for key := range changes {
		if _, ok := lookup(key); !ok {
			unknown = append(unknown, key)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown) // report the same key every time
		return nil, &Error{File: filename, Key: unknown[0], Msg: unknownKeyMsg(unknown[0])}
	}

	// The document's positions are counted after a byte-order mark.
	src := string(data)
	bom := 0
	if strings.HasPrefix(src, utf8BOM) {
		bom = len(utf8BOM)
	}

	want := doc.cfg
	var edits []edit
	var added, addedKeys []string
	for _, f := range fields { // file order, so that added keys come out in file order
		v, ok := changes[f.key]
		if !ok {
			continue
		}
		if msg := assign(f.ptr(&want), v); msg != "" {
			return nil, &Error{File: filename, Key: f.key, Msg: msg}
		}
		if sameValue(f.ptr(&want), f.ptr(&doc.cfg)) {
			continue // keep the user's spelling of an unchanged value (1e-2, say)
		}
		text := formatValue(f.ptr(&want))
		if _, present := doc.keys[f.key]; !present {
			added = append(added, f.key+": "+text)
			addedKeys = append(addedKeys, f.key)
			continue
		}
		at, ok := doc.spans[f.key]
		if !ok {
			line, col := doc.keys[f.key].line, doc.keys[f.key].col
			return nil, &Error{File: filename, Line: line, Column: col, Key: f.key,
				Msg: "could not locate this value's text to change it; edit the file by hand"}
		}
		edits = append(edits, edit{start: bom + at.start, end: bom + at.end, text: text})
	}

	out := applyEdits(src, edits)
	if len(added) > 0 {
		if doc.flow {
			return nil, &Error{File: filename, Key: addedKeys[0], Msg: "cannot add a key to a one-line {key: value} mapping; add it by hand"}
		}
		out = appendLines(out, added, doc.keyColumn)
	}

	got, err := Parse(filename, []byte(out))
	if err != nil {
		return nil, err
	}
	// The new text must mean exactly the old configuration with the changes
	// applied; anything else is a bug here, and the user's file must not pay
	// for it.
	if live, restart := Diff(want, got); len(live)+len(restart) > 0 {
		key := slices.Concat(live, restart)[0]
		return nil, &Error{File: filename, Key: key, Msg: "the edited file does not read back as the requested value (a bug in config.Update); edit the file by hand"}
	}
	return []byte(out), nil
}

// edit replaces src[start:end] with text.
type edit struct {
	start, end int
	text       string
}

func applyEdits(src string, edits []edit) string {
	// Back to front, so that earlier offsets stay valid.
	sort.Slice(edits, func(i, j int) bool { return edits[i].start > edits[j].start })
	for _, e := range edits {
		src = src[:e.start] + e.text + src[e.end:]
	}
	return src
}

// appendLines adds "key: value" lines at the end of src, indented like the
// document's other keys and with the document's line ending.
func appendLines(src string, lines []string, keyColumn int) string {
	newline := "\n"
	if i := strings.IndexAny(src, "\r\n"); i >= 0 && src[i] == '\r' {
		newline = "\r" // a lone \r, as on classic Mac OS
		if strings.HasPrefix(src[i:], "\r\n") {
			newline = "\r\n"
		}
	}
	var b strings.Builder
	b.WriteString(src)
	if src != "" && !strings.HasSuffix(src, "\n") && !strings.HasSuffix(src, "\r") {
		b.WriteString(newline)
	}
	indent := strings.Repeat(" ", max(keyColumn-1, 0))
	for _, l := range lines {
		b.WriteString(indent + l + newline)
	}
	return b.String()
}

// assign stores the Go value v into *ptr, a pointer from a field's ptr. Any
// integer type fits a whole-number key whose range holds the value, and any
// integer or float type a number key. It returns "" on success, or else what
// is wrong.
func assign(ptr any, v any) string {
	rv := reflect.ValueOf(v)
	kind := reflect.Invalid
	if rv.IsValid() {
		kind = rv.Kind()
	}
	isInt := kind >= reflect.Int && kind <= reflect.Int64
	isUint := kind >= reflect.Uint && kind <= reflect.Uintptr
	isFloat := kind == reflect.Float32 || kind == reflect.Float64
	got := fmt.Sprintf(" (got %T %v)", v, v)

	switch p := ptr.(type) {
	case *string:
		if kind != reflect.String {
			return "must be a string" + got
		}
		if !utf8.ValidString(rv.String()) {
			return "must be valid UTF-8 text" + got
		}
		*p = rv.String()
	case *int:
		switch {
		case isInt && rv.Int() >= math.MinInt && rv.Int() <= math.MaxInt:
			*p = int(rv.Int())
		case isUint && rv.Uint() <= math.MaxInt:
			*p = int(rv.Uint())
		default:
			return "must be a whole number that fits in an int" + got
		}
	case *uint64:
		switch {
		case isInt && rv.Int() >= 0:
			*p = uint64(rv.Int())
		case isUint:
			*p = rv.Uint()
		default:
			return "must be a whole number of at least 0" + got
		}
	case *bool:
		if kind != reflect.Bool {
			return "must be true or false" + got
		}
		*p = rv.Bool()
	case *float64:
		switch {
		case isFloat:
			*p = rv.Float()
		case isInt:
			*p = float64(rv.Int())
		case isUint:
			*p = float64(rv.Uint())
		default:
			return "must be a number" + got
		}
	case **network.Network:
		return "cannot be set this way; edit the network: list in the file"
	default:
		panic(fmt.Sprintf("config: field pointer of unexpected type %T", ptr)) // a bug in the fields table
	}
	return ""
}

// formatValue writes the value behind a field pointer as a YAML scalar.
func formatValue(ptr any) string {
	switch p := ptr.(type) {
	case *string:
		return formatString(*p)
	case *int:
		return strconv.Itoa(*p)
	case *uint64:
		return strconv.FormatUint(*p, 10)
	case *bool:
		return strconv.FormatBool(*p)
	case *float64:
		return formatFloat(*p)
	case **network.Network:
		return (*p).YAML()
	}
	panic(fmt.Sprintf("config: field pointer of unexpected type %T", ptr)) // a bug in the fields table
}

// formatFloat writes v so that any YAML reader sees a float, YAML 1.1 ones
// (PyYAML) included: always a decimal point, a signed exponent, and the
// shortest digits that read back as exactly v (0.01, 1.0e-05, 100.0).
func formatFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return ".nan"
	case math.IsInf(v, 1):
		return ".inf"
	case math.IsInf(v, -1):
		return "-.inf"
	}
	s := strconv.FormatFloat(v, 'g', -1, 64)
	mantissa, exponent, hasExp := strings.Cut(s, "e")
	if !strings.Contains(mantissa, ".") {
		mantissa += ".0"
	}
	if hasExp {
		return mantissa + "e" + exponent
	}
	return mantissa
}

// showFloat writes v for a message, as Go and the command line spell it.
func showFloat(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// formatString writes s bare when YAML reads it back as the same text, and
// in double quotes otherwise ("", "2024", "a: b", " x", "null").
func formatString(s string) string {
	if isPlainSafe(s) {
		return s
	}
	return quoteString(s)
}

// isPlainSafe asks the YAML reader itself whether s, written bare after a
// key, reads back as the text s. That covers every special case of YAML's
// plain scalars (numbers, booleans, null, comments, indicators) at once.
func isPlainSafe(s string) bool {
	if s == "" || strings.IndexFunc(s, notYAMLPrintable) >= 0 || !utf8.ValidString(s) {
		return false
	}
	file, err := parseYAML("k: " + s + "\n")
	if err != nil || len(file.Docs) != 1 {
		return false
	}
	m, ok := file.Docs[0].Body.(*ast.MappingNode)
	if !ok || len(m.Values) != 1 {
		return false
	}
	v, ok := m.Values[0].Value.(*ast.StringNode)
	return ok && v.GetToken().Type == token.StringType && v.Value == s
}

// quoteString writes s as a YAML double-quoted scalar. Text that is not
// valid UTF-8 cannot be written in YAML; its bad bytes become U+FFFD.
func quoteString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case !unicode.IsPrint(r) && r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		case !unicode.IsPrint(r):
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
