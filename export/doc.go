// Package export writes what a tracing session saw: pprof profiles (for
// `go tool pprof` and its flame graphs), folded stacks in the format of
// flamegraph.pl, the terminal summary of the hottest functions, and
// comparisons of two profiles (`tracer diff`). The HTML report, built from
// the files these write, is export/report; the continuous export to an
// OpenTelemetry Collector is export/otlp.
//
// Its input is a Profile: samples whose stacks are symbolized frames, leaf
// first, each with the process, thread and command it came from and, when
// the session captured transitions, the step and action it ran in. Files are
// written atomically (a temporary file in the same directory, then rename),
// so an interrupted run never leaves a truncated profile behind.
package export
