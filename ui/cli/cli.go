// Package cli is mnist-tui's command line: it parses arguments, loads the
// configuration, and runs a subcommand. main.go only hands it the arguments.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// Version is the program's version, recorded in checkpoints.
const Version = "0.1.0"

// Exit codes, as the README promises.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// Env is what a command needs from the outside world; tests fill it with
// buffers and temporary folders.
type Env struct {
	Stdout, Stderr io.Writer
	// DefaultConfig is config.yaml as embedded in the binary.
	DefaultConfig []byte
	// IsTerminal reports whether stdout is a terminal (the dashboard needs one).
	IsTerminal bool
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

func commands() []command {
	return []command{
		{"train", "train a model (the dashboard on a terminal, the tutorial's log lines otherwise)", runTrain},
		{"data", "fetch and verify a data set, and summarise it", runData},
		{"eval", "measure a checkpoint's accuracy on the test set, per class, with the confusion matrix", runEval},
		{"predict", "read digits from PNG, JPEG or GIF pictures with a trained model", runPredict},
		{"draw", "draw a digit with the mouse and watch a trained model read it", runDraw},
		{"bench", "measure training and inference speed of the models", runBench},
		{"models", "list the built-in models, or print one as a config of your own (model: custom) to start from", runModels},
		{"recipes", "list the built-in training recipes (tutorial, fast, best), or print one as a config.yaml", runRecipes},
		{"summary", "print a network's layers, output shapes, parameters and multiply-adds", runSummary},
		{"export", "write a custom network's checkpoint as a PyTorch module (model.py, model.safetensors)", runExport},
		{"compare", "train several models, or configurations (--config A --config B), and compare them", runCompare},
	}
}

// usageError marks errors that are the caller's: wrong flags or arguments.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Main runs mnist-tui with the given arguments (without the program name)
// and returns the process exit code.
func Main(args []string, env *Env) int {
	ctx, stop := interruptContext()
	defer stop()

	name, rest := "", args
	if len(args) > 0 {
		name, rest = args[0], args[1:]
	}
	var run func(context.Context, *Env, []string) error
	switch name {
	case "-version", "--version", "version":
		fmt.Fprint(env.Stdout, versionText(debug.ReadBuildInfo()))
		return exitOK
	case "", "-h", "-help", "--help", "help":
		if name != "" {
			printUsage(env.Stdout)
			return exitOK
		}
		run = runTrain // no subcommand: the dashboard (or headless training when piped)
	default:
		if len(name) > 0 && name[0] == '-' {
			run, rest = runTrain, args // flags without a subcommand belong to train
			break
		}
		for _, c := range commands() {
			if c.name == name {
				run = c.run
			}
		}
		if run == nil {
			fmt.Fprintf(env.Stderr, "mnist-tui: unknown command %q\n\n", name)
			printUsage(env.Stderr)
			return exitUsage
		}
	}
	err := run(ctx, env, rest)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, new(usageError)):
		command := name
		if run == nil || name == "" || name[0] == '-' {
			command = "train"
		}
		fmt.Fprintf(env.Stderr, "mnist-tui %s: %v\nRun 'mnist-tui %s --help' for its usage and flags.\n", command, err, command)
		return exitUsage
	default:
		fmt.Fprintf(env.Stderr, "mnist-tui: %v\n", err)
		return exitFailure
	}
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "mnist-tui trains handwritten-digit classifiers on the CPU and shows the training live.")
	fmt.Fprintln(w, "\nUsage:\n  mnist-tui [flags]            open the dashboard and train (config.yaml, or the built-in default)\n  mnist-tui <command> [flags]\n  mnist-tui --version          the version, source revision and Go version it was built from")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nFlags (of train, which mnist-tui without a command runs):")
	fs, _, _, _, _ := trainFlagSet(&Env{Stdout: w})
	printFlags(w, fs)
	fmt.Fprintln(w, "\nRun 'mnist-tui <command> --help' for a command's flags.")
	fmt.Fprintln(w, "Exit codes: 0 success, 1 the work failed, 2 the command line was wrong.")
}

// interruptContext is cancelled by the first ctrl+c, SIGTERM or SIGHUP (a
// closed terminal), so training can stop at a batch boundary and save. After
// that first signal the handler is removed: a second ctrl+c ends the process
// at once, which is safe because every checkpoint write is atomic.
func interruptContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		select {
		case <-signals:
			signal.Stop(signals)
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(signals)
		cancel()
	}
}
