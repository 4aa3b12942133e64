package cpython

import (
	"fmt"

	"github.com/tracer-dev/tracer/bpf"
)

// Frame-chain layouts of the CPython versions the Python frame reader
// supports (enum py_layout in bpf/headers/tracer.h).
const (
	PyLayout310 = int(bpf.PyperfPyLayoutPY_LAYOUT_310) // PyFrameObject chain: tstate->frame, f_back, f_lasti
	PyLayout311 = int(bpf.PyperfPyLayoutPY_LAYOUT_311) // tstate->cframe->current_frame, is_entry, prev_instr
	PyLayout312 = int(bpf.PyperfPyLayoutPY_LAYOUT_312) // tstate->cframe->current_frame, owner, prev_instr
	PyLayout313 = int(bpf.PyperfPyLayoutPY_LAYOUT_313) // tstate->current_frame, owner, instr_ptr
	PyLayout38  = int(bpf.PyperfPyLayoutPY_LAYOUT_38)  // as PyLayout310, f_lasti in bytes (3.8, 3.9)
)

// Layout says where one CPython version keeps what the frame walk (in BPF,
// through bpfConfig) and the code-object reader (Codes) need. Every field is a
// byte offset into the named structure; zero in an optional field (Qualname,
// CFrameCurrentFrame, CodeAdaptive, FrameOwner) means the version has no
// such field only where the layout says so.
type Layout struct {
	Major, Minor int
	Chain        int // PyLayout*: how frames are chained

	RuntimeInterpHead  uint32 // _PyRuntime.interpreters.head
	InterpNext         uint32 // PyInterpreterState.next
	InterpThreadsHead  uint32 // PyInterpreterState.threads.head (tstate_head to 3.10)
	TstateNext         uint32 // PyThreadState.next
	TstateThreadID     uint32 // PyThreadState.thread_id (the pthread_t)
	TstateFrame        uint32 // .frame (to 3.10), .cframe (3.11, 3.12), .current_frame (3.13)
	CFrameCurrentFrame uint32 // _PyCFrame.current_frame (3.11, 3.12)

	FrameCode     uint32 // f_code (f_executable in 3.13)
	FramePrevious uint32 // f_back (to 3.10) / previous
	FrameInstr    uint32 // f_lasti (to 3.10) / prev_instr (3.11, 3.12) / instr_ptr (3.13)
	FrameOwner    uint32 // is_entry (3.11) / owner (3.12, 3.13); unused to 3.10

	CodeFilename    uint32 // PyCodeObject.co_filename
	CodeName        uint32 // PyCodeObject.co_name
	CodeQualname    uint32 // PyCodeObject.co_qualname (3.11+; 0 before)
	CodeLinetable   uint32 // PyCodeObject.co_linetable (co_lnotab in 3.8, 3.9)
	CodeFirstlineno uint32 // PyCodeObject.co_firstlineno
	CodeAdaptive    uint32 // PyCodeObject.co_code_adaptive (3.11+)

	UnicodeState       uint32 // PyASCIIObject.state
	UnicodeLength      uint32 // PyASCIIObject.length
	UnicodeASCIISize   uint32 // sizeof(PyASCIIObject): compact ASCII data follows
	UnicodeCompactSize uint32 // sizeof(PyCompactUnicodeObject): compact non-ASCII data follows
	BytesSize          uint32 // PyVarObject.ob_size of a bytes object
	BytesData          uint32 // PyBytesObject.ob_sval
}

// bpfConfig is the layout as the BPF frame walk takes it, for an
// interpreter whose _PyRuntime is at runtime.
func (o Layout) bpfConfig(runtime uint64, file uint32) bpf.PyperfPyConfig {
	return bpf.PyperfPyConfig{
		Runtime:            runtime,
		File:               file,
		CodeName:           o.nameField(),
		CodeFilename:       o.CodeFilename,
		UnicodeState:       o.UnicodeState,
		UnicodeLength:      o.UnicodeLength,
		UnicodeAsciiSize:   o.UnicodeASCIISize,
		Layout:             uint32(o.Chain),
		RuntimeInterpHead:  o.RuntimeInterpHead,
		InterpNext:         o.InterpNext,
		InterpThreadsHead:  o.InterpThreadsHead,
		TstateNext:         o.TstateNext,
		TstateThreadId:     o.TstateThreadID,
		TstateFrame:        o.TstateFrame,
		CframeCurrentFrame: o.CFrameCurrentFrame,
		FrameCode:          o.FrameCode,
		FramePrevious:      o.FramePrevious,
		FrameInstr:         o.FrameInstr,
		FrameOwner:         o.FrameOwner,
		CodeAdaptive:       o.CodeAdaptive,
		CodeFirstlineno:    o.CodeFirstlineno,
		FrameWindow:        o.frameWindow(),
		CodeLinetable:      o.CodeLinetable,
		BytesSize:          o.BytesSize,
		BytesData:          o.BytesData,
	}
}

// frameWindow is how many bytes of one frame the BPF walk reads at once:
// up to the end of the last field it uses.
func (o Layout) frameWindow() uint32 {
	end := uint32(0)
	for _, f := range []struct{ off, size uint32 }{
		{o.FrameCode, 8}, {o.FramePrevious, 8}, {o.FrameInstr, 8}, {o.FrameOwner, 1},
	} {
		if f.off+f.size > end {
			end = f.off + f.size
		}
	}
	if o.Chain == PyLayout310 || o.Chain == PyLayout38 {
		end = max(o.FrameCode, o.FramePrevious) + 8
		end = max(end, o.FrameInstr+4)
	}
	return end
}

// validate checks that the offsets fit what the BPF walk can read.
func (o Layout) validate() error {
	if o.Chain < PyLayout310 || o.Chain > PyLayout38 {
		return fmt.Errorf("unknown frame layout %d", o.Chain)
	}
	if w := o.frameWindow(); w > 128 {
		return fmt.Errorf("frame fields end at byte %d, past the 128 bytes the BPF walk reads", w)
	}
	if o.CodeFilename == 0 || o.CodeName == 0 || o.CodeLinetable == 0 || o.CodeFirstlineno == 0 {
		return fmt.Errorf("code object offsets are incomplete")
	}
	return nil
}

// builtinLayouts is the fallback table, one entry per supported minor
// version, taken from the pyenv builds' DWARF with
// `gdb -batch -ex 'ptype /o struct _PyInterpreterFrame' libpython3.X.so.1.0`
// and the same for _PyRuntimeState, PyInterpreterState, PyThreadState,
// _PyCFrame, PyFrameObject, PyCodeObject and PyASCIIObject. The tests check
// that the DWARF of each pyenv build still agrees with it.
var builtinLayouts = map[int]Layout{
	8: {
		Major: 3, Minor: 8, Chain: PyLayout38,
		RuntimeInterpHead: 32, InterpNext: 0, InterpThreadsHead: 8,
		TstateNext: 8, TstateThreadID: 176, TstateFrame: 24,
		FrameCode: 32, FramePrevious: 24, FrameInstr: 104,
		CodeFilename: 104, CodeName: 112, CodeLinetable: 120, CodeFirstlineno: 40,
		UnicodeState: 32, UnicodeLength: 16, UnicodeASCIISize: 48, UnicodeCompactSize: 72,
		BytesSize: 16, BytesData: 32,
	},
	9: {
		Major: 3, Minor: 9, Chain: PyLayout38,
		RuntimeInterpHead: 32, InterpNext: 0, InterpThreadsHead: 8,
		TstateNext: 8, TstateThreadID: 176, TstateFrame: 24,
		FrameCode: 32, FramePrevious: 24, FrameInstr: 104,
		CodeFilename: 104, CodeName: 112, CodeLinetable: 120, CodeFirstlineno: 40,
		UnicodeState: 32, UnicodeLength: 16, UnicodeASCIISize: 48, UnicodeCompactSize: 72,
		BytesSize: 16, BytesData: 32,
	},
	10: {
		Major: 3, Minor: 10, Chain: PyLayout310,
		RuntimeInterpHead: 32, InterpNext: 0, InterpThreadsHead: 8,
		TstateNext: 8, TstateThreadID: 176, TstateFrame: 24,
		FrameCode: 32, FramePrevious: 24, FrameInstr: 96,
		CodeFilename: 104, CodeName: 112, CodeLinetable: 120, CodeFirstlineno: 40,
		UnicodeState: 32, UnicodeLength: 16, UnicodeASCIISize: 48, UnicodeCompactSize: 72,
		BytesSize: 16, BytesData: 32,
	},
	11: {
		Major: 3, Minor: 11, Chain: PyLayout311,
		RuntimeInterpHead: 40, InterpNext: 0, InterpThreadsHead: 16,
		TstateNext: 8, TstateThreadID: 152, TstateFrame: 56, CFrameCurrentFrame: 8,
		FrameCode: 32, FramePrevious: 48, FrameInstr: 56, FrameOwner: 68,
		CodeFilename: 112, CodeName: 120, CodeQualname: 128, CodeLinetable: 136,
		CodeFirstlineno: 72, CodeAdaptive: 184,
		UnicodeState: 32, UnicodeLength: 16, UnicodeASCIISize: 48, UnicodeCompactSize: 72,
		BytesSize: 16, BytesData: 32,
	},
	12: {
		Major: 3, Minor: 12, Chain: PyLayout312,
		RuntimeInterpHead: 40, InterpNext: 0, InterpThreadsHead: 72,
		TstateNext: 8, TstateThreadID: 136, TstateFrame: 56, CFrameCurrentFrame: 0,
		FrameCode: 0, FramePrevious: 8, FrameInstr: 56, FrameOwner: 70,
		CodeFilename: 112, CodeName: 120, CodeQualname: 128, CodeLinetable: 136,
		CodeFirstlineno: 68, CodeAdaptive: 192,
		UnicodeState: 32, UnicodeLength: 16, UnicodeASCIISize: 40, UnicodeCompactSize: 56,
		BytesSize: 16, BytesData: 32,
	},
	13: {
		Major: 3, Minor: 13, Chain: PyLayout313,
		RuntimeInterpHead: 632, InterpNext: 7264, InterpThreadsHead: 7344,
		TstateNext: 8, TstateThreadID: 152, TstateFrame: 72,
		FrameCode: 0, FramePrevious: 8, FrameInstr: 56, FrameOwner: 70,
		CodeFilename: 112, CodeName: 120, CodeQualname: 128, CodeLinetable: 136,
		CodeFirstlineno: 68, CodeAdaptive: 200,
		UnicodeState: 32, UnicodeLength: 16, UnicodeASCIISize: 40, UnicodeCompactSize: 56,
		BytesSize: 16, BytesData: 32,
	},
}

// BuiltinLayout returns the built-in table entry for 3.minor.
func BuiltinLayout(minor int) (Layout, bool) {
	o, ok := builtinLayouts[minor]
	return o, ok
}

// nameField is the code object's field that names it: co_qualname where
// the version has one, else co_name.
func (o Layout) nameField() uint32 {
	if o.CodeQualname != 0 {
		return o.CodeQualname
	}
	return o.CodeName
}
