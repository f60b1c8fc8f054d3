package config

import (
	"strconv"
	"strings"

	"mnist-tui/engine/internal/spelling"
	"mnist-tui/engine/recipe"
)

// recipeKey names a built-in recipe that the file's other keys start from.
const recipeKey = "recipe"

// checkRecipe is the rule of the recipe key: none, or a recipe's name.
func checkRecipe(c Config) string {
	if c.Recipe == "" {
		return ""
	}
	if _, ok := recipe.Lookup(c.Recipe); ok {
		return ""
	}
	msg := "must be one of " + strings.Join(recipe.Names(), ", ") + ` or "" for none (got ` + strconv.Quote(c.Recipe) + ")"
	if s := spelling.Nearest(strings.ToLower(strings.TrimSpace(c.Recipe)), recipe.Names()); s != "" {
		msg += "; did you mean " + s + "?"
	}
	return msg
}

// Recipe returns the settings of the named built-in recipe, as its file
// (`mnist-tui recipes NAME`) sets them over the defaults.
func Recipe(name string) (Config, error) {
	if msg := checkRecipe(Config{Recipe: name}); msg != "" || name == "" {
		if name == "" {
			msg = checkRecipe(Config{Recipe: "?"})
		}
		return Config{}, &Error{Key: recipeKey, Msg: msg}
	}
	r, _ := recipe.Lookup(name)
	doc, err := parseOver(name+".yaml (built-in recipe)", r.Text, Defaults(), "")
	if err != nil {
		return Config{}, err
	}
	// A recipe file names itself, so that a copy of it trains under its name.
	cfg := doc.cfg
	cfg.Recipe = name
	return cfg, nil
}

// ParseRecipe is Parse with the named recipe as the base of the settings,
// whatever the document's recipe key says: the --recipe flag. name "" is Parse.
func ParseRecipe(filename string, data []byte, name string) (Config, error) {
	doc, err := parseWithRecipe(filename, data, name)
	if err != nil {
		return Config{}, err
	}
	return doc.cfg, nil
}

// parseWithRecipe reads a document over its recipe: the recipe (forced,
// or else the document's recipe key) sets every setting, then the keys the
// document sets replace the recipe's. Without a recipe the base is Defaults().
func parseWithRecipe(filename string, data []byte, forced string) (*document, error) {
	name := forced
	if name == "" {
		// Only the recipe key is read first: the other keys are checked
		// against the recipe's values, which may differ from the defaults
		// they would be checked against now (a custom network, a schedule).
		doc, err := parseOver(filename, data, Defaults(), recipeKey)
		if err != nil {
			return nil, err
		}
		name = doc.cfg.Recipe
	}
	if name == "" {
		return parseOver(filename, data, Defaults(), "")
	}
	base, err := Recipe(name)
	if err != nil {
		return nil, err
	}
	doc, err := parseOver(filename, data, base, "")
	if err != nil {
		return nil, err
	}
	doc.cfg.Recipe = name
	// Each key was checked as it was read; a key the document sets may still
	// clash with a recipe value read after it (or a later key of its own).
	if err := doc.cfg.Validate(); err != nil {
		return nil, doc.placeRecipeError(filename, err, name)
	}
	return doc, nil
}

// placeRecipeError points a Validate error of a document read over recipe
// name at the key's line, or at the recipe key's when the value is the
// recipe's, and says so.
func (doc *document) placeRecipeError(filename string, err error, name string) error {
	e, ok := err.(*Error)
	if !ok {
		return err
	}
	e.File = filename
	if at, set := doc.keys[e.Key]; set {
		e.Line, e.Column = at.line, at.col
		return e
	}
	e.Msg += " (the value is recipe " + name + "'s: set " + e.Key + " here, or choose another recipe)"
	if at, set := doc.keys[recipeKey]; set {
		e.Line, e.Column = at.line, at.col
	}
	return e
}
