package export

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/tracer-dev/tracer/symbolize"
)

// Sample is one CPU sample with its symbolized stack.
type Sample struct {
	Stack    []symbolize.Frame // leaf first: kernel frames, then user frames
	PID, TID int
	Comm     string // the process's command name when the sample was taken
	Period   uint64 // CPU nanoseconds the sample stands for; 0: 1/Freq
	Step     uint64 // seq of the transition running on the thread; 0: none
	Action   string // its action type ("post"); empty when Step is 0
	// Count is the number of samples this one stands for when samples of
	// the same stack, thread and action were merged (a continuous export
	// keeps what it has sent in this form); 0 means 1. Period is then
	// their total.
	Count int
}

// Weight is the number of samples s stands for.
func (s *Sample) Weight() int {
	if s.Count > 0 {
		return s.Count
	}
	return 1
}

// Profile is everything an export needs.
type Profile struct {
	Samples  []Sample
	Mappings map[int][]symbolize.Mapping // executable mappings per pid, for pprof
	Freq     int                         // sampling frequency in Hz
	Start    time.Time                   // when sampling began
	Duration time.Duration               // how long it ran
	Lost     uint64                      // records the kernel dropped
	// Comments are lines for the pprof profile's comments ("command: …",
	// "interpreter: …"), which tracer report shows.
	Comments []string
	// Processes says what is known of each sampled process, for exports
	// that describe them (OTLP resources); may be nil.
	Processes map[int]Process
}

// Process describes one traced process.
type Process struct {
	PID            int
	Executable     string // the executable's file name ("python3.11")
	ExecutablePath string // its path, when known
	RuntimeName    string // "cpython", "nodejs"; "" when neither
	RuntimeVersion string // "3.11.7"; "" when unknown
}

// period is the CPU time one sample stands for when it does not say.
func (p *Profile) period() int64 {
	if p.Freq <= 0 {
		return 0
	}
	return int64(time.Second) / int64(p.Freq)
}

// sampleNanos is the CPU time sample s stands for.
func (p *Profile) sampleNanos(s *Sample) int64 {
	if s.Period > 0 {
		return int64(s.Period)
	}
	return p.period() * int64(s.Weight())
}

// frameLabel is how summaries and folded stacks name a frame: its function,
// or for an unnamed address the module it lies in ("[libfoo.so]"), or
// "[unknown]". Unnamed addresses are grouped so that one JIT function
// without a perf map does not become hundreds of rows. pprof keeps the
// addresses themselves.
func frameLabel(fr symbolize.Frame) string {
	switch {
	case fr.Function != "":
		return fr.Function
	case strings.HasPrefix(fr.Module, "["):
		return fr.Module
	case fr.Module != "":
		return "[" + filepath.Base(fr.Module) + "]"
	}
	return "[unknown]"
}
