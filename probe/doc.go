// Package probe holds the language bindings that a traced program uses to
// report its transitions: probe/python/tracer_probe.py (standard library only,
// Python 3.8+) and probe/node/tracer_probe.js (no dependencies, Node 18+).
//
// The bindings write trace-format records (docs/trace-format.md) in batches, one
// write(2) per batch through the interpreter's own write path, framed per
// docs/probe-framing.md when they go to /dev/null for tracer's uprobe, or as
// plain JSONL to the file named by TRACER_PROBE_FILE. probe/README.md is the
// user's guide. The Go code here embeds the bindings (Files, for `tracer verify`) and tests
// them with the real python3 and node, checking their traces with `tracer check`.
package probe
