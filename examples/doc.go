// Package examples holds the two example implementations that tracer
// contains: python_container.py and nodejs_container.js, planted-bug variants of them in buggy/, and workload files
// in workloads/ (one trace-format action object per line).
//
// The Go code here embeds the containers (Files, for `tracer verify`) and
// tests them: the tests run the containers with the real
// python3 (and the pyenv versions present) and node, and check the traces
// they write through TRACER_PROBE_FILE with `tracer check`, alone and in pairs.
package examples
