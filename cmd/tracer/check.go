package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/tracer-dev/tracer/model"
	"github.com/urfave/cli/v2"
)

// checkCommand is `tracer check TRACE [OTHER]`: one trace against the model, or
// two traces against each other.
func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "check a trace against the model, or two traces against each other",
		ArgsUsage: "TRACE.jsonl [OTHER.jsonl]",
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

func runCheck(c *cli.Context) error {
	if c.NArg() < 1 || c.NArg() > 2 {
		return cli.Exit("check: give one trace, or two traces to compare (tracer check TRACE.jsonl [OTHER.jsonl])", exitUsage)
	}
	rel, err := model.ParseRelation(c.String("relation"))
	if err != nil {
		return cli.Exit("check: --relation: "+err.Error(), exitUsage)
	}
	var decoders []*model.Decoder
	for _, path := range c.Args().Slice() {
		f, err := os.Open(path)
		if err != nil {
			return inputFailure(c, fmt.Errorf("check: open trace: %w (give the path of a JSONL trace)", err))
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
			return inputFailure(c, fmt.Errorf("check: malformed trace: %w", err))
		}
		return inputFailure(c, fmt.Errorf("check: %w", err))
	}
	if c.Bool("json") {
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
func inputFailure(c *cli.Context, err error) error {
	if c.Bool("json") {
		msg, _ := json.Marshal(err.Error())
		fmt.Fprintf(c.App.Writer, "{\"verdict\":\"error\",\"error\":%s}\n", msg)
	}
	return cli.Exit(err.Error(), exitUsage)
}
