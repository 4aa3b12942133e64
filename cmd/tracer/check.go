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
			"against the observed state, from the init record when the trace has one, else stepwise\n" +
			"from the first observed state. With two traces, the steps with the same seq must have\n" +
			"the same action and related states.\n\n" +
			"Exit codes: 0 conforming, 1 divergence (the report names the step, file:line, the\n" +
			"expected and observed states and what differs), 2 malformed input or usage error.\n" +
			"The trace format is described in docs/trace-format.md.",
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
	var decoders []*model.Decoder
	for _, path := range args.paths {
		if path == "-" {
			decoders = append(decoders, model.NewDecoder(c.App.Reader, "stdin"))
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			return inputFailure(args.json, c, fmt.Errorf("check: open trace: %w (give the path of a JSONL trace)", err))
		}
		if st, err := f.Stat(); err == nil && st.IsDir() {
			f.Close()
			return inputFailure(args.json, c, fmt.Errorf("check: %s is a directory: give the path of a JSONL trace", path))
		}
		defer f.Close()
		decoders = append(decoders, model.NewDecoder(f, path))
	}
	var res model.Result
	if len(decoders) == 1 {
		res, err = model.CheckTrace(decoders[0], rel)
	} else {
		res, err = model.CheckPair(decoders[0], decoders[1], rel)
	}
	if err != nil {
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
	if !res.Conforming() {
		return cli.Exit("", exitDivergence)
	}
	return nil
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
