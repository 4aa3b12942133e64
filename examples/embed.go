package examples

import "embed"

// Files holds the two containers, so that `tracer verify` can run them from
// any directory: python_container.py and nodejs_container.js. They find the
// bindings at ../probe/ relative to themselves (see probe.Files).
//
//go:embed python_container.py nodejs_container.js
var Files embed.FS
