// Package report owns tracer's HTML report: one self-contained page per run
// that shows, in this order, the verdict of each implementation against the
// model and of the pair against each other (under exact and bisim, with the
// first divergence as expected and observed states side by side), the
// per-action step latencies with a histogram per action, an interactive
// flame graph that can be narrowed to the samples taken inside one action,
// and how the run went (lost samples and batches, the command, the
// interpreter versions, the date).
//
// Its input is what a run leaves on disk: pprof profiles (with or without
// the `step` and `action` labels) and traces in the trace format
// (docs/trace-format.md), one implementation or two. Build reads and
// aggregates them; Page.Write renders the page. Stacks are aggregated into
// one tree per action before they are embedded, so the page's size follows
// the number of distinct stacks, not the number of samples or steps.
//
// The page needs no network: its script and style are embedded in the
// binary (page.js, page.css) and inlined, and it opens from file://.
package report
