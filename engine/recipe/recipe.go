// Package recipe holds the built-in training recipes: complete, commented
// config.yaml files (network included) that a run selects with recipe: NAME
// in its configuration or --recipe NAME on the command line.
//
// The files are embedded as written, comments and all, so that
// `mnist-tui recipes NAME` prints exactly what the program trains. This
// package only owns the text; engine/config reads it as the base of a
// configuration.
package recipe

import (
	"embed"
	"fmt"
	"strings"
)

//go:embed *.yaml
var files embed.FS

// names lists the recipes from the gentlest to the most demanding, the
// order in which `mnist-tui recipes` lists them.
var names = []string{"tutorial", "fast", "best"}

// Recipe is one built-in recipe.
type Recipe struct {
	Name string
	// Summary is the file's first comment line: what the recipe is, in one line.
	Summary string
	// Target is what the recipe was tuned to reach, from its "# target:" line.
	Target string
	// Text is the recipe's YAML as embedded: a valid config.yaml.
	Text []byte
}

// Names lists the recipes' names, in their listing order.
func Names() []string { return append([]string(nil), names...) }

// Lookup returns the named recipe; ok is false for a name that is not one.
func Lookup(name string) (r Recipe, ok bool) {
	found := false
	for _, n := range names {
		found = found || n == name
	}
	if !found {
		return Recipe{}, false
	}
	text, err := files.ReadFile(name + ".yaml")
	if err != nil {
		// Every name has its file (the package's tests read them all): a bug here.
		panic(fmt.Sprintf("recipe %s: embedded file missing: %v", name, err))
	}
	r = Recipe{Name: name, Text: text}
	for _, line := range strings.Split(string(text), "\n") {
		comment, isComment := strings.CutPrefix(strings.TrimSpace(line), "#")
		if !isComment {
			break // the header is the comment block the file starts with
		}
		comment = strings.TrimSpace(comment)
		if s, ok := strings.CutPrefix(comment, name+":"); ok && r.Summary == "" {
			r.Summary = strings.TrimSpace(s)
		}
		if s, ok := strings.CutPrefix(comment, "target:"); ok && r.Target == "" {
			r.Target = strings.TrimSpace(s)
		}
	}
	return r, true
}
