// Package capture owns transition capture: the uprobes on the interpreters'
// write paths (CPython _Py_write, Node's uv_fs_write) that copy the probe
// bindings' framed batches into a ring (bpf/capture.bpf.c). It finds where
// to place them (target.go, resolve.go), loads and attaches the program and
// decodes its records (capture.go, record.go), parses the batch framing
// (framing.go, docs/probe-framing.md), follows a command and its children
// through their execs (follow.go, watch.go), and hands the batches of one
// session, in order, through a bounded queue (stream.go, queue.go,
// prepare.go). session wires a Stream into its Transitions plugin, which
// writes the trace, checks it and labels samples. docs/capture.md
// describes the whole.
package capture
