package session

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"
)

// Two hidden knobs for measuring tracer itself (bench/, docs/performance.md);
// they are not flags because no ordinary use needs them.
const (
	// TimingEnv, set to 1, prints how long each phase of a session took
	// ("tracer: timing: ..." lines on the log), counted from the start of
	// tracer's process.
	TimingEnv = "TRACER_TIMING"
	// CPUProfileEnv names a file that receives a Go CPU profile of the
	// whole session (go tool pprof FILE).
	CPUProfileEnv = "TRACER_CPUPROFILE"
)

// processStart is the moment the session package was initialized: early
// in tracer's process, before the command line is parsed.
var processStart = time.Now()

// timer prints phase marks when TimingEnv is set; the zero value prints
// nothing.
type timer struct {
	w    io.Writer
	last time.Time
}

func newTimer(w io.Writer) *timer {
	if os.Getenv(TimingEnv) != "1" {
		return &timer{}
	}
	return &timer{w: w, last: processStart}
}

// mark prints the time since the previous mark and since the start.
func (t *timer) mark(phase string) {
	if t == nil || t.w == nil {
		return
	}
	now := time.Now()
	fmt.Fprintf(t.w, "tracer: timing: %-24s %7.1f ms (at %7.1f ms)\n", phase,
		float64(now.Sub(t.last).Microseconds())/1000, float64(now.Sub(processStart).Microseconds())/1000)
	t.last = now
}

// cpuProfile is the file of the profile started at init, or nil.
var cpuProfile *os.File

// The CPU profile starts when the package is initialized, so that it covers
// what tracer does before Run too (loading the Python frames program).
// Failing to profile only costs the profile.
func init() {
	path := os.Getenv(CPUProfileEnv)
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tracer: %s: %v\n", CPUProfileEnv, err)
		return
	}
	cpuProfile = f
}

// stopCPUProfile ends the profile started at init, if any.
func stopCPUProfile() {
	if cpuProfile == nil {
		return
	}
	pprof.StopCPUProfile()
	cpuProfile.Close()
	cpuProfile = nil
}
