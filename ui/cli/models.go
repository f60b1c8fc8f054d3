package cli

import (
	"context"
	"fmt"
	"strings"

	"mnist-tui/engine/network"
)

// runModels lists the built-in models, or prints one in the network format, ready to paste
// under network: with model: custom and change.
func runModels(_ context.Context, env *Env, args []string) error {
	fs := newFlagSet("models", "models [MODEL]", env)
	if err := parse(fs, args); err != nil {
		return err
	}
	switch fs.NArg() {
	case 0:
		fmt.Fprintf(env.Stdout, "%-10s %10s %16s\n", "model", "params", "mult-adds/image")
		for _, name := range network.Presets() {
			n, err := network.Preset(name)
			if err != nil {
				return err
			}
			s := network.Summarize(name, n, 1)
			fmt.Fprintf(env.Stdout, "%-10s %10s %16s\n", name, network.Count(s.Params), network.Count(s.MultiplyAdds))
		}
		fmt.Fprintln(env.Stdout, "\n'mnist-tui models MODEL' prints one as a config of your own (model: custom) to start from.")
		return nil
	case 1:
		text, ok := network.PresetYAML(fs.Arg(0))
		if !ok {
			return usagef("unknown model %q: want one of %s", fs.Arg(0), strings.Join(network.Presets(), ", "))
		}
		fmt.Fprintf(env.Stdout, "# The %s model as a network of your own: save this as a config file and change it\n# (mnist-tui summary --config FILE checks it), or paste the list under network:.\n", fs.Arg(0))
		fmt.Fprint(env.Stdout, "model: custom\nname: my-"+fs.Arg(0)+"\nnetwork:\n"+text)
		return nil
	}
	return usagef("want at most one model, got %d arguments", fs.NArg())
}
