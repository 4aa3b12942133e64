package v8

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tracer-dev/tracer/symbolize"
)

// Frame is one JS frame as the BPF walk saw it.
type Frame struct {
	PC          uint64 // the instruction running in the frame
	Leaf        bool   // PC is the sampled instruction, not a return address
	SFI         uint64 // the function's SharedFunctionInfo (tagged pointer)
	SFIName     uint64 // its name_or_scope_info word at the time of the sample
	Interpreted bool   // an Ignition frame: Bytecode and Offset are set
	Bytecode    uint64 // the BytecodeArray (tagged pointer); other leaf frames: a return address seen at the stack pointer, or 0
	Offset      uint32 // the bytecode offset slot's value
}

// Namer names the JS frames of one process by reading its memory: a
// SharedFunctionInfo gives the function's name and Script (file name, line
// ends); the line comes from the bytecode offset (Ignition), the baseline
// code's bytecode offset table (Sparkplug) or the optimized code's source
// position table, whose inlining positions also give the functions inlined
// at the instruction (Maglev, TurboFan). Objects are cached by address and
// checked against what the sample saw: a SharedFunctionInfo by its name
// word, a code object by its instruction range and owner.
type Namer struct {
	p       *Process
	h       heap
	cwd     string
	sfis    map[uint64]*sfiInfo
	scripts map[uint64]*scriptInfo
	codes   []*codeInfo       // sorted by start
	codeMap uint64            // the map of the objects code lives in, once seen
	nocode  map[uint64]uint32 // instructions in no code object found → lookups since

	Named, Unnamed uint64 // frames named with a function, frames without
	complete       bool
}

type sfiInfo struct {
	nameWord  uint64
	name      string
	script    *scriptInfo
	startPos  int // script offset of the function, -1 if unknown
	startLine int
}

type scriptInfo struct {
	name     string
	lineEnds []int // offsets of the line ends
	// reads counts the attempts to read the name and line ends: a read
	// that failed (the script was being moved, or not yet complete) is
	// tried again at the next lookups, in place, so the functions that
	// already point at this script get its lines too.
	reads int
}

// scriptReads bounds the attempts to read a script's name and line ends.
const scriptReads = 4

type codeInfo struct {
	obj         uint64 // the Code object (tagged)
	start, end  uint64 // its instructions
	baseline    bool
	maglev      bool         // CodeKind MAGLEV: the kind after BASELINE in every V8 with both
	sfi         uint64       // the outermost function (optimized code)
	positions   []byte       // source positions (optimized), bytecode offsets (baseline)
	bytecode    uint64       // baseline, and code read through points: the BytecodeArray
	points      []deoptPoint // code without source positions (Maglev): its deoptimization points
	allLiterals []uint64     // points with frames: the literal array (functions)
	protected   []uint64     // and the protected one (BytecodeArrays)
	ownerSFI    uint64       // baseline: the function last checked against its bytecode
	ownerOK     bool
	literals    []uint64
	inlining    []byte // InliningPosition entries
}

// NewNamer returns the namer of p's process.
func NewNamer(p *Process) *Namer {
	return &Namer{p: p, h: heap{mem: mem{pid: p.PID}, l: p.Layout}, sfis: map[uint64]*sfiInfo{},
		scripts: map[uint64]*scriptInfo{}, nocode: map[uint64]uint32{}}
}

// Close releases the process's memory file.
func (n *Namer) Close() { n.h.close() }

// Name returns the frames of one JS frame, leaf first: the inlined
// functions running at its instruction, then the function itself.
func (n *Namer) Name(f Frame) []symbolize.Frame {
	out, _ := n.NameAll(f)
	return out
}

// NameAll is Name, and says whether everything was found: the function,
// and the code of a frame that runs machine code. A caller may keep
// complete names; the rest is better looked up again next time.
func (n *Namer) NameAll(f Frame) ([]symbolize.Frame, bool) {
	n.complete = true
	sfi := n.sfi(f.SFI, f.SFIName)
	if sfi == nil {
		n.complete = false
	}
	var out []symbolize.Frame
	switch {
	case f.Interpreted:
		line := 0
		if sfi != nil {
			off := int(f.Offset) - int(n.h.l.BytecodeData-1)
			line = n.bytecodeLine(sfi, f.Bytecode, off)
		}
		out = append(out, n.frame(f, sfi, line))
	default:
		out = n.compiled(f, sfi)
	}
	for _, fr := range out {
		if fr.File != "" || !strings.HasPrefix(fr.Function, "[") {
			n.Named++
		} else {
			n.Unnamed++
		}
	}
	return out, n.complete
}

func (n *Namer) frame(f Frame, sfi *sfiInfo, line int) symbolize.Frame {
	fr := symbolize.Frame{Addr: f.PC, Kind: symbolize.JS, Module: "[js]"}
	if sfi == nil {
		fr.Function = fmt.Sprintf("[js function 0x%x]", f.SFI)
		return fr
	}
	fr.Function = sfi.name
	if sfi.script != nil {
		fr.File = sfi.script.name
	}
	if line == 0 {
		line = sfi.startLine
	}
	fr.Line = line
	return fr
}

// compiled names a frame running machine code: baseline or optimized code
// found around its instruction, else the function alone.
func (n *Namer) compiled(f Frame, sfi *sfiInfo) []symbolize.Frame {
	pc := f.PC
	if !f.Leaf && pc > 0 {
		pc-- // a return address: the call is the instruction before
	}
	if f.Leaf && f.Bytecode != 0 && n.p.InBuiltins(pc) {
		// Stopped in a builtin without a frame of its own, called from
		// the function's code: name the call.
		if ci := n.calledFrom(f.Bytecode-1, f.SFI); ci != nil {
			pc = f.Bytecode - 1
		}
	}
	owner := f.SFI
	if f.Leaf {
		owner = 0 // the sampled code may be a callee's (below)
	}
	ci := n.code(pc, owner)
	if ci == nil {
		n.complete = n.complete && n.p.InBuiltins(pc)
		return []symbolize.Frame{n.frame(f, sfi, 0)}
	}
	if f.Leaf && pc == f.PC && !n.owns(ci, f.SFI) {
		// The sample caught another function's code while the frame
		// pointer was still its caller's: the callee's first or last
		// instructions, before its frame is set up or after it is
		// torn down. The callee, then the caller at the return address
		// seen at the stack pointer.
		var out []symbolize.Frame
		if ci.sfi != 0 {
			out = n.compiledIn(Frame{PC: f.PC, Leaf: true, SFI: ci.sfi}, n.sfi(ci.sfi, 0), ci, pc)
		}
		if f.Bytecode != 0 {
			if cc := n.calledFrom(f.Bytecode-1, f.SFI); cc != nil && cc != ci {
				return append(out, n.compiledIn(f, sfi, cc, f.Bytecode-1)...)
			}
		}
		return append(out, n.frame(f, sfi, 0))
	}
	return n.compiledIn(f, sfi, ci, pc)
}

// owns says whether ci is code of the function sfi (tagged): its
// optimized code, or baseline code of its bytecode.
func (n *Namer) owns(ci *codeInfo, sfi uint64) bool {
	if !ci.baseline {
		return ci.sfi == 0 || ci.sfi == sfi
	}
	if ci.ownerSFI != sfi {
		ci.ownerSFI, ci.ownerOK = sfi, ci.bytecode != 0 && n.sfiBytecode(sfi) == ci.bytecode
	}
	return ci.ownerOK
}

// compiledIn names the frame of f running code ci at pc.
func (n *Namer) compiledIn(f Frame, sfi *sfiInfo, ci *codeInfo, pc uint64) []symbolize.Frame {
	off := pc - ci.start
	if ci.baseline {
		line := 0
		if sfi != nil {
			if bo, ok := n.baselineOffset(ci, off); ok {
				line = n.bytecodeLine(sfi, ci.bytecode, bo)
			}
		}
		return []symbolize.Frame{n.frame(f, sfi, line)}
	}
	if len(ci.positions) == 0 && len(ci.points) > 0 {
		return n.pointFrames(f, sfi, ci, pointAt(ci.points, int64(off)))
	}
	pos := findPosition(ci.positions, int64(off))
	var out []symbolize.Frame
	for depth := 0; depth < 64; depth++ {
		id := int(pos >> 31 & 0xffff)
		if id == 0 {
			break
		}
		e := (id - 1) * 16
		if e+16 > len(ci.inlining) {
			break
		}
		fn := int32(binary.LittleEndian.Uint32(ci.inlining[e+8:]))
		var in *sfiInfo
		var inPtr uint64
		if fn >= 0 && int(fn) < len(ci.literals) {
			inPtr = ci.literals[fn] &^ 2 // a weak reference is tagged 11
			in = n.sfi(inPtr, 0)
		}
		out = append(out, n.frame(Frame{PC: f.PC, SFI: inPtr}, in, n.positionLine(in, pos)))
		pos = binary.LittleEndian.Uint64(ci.inlining[e:])
	}
	return append(out, n.frame(f, sfi, n.positionLine(sfi, pos)))
}

// positionLine maps a SourcePosition (bit 0 external, bits 1-30 the script
// offset plus one, bits 31-46 the inlining id) to a line.
func (n *Namer) positionLine(sfi *sfiInfo, pos uint64) int {
	if sfi == nil || sfi.script == nil || pos&1 != 0 {
		return 0
	}
	off := int(pos>>1&(1<<30-1)) - 1
	if off < 0 {
		return 0
	}
	return sfi.script.line(off)
}

func (s *scriptInfo) line(off int) int {
	if len(s.lineEnds) == 0 {
		return 0
	}
	return sort.SearchInts(s.lineEnds, off) + 1
}

// sfi reads a SharedFunctionInfo, or returns it from the cache when the
// name word the sample saw (0: not known) is still the one read.
func (n *Namer) sfi(p, nameWord uint64) *sfiInfo {
	if p == 0 {
		return nil
	}
	if s, ok := n.sfis[p]; ok && (nameWord == 0 || s.nameWord == nameWord) {
		return s
	}
	s, err := n.readSFI(p)
	if err != nil {
		return nil
	}
	if nameWord != 0 && s.nameWord != nameWord {
		return nil // the object moved since the sample
	}
	if len(n.sfis) > 1<<16 {
		n.sfis = map[uint64]*sfiInfo{}
	}
	n.sfis[p] = s
	return s
}

func (n *Namer) readSFI(p uint64) (*sfiInfo, error) {
	h, l := &n.h, n.h.l
	if t, err := h.typeOf(p); err != nil || t != l.TypeSFI {
		return nil, fmt.Errorf("not a SharedFunctionInfo at 0x%x", p)
	}
	s := &sfiInfo{startPos: -1}
	nos, err := h.field(p, l.SFINameOrScopeInfo)
	if err != nil {
		return nil, err
	}
	s.nameWord = nos
	if t, err := h.typeOf(nos); err == nil {
		switch {
		case t < l.FirstNonstringType:
			s.name, _ = h.str(nos, 1024)
		case t == l.TypeScopeInfo:
			s.name, s.startPos = n.scopeInfo(nos)
		}
	}
	if s.name == "" {
		s.name = "(anonymous)"
	}
	if sc, err := h.field(p, l.SFIScript); err == nil {
		if t, err := h.typeOf(sc); err == nil && t == l.TypeScript {
			s.script = n.script(sc)
		}
	}
	if s.script != nil && s.startPos >= 0 {
		s.startLine = s.script.line(s.startPos)
	}
	return s, nil
}

// scopeInfo finds a function's name and start position in its ScopeInfo.
// Its layout is not exported: after the context locals, the first string
// is the function's name; the start and end positions follow as two Smis
// (before V8 12.8), or sit at fixed slots 3 and 4 (from V8 12.8).
func (n *Namer) scopeInfo(p uint64) (string, int) {
	h, l := &n.h, n.h.l
	const slots = 16
	b := make([]byte, slots*8)
	if err := h.read(untag(p)+8, b); err != nil {
		return "", -1
	}
	w := func(i int) uint64 { return binary.LittleEndian.Uint64(b[8*i:]) }
	fixed := l.atLeast(12, 8, 44)
	start := -1
	if fixed {
		if isSmi(w(3)) && isSmi(w(4)) && smi(w(3)) <= smi(w(4)) {
			start = int(smi(w(3)))
		}
	}
	i := l.ScopeInfoFirstVars
	if l.ScopeInfoNContextLocals < slots && isSmi(w(l.ScopeInfoNContextLocals)) {
		i += 2 * int(smi(w(l.ScopeInfoNContextLocals)))
	}
	name := ""
	prev := uint64(1)
	for ; i >= 0 && i < slots; i++ {
		cur := w(i)
		if name == "" && isHeap(cur) {
			if t, err := h.typeOf(cur); err == nil && t < l.FirstNonstringType {
				name, _ = h.str(cur, 1024)
			}
		}
		if fixed && name != "" {
			break
		}
		if !fixed && isSmi(cur) && isSmi(prev) && smi(prev) < smi(cur) {
			start = int(smi(prev))
			break
		}
		prev = cur
	}
	return name, start
}

func (n *Namer) script(p uint64) *scriptInfo {
	s, ok := n.scripts[p]
	if ok && ((s.name != "" && s.lineEnds != nil) || s.reads >= scriptReads) {
		return s
	}
	if !ok {
		if len(n.scripts) > 4096 {
			n.scripts = map[uint64]*scriptInfo{}
		}
		s = &scriptInfo{}
		n.scripts[p] = s
	}
	s.reads++
	h, l := &n.h, n.h.l
	if s.name == "" {
		if name, err := h.field(p, l.ScriptName); err == nil {
			s.name, _ = h.str(name, 4096)
			s.name = n.absolute(s.name)
		}
	}
	if s.lineEnds == nil {
		s.lineEnds = n.lineEnds(p)
	}
	return s
}

// lineEnds reads the offsets of a script's line ends: V8's own array when
// it was computed, otherwise counted in the source. Nil when neither could
// be read.
func (n *Namer) lineEnds(p uint64) []int {
	h, l := &n.h, n.h.l
	var ends []int
	if le, err := h.field(p, l.ScriptLineEnds); err == nil && isHeap(le) {
		if t, err := h.typeOf(le); err == nil && t == l.TypeFixedArray {
			if w, err := h.words(le, 1<<22); err == nil {
				for _, v := range w {
					ends = append(ends, int(smi(v)))
				}
			}
		}
	}
	if ends != nil {
		return ends
	}
	// Line ends are computed on demand: count them in the source.
	src, err := h.field(p, l.ScriptSource)
	if err != nil {
		return nil
	}
	text, err := h.str(src, maxString)
	if err != nil {
		return nil
	}
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			ends = append(ends, i)
		}
	}
	return append(ends, len(text))
}

// absolute makes a script name that is a path relative to the process's
// working directory absolute; URLs (file://, node:) keep their form, with
// file:// turned into a path.
func (n *Namer) absolute(name string) string {
	name = strings.TrimPrefix(name, "file://")
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, ":") {
		return name
	}
	if n.cwd == "" {
		cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", n.h.pid))
		if err != nil {
			return name
		}
		n.cwd = cwd
	}
	return filepath.Join(n.cwd, name)
}

// bytecodeLine maps a bytecode offset of a BytecodeArray (tagged; 0: the
// function's own) to a line, through the array's source position table
// when V8 has made one (it does so lazily: else the function's line).
func (n *Namer) bytecodeLine(sfi *sfiInfo, bc uint64, off int) int {
	h, l := &n.h, n.h.l
	if bc == 0 || off < 0 {
		return 0
	}
	if t, err := h.typeOf(bc); err != nil || t != l.TypeBytecodeArray {
		return 0
	}
	spt, err := h.field(bc, l.BytecodeSourcePositions)
	if err != nil || !isHeap(spt) {
		return 0
	}
	table, err := h.bytes(spt, 1<<22)
	if err != nil || len(table) == 0 {
		return 0
	}
	return n.positionLine(sfi, findPosition(table, int64(off)))
}

// findPosition returns the source position of the last entry of a source
// position table at or before code offset off. Entries are pairs of signed
// VLQs: the code offset delta (negative: a statement position, encoded as
// -delta-1) and the source position delta.
func findPosition(table []byte, off int64) uint64 {
	code, pos := int64(-1), int64(0)
	found := int64(0)
	for i := 0; i < len(table); {
		d, k := vlq(table[i:])
		if k == 0 {
			break
		}
		i += k
		if d >= 0 {
			code += d
		} else {
			code -= d + 1
		}
		p, k := vlq(table[i:])
		if k == 0 {
			break
		}
		i += k
		if code > off {
			break
		}
		pos += p
		found = pos
	}
	return uint64(found)
}

// uvlq decodes one unsigned VLQ (7 bits a byte, low first), returning the
// bytes used (0: truncated).
func uvlq(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}

// vlq decodes one zigzag-signed VLQ.
func vlq(b []byte) (int64, int) {
	u, k := uvlq(b)
	return int64(u>>1) ^ -int64(u&1), k
}
