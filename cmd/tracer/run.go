package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/tracer-dev/tracer/internal/usage"
	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/session"
)

// samplingFlags are the flags run and attach share.
func samplingFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: session.DefaultOutput,
			Usage: "write the pprof profile to `FILE` (\"-\": none); --html draws it as a page, go tool pprof reads it"},
		&cli.IntFlag{Name: "freq", Aliases: []string{"F"}, Value: loader.DefaultFreq,
			Usage: fmt.Sprintf("sample each thread `HZ` times per second of CPU (%d to %d)", loader.MinFreq, loader.MaxFreq)},
		&cli.StringFlag{Name: "folded", Usage: "also write folded stacks for flamegraph.pl to `FILE`"},
		htmlFlag(),
	}, append(transitionFlags(), otlpFlags()...)...)
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a command under the CPU samplers and write its profile",
		ArgsUsage: "-- CMD [ARGS...]",
		Description: "Starts CMD (no shell) so that it execs only once the samplers are enabled, follows\n" +
			"its threads and children, passes SIGINT and SIGTERM on to it, and exits with its exit\n" +
			"status (128+N when a signal N killed it). JavaScript functions are read from V8's memory\n" +
			"in every node process of the tree (docs/v8-frames.md); for a node whose V8 layout cannot\n" +
			"be read, NODE_OPTIONS gains --perf-basic-prof-only-functions\n" +
			"--interpreted-frames-native-stack (kept after your own options) and the names come from\n" +
			"its perf map; one line says which. Under sudo the command runs as the invoking\n" +
			"user and the output files belong to that user; --user chooses another.\n\n" +
			"When the program reports transitions (the probe binding), each step is checked live and\n" +
			"the verdict decides the exit as tracer check would on the trace file (divergence 1,\n" +
			"incomplete 3) before the command's own status.\n\n" +
			exitCodesHelp + "\n\n" +
			"Example:\n" +
			"   sudo tracer run -F 999 -o node.pb.gz -- node app.js\n" +
			"   go tool pprof -top node.pb.gz\n" +
			"   sudo tracer run --transition transition --trace t.jsonl -- python3 python_container.py",
		Flags: append(append(samplingFlags(), hookFlags()...),
			&cli.StringFlag{Name: "user", Usage: "run the command as `USER` (name or uid)"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usage.Errorf("run needs a command: tracer run [flags] -- CMD [ARGS...]")
			}
			cfg, err := sessionConfig(c)
			if err != nil {
				return err
			}
			cfg.Command = c.Args().Slice()
			cfg.User = c.String("user")
			target := cfg.Command[0]
			if p, err := loader.LookPath(target, os.Environ()); err == nil {
				target = p
			}
			html, trace, err := prepareHTML(c, &cfg, target, cfg.Command)
			if err != nil {
				return err
			}
			defer html.close()
			exp, err := addOTLP(c, &cfg)
			if err != nil {
				return err
			}
			tr, err := addTransitions(c, &cfg, cfg.Command, trace)
			if err != nil {
				return err
			}
			res, err := session.Run(c.Context, cfg)
			closeOTLP(c, exp)
			if err != nil {
				return sessionError(err)
			}
			if err := html.write(c, tr, cfg.User); err != nil {
				return err
			}
			if err := verdictExit(tr); err != nil {
				return err
			}
			if st := res.Exit; st != nil && st.ShellCode() != 0 {
				return cli.Exit(fmt.Sprintf("command %s", st), st.ShellCode())
			}
			return nil
		},
	}
}

// sessionConfig reads the shared flags.
func sessionConfig(c *cli.Context) (session.Config, error) {
	freq := c.Int("freq")
	if err := loader.CheckFreq(freq); err != nil {
		return session.Config{}, err
	}
	out := c.String("output")
	if out == "" {
		return session.Config{}, usage.Errorf("empty output file name: give -o FILE, or -o - for none")
	}
	tune, err := readTuning(c)
	if err != nil {
		return session.Config{}, err
	}
	py := session.NewPythonFrames(c.App.ErrWriter)
	return session.Config{
		SamplerRingPages: tune.samplerRingPages,
		Timing:           tune.timing,
		Freq:             freq,
		Output:           out,
		Folded:           c.String("folded"),
		Log:              c.App.ErrWriter,
		LogIsTerminal:    isTerminal(os.Stderr) && c.App.ErrWriter == os.Stderr,
		Plugins:          []session.Plugin{py, session.NewJSFrames(c.App.ErrWriter, py)},
	}, nil
}

// sessionError maps a session error to an exit: everything is exit 2, the
// user's mistakes with their own one-line message.
func sessionError(err error) error {
	if usage.Is(err) {
		return cli.Exit(err.Error(), exitUsage)
	}
	return err
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
