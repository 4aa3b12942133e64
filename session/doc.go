// Package session runs one tracing session: `tracer run` (start a command
// under the samplers) and `tracer attach` (sample a running process). It
// owns the flow: privilege check, starting or finding the target, opening
// the samplers, reading their records while the target runs, stopping on
// exit, Ctrl-C or the duration, then putting records in time order,
// symbolizing the samples and writing the outputs (pprof, folded stacks,
// terminal summary).
//
// Transition capture (issue 5) and Python frames (issue 6) plug in as
// Plugins: they are attached once the samplers are open and before the
// command runs, see every record as it is read, and may decorate each
// sample (add frames, label it with the step it ran in) before export.
package session
