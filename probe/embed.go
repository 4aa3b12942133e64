package probe

import "embed"

// Files holds the two bindings, so that `tracer verify` can run the example
// containers from any directory: python/tracer_probe.py and node/tracer_probe.js.
//
//go:embed python/tracer_probe.py node/tracer_probe.js
var Files embed.FS
