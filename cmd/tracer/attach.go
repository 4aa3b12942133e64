package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tracer-dev/tracer/internal/usage"
	"github.com/tracer-dev/tracer/session"
)

func attachCommand() *cli.Command {
	return &cli.Command{
		Name:  "attach",
		Usage: "sample a running process and write its profile",
		Description: "Samples every thread of PID (and threads it starts) until the duration has passed,\n" +
			"Ctrl-C, or the process exits. A node process started without any flag gets its\n" +
			"JavaScript functions (file and line) read from V8's memory; a node whose V8 layout\n" +
			"cannot be read gets them only from a perf map (--perf-basic-prof-only-functions), and\n" +
			"tracer says so. Transitions the process reports are checked live from the first one seen.\n\n" +
			"With --all, one tracer follows every CPython and Node process of the machine (or those\n" +
			"--exe, --cgroup and --uid choose) as they start and end, those already running included:\n" +
			"their samples, Python frames and reported transitions, each process checked on its own,\n" +
			"until the duration has passed or Ctrl-C. Its memory grows only slowly with the processes\n" +
			"it has seen; with --otlp-endpoint each interval's profile carries every process as its\n" +
			"own resource.\n\n" +
			exitCodesHelp + "\n\n" +
			"Example:\n" +
			"   sudo tracer attach --pid 4242 --duration 5s -o app.pb.gz\n" +
			"   sudo tracer attach --all --exe 'python3*,node' --otlp-endpoint http://127.0.0.1:4318",
		Flags: append(append(samplingFlags(),
			&cli.StringFlag{Name: "pid", Aliases: []string{"p"}, Usage: "sample process `PID` (required)"},
			&cli.DurationFlag{Name: "duration", Aliases: []string{"d"}, Usage: "stop after `D` (e.g. 2s); default: until Ctrl-C or exit"},
		), hostFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usage.Errorf("attach takes no arguments (got %q): use --pid PID", c.Args().First())
			}
			if c.Bool("all") {
				return attachAll(c)
			}
			if hostFlagSet(c) {
				return usage.Errorf("--exe, --cgroup and --uid choose processes for --all: add --all, or give --pid alone")
			}
			if !c.IsSet("pid") {
				return usage.Errorf("attach needs a process: tracer attach --pid PID, or --all for every CPython and Node process")
			}
			pid, err := parsePID(c.String("pid"))
			if err != nil {
				return usage.Wrap(err)
			}
			if c.Duration("duration") < 0 {
				return usage.Errorf("invalid duration %v: give a positive duration such as 2s", c.Duration("duration"))
			}
			cfg, err := sessionConfig(c)
			if err != nil {
				return err
			}
			cfg.PID = pid
			cfg.Duration = c.Duration("duration")
			return traceRunning(c, cfg, attachTarget(pid))
		},
	}
}

// traceRunning traces what is already running (one process, or the whole
// host) with the outputs the flags ask for, and returns the live check's
// exit. target names it in the HTML report.
func traceRunning(c *cli.Context, cfg session.Config, target string) error {
	html, trace, err := prepareHTML(c, &cfg, target, nil)
	if err != nil {
		return err
	}
	defer html.close()
	exp, err := addOTLP(c, &cfg)
	if err != nil {
		return err
	}
	tr, err := addTransitions(c, &cfg, nil, trace)
	if err != nil {
		return err
	}
	_, err = session.Run(c.Context, cfg)
	closeOTLP(c, exp)
	if err != nil {
		return sessionError(err)
	}
	if err := html.write(c, tr, ""); err != nil {
		return err
	}
	return verdictExit(tr)
}

func parsePID(s string) (int, error) {
	pid, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || pid <= 0 {
		return 0, errors.New("invalid pid " + strconv.Quote(s) + ": give the numeric id of a running process")
	}
	return pid, nil
}
