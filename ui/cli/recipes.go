package cli

import (
	"context"
	"fmt"

	"mnist-tui/engine/config"
	"mnist-tui/engine/network"
	"mnist-tui/engine/recipe"
)

// runRecipes lists the built-in recipes, or prints one as the commented
// config.yaml it is, to save and start from.
func runRecipes(_ context.Context, env *Env, args []string) error {
	fs := newFlagSet("recipes", "recipes [NAME]", env)
	if err := parse(fs, args); err != nil {
		return err
	}
	switch fs.NArg() {
	case 0:
		return listRecipes(env)
	case 1:
		r, ok := recipe.Lookup(fs.Arg(0))
		if !ok {
			_, err := config.Recipe(fs.Arg(0)) // says which recipes there are, and the likely one
			return usageError{err}
		}
		_, err := env.Stdout.Write(r.Text)
		return err
	}
	return usagef("want at most one recipe, got %d arguments", fs.NArg())
}

// listRecipes prints one block per recipe: its name and summary, then its
// network, epochs and target.
func listRecipes(env *Env) error {
	for i, name := range recipe.Names() {
		r, _ := recipe.Lookup(name)
		cfg, err := config.Recipe(name)
		if err != nil {
			return err // a broken built-in recipe: the package's tests catch it
		}
		net, err := recipeNetwork(cfg)
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(env.Stdout)
		}
		fmt.Fprintf(env.Stdout, "%-9s %s\n", name, r.Summary)
		fmt.Fprintf(env.Stdout, "%9s network %s; %s, batch %d, %s, %s\n", "", net,
			pluralize(cfg.Epochs, "epoch"), cfg.BatchSize, cfg.Optimizer, cfg.Schedule)
		fmt.Fprintf(env.Stdout, "%9s target  %s\n", "", r.Target)
	}
	fmt.Fprintln(env.Stdout, "\n'mnist-tui recipes NAME' prints one as a config.yaml to start from; --recipe NAME trains it.")
	return nil
}

// recipeNetwork describes a recipe's network: its label, parameters and
// multiply-adds an image.
func recipeNetwork(cfg config.Config) (string, error) {
	net := cfg.Network
	if cfg.Model != config.Custom {
		var err error
		if net, err = network.Preset(cfg.Model); err != nil {
			return "", err
		}
	}
	s := network.Summarize(cfg.Label(), net, 1)
	return fmt.Sprintf("%s (%s params, %.2f M mult-adds an image)", cfg.Label(), thousands(float64(s.Params)), float64(s.MultiplyAdds)/1e6), nil
}
