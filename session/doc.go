// Package session runs one tracing session: `tracer run` (start a command
// under the samplers) and `tracer attach` (sample a running process). It
// owns the flow: privilege check, starting or finding the target, opening
// the samplers, reading their records while the target runs, stopping on
// exit, Ctrl-C or the duration, then putting records in time order,
// symbolizing the samples and writing the outputs (pprof, folded stacks,
// terminal summary).
//
// Transition capture (capture/) and Python frames (interp/cpython) plug in as
// Plugins: they are attached once the samplers are open and before the
// command runs, see every record as it is read, and may decorate each
// sample (add frames, label it with the step it ran in) before export.
//
// With a Streamer (Config.Stream: the OTLP export, export/otlp) the session
// also cuts its records into intervals while tracing goes on (stream.go):
// each interval's samples are symbolized, labelled and handed over, then
// kept only merged by stack of functions, so that an attach of weeks has
// bounded memory.
//
// # Fixed cost
//
// What a session costs besides the sampling itself, and where it went
// (bench/capture.sh, node container of 0.7 s):
//
//   - Start: the Python frames and capture plugins load their BPF programs
//     from the moment they are made (Preparer, capture/prepare.go), beside
//     argument parsing and the start of the gated command; about 45 ms
//     before the command is released, most of it the kernel's verifier.
//   - While the target runs: the warmer (warm.go) opens every mapped file
//     and, for each sampled address, reads the symbol and line tables of
//     the file it falls in (symbolize.Warm). Symbolizing after the target
//     has ended then takes about 1 ms instead of 150-280 ms, plus one read
//     of kallsyms that keeps only the sampled kernel addresses' symbols
//     (symbolize.PrepareKernel; the whole table is 5 MiB and 45 ms).
//   - End: the uprobes are removed, and a replaced trace file freed, by a
//     helper process (loader.ReleaseFiles), so tracer exits about 15 ms
//     after its last output instead of 100 ms.
//
// Config.Timing prints the wall time of each phase.
package session
