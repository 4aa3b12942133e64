// Package verify runs tracer's whole pipeline on the two example containers,
// the contain-and-verify script in one call: the Python and the Node.js
// implementation run the same workload under `tracer run` (samplers, uprobe
// capture, live check), each captured trace is checked against the model, the
// two traces are checked against each other, and the profiles, traces and a
// summary are written to one directory.
//
// The containers and the probe bindings are embedded in the tracer binary
// (examples.Files, probe.Files) and unpacked into a temporary directory, so
// `tracer verify` works from any directory.
package verify
