package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/tracer-dev/tracer/model"
	"github.com/urfave/cli/v2"
)

// checkCommand is `tracer check TRACE [OTHER]`: one trace against the model, or
// two traces against each other.
func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "check a trace against the model, or two traces against each other",
		ArgsUsage: "TRACE.jsonl [OTHER.jsonl]   (- reads a trace from stdin)",
		Description: "With one trace, every step is checked as transition(previous observed state, action)\n" +
			"against the observed state (or from the step's own pre state when it carries one), from\n" +
			"the init record when the trace has one, else stepwise from the first observed state.\n" +
			"After steps that were not observed, what holds along any run is still checked (shard_id\n" +
			"never changes: the Lean theorem run_shard_id). With two traces, the steps with the same\n" +
			"seq must have the same action and related states.\n\n" +
			exitCodesHelp + "\n\n" +
			"A FIFO is waited on for a writer at most " + fifoWait.String() + "; Ctrl-C or SIGTERM ends a check at once\n" +
			"(exit 3, the report covers what was read). The trace format is described in\n" +
			"docs/trace-format.md.",
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:  "relation",
				Value: "exact",
				Usage: "exact: the observed state equals the model's; bisim: the Lean relation (equal agent_id, shard_id and data length)",
			},
			&cli.BoolFlag{Name: "json", Usage: "print the verdict and the first divergence as one JSON object"},
		},
		Action: runCheck,
	}
}

// checkArgs are the trace paths and the flags of one check, with flags given
// after the paths (tracer check a.jsonl --relation bisim) taken as flags too:
// urfave/cli stops parsing flags at the first path.
type checkArgs struct {
	paths    []string
	relation string
	json     bool
}

func parseCheckArgs(c *cli.Context) (checkArgs, error) {
	a := checkArgs{relation: c.String("relation"), json: c.Bool("json")}
	args := c.Args().Slice()
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			a.paths = append(a.paths, args[i+1:]...)
			i = len(args)
		case arg == "--json" || arg == "-json":
			a.json = true
		case arg == "--relation" || arg == "-relation":
			if i+1 >= len(args) {
				return a, fmt.Errorf("check: --relation needs a value: exact or bisim")
			}
			a.relation = args[i+1]
			i++
		case strings.HasPrefix(arg, "--relation=") || strings.HasPrefix(arg, "-relation="):
			a.relation = arg[strings.Index(arg, "=")+1:]
		case len(arg) > 1 && arg[0] == '-':
			return a, fmt.Errorf("check: unknown flag %s (see tracer check --help)", arg)
		default:
			a.paths = append(a.paths, arg)
		}
	}
	if len(a.paths) < 1 || len(a.paths) > 2 {
		return a, fmt.Errorf("check: give one trace, or two traces to compare (tracer check TRACE.jsonl [OTHER.jsonl])")
	}
	return a, nil
}

func runCheck(c *cli.Context) error {
	args, err := parseCheckArgs(c)
	if err != nil {
		return cli.Exit(err.Error(), exitUsage)
	}
	rel, err := model.ParseRelation(args.relation)
	if err != nil {
		return cli.Exit("check: --relation: "+err.Error(), exitUsage)
	}
	ctx := c.Context
	var decoders []*model.Decoder
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, path := range args.paths {
		if path == "-" {
			decoders = append(decoders, model.NewDecoder(interruptible(ctx, c.App.Reader), "stdin"))
			continue
		}
		f, err := openTrace(ctx, path)
		if errors.Is(err, errInterrupted) {
			return interrupted(args.json, c, fmt.Sprintf("check: interrupted while waiting for a writer on %s: nothing was checked (verdict incomplete)", path))
		}
		if err != nil {
			return inputFailure(args.json, c, err)
		}
		files = append(files, f)
		d := model.NewDecoder(interruptible(ctx, f), path)
		if len(args.paths) == 1 {
			// One trace is read through a memory mapping when it is a
			// regular file, interrupted as the reader would be.
			d.MapFile(f, func() error { return ctxErr(ctx) })
		}
		decoders = append(decoders, d)
	}
	res, err, finished := checkUntilInterrupted(ctx, decoders, rel, files)
	if !finished {
		return interrupted(args.json, c, "check: interrupted: the check did not stop reading; nothing to report (verdict incomplete)")
	}
	interrupted := ctx.Err() != nil
	if interrupted {
		res.Interrupt()
	} else if err != nil {
		var ie *model.InputError
		if errors.As(err, &ie) {
			return inputFailure(args.json, c, fmt.Errorf("check: malformed trace: %w", err))
		}
		return inputFailure(args.json, c, fmt.Errorf("check: %w", err))
	}
	if args.json {
		out, err := res.JSON()
		if err != nil {
			return cli.Exit("check: encode json: "+err.Error(), exitUsage)
		}
		fmt.Fprintln(c.App.Writer, string(out))
	} else if err := res.WriteText(c.App.Writer); err != nil {
		return cli.Exit("check: write report: "+err.Error(), exitUsage)
	}
	if interrupted && !res.Divergent() {
		return cli.Exit("check: interrupted before the end of the input: the verdict covers only what was read", exitIncomplete)
	}
	if res.Verdict() == model.Incomplete {
		return verdictError(&res, "check: verdict incomplete: not every step could be checked (see the report)")
	}
	return verdictError(&res, "")
}

// verdictError maps a verdict to its exit: nil when conforming, else an exit
// with msg (may be empty) and the verdict's code.
func verdictError(res *model.Result, msg string) error {
	switch res.Verdict() {
	case model.Divergent:
		return cli.Exit(msg, exitDivergence)
	case model.Incomplete:
		return cli.Exit(msg, exitIncomplete)
	case model.NotATrace:
		return cli.Exit(msg, exitUsage)
	}
	return nil
}

// interrupted ends a check stopped before it had a result: one line on
// stderr and, with --json, an incomplete verdict on stdout.
func interrupted(asJSON bool, c *cli.Context, msg string) error {
	if asJSON {
		m, _ := json.Marshal(msg)
		fmt.Fprintf(c.App.Writer, "{\"verdict\":\"incomplete\",\"interrupted\":true,\"error\":%s}\n", m)
	}
	return cli.Exit(msg, exitIncomplete)
}

// inputFailure reports malformed input or an unreadable file: one line on
// stderr (through main's exit handling) and, with --json, a JSON verdict on
// stdout so machines see it too.
func inputFailure(asJSON bool, c *cli.Context, err error) error {
	if asJSON {
		msg, _ := json.Marshal(err.Error())
		fmt.Fprintf(c.App.Writer, "{\"verdict\":\"error\",\"error\":%s}\n", msg)
	}
	return cli.Exit(err.Error(), exitUsage)
}
