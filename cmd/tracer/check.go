package main

import (
	"github.com/urfave/cli/v2"
)

// checkCommand is a placeholder until the checker lands (issue 2).
func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "check a trace against the model, or two traces against each other",
		ArgsUsage: "TRACE.jsonl [OTHER.jsonl]",
		Action: func(c *cli.Context) error {
			return cli.Exit("check: not built yet", exitUsage)
		},
	}
}
