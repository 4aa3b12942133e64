package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/urfave/cli/v2"

	"github.com/tracer-dev/tracer/internal/usage"
	"github.com/tracer-dev/tracer/loader"
)

// Tuning knobs for tests and measurements (bench/, docs/performance.md).
// They are hidden flags, each mirrored by its TRACER_* environment
// variable: the defaults suit every ordinary use. Being global flags, they
// go before the command (tracer --timing run ...), or in the environment.
const (
	samplerRingPagesEnv = "TRACER_SAMPLER_RING_PAGES"
	captureRingBytesEnv = "TRACER_CAPTURE_RING_BYTES"
	timingEnv           = "TRACER_TIMING"
	cpuProfileEnv       = "TRACER_CPUPROFILE"
	memProfileEnv       = "TRACER_MEMPROFILE"
	disableFeaturesEnv  = "TRACER_DISABLE_FEATURES"
)

// maxRingBytes bounds both ring knobs (1 GiB).
const maxRingBytes = 1 << 30

func tuningFlags() []cli.Flag {
	return []cli.Flag{
		&cli.Uint64Flag{Name: "sampler-ring-pages", Hidden: true, EnvVars: []string{samplerRingPagesEnv},
			Usage: "pages of each CPU's sampler ring: a power of two (default 128, 512 KiB)"},
		&cli.Uint64Flag{Name: "capture-ring-bytes", Hidden: true, EnvVars: []string{captureRingBytesEnv},
			Usage: "bytes of the transition capture's ring: a power of two, at least a page (default 8 MiB)"},
		&cli.BoolFlag{Name: "timing", Hidden: true, EnvVars: []string{timingEnv},
			Usage: "print how long each phase of a session took"},
		&cli.StringFlag{Name: "cpuprofile", Hidden: true, EnvVars: []string{cpuProfileEnv},
			Usage: "write a Go CPU profile of tracer to `FILE` (go tool pprof FILE)"},
		&cli.StringFlag{Name: "memprofile", Hidden: true, EnvVars: []string{memProfileEnv},
			Usage: "write a Go heap profile of tracer to `FILE` when it finishes (go tool pprof -sample_index=alloc_space FILE)"},
		&cli.StringSliceFlag{Name: "disable-features", Hidden: true, EnvVars: []string{disableFeaturesEnv},
			Usage: "report these kernel features (perf_event, bpf, uprobe) missing, to see what a user without them sees"},
	}
}

// tuning is what the knobs ask of a session.
type tuning struct {
	samplerRingPages int
	captureRingBytes uint32
	timing           bool
}

// readTuning validates the ring knobs.
func readTuning(c *cli.Context) (tuning, error) {
	t := tuning{timing: c.Bool("timing")}
	pages, err := ringKnob(c, "sampler-ring-pages", samplerRingPagesEnv, 1, uint64(maxRingBytes/os.Getpagesize()))
	if err != nil {
		return t, err
	}
	bytes, err := ringKnob(c, "capture-ring-bytes", captureRingBytesEnv, uint64(os.Getpagesize()), maxRingBytes)
	if err != nil {
		return t, err
	}
	t.samplerRingPages, t.captureRingBytes = int(pages), uint32(bytes)
	return t, nil
}

func ringKnob(c *cli.Context, flag, env string, lo, hi uint64) (uint64, error) {
	if !c.IsSet(flag) {
		return 0, nil
	}
	n := c.Uint64(flag)
	if n < lo || n > hi || n&(n-1) != 0 {
		return 0, usage.Errorf("invalid %s=%d (--%s): give a power of two from %d to %d, or unset it", env, n, flag, lo, hi)
	}
	return n, nil
}

// startTuning applies the knobs that hold for the whole process: disabled
// features, and the CPU profile, started before any command so that it
// covers what tracer does before a session too (loading the Python frames
// program). Failing to profile only costs the profile.
func startTuning(c *cli.Context) error {
	loader.DisableFeatures(disableFeaturesEnv, c.StringSlice("disable-features")...)
	memProfile = c.String("memprofile")
	path := c.String("cpuprofile")
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(c.App.ErrWriter, "tracer: %s: %v\n", cpuProfileEnv, err)
		return nil
	}
	cpuProfile = f
	return nil
}

// cpuProfile is the file of the profile startTuning started, or nil.
var cpuProfile *os.File

// memProfile is where stopTuning writes the heap profile, or "".
var memProfile string

// stopTuning ends the CPU profile, if any, and writes the heap profile.
func stopTuning(c *cli.Context) error {
	if memProfile != "" {
		f, err := os.Create(memProfile)
		if err == nil {
			err = pprof.Lookup("allocs").WriteTo(f, 0)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(c.App.ErrWriter, "tracer: %s: %v\n", memProfileEnv, err)
		}
		memProfile = ""
	}
	if cpuProfile != nil {
		pprof.StopCPUProfile()
		cpuProfile.Close()
		cpuProfile = nil
	}
	return nil
}
