package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"mnist-tui/engine/internal/yamlpos"
)

// EmbeddedSource is the source Load reports when it used the configuration
// built into the program.
const EmbeddedSource = "embedded default"

// localFile is the file Load looks for in the working directory.
const localFile = "config.yaml"

// Load reads the configuration a run should use and says where it came from.
// With a path, that file must exist. Without one, ./config.yaml is used when
// it exists, and otherwise the embedded bytes (the program's built-in copy of
// config.yaml), reported as EmbeddedSource. The source is returned even with
// a parse error, so the caller can say which file was wrong.
func Load(path string, embedded []byte) (cfg Config, source string, err error) {
	if path != "" {
		data, err := loadFile(path)
		if err != nil {
			return Config{}, path, err
		}
		cfg, err := Parse(path, data)
		return cfg, path, err
	}
	data, err := loadFile(localFile)
	switch {
	case err == nil:
		cfg, err := Parse(localFile, data)
		return cfg, localFile, err
	case errors.Is(err, fs.ErrNotExist):
		cfg, err := Parse(localFile+" (embedded)", embedded)
		return cfg, EmbeddedSource, err
	default:
		// An unreadable ./config.yaml is reported, not silently replaced by
		// the defaults: the user meant it to be used.
		return Config{}, localFile, err
	}
}

// loadFile is ReadFile with the path in its errors.
func loadFile(path string) ([]byte, error) {
	data, err := ReadFile(path)
	var cerr *Error
	if err != nil && !errors.As(err, &cerr) {
		err = fmt.Errorf("config %s: %w", path, err)
	}
	return data, err
}

// Parse reads a YAML configuration. Keys the document leaves out keep their
// Defaults(); an empty document is all defaults. Parse is strict: unknown or
// repeated keys, values of the wrong type and values out of range are
// errors. Every error is an *Error naming filename (used only in messages)
// and, when known, the line and column of the offending key or value.
func Parse(filename string, data []byte) (Config, error) {
	doc, err := parseDocument(filename, data)
	if err != nil {
		return Config{}, err
	}
	return doc.cfg, nil
}

// document is a parsed configuration together with where its values are, so
// that Update can edit them in place.
type document struct {
	cfg Config
	// keys holds where each key the document sets is.
	keys map[string]place
	// spans holds where the value of each key is, as byte offsets after any
	// byte-order mark; a value the library placed oddly may be missing.
	spans map[string]span
	// flow is true for a one-line {key: value} mapping, which Update cannot
	// add keys to.
	flow bool
	// keyColumn is the 1-based column of the document's keys (0 if none).
	keyColumn int
}

// utf8BOM is written by some Windows editors at the start of a text file.
const utf8BOM = "\ufeff"

// parseDocument reads a document over its recipe, if it names one.
func parseDocument(filename string, data []byte) (*document, error) {
	return parseWithRecipe(filename, data, "")
}

// parseOver reads a document whose keys replace the settings of base. With
// only set, it reads that key alone (the others are still checked to be
// known and set once).
func parseOver(filename string, data []byte, base Config, only string) (*document, error) {
	doc := &document{cfg: base, keys: map[string]place{}, spans: map[string]span{}}
	src := strings.TrimPrefix(string(data), utf8BOM)
	if err := checkText(filename, src); err != nil {
		return nil, err
	}
	// The YAML library drops some content in the last line when no line
	// break follows it ("epochs: 3\n!x" reads as just epochs: 3), so give
	// it one. Positions are not affected.
	text := src
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	file, err := parseYAML(text)
	if err != nil {
		return nil, syntaxError(filename, err)
	}

	// Empty documents leave no trace in the syntax tree, and the library
	// loses content after two "---" lines in a row, so count the markers.
	if line := secondDocumentStart(src); line > 0 {
		return nil, &Error{File: filename, Line: line, Column: 1,
			Msg: "only one YAML document is allowed; remove this '---' line and what follows it"}
	}

	var body ast.Node
	for _, d := range file.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		if _, ok := d.Body.(*ast.DirectiveNode); ok {
			return nil, errorAt(filename, d.Body, "", "YAML directives like %YAML are not supported; delete the line")
		}
		if body != nil {
			return nil, errorAt(filename, d.Body, "", "only one YAML document is allowed; remove the '---' line and what follows it")
		}
		body = d.Body
	}

	var pairs []*ast.MappingValueNode
	switch b := body.(type) {
	case nil:
		// The YAML library also finds no content in some broken text (a
		// lone "!tag" at the very end, say), so check that there is none.
		if line := firstContentLine(src); line > 0 {
			return nil, &Error{File: filename, Line: line, Column: 1,
				Msg: "the file must be a list of 'key: value' lines, like 'epochs: 10'"}
		}
		return doc, nil // nothing set: all defaults
	case *ast.MappingNode:
		pairs, doc.flow = b.Values, b.IsFlowStyle
	case *ast.MappingValueNode:
		pairs = []*ast.MappingValueNode{b}
	default:
		return nil, errorAt(filename, body, "", "the file must be a list of 'key: value' lines, like 'epochs: 10' (got "+describe(body)+")")
	}

	var order []string // the keys set, in file order
	for _, pair := range pairs {
		if pair == nil || pair.Key == nil || pair.Value == nil {
			return nil, errorAt(filename, body, "", "the file must be a list of 'key: value' lines, like 'epochs: 10'")
		}
		keyNode, ok := pair.Key.(*ast.StringNode)
		if !ok {
			return nil, errorAt(filename, pair.Key, "", "keys must be plain names like epochs (got "+describe(pair.Key)+")")
		}
		key := keyNode.Value
		f, ok := lookup(key)
		if !ok {
			return nil, errorAt(filename, keyNode, key, unknownKeyMsg(key))
		}
		if first, seen := doc.keys[key]; seen {
			return nil, errorAt(filename, keyNode, key, fmt.Sprintf("is set twice (first on line %d); keep one", first.line))
		}
		line, col := yamlpos.Of(keyNode)
		doc.keys[key] = place{line, col}
		if key != networkKey {
			order = append(order, key)
		}
		if doc.keyColumn == 0 {
			doc.keyColumn = col
		}
		if only != "" && key != only {
			continue
		}
		if key == networkKey {
			if err := readNetwork(filename, pair.Value, &doc.cfg); err != nil {
				return nil, err
			}
			continue
		}

		span, found := scalarSpan(text, pair.Value)
		valueError := func(msg string) *Error {
			if !found {
				return errorAt(filename, pair.Value, key, msg)
			}
			line, col := lineColumn(text, span.start)
			return &Error{File: filename, Line: line, Column: col, Key: key, Msg: msg}
		}
		if msg := decodeValue(pair.Value, f.ptr(&doc.cfg)); msg != "" {
			if _, empty := pair.Value.(*ast.NullNode); empty {
				// An empty value has no text of its own to point at.
				return nil, errorAt(filename, keyNode, key, msg)
			}
			return nil, valueError(msg)
		}
		if found {
			doc.spans[key] = span
		}
	}
	if only != "" {
		// Only that key was read: only its value can be checked.
		if _, set := doc.keys[only]; set && only != networkKey {
			order = []string{only}
		} else {
			order = nil
		}
		if err := checkValues(filename, text, order, doc); err != nil {
			return nil, err
		}
		return doc, nil
	}
	if err := checkValues(filename, text, order, doc); err != nil {
		return nil, err
	}
	if err := checkCustom(filename, doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// checkValues checks the values of the keys the document sets (order), in file order, once
// every key is read: some checks read other keys (cycle_momentum needs schedule onecycle),
// which the file may set further down.
func checkValues(filename, text string, order []string, doc *document) error {
	for _, key := range order {
		f, _ := lookup(key) // a known key: the loop refused the others
		at := doc.keys[key]
		msg := f.check(doc.cfg)
		if msg == "" {
			continue
		}
		line, col := at.line, at.col
		if span, found := doc.spans[f.key]; found {
			line, col = lineColumn(text, span.start)
		}
		return &Error{File: filename, Line: line, Column: col, Key: f.key, Msg: msg}
	}
	return nil
}

// parseYAML turns src into a syntax tree. Repeated keys are let through so
// that parseDocument can report them in its own words.
func parseYAML(src string) (file *ast.File, err error) {
	// The YAML library is large and fed whatever is in the user's file; a
	// crash inside it must still reach the user as an error, not a stack
	// trace.
	defer func() {
		if r := recover(); r != nil {
			file, err = nil, fmt.Errorf("the YAML reader failed (%v); check the file's syntax", r)
		}
	}()
	return parser.ParseBytes([]byte(src), 0, parser.AllowDuplicateMapKey())
}

// syntaxError keeps the YAML library's message and position.
func syntaxError(filename string, err error) *Error {
	msg, line, col := yamlpos.SyntaxError(err)
	return &Error{File: filename, Line: line, Column: col, Msg: "invalid YAML: " + msg}
}

// describe names a node's kind and value for messages: 64.5, "abc", a list.
func describe(node ast.Node) string {
	switch n := node.(type) {
	case *ast.StringNode:
		return strconv.Quote(n.Value)
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return n.GetToken().Value
	case *ast.NullNode:
		return "no value"
	case *ast.SequenceNode:
		return "a list"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.LiteralNode:
		return "a block of text"
	}
	if tk := node.GetToken(); tk != nil {
		return strconv.Quote(tk.Value)
	}
	return "a " + node.Type().String()
}

// yamlFloat is a number as YAML 1.2 writes it. The YAML library reads some
// of them, like 1e-3, as text (YAML 1.1 wanted 1.0e-3), but learners write
// learning rates that way, so a number key accepts them.
var yamlFloat = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// decodeValue stores the scalar in node into *ptr, a pointer from a field's
// ptr. It returns "" on success, or else what is wrong with the value.
func decodeValue(node ast.Node, ptr any) string {
	switch node.(type) {
	case *ast.NullNode:
		return "has no value; write one, or delete the line to use the default"
	case *ast.SequenceNode:
		return "must be a single value, not a list"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "must be a single value, not a nested mapping"
	case *ast.TagNode:
		return "YAML tags like !!int are not supported; write the plain value"
	case *ast.AnchorNode, *ast.AliasNode:
		return "YAML anchors (&) and aliases (*) are not supported; write the plain value"
	case *ast.LiteralNode:
		return "block text (| or >) is not supported; write the value on the same line as the key"
	}

	switch p := ptr.(type) {
	case *string:
		s, ok := node.(*ast.StringNode)
		if !ok {
			return "must be text (got " + describe(node) + "); put it in quotes if you mean the text"
		}
		*p = s.Value
	case *int:
		v, msg := wholeNumber(node)
		if msg != "" {
			return msg
		}
		switch v := v.(type) {
		case int64:
			if v < math.MinInt {
				return "is too small a number (got " + node.GetToken().Value + ")"
			}
			*p = int(v)
		case uint64:
			if v > math.MaxInt {
				return "is too large a number (got " + node.GetToken().Value + ")"
			}
			*p = int(v)
		}
	case *uint64:
		v, msg := wholeNumber(node)
		if msg != "" {
			return msg
		}
		switch v := v.(type) {
		case int64:
			if v < 0 {
				return fmt.Sprintf("must be a whole number from 0 to %d (got %s)", uint64(math.MaxUint64), node.GetToken().Value)
			}
			*p = uint64(v)
		case uint64:
			*p = v
		}
	case *bool:
		b, ok := node.(*ast.BoolNode)
		if !ok {
			return "must be true or false (got " + describe(node) + ")"
		}
		*p = b.Value
	case *float64:
		v, msg := number(node)
		if msg != "" {
			return msg
		}
		*p = v
	default:
		panic(fmt.Sprintf("config: field pointer of unexpected type %T", ptr)) // a bug in the fields table
	}
	return ""
}

// wholeNumber reads an integer scalar as the int64 or uint64 the YAML
// library chose for it (uint64 for non-negative numbers).
func wholeNumber(node ast.Node) (any, string) {
	n, ok := node.(*ast.IntegerNode)
	if !ok {
		if s, isText := node.(*ast.StringNode); isText && isPlain(s) && isDigits(s.Value) {
			return nil, "is too large a number (got " + s.Value + ")"
		}
		return nil, "must be a whole number (got " + describe(node) + ")"
	}
	if msg := octalTrap(n); msg != "" {
		return nil, msg
	}
	switch v := n.Value.(type) {
	case int64, uint64:
		return v, ""
	}
	return nil, "must be a whole number (got " + describe(node) + ")"
}

// number reads a real-number scalar; whole numbers and .inf/.nan count too,
// so that the range check can say what is wrong with them.
func number(node ast.Node) (float64, string) {
	switch n := node.(type) {
	case *ast.FloatNode:
		return n.Value, ""
	case *ast.InfinityNode:
		return n.Value, ""
	case *ast.NanNode:
		return math.NaN(), ""
	case *ast.IntegerNode:
		if msg := octalTrap(n); msg != "" {
			return 0, msg
		}
		switch v := n.Value.(type) {
		case int64:
			return float64(v), ""
		case uint64:
			return float64(v), ""
		}
	case *ast.StringNode:
		if isPlain(n) && yamlFloat.MatchString(n.Value) {
			// Too large a number comes back as ±Inf, which the range check
			// rejects as not finite.
			v, err := strconv.ParseFloat(n.Value, 64)
			if err == nil || errors.Is(err, strconv.ErrRange) {
				return v, ""
			}
		}
	}
	return 0, "must be a number (got " + describe(node) + ")"
}

// octalTrap rejects integers like 064, which YAML reads as octal (52): a
// learner writing them means decimal.
func octalTrap(n *ast.IntegerNode) string {
	tk := n.GetToken()
	if tk.Type != token.OctetIntegerType || strings.HasPrefix(strings.TrimLeft(tk.Value, "+-"), "0o") {
		return ""
	}
	return "has a leading zero, which YAML reads as an octal number (got " + tk.Value + "); write it without the zero"
}

// isPlain reports whether a string was written without quotes.
func isPlain(s *ast.StringNode) bool {
	return s.GetToken().Type == token.StringType
}

func isDigits(s string) bool {
	s = strings.TrimLeft(s, "+-")
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// firstContentLine returns the number of the first line of src that is not
// blank, a comment or a document marker (--- or ...), or 0 if there is none.
func firstContentLine(src string) int {
	for i, line := range splitLines(src) {
		line = strings.TrimSpace(line)
		for _, marker := range []string{"---", "..."} {
			if rest, ok := strings.CutPrefix(line, marker); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
				line = strings.TrimSpace(rest)
			}
		}
		if line != "" && !strings.HasPrefix(line, "#") {
			return i + 1
		}
	}
	return 0
}

// secondDocumentStart returns the number of the line holding the second
// "---" document marker in src, or 0 if there is none.
func secondDocumentStart(src string) int {
	seen := false
	for i, line := range splitLines(src) {
		rest, ok := strings.CutPrefix(line, "---")
		if !ok || rest != "" && rest[0] != ' ' && rest[0] != '\t' {
			continue
		}
		if seen {
			return i + 1
		}
		seen = true
	}
	return 0
}
