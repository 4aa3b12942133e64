package symbolize

import "fmt"

// FrameKind says where a frame's code comes from.
type FrameKind uint8

// Frame kinds. The zero value is Unknown.
const (
	Unknown FrameKind = iota // nothing known about the address
	Native                   // machine code from an ELF file
	Kernel                   // kernel or kernel module code
	JIT                      // code generated at run time, named by a perf map
	Python                   // a Python-level frame (code object)
	JS                       // a JavaScript frame read from V8's memory
)

// String returns the lowercase name of the kind.
func (k FrameKind) String() string {
	switch k {
	case Native:
		return "native"
	case Kernel:
		return "kernel"
	case JIT:
		return "jit"
	case Python:
		return "python"
	case JS:
		return "js"
	}
	return "unknown"
}

// Frame is one resolved stack entry.
//
// Function is empty when the address could not be named; Module is then
// still set when the address lies in a known mapping, so the frame can be
// shown as module+offset.
type Frame struct {
	Function string    // demangled function name
	File     string    // source file, when known
	Line     int       // source line, when known (0 otherwise)
	Module   string    // ELF path, "[kernel.kallsyms]", "[module]", "[vdso]" or "[jit]"
	Addr     uint64    // the address that was asked for
	Kind     FrameKind // where the code comes from
}

// Name returns a printable name: the function, or module+0xADDR, or 0xADDR.
func (f Frame) Name() string {
	switch {
	case f.Function != "":
		return f.Function
	case f.Module != "":
		return fmt.Sprintf("%s+0x%x", f.Module, f.Addr)
	}
	return fmt.Sprintf("0x%x", f.Addr)
}
