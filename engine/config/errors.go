package config

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"mnist-tui/engine/internal/spelling"
)

// Error is a problem with a configuration: where it is (file, line and
// column, 1-based; 0 when not known, as for a Config built from flags), which
// key it concerns ("" for problems of the file as a whole, like bad YAML
// syntax) and what is wrong.
//
// Error() reads like a compiler message:
//
//	config.yaml:7:16: learning_rate: must be a finite number greater than 0 (got -1)
//
// Callers that present keys differently (as --lr flags, say) can use
// errors.As and rewrite Key.
type Error struct {
	File   string
	Line   int
	Column int
	Key    string
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(printable(e.File))
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
			if e.Column > 0 {
				b.WriteString(":" + strconv.Itoa(e.Column))
			}
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(showKey(e.Key) + ": ")
	}
	b.WriteString(printable(e.Msg))
	return b.String()
}

// showKey writes a key for a message: one of ours as it is, any other in Go
// quotes, so that a key from the user's file (escape sequences and all)
// reaches the terminal as text, not as commands.
func showKey(key string) string {
	if _, ok := lookup(key); ok {
		return key
	}
	return strconv.Quote(key)
}

// printable escapes, as Go quotes do, what in s is not printable text
// (control characters, invalid UTF-8), keeping the rest as it is. Messages
// quote the user's values themselves; this catches what the YAML library
// echoes of the file in its own messages, and file names.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r == utf8.RuneError || !unicode.IsPrint(r) && r != ' ' }) < 0 {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				fmt.Fprintf(&b, `\x%02x`, s[i])
				continue
			}
			b.WriteRune(r)
		case unicode.IsPrint(r) || r == ' ':
			b.WriteRune(r)
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
	}
	return b.String()
}

// unknownKeyMsg says that key is not a setting and, when it looks like a
// misspelling of one, which.
func unknownKeyMsg(key string) string {
	if s := suggest(key); s != "" {
		return "unknown key; did you mean " + s + "?"
	}
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return "unknown key; the keys are " + strings.Join(keys, ", ")
}

// aliases are names from other tools (PyTorch scripts, other trainers) that
// are too far from ours for an edit distance to find.
var aliases = map[string]string{
	"lr":          "learning_rate",
	"wd":          "weight_decay",
	"bs":          "batch_size",
	"arch":        "model",
	"net":         "model",
	"num_threads": "threads",
	"workers":     "threads",
	"output_dir":  "runs_dir",
}

// suggest returns the known key closest to name, or "" when none is close
// enough to be a likely typo.
func suggest(name string) string {
	norm := strings.ToLower(strings.TrimSpace(name))
	norm = strings.NewReplacer("-", "_", " ", "_", ".", "_").Replace(norm)
	if s, ok := aliases[norm]; ok {
		return s
	}
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	if s := spelling.Nearest(norm, keys); s != "" {
		return s
	}
	// "runs" or "batch" are the start of a key.
	if len(norm) >= 3 {
		for _, k := range keys {
			if strings.HasPrefix(k, norm) {
				return k
			}
		}
	}
	return ""
}
