package main

import (
	"github.com/urfave/cli/v2"

	"github.com/tracer-dev/tracer/export"
	"github.com/tracer-dev/tracer/internal/usage"
)

func diffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "compare two pprof profiles: functions and per-action totals side by side",
		ArgsUsage: "A.pb.gz B.pb.gz",
		Description: "Shows each function's self and cumulative share of all samples in A and B and the\n" +
			"change of its self share, largest change first (like `perf diff`). When the\n" +
			"profiles carry `action` labels (from `tracer run` on a probed program), it also\n" +
			"shows each action's share of the samples.\n\n" +
			"Exit codes: 0 done, 2 usage or input error (an unreadable profile).\n\n" +
			"Example:\n" +
			"   tracer diff out/python.pb.gz out/node.pb.gz\n" +
			"   tracer diff --folded a.pb.gz b.pb.gz > diff.folded   # \"stack countA countB\" lines",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "top", Value: 25, Usage: "show at most `N` functions (0: all)"},
			&cli.BoolFlag{Name: "folded", Usage: "print \"stack countA countB\" lines (folded stacks of both profiles) instead of tables"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usage.Errorf("diff takes two profiles: tracer diff A.pb.gz B.pb.gz")
			}
			a, err := export.ReadProfile(c.Args().Get(0))
			if err != nil {
				return err
			}
			b, err := export.ReadProfile(c.Args().Get(1))
			if err != nil {
				return err
			}
			if c.Bool("folded") {
				return export.WriteDiffFolded(c.App.Writer, a, b)
			}
			d := export.CompareProfiles(c.Args().Get(0), a, c.Args().Get(1), b)
			return d.WriteText(c.App.Writer, c.Int("top"))
		},
	}
}
