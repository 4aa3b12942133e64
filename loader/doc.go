// Package loader owns tracer's contact with the kernel and with the traced
// process: loading BPF collections (with one shared decoding of the
// kernel's BTF, let go once a session's programs are loaded) and releasing uprobe links, opening the perf_event samplers
// (elastic/go-perf) and reading their rings, starting the traced command
// (gated so that it execs only once the samplers are enabled), forwarding
// signals to it, privilege and kernel feature checks, and counting every
// lost record. The BPF programs of one feature are loaded and read by that
// feature's package (interp/cpython, interp/v8, capture), with the shared
// pieces here: RingReader reads a walker's ring (waiting on it through
// RingWait, Go's own poller, never in a blocking system call: see
// ringwait.go), ByThread joins what a walker read in a sample's overflow
// handler with that sample, FileCache keeps an interpreter file's layout,
// Notes are a part's remarks.
//
// Sampling (sampler*.go): one cpu-clock event per CPU for the target, with
// user and kernel callchains and CLOCK_MONOTONIC timestamps, so a sample's
// time is directly comparable with the t0/t1 of a transition record and with
// bpf_ktime_get_ns. The same events carry mmap2, comm (with the exec flag),
// fork and exit records, which the symbolizer needs to place addresses. For an
// attach, every existing thread of the process gets its own event per CPU and
// all events of one CPU share that CPU's ring (PERF_EVENT_IOC_SET_OUTPUT);
// threads created later are followed through inherit.
//
// Process lifecycle (process*.go): `tracer run` starts the command through a
// small shim, the tracer binary itself re-executed with TRACER_EXEC_SHIM set
// (RunHelperRole, the first call of main, runs it).
// The shim blocks on a pipe until the samplers are open on its pid (inherit,
// enable_on_exec), then execs the command, so the command's first
// instruction is already sampled. No shell interprets the command.
//
// Cost (bpfload.go, release.go): the BPF collections, loaded at the same
// time from the session's start, share one decoding of the kernel's BTF.
// Removing a uprobe waits for an
// RCU grace period (about 110 ms here); CloseLinks leaves that wait to a
// short-lived helper process, the tracer binary re-executed with
// TRACER_RELEASE_HELPER set, which holds copies of the uprobe links until
// tracer has closed its own, so tracer's exit does not wait. ReleaseFiles
// does the same for a large output file that a new one replaces.
package loader
