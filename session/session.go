package session

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/tracer-dev/tracer/export"
	"github.com/tracer-dev/tracer/internal/usage"
	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/symbolize"
)

// DefaultOutput is the pprof file written when Config.Output is empty.
const DefaultOutput = "profile.pb.gz"

// Config describes one session: Command for `tracer run`, PID for
// `tracer attach`.
type Config struct {
	Command []string // run: the command line, argv[0] resolved through PATH
	PID     int      // attach: the process to sample
	// All follows every process of the machine that Filter chooses, as
	// they start and end (tracer attach --all, hostwide.go).
	All      bool
	Filter   HostFilter
	Duration time.Duration // attach: stop after this long; 0 means until Ctrl-C or exit
	Freq     int           // samples per second; 0 means loader.DefaultFreq

	Output string // pprof file; "" means DefaultOutput, "-" means none
	Folded string // folded stacks file; "" means none
	User   string // run: the user the command runs as (--user); "" means the sudo user, if any

	// Stdin, Stdout and Stderr of the command; nil means tracer's own.
	Stdin, Stdout, Stderr *os.File
	// Log receives the status line (when LogIsTerminal), notes and the
	// final summary; nil means os.Stderr.
	Log           io.Writer
	LogIsTerminal bool
	Top           int // functions in each summary table; 0 means 10
	// Comments go into the pprof profile's comments after "command: …"
	// (the interpreter's version, say); tracer report shows them.
	Comments []string

	Plugins []Plugin

	// Stream, when set, receives the samples every StreamEvery (0:
	// DefaultStreamEvery) while tracing goes on; what it was given is then
	// kept only in aggregate (stream.go), so a session of weeks has
	// bounded memory.
	Stream      Streamer
	StreamEvery time.Duration
	// SamplerRingPages is the pages of each CPU's sampler ring, a power of
	// two; 0 means the default (128, 512 KiB).
	SamplerRingPages int
	// Timing prints how long each phase of the session took ("tracer:
	// timing: ..." lines on the log), counted from the start of tracer's
	// process.
	Timing bool
}

// Result is what a session saw.
type Result struct {
	Samples  int
	Lost     uint64
	Duration time.Duration
	Summary  export.Summary
	Outputs  []string // files written

	// Exit is how the command ended (run only).
	Exit *loader.ExitStatus
	// Exited says the attached process ended before tracing stopped.
	Exited bool
	// Notes are one-line remarks already printed to Log (missing JIT
	// names, malformed records).
	Notes []string
}

// Run runs one session to its end and writes its outputs. Cancelling ctx
// (Ctrl-C) stops an attach at once; a run passes the signal to the command
// and goes on until the command has ended (at most killGrace later).
// Outputs are written either way.
func Run(ctx context.Context, cfg Config) (Result, error) {
	defer closePlugins(cfg.Plugins)
	if err := cfg.defaults(); err != nil {
		return Result{}, err
	}
	tm := newTimer(cfg.Log, cfg.Timing)
	tm.mark("start, plugins made")
	if err := loader.CheckPrivilege(); err != nil {
		if errors.Is(err, loader.ErrPrivilege) {
			return Result{}, usage.Wrap(err)
		}
		return Result{}, err
	}
	if err := cfg.checkOutputs(); err != nil {
		return Result{}, err
	}
	if err := loader.ProbeFeatures(loader.FeaturePerfEvent); err != nil {
		if errors.Is(err, loader.ErrFeature) {
			return Result{}, usage.Wrap(err)
		}
		return Result{}, err
	}
	s := &session{cfg: cfg, sym: symbolize.New(), log: cfg.Log, ringPages: cfg.SamplerRingPages, tm: tm}
	if cfg.Stream != nil || cfg.All {
		// The host-wide mode always folds what it saw interval by
		// interval, so that its memory stays bounded without an export.
		s.stream = newStreamer(s)
	}
	s.tm.mark("checks")
	defer s.sym.Close()
	var err error
	switch {
	case cfg.All:
		err = s.hostwide(ctx)
	case len(cfg.Command) > 0:
		err = s.run(ctx)
		if s.perfMaps {
			defer s.removePerfMaps()
		}
	default:
		err = s.attach(ctx)
	}
	if err != nil {
		return s.res, err
	}
	if err := s.finish(); err != nil {
		return s.res, err
	}
	s.tm.mark("finished")
	return s.res, nil
}

func (c *Config) defaults() error {
	if c.All {
		if len(c.Command) > 0 || c.PID != 0 {
			return usage.Errorf("--all follows every process: give no command and no pid")
		}
		if err := c.Filter.Check(); err != nil {
			return err
		}
	} else if len(c.Command) == 0 && c.PID == 0 {
		return usage.Errorf("nothing to trace: give a command (tracer run -- CMD) or a pid (tracer attach --pid PID)")
	}
	if len(c.Command) > 0 && c.PID != 0 {
		return usage.Errorf("give either a command or a pid, not both")
	}
	if c.PID < 0 {
		return usage.Errorf("invalid pid %d: give the pid of a running process", c.PID)
	}
	if c.Duration < 0 {
		return usage.Errorf("invalid duration %v: give a positive duration such as 2s", c.Duration)
	}
	if c.Freq == 0 {
		c.Freq = loader.DefaultFreq
	}
	if err := loader.CheckFreq(c.Freq); err != nil {
		return err
	}
	if c.Output == "" {
		c.Output = DefaultOutput
	}
	if c.Log == nil {
		c.Log = os.Stderr
	}
	if c.Top == 0 {
		c.Top = 10
	}
	return nil
}
