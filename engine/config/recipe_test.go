package config

import (
	"errors"
	"strings"
	"testing"

	"mnist-tui/engine/recipe"
)

// The tutorial recipe is the default run, every setting of it.
func TestTutorialRecipeIsTheDefaultRun(t *testing.T) {
	got, err := Recipe("tutorial")
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.Recipe = "tutorial"
	if !sameSettings(got, want) {
		t.Errorf("recipe tutorial =\n%s\nwant the defaults:\n%s", got.Marshal(), want.Marshal())
	}
	shipped, err := Parse("config.yaml", readRepoConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	shipped.Recipe = "tutorial"
	if !sameSettings(got, shipped) {
		t.Errorf("recipe tutorial differs from config.yaml:\n%s", got.Marshal())
	}
}

// Every recipe's file is a valid configuration that names itself and reads
// back as the recipe: what `mnist-tui recipes NAME` prints trains the recipe.
func TestRecipeFilesAreTheirRecipes(t *testing.T) {
	for _, name := range recipe.Names() {
		r, _ := recipe.Lookup(name)
		cfg, err := Parse(name+".yaml", r.Text)
		if err != nil {
			t.Fatalf("recipe %s: %v", name, err)
		}
		if cfg.Recipe != name {
			t.Errorf("recipe %s's file says recipe: %q", name, cfg.Recipe)
		}
		want, err := Recipe(name)
		if err != nil {
			t.Fatal(err)
		}
		if !sameSettings(cfg, want) {
			t.Errorf("recipe %s read as a file differs from Recipe(%[1]q)", name)
		}
		if back, err := Parse("marshalled", cfg.Marshal()); err != nil || !sameSettings(back, cfg) {
			t.Errorf("recipe %s does not survive Marshal and Parse (err %v)", name, err)
		}
	}
}

// Keys the file sets override the recipe; the rest are the recipe's; a
// forced recipe (--recipe) replaces the file's choice of recipe.
func TestRecipeOverrideOrder(t *testing.T) {
	fast, err := Recipe("fast")
	if err != nil {
		t.Fatal(err)
	}
	best, err := Recipe("best")
	if err != nil {
		t.Fatal(err)
	}
	file := []byte("recipe: fast\nepochs: 7\nruns_dir: elsewhere\n")

	got, err := Parse("my.yaml", file)
	if err != nil {
		t.Fatal(err)
	}
	want := fast
	want.Epochs, want.RunsDir = 7, "elsewhere"
	if !sameSettings(got, want) {
		t.Errorf("fast with epochs 7:\n%s\nwant\n%s", got.Marshal(), want.Marshal())
	}

	got, err = ParseRecipe("my.yaml", file, "best")
	if err != nil {
		t.Fatal(err)
	}
	want = best
	want.Epochs, want.RunsDir = 7, "elsewhere"
	if !sameSettings(got, want) {
		t.Errorf("--recipe best over a file of recipe fast:\n%s\nwant\n%s", got.Marshal(), want.Marshal())
	}

	// Without a recipe the file's keys replace the defaults, as always.
	got, err = Parse("plain.yaml", []byte("epochs: 7\n"))
	if err != nil || got.Epochs != 7 || got.Recipe != "" || got.Optimizer != Defaults().Optimizer {
		t.Errorf("a file without recipe: %+v, %v", got, err)
	}
}

// A wrong recipe name is shown at its value, with the likely one.
func TestRecipeNameErrors(t *testing.T) {
	_, err := Parse("my.yaml", []byte("epochs: 2\nrecipe: fsat\n"))
	var e *Error
	if !errors.As(err, &e) || e.Line != 2 || e.Column != 9 || e.Key != "recipe" || !strings.Contains(e.Msg, "did you mean fast?") {
		t.Errorf("recipe fsat: %v", err)
	}
	if _, err := ParseRecipe("my.yaml", []byte("epochs: 2\n"), "quick"); !errors.As(err, &e) || e.Key != "recipe" || !strings.Contains(e.Msg, "tutorial, fast, best") {
		t.Errorf("forced recipe quick: %v", err)
	}
	if _, err := Recipe(""); err == nil {
		t.Error(`Recipe("") gave no error`)
	}
}

// A key set before the one it clashes with is caught once the whole file is
// read over its recipe, and shown at its own line.
func TestRecipeClashIsPlaced(t *testing.T) {
	_, err := Parse("my.yaml", []byte("recipe: tutorial\nwarmup_steps: 5\nschedule: onecycle\n"))
	var e *Error
	if !errors.As(err, &e) || e.Line != 2 || e.Key != "warmup_steps" {
		t.Errorf("warmup with onecycle: %v", err)
	}
	// The key checked against the recipe's values as it is read.
	_, err = Parse("my.yaml", []byte("recipe: fast\nwarmup_steps: 5\n"))
	if !errors.As(err, &e) || e.Line != 2 || e.Key != "warmup_steps" {
		t.Errorf("warmup over fast's onecycle: %v", err)
	}
}

// sameSettings compares two configurations key by key, as Marshal writes
// them: a network read from two files differs in where its layers were.
func sameSettings(a, b Config) bool { return string(a.Marshal()) == string(b.Marshal()) }
