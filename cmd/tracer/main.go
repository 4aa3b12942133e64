// Command tracer samples and traces a Python or Node.js implementation of the
// Moltbook transition system and checks what it did against the Go model of
// the Lean specification.
//
// This package owns the command line only: flags, help text, exit codes and
// signals. Each command's action builds a config and calls one function of a
// package below it.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/tracer-dev/tracer/internal/usage"
	"github.com/tracer-dev/tracer/loader"
)

// Exit codes shared by every command.
const (
	exitOK         = 0 // conforming: every step decoded and checked, nothing lost
	exitDivergence = 1 // a divergence, or an invalid state or action, was found
	exitUsage      = 2 // usage or input error (a file that is not a trace at all)
	exitIncomplete = 3 // no divergence, but some steps could not be checked
)

// exitCodesHelp is the exit-code paragraph of every command's help.
const exitCodesHelp = "Exit codes: 0 conforming: every step was decoded and checked and nothing in between\n" +
	"was lost; 1 divergent: a step fails the model (the report names it, file:line, expected\n" +
	"and observed states), or a record holds an invalid state or action (a negative or\n" +
	"fractional natural, a missing field); 2 usage or input error, or a file that is not a\n" +
	"trace at all; 3 incomplete: no divergence, but some steps could not be checked (a seq\n" +
	"gap, an undecodable or out-of-place record, a lost batch, an interrupted check). run\n" +
	"and attach: the same codes for their live check; then run exits with the command's own\n" +
	"status."

// Locked in an init function, the main goroutine runs main on the main
// thread: when the binary is re-executed as the exec shim, the exec must
// happen on the thread the samplers follow.
func init() { runtime.LockOSThread() }

func main() {
	// The binary re-executes itself for two helper roles (the exec shim,
	// the release helper); in one, it does only that.
	if code, ok := loader.RunHelperRole(); ok {
		os.Exit(code)
	}
	runtime.UnlockOSThread()
	os.Exit(run(os.Args))
}

// run executes the command line and returns the process exit code. It never
// calls os.Exit itself, so deferred cleanup in the commands always runs.
func run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return exitCode(newApp().RunContext(ctx, args))
}

func newApp() *cli.App {
	return &cli.App{
		Name:  "tracer",
		Usage: "profile a Python or Node.js transition system with eBPF and check it against its Lean specification",
		Description: "tracer samples CPU stacks with perf_event, captures every transition of the\n" +
			"traced program with uprobes on its interpreter, attributes the samples to the\n" +
			"transitions, and checks the recorded states against the Go model of the Lean spec.\n\n" +
			exitCodesHelp,
		HideHelpCommand:      true,
		Flags:                tuningFlags(),
		Before:               startTuning,
		After:                stopTuning,
		EnableBashCompletion: false,
		Commands:             withUsageErrors(commands()),
		// A word that is not a command is a usage error, not a help topic.
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usage.Errorf("unknown command %q: run tracer --help for the list of commands", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		// Errors are printed and mapped to exit codes by exitCode; urfave/cli must
		// not call os.Exit on its own.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usage.Wrap(err)
		},
	}
}

// commands lists the subcommands; each lives in its own file.
func commands() []*cli.Command {
	return []*cli.Command{
		runCommand(),
		attachCommand(),
		checkCommand(),
		verifyCommand(),
		diffCommand(),
		reportCommand(),
		cacheCommand(),
		versionCommand(),
	}
}

// withUsageErrors makes a bad flag of any command one line on stderr that
// points at that command's help, instead of the whole help text.
func withUsageErrors(cmds []*cli.Command) []*cli.Command {
	for _, cmd := range cmds {
		if cmd.OnUsageError != nil {
			continue
		}
		name := cmd.Name
		cmd.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
			return usage.Errorf("%w: run 'tracer %s --help' for its flags", err, name)
		}
	}
	return cmds
}

// exitCode prints err (one line, prefixed "tracer: ") and maps it to an exit code:
// a cli.ExitCoder carries its own code, anything else is a usage or input error.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := ec.Error(); msg != "" {
			fmt.Fprintln(os.Stderr, "tracer:", msg)
		}
		return ec.ExitCode()
	}
	fmt.Fprintln(os.Stderr, "tracer:", err)
	return exitUsage
}
