package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tracer-dev/tracer/capture/hooks"
	"github.com/tracer-dev/tracer/export/otlp"
	"github.com/tracer-dev/tracer/internal/usage"
	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/model"
	"github.com/tracer-dev/tracer/session"
)

// transitionFlags are the flags of the transition capture and live check,
// shared by run and attach.
func transitionFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "trace", Usage: "write the captured transitions to `FILE.jsonl` (the trace format, docs/trace-format.md; tracer check reads it)"},
		&cli.StringFlag{Name: "relation", Value: "exact",
			Usage: "check each step under `REL`: exact (the observed state equals the model's) or bisim (equal agent_id, shard_id and data length)"},
	}
}

// hookFlags are the flags of the --transition hooks (run only: the hooks
// are loaded when the interpreter starts).
func hookFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "transition", Usage: "observe every call of the function `NAME` (name, Class.name, module:name or file.js:name) in the Python or Node program, which need not use the probe binding: each call is a step (docs/transition-hooks.md)"},
		&cli.StringFlag{Name: "transition-args", Usage: "with --transition: the parameters `STATE,ACTION` of the function (default: its first two; for a method on the state: self,action)"},
	}
}

// hookSpec reads --transition and --transition-args; nil when not given.
func hookSpec(c *cli.Context) (*hooks.Spec, error) {
	if !c.IsSet("transition") && !c.IsSet("transition-args") {
		return nil, nil
	}
	if !c.IsSet("transition") {
		return nil, usage.Wrap(errors.New("--transition-args needs --transition NAME"))
	}
	spec, err := hooks.ParseSpec(c.String("transition"), c.String("transition-args"))
	if err != nil {
		return nil, usage.Wrap(errors.New(strings.TrimPrefix(err.Error(), hooks.ErrSpec.Error()+": ")))
	}
	return &spec, nil
}

// addTransitions adds the transitions plugin to cfg, configured from the
// flags. command is the run's command line (nil for attach).
// trace is the file the captured transitions go to ("" for none).
func addTransitions(c *cli.Context, cfg *session.Config, command []string, trace string) (*session.Transitions, error) {
	rel, err := model.ParseRelation(c.String("relation"))
	if err != nil {
		return nil, usage.Wrap(err)
	}
	tune, err := readTuning(c)
	if err != nil {
		return nil, err
	}
	tc := session.TransitionsConfig{Relation: rel, Trace: trace, Log: cfg.Log, CaptureRingBytes: tune.captureRingBytes}
	if tc.Hook, err = hookSpec(c); err != nil {
		return nil, err
	}
	if exp, ok := cfg.Stream.(*otlp.Exporter); ok {
		tc.Sink = exp.Checks()
	}
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

// verdictExit is the exit of the live check: 1 when it found a divergence or
// an invalid record (the report was printed with the summary), 3 when some
// steps could not be checked, 2 when a process wrote no record of the trace
// format at all, else nil: the codes tracer check gives on the trace files.
func verdictExit(tr *session.Transitions) error {
	v := tr.Verdict()
	switch {
	case v.Divergent:
		msg := "divergence found"
		if d := v.Result.First; d != nil {
			msg = fmt.Sprintf("divergence at step %d (%s) of pid %d: see the report above", d.Seq, d.Action.Type, v.PID)
		} else if p := v.Result.FirstInvalid; p != nil {
			msg = fmt.Sprintf("invalid record of pid %d: %s: see the report above", v.PID, p)
		}
		return cli.Exit(msg, exitDivergence)
	case v.NotATrace:
		return cli.Exit("the program wrote probe batches holding no record of the trace format (docs/trace-format.md): see the report above", exitUsage)
	case v.Incomplete:
		return cli.Exit("verdict incomplete: some steps could not be checked (see the report above)", exitIncomplete)
	}
	return nil
}
