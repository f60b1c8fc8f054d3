// mnist-tui trains handwritten-digit classifiers on the CPU with a
// hand-written engine and shows the training live in the terminal.
package main

import (
	_ "embed"
	"os"

	"github.com/charmbracelet/x/term"

	"mnist-tui/ui/cli"
)

// defaultConfig is config.yaml as it was when the binary was built, used
// when no config.yaml is found, so the program runs anywhere with no setup.
//
//go:embed config.yaml
var defaultConfig []byte

func main() {
	os.Exit(cli.Main(os.Args[1:], &cli.Env{
		Stdout:        os.Stdout,
		Stderr:        os.Stderr,
		DefaultConfig: defaultConfig,
		IsTerminal:    term.IsTerminal(os.Stdout.Fd()),
	}))
}
