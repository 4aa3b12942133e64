package symbolize

import "strings"

// IsPythonEval says whether a native frame is an activation of CPython's
// eval loop, the C function in which Python frames run.
func IsPythonEval(f Frame) bool {
	name := f.Function
	return name == "_PyEval_EvalFrameDefault" || strings.HasPrefix(name, "_PyEval_EvalFrameDefault.")
}

// PythonTruncated is the frame that stands for the outer Python frames a
// stack deeper than the reader's bound did not record.
var PythonTruncated = Frame{Function: "[truncated python stack]", Module: "[python]", Kind: Python}

// MergePython places Python frames into a native stack. native is leaf
// first; segments[i] holds, leaf first, the Python frames that ran in the
// i-th activation of the eval loop counted from the leaf. Each activation
// in native is replaced by its segment; the native frames above, between
// and below stay.
//
// When the native stack shows fewer activations than there are segments
// (user stacks are unwound through frame pointers, which the interpreters
// are often built without, so the walk stops early or wanders), the native
// stack cannot place the rest: the remaining segments follow the last
// activation that was placed, and the native frames past it are dropped as
// unreliable. With no activation at all, the native frames up to and
// including the first interpreter frame (the leaf's C code: a builtin, a
// system call) stay and the Python frames follow them.
func MergePython(native []Frame, segments [][]Frame) []Frame {
	if len(segments) == 0 {
		return native
	}
	evals := 0
	for _, f := range native {
		if IsPythonEval(f) {
			evals++
		}
	}
	out := make([]Frame, 0, len(native)+len(segments)*4)
	if evals >= len(segments) {
		si := 0
		for _, f := range native {
			if si < len(segments) && IsPythonEval(f) {
				out = append(out, segments[si]...)
				si++
				continue
			}
			out = append(out, f)
		}
		return out
	}
	// Too few activations: keep native frames up to the last one (or, with
	// none, up to the interpreter), then every segment.
	si := 0
	cut := len(native)
	for i, f := range native {
		if evals == 0 && f.Kind == Native && isInterpreterModule(f.Module) {
			cut = i + 1
			break
		}
		if IsPythonEval(f) {
			out = append(out, segments[si]...)
			si++
			if si == evals {
				cut = i + 1
				break
			}
			continue
		}
		out = append(out, f)
	}
	if evals == 0 {
		out = append(out[:0], native[:cut]...)
	}
	for ; si < len(segments); si++ {
		out = append(out, segments[si]...)
	}
	return out
}

// isInterpreterModule says whether a module is a CPython interpreter file
// (libpython3.X.so… or a python3.X executable).
func isInterpreterModule(path string) bool {
	base := path[strings.LastIndexByte(path, '/')+1:]
	return strings.HasPrefix(base, "libpython") || strings.HasPrefix(base, "python")
}
