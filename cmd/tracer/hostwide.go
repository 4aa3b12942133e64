package main

import (
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tracer-dev/tracer/internal/usage"
	"github.com/tracer-dev/tracer/session"
)

// hostFlags are the flags of the host-wide mode (tracer attach --all).
func hostFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "all", Usage: "follow every CPython and Node process of the machine as they start and end, instead of one --pid"},
		&cli.StringFlag{Name: "exe", Usage: "with --all: follow the executables named `GLOBS` (comma-separated, e.g. python3*,node; default: " + strings.Join(session.DefaultExes, ",") + ")"},
		&cli.StringFlag{Name: "cgroup", Usage: "with --all: follow only processes in the cgroup `PATH` or below it (as in /proc/PID/cgroup)"},
		&cli.StringFlag{Name: "uid", Usage: "with --all: follow only processes of the user `UID`"},
	}
}

func hostFlagSet(c *cli.Context) bool {
	return c.IsSet("exe") || c.IsSet("cgroup") || c.IsSet("uid")
}

// attachAll is tracer attach --all.
func attachAll(c *cli.Context) error {
	if c.IsSet("pid") {
		return usage.Errorf("give either --pid or --all, not both")
	}
	if c.Duration("duration") < 0 {
		return usage.Errorf("invalid duration %v: give a positive duration such as 2s", c.Duration("duration"))
	}
	cfg, err := sessionConfig(c)
	if err != nil {
		return err
	}
	cfg.All = true
	cfg.Duration = c.Duration("duration")
	for _, g := range strings.Split(c.String("exe"), ",") {
		if g = strings.TrimSpace(g); g != "" {
			cfg.Filter.Exes = append(cfg.Filter.Exes, g)
		}
	}
	if c.IsSet("exe") && len(cfg.Filter.Exes) == 0 {
		return usage.Errorf("--exe is empty: give executable names such as python3,node")
	}
	cfg.Filter.Cgroup = c.String("cgroup")
	if c.IsSet("uid") {
		uid, err := strconv.Atoi(strings.TrimSpace(c.String("uid")))
		if err != nil || uid < 0 {
			return usage.Errorf("invalid --uid %q: give a numeric user id", c.String("uid"))
		}
		cfg.Filter.UID = &uid
	}
	if err := cfg.Filter.Check(); err != nil {
		return err
	}
	return traceRunning(c, cfg, "every CPython and Node process")
}
