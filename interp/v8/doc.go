// Package v8 owns everything tracer knows about V8, the JavaScript engine of
// node: recognising node in a process and reading its V8 version, the layout
// of V8's frames and objects from the binary's v8dbg_* symbols, the BPF
// walker (bpf/v8.bpf.c) that reads the JS frames of each sample and the
// configuration it is given per process, and naming those frames (function,
// script, line, and the functions optimized code inlined) from the target's
// memory. docs/v8-frames.md explains the walk.
package v8
