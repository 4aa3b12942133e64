package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/tracer-dev/tracer/internal/usage"
	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/model"
	"github.com/tracer-dev/tracer/verify"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "the whole pipeline: both example containers traced on one workload, every check, two profiles",
		Description: "Runs examples/python_container.py and examples/nodejs_container.js (embedded in tracer)\n" +
			"under `tracer run` with the same workload, checks each captured trace against the model\n" +
			"and the two traces against each other, and writes to --out: python.pb.gz, node.pb.gz,\n" +
			"python.jsonl, node.jsonl, summary.txt (steps, verdicts under both relations,\n" +
			"per-action latency, top functions, lost counts, the pairwise verdict) and report.html\n" +
			"(the same as a page with flame graphs, for any browser, no network needed).\n\n" +
			"Exit codes: 0 all conforming, 1 a divergence or an invalid record, 2 a usage error,\n" +
			"3 incomplete (a container failed, or steps were not captured or not checked).\n\n" +
			"Examples:\n" +
			"   sudo tracer verify\n" +
			"   sudo tracer verify --steps 100000 --seed 7 --out /tmp/v\n" +
			"   sudo tracer verify --actions examples/workloads/unicode.jsonl\n" +
			"   xdg-open out/report.html",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "steps", Value: verify.DefaultSteps, Usage: "run `N` generated steps in each container"},
			&cli.Uint64Flag{Name: "seed", Value: verify.DefaultSeed, Usage: "seed `S` of the generated workload (0 to 4294967295)"},
			&cli.StringFlag{Name: "actions", Usage: "replay the workload `FILE` (one trace-format action per line) instead of --steps/--seed"},
			&cli.StringFlag{Name: "out", Value: verify.DefaultOut, Usage: "write profiles, traces and summary.txt to `DIR`"},
			&cli.IntFlag{Name: "freq", Aliases: []string{"F"}, Value: verify.DefaultFreq, Usage: fmt.Sprintf("sampling frequency in `HZ` (%d to %d)", loader.MinFreq, loader.MaxFreq)},
			&cli.StringFlag{Name: "relation", Value: "exact", Usage: "what the checks demand: `exact` (states equal) or bisim (the Lean relation)"},
			&cli.StringFlag{Name: "python", Value: "python3", Usage: "the Python interpreter to run (`PATH` or name)"},
			&cli.StringFlag{Name: "node", Value: "node", Usage: "the node executable to run (`PATH` or name)"},
			&cli.StringFlag{Name: "python-container", Usage: "run your own Python implementation `FILE` instead of the example (same flags)"},
			&cli.StringFlag{Name: "node-container", Usage: "run your own Node.js implementation `FILE` instead of the example (same flags)"},
			&cli.StringFlag{Name: "user", Usage: "run the containers as `USER` (default: the sudo user, if any)"},
			&cli.StringFlag{Name: "transition", Usage: "observe every call of the function `NAME` in the containers given by --python-container and --node-container, which then need not use the probe binding (docs/transition-hooks.md)"},
			&cli.StringFlag{Name: "transition-args", Usage: "with --transition: the parameters `STATE,ACTION` of the function (default: its first two)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usage.Errorf("verify takes no arguments (got %q): use --steps, --seed or --actions", c.Args().First())
			}
			rel, err := model.ParseRelation(c.String("relation"))
			if err != nil {
				return usage.Wrap(err)
			}
			if err := loader.CheckFreq(c.Int("freq")); err != nil {
				return err
			}
			tune, err := readTuning(c)
			if err != nil {
				return err
			}
			hook, err := hookSpec(c)
			if err != nil {
				return err
			}
			res, err := verify.Run(c.Context, verify.Config{
				Transition:       hook,
				SamplerRingPages: tune.samplerRingPages,
				CaptureRingBytes: tune.captureRingBytes,
				Timing:           tune.timing,
				Steps:            c.Int("steps"),
				Seed:             c.Uint64("seed"),
				Actions:          c.String("actions"),
				Out:              c.String("out"),
				Freq:             c.Int("freq"),
				Relation:         rel,
				Python:           c.String("python"),
				Node:             c.String("node"),
				User:             c.String("user"),
				PythonContainer:  c.String("python-container"),
				NodeContainer:    c.String("node-container"),
				Log:              c.App.ErrWriter,
				LogIsTerminal:    isTerminal(os.Stderr) && c.App.ErrWriter == os.Stderr,
				Command:          commandLine(os.Args),
			})
			if err != nil {
				if usage.Is(err) {
					return cli.Exit(err.Error(), exitUsage)
				}
				return sessionError(err)
			}
			w := c.App.Writer
			fmt.Fprintf(w, "\nverdict: %s\n", res.Verdict())
			for _, p := range res.Problems() {
				fmt.Fprintf(w, "  incomplete: %s\n", p)
			}
			if res.HTML != "" {
				fmt.Fprintf(w, "report:   %s   (open it in a browser: verdicts, per-action latency, flame graphs)\n", res.HTML)
			}
			fmt.Fprintf(w, "summary:  %s\n", res.Summary)
			for _, im := range res.Impls {
				fmt.Fprintf(w, "profile:  %s   trace: %s\n", im.Profile, im.Trace)
			}
			if len(res.Impls) > 0 {
				fmt.Fprintf(w, "pprof:       go tool pprof -http=:8080 %s\n", res.Impls[0].Profile)
			}
			if len(res.Impls) > 1 {
				fmt.Fprintf(w, "compare:     tracer diff %s %s\n", res.Impls[0].Profile, res.Impls[1].Profile)
			}
			switch res.Verdict() {
			case "DIVERGENT":
				return cli.Exit("", exitDivergence)
			case "INCOMPLETE":
				return cli.Exit("", exitIncomplete)
			}
			return nil
		},
	}
}
