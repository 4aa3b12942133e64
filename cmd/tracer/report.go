package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tracer-dev/tracer/export"
	"github.com/tracer-dev/tracer/export/report"
	"github.com/tracer-dev/tracer/internal/usage"
	"github.com/tracer-dev/tracer/model"
)

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "build the HTML report from saved profiles and traces (one implementation or two)",
		ArgsUsage: "[--trace T.jsonl]... PROFILE.pb.gz... -o FILE.html",
		Description: "Builds one self-contained HTML page (no network needed; open it in any browser) from\n" +
			"files written earlier by tracer run, attach or verify: the verdicts against the model\n" +
			"and, for two implementations, against each other, under exact and bisim, with the\n" +
			"first divergence; per-action step latencies with histograms; a flame graph that can be\n" +
			"narrowed to the samples inside one action; lost samples and batches.\n\n" +
			"The n-th --trace belongs to the n-th profile. Profiles without traces give the flame\n" +
			"graph alone; traces without profiles give the verdicts and latencies alone.\n\n" +
			"Exit codes: 0 the page is written and shows no divergence, 1 it shows one, 2 a usage\n" +
			"or input error (nothing is written), 3 the page is written and its verdict is\n" +
			"incomplete (steps not observed, records that could not be used, lost batches).\n\n" +
			"Examples:\n" +
			"   tracer report --trace out/python.jsonl --trace out/node.jsonl out/python.pb.gz out/node.pb.gz -o report.html\n" +
			"   tracer report app.pb.gz -o app.html",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the page to `FILE.html` (required)"},
			&cli.StringSliceFlag{Name: "trace", Usage: "a trace `T.jsonl` (docs/trace-format.md), once per implementation"},
			&cli.StringFlag{Name: "relation", Value: "exact", Usage: "the verdict's relation: `exact` or bisim (both are shown)"},
		},
		Action: runReport,
	}
}

// reportArgs are report's files and flags; flags may follow the profiles
// (urfave/cli stops parsing flags at the first path).
type reportArgs struct {
	output, relation string
	traces, profiles []string
}

// errHelp is --help given after the files.
var errHelp = errors.New("help")

func parseReportArgs(c *cli.Context) (reportArgs, error) {
	a := reportArgs{output: c.String("output"), relation: c.String("relation"), traces: c.StringSlice("trace")}
	args := c.Args().Slice()
	value := func(i *int, flag string) (string, error) {
		if *i+1 >= len(args) {
			return "", fmt.Errorf("report: %s needs a value: run 'tracer report --help'", flag)
		}
		*i++
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, val, hasVal := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			a.profiles = append(a.profiles, arg)
			continue
		}
		if arg == "--" {
			a.profiles = append(a.profiles, args[i+1:]...)
			break
		}
		if name == "h" || name == "help" {
			return a, errHelp
		}
		var err error
		if !hasVal {
			val, err = value(&i, arg)
			if err != nil {
				return a, err
			}
		}
		switch name {
		case "o", "output":
			a.output = val
		case "trace":
			a.traces = append(a.traces, val)
		case "relation":
			a.relation = val
		default:
			return a, fmt.Errorf("report: unknown flag %s: run 'tracer report --help'", arg)
		}
	}
	switch {
	case a.output == "":
		return a, errors.New("report: give the page's file: -o FILE.html")
	case len(a.profiles) == 0 && len(a.traces) == 0:
		return a, errors.New("report: give one or two profiles, traces (--trace T.jsonl), or both")
	case len(a.profiles) > 2 || len(a.traces) > 2:
		return a, errors.New("report: a report shows one or two implementations: give at most two profiles and two traces")
	case len(a.profiles) > 0 && len(a.traces) > 0 && len(a.profiles) != len(a.traces):
		return a, fmt.Errorf("report: %d profiles and %d traces: give one trace per profile, in the same order", len(a.profiles), len(a.traces))
	}
	return a, nil
}

func runReport(c *cli.Context) error {
	a, err := parseReportArgs(c)
	if errors.Is(err, errHelp) {
		return cli.ShowCommandHelp(c.Lineage()[1], "report")
	}
	if err != nil {
		return usage.Wrap(err)
	}
	rel, err := model.ParseRelation(a.relation)
	if err != nil {
		return usage.Errorf("report: --relation: %w", err)
	}
	in := report.Input{Relation: rel, Command: commandLine(os.Args), Date: time.Now()}
	for i := 0; i < max(len(a.profiles), len(a.traces)); i++ {
		var im report.Impl
		if i < len(a.profiles) {
			p, err := report.ReadProfile(a.profiles[i])
			if err != nil {
				return usage.Errorf("report: %w", err)
			}
			im.Profile, im.ProfilePath = p, a.profiles[i]
		}
		if i < len(a.traces) {
			im.TracePath = a.traces[i]
		}
		in.Impls = append(in.Impls, im)
	}
	if err := export.ProbeWritable(a.output); err != nil {
		return usage.Errorf("report: cannot write %s (%v): give -o a file in a writable directory", a.output, err)
	}
	pg, err := writeReport(a.output, -1, -1, in)
	if err != nil {
		if errors.Is(err, report.ErrInput) {
			return usage.Errorf("report: %w", err)
		}
		return err
	}
	fmt.Fprintf(c.App.Writer, "report: %s (verdict: %s)\n", a.output, pg.Verdict)
	switch pg.Verdict {
	case "DIVERGENT":
		return cli.Exit("", exitDivergence)
	case "INCOMPLETE":
		return cli.Exit("", exitIncomplete)
	}
	return nil
}

// writeReport builds the page of in and writes it to path atomically.
func writeReport(path string, uid, gid int, in report.Input) (*report.Page, error) {
	pg, err := report.Build(in)
	if err != nil {
		return nil, err
	}
	return pg, export.WriteFile(path, uid, gid, func(w io.Writer) error { return pg.Write(w) })
}

// commandLine is tracer's own command line as the report shows it.
func commandLine(args []string) string {
	if len(args) == 0 {
		return "tracer"
	}
	out := []string{"tracer"}
	for _, a := range args[1:] {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out = append(out, a)
	}
	return strings.Join(out, " ")
}
