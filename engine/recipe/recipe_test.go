package recipe_test

import (
	"slices"
	"strings"
	"testing"

	"mnist-tui/engine/recipe"
)

// Every recipe has its file, a one-line summary and a target from its header.
func TestEveryRecipeHasItsFileAndHeader(t *testing.T) {
	names := recipe.Names()
	if !slices.Equal(names, []string{"tutorial", "fast", "best"}) {
		t.Errorf("Names() = %v", names)
	}
	for _, name := range names {
		r, ok := recipe.Lookup(name)
		if !ok {
			t.Fatalf("Lookup(%q) found nothing", name)
		}
		if r.Name != name || r.Summary == "" || r.Target == "" {
			t.Errorf("recipe %s: name %q, summary %q, target %q", name, r.Name, r.Summary, r.Target)
		}
		if !strings.HasPrefix(string(r.Text), "# "+name+": "+r.Summary+"\n") {
			t.Errorf("recipe %s's file does not start with its summary line", name)
		}
	}
}

func TestLookupRefusesOtherNames(t *testing.T) {
	for _, name := range []string{"", "Fast", "fast.yaml", "../config"} {
		if _, ok := recipe.Lookup(name); ok {
			t.Errorf("Lookup(%q) found a recipe", name)
		}
	}
}

// Names hands out a copy: a caller cannot reorder the listing.
func TestNamesIsACopy(t *testing.T) {
	recipe.Names()[0] = "x"
	if recipe.Names()[0] != "tutorial" {
		t.Error("changing Names()'s result changed the recipes")
	}
}
