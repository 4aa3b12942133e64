// Package cpython owns everything tracer knows about the CPython
// interpreter, read from its memory: finding it in a process (find.go: the
// interpreter file, _PyRuntime, its version), its Layout for that version
// (selfdesc.go from _Py_DebugOffsets, dwarf.go from DWARF, offsets.go's
// built-in table), the configuration handed to the frame walk in
// bpf/pyperf.bpf.c (Layout.bpfConfig) and reading the stacks it emits
// (stacks.go), naming code objects (codes.go, linetable.go), and putting
// Python frames in place of the eval-loop frames of a native stack
// (merge.go). Frames (frames.go) ties these together for one session;
// session wires it in as the PythonFrames plugin. docs/python-frames.md
// describes the whole.
package cpython
