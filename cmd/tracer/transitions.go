package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/model"
	"github.com/tracer-dev/tracer/session"
)

// transitionFlags are the flags of the transition capture and live check,
// shared by run and attach.
func transitionFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "trace", Usage: "write the captured transitions to `FILE.jsonl` (contract 1; tracer check reads it)"},
		&cli.StringFlag{Name: "relation", Value: "exact",
			Usage: "check each step under `REL`: exact (the observed state equals the model's) or bisim (equal agent_id, shard_id and data length)"},
	}
}

// addTransitions adds the transitions plugin to cfg, configured from the
// flags. command is the run's command line (nil for attach).
// trace is the file the captured transitions go to ("" for none).
func addTransitions(c *cli.Context, cfg *session.Config, command []string, trace string) (*session.Transitions, error) {
	rel, err := model.ParseRelation(c.String("relation"))
	if err != nil {
		return nil, usageError{err}
	}
	tc := session.TransitionsConfig{Relation: rel, Trace: trace, Log: cfg.Log}
	if len(command) > 0 {
		tc.Command = append([]string(nil), command...)
		if p, err := loader.LookPath(command[0], os.Environ()); err == nil {
			tc.Command[0] = p
		}
	}
	tr := session.NewTransitions(tc)
	cfg.Plugins = append(cfg.Plugins, tr)
	return tr, nil
}

// verdictExit is exit 1 when the live check found a divergence (the report
// was printed with the summary), else nil.
func verdictExit(tr *session.Transitions) error {
	v := tr.Verdict()
	if !v.Divergent {
		return nil
	}
	msg := "divergence found"
	if d := v.Result.First; d != nil {
		msg = fmt.Sprintf("divergence at step %d (%s) of pid %d: see the report above", d.Seq, d.Action.Type, v.PID)
	}
	return cli.Exit(msg, exitDivergence)
}
