package cpython

import (
	"strings"

	"github.com/tracer-dev/tracer/symbolize"
)

// IsEval says whether a native frame is an activation of CPython's
// eval loop, the C function in which Python frames run.
func IsEval(f symbolize.Frame) bool {
	name := f.Function
	return name == "_PyEval_EvalFrameDefault" || strings.HasPrefix(name, "_PyEval_EvalFrameDefault.")
}

// Truncated is the frame that stands for the outer Python frames a
// stack deeper than the reader's bound did not record.
var Truncated = symbolize.Frame{Function: "[truncated python stack]", Module: "[python]", Kind: symbolize.Python}

// MergeFrames places Python frames into a native stack. native is leaf
// first; segments[i] holds, leaf first, the Python frames that ran in the
// i-th activation of the eval loop counted from the leaf. Each activation
// in native is replaced by its segment; the native frames above and
// between stay.
//
// The native frames below the outermost activation stay only when the
// native stack is whole: it ends in a thread's first function (_start,
// start_thread, clone3) and holds an activation for every segment. User
// stacks are unwound through frame pointers, which the interpreters are
// often built without; the walk then stops early or wanders into stale
// stack slots, and what it found past the last activation it placed is
// dropped. The remaining segments follow that activation. With no
// activation at all, the native frames up to and including the first
// interpreter frame (the leaf's C code: a builtin, a system call) stay and
// the Python frames follow them.
func MergeFrames(native []symbolize.Frame, segments [][]symbolize.Frame) []symbolize.Frame {
	if len(segments) == 0 {
		return native
	}
	evals := 0
	for _, f := range native {
		if IsEval(f) {
			evals++
		}
	}
	whole := len(native) > 0 && isThreadRoot(native[len(native)-1].Function) && evals >= len(segments)
	out := make([]symbolize.Frame, 0, len(native)+len(segments)*4)
	placed := min(evals, len(segments))
	si := 0
	for _, f := range native {
		if placed == 0 {
			out = append(out, f)
			if f.Kind == symbolize.Native && isInterpreterModule(f.Module) {
				break
			}
			continue
		}
		if si < placed && IsEval(f) {
			out = append(out, segments[si]...)
			si++
			if si == placed && !whole {
				break
			}
			continue
		}
		out = append(out, f)
	}
	for ; si < len(segments); si++ {
		out = append(out, segments[si]...)
	}
	return out
}

// isThreadRoot says whether a function is where a thread's stack begins.
func isThreadRoot(name string) bool {
	switch name {
	case "_start", "__libc_start_main", "__libc_start_call_main", "start_thread", "clone", "clone3", "__clone", "__clone3":
		return true
	}
	return false
}

// isInterpreterModule says whether a module is a CPython interpreter file
// (libpython3.X.so… or a python3.X executable).
func isInterpreterModule(path string) bool {
	base := path[strings.LastIndexByte(path, '/')+1:]
	return strings.HasPrefix(base, "libpython") || strings.HasPrefix(base, "python")
}
