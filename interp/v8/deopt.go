package v8

import (
	"encoding/binary"
	"sort"

	"github.com/tracer-dev/tracer/symbolize"
)

// Lines of Maglev code. Maglev, V8's mid-tier compiler (on by default from
// node 24), gives its code an empty source position table; what ties its
// instructions to bytecode is its deoptimization data: one entry per point
// where the code may give up and resume in the interpreter, each with the
// bytecode offset it resumes at and the code offset of the point — a
// call's return address (a lazy deoptimization) or an exit at the end of
// the code, reached by a conditional jump from the check that failed (an
// eager one). Maglev lays its code out in bytecode order, each check right
// after the operation it guards, so an instruction is given the bytecode
// offset of the first point at or after it: the call it is part of, or the
// check that follows it.
//
// The entries follow the inlining positions in the array: the exits'
// start, the counts of eager and lazy entries, then three Smis per entry
// (bytecode offset, translation index, code offset).

// deoptPoint is one point of optimized code that maps back to bytecode.
type deoptPoint struct {
	off    int64        // code offset of the instruction that is the point
	bc     int          // bytecode offset of the innermost function's bytecode
	entry  int          // the deoptimization entry
	frames []transFrame // its frames, outermost first, when its translation was read
}

const (
	deoptEntrySize = 3
	maxDeoptPoints = 1 << 14
)

// deoptPoints reads the points of optimized code whose deoptimization
// data is d (its words) and whose instructions are code. It returns nil
// when the entries are not laid out as expected.
func deoptPoints(l *Layout, d []uint64, code []byte) []deoptPoint {
	first := l.DeoptInliningPositions + 4
	if len(d) <= first {
		return nil
	}
	hdr := d[l.DeoptInliningPositions+1 : first]
	for _, w := range hdr {
		if !isSmi(w) || smi(w) < 0 {
			return nil
		}
	}
	exitStart, eager, lazy := int64(smi(hdr[0])), int(smi(hdr[1])), int(smi(hdr[2]))
	n := (len(d) - first) / deoptEntrySize
	if (len(d)-first)%deoptEntrySize != 0 || n != eager+lazy || n > maxDeoptPoints || exitStart > int64(len(code)) {
		return nil
	}
	exits := map[int64]int{} // eager exit offset → entry
	var pts []deoptPoint
	for i := 0; i < n; i++ {
		e := d[first+i*deoptEntrySize:]
		bc, pc := e[0], e[2]
		if !isSmi(bc) || !isSmi(pc) {
			return nil
		}
		if smi(bc) < 0 || smi(pc) <= 0 {
			continue // no bytecode offset, or an exit not recorded
		}
		if int64(smi(pc)) >= exitStart {
			exits[int64(smi(pc))] = i
		} else {
			// A return address: the point is the call before it.
			pts = append(pts, deoptPoint{off: int64(smi(pc)) - 1, bc: int(smi(bc)), entry: i})
		}
	}
	// The jumps to the exits, in the code before them: jcc rel32, jmp
	// rel32, jcc rel8, jmp rel8. Matching bytes elsewhere would also have
	// to land exactly on an exit.
	for p := int64(0); p+2 <= exitStart && len(exits) > 0; p++ {
		var target int64
		switch b := code[p]; {
		case b == 0x0f && p+6 <= int64(len(code)) && code[p+1]&0xf0 == 0x80:
			target = p + 6 + int64(int32(binary.LittleEndian.Uint32(code[p+2:])))
		case b == 0xe9 && p+5 <= int64(len(code)):
			target = p + 5 + int64(int32(binary.LittleEndian.Uint32(code[p+1:])))
		case b&0xf0 == 0x70 || b == 0xeb:
			target = p + 2 + int64(int8(code[p+1]))
		default:
			continue
		}
		if i, ok := exits[target]; ok {
			pts = append(pts, deoptPoint{off: p, bc: int(smi(d[first+i*deoptEntrySize])), entry: i})
		}
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].off < pts[j].off })
	return pts
}

// pointAt returns the first point at or after code offset off (the last
// one when none follows).
func pointAt(pts []deoptPoint, off int64) *deoptPoint {
	if len(pts) == 0 {
		return nil
	}
	i := sort.Search(len(pts), func(i int) bool { return pts[i].off >= off })
	if i == len(pts) {
		i--
	}
	return &pts[i]
}

// readPoints reads the deoptimization points of optimized code without
// source positions (Maglev), whose deoptimization data is d. Without
// functions inlined, an entry's bytecode offset is one of the function's
// own; with them, its translation says whose (V8 13 and later; the points
// of older code with inlined functions are not used).
func (n *Namer) readPoints(ci *codeInfo, d []uint64, inlined bool) {
	h, l := &n.h, n.h.l
	code := make([]byte, ci.end-ci.start)
	if h.read(ci.start, code) != nil {
		return
	}
	pts := deoptPoints(l, d, code)
	if ci.maglev && l.Major >= 13 {
		pts = append(pts, n.safepointPoints(ci, d)...)
		sort.Slice(pts, func(i, j int) bool { return pts[i].off < pts[j].off })
	}
	if len(pts) == 0 {
		return
	}
	if l.Major >= 13 && l.DeoptLiteralArray > 0 {
		if buf, err := h.bytes(d[0], 1<<22); err == nil {
			first := l.DeoptInliningPositions + 4
			byEntry := map[int][]transFrame{}
			for k := range pts {
				e := pts[k].entry
				fr, seen := byEntry[e]
				if !seen {
					if ti := d[first+e*deoptEntrySize+1]; isSmi(ti) {
						fr, _ = translation(buf, int(smi(ti)))
					}
					byEntry[e] = fr
				}
				pts[k].frames = fr
			}
			ci.allLiterals, _ = h.words(d[l.DeoptLiteralArray], 1<<16)
			ci.protected, _ = h.words(d[l.DeoptLiteralArray-1], 1<<16)
		}
	}
	if inlined {
		// Keep the points whose frames are known.
		k := 0
		for _, p := range pts {
			if len(p.frames) > 0 {
				pts[k] = p
				k++
			}
		}
		pts = pts[:k]
	}
	ci.points = pts
	if len(pts) > 0 {
		ci.bytecode = n.sfiBytecode(ci.sfi)
	}
}

// safepointPoints reads the calls of Maglev code (V8 13) from its safepoint
// table: the lazy deoptimization entries hold the offset of their exit,
// not of the call, and what ties a call (its return address) to its entry
// is the table, in the metadata after the instructions: a header (entry
// count and configuration, 32-bit words, then slot counts), then per
// entry the return address, the entry index plus one and the exit plus
// one (of the sizes the configuration gives), a byte of spill slots and
// the tagged registers. node 24's V8 puts a word before the table and
// three words in its header; the layout is found by trying the few there
// have been, each checked entry by entry (every exit must be one).
func (n *Namer) safepointPoints(ci *codeInfo, d []uint64) []deoptPoint {
	for _, at := range [][2]uint64{{4, 12}, {0, 16}, {0, 12}, {4, 16}} {
		if pts, ok := n.safepointsAt(ci, d, at[0], at[1]); ok {
			return pts
		}
	}
	return nil
}

func (n *Namer) safepointsAt(ci *codeInfo, d []uint64, skip, hdrSize uint64) ([]deoptPoint, bool) {
	l := n.h.l
	first := l.DeoptInliningPositions + 4
	if len(d) <= first {
		return nil, false
	}
	entries := (len(d) - first) / deoptEntrySize
	exitStart := int64(smi(d[l.DeoptInliningPositions+1]))
	var hdr [8]byte
	if n.h.read(ci.end+skip, hdr[:]) != nil {
		return nil, false
	}
	count := int(binary.LittleEndian.Uint32(hdr[0:]))
	cfg := binary.LittleEndian.Uint32(hdr[4:])
	hasDeopt := cfg&1 != 0
	regSize, pcSize, idxSize := int(cfg>>1&7), int(cfg>>4&7), int(cfg>>7&7)
	if !hasDeopt || count <= 0 || count > maxDeoptPoints || cfg>>10 != 0 ||
		pcSize < 1 || pcSize > 4 || idxSize < 1 || idxSize > 4 || regSize > 4 {
		return nil, false
	}
	size := 2*pcSize + idxSize + 1 + regSize
	b := make([]byte, count*size)
	if n.h.read(ci.end+skip+hdrSize, b) != nil {
		return nil, false
	}
	le := func(p []byte) int64 {
		v := int64(0)
		for k := len(p) - 1; k >= 0; k-- {
			v = v<<8 | int64(p[k])
		}
		return v
	}
	var pts []deoptPoint
	prev := int64(0)
	for k := 0; k < count; k++ {
		e := b[k*size:]
		pc := le(e[:pcSize])
		idx := int(le(e[pcSize:pcSize+idxSize])) - 1
		exit := le(e[pcSize+idxSize:2*pcSize+idxSize]) - 1
		if pc <= prev || pc > exitStart {
			return nil, false // not laid out as read
		}
		prev = pc
		if idx < 0 {
			continue // a call that cannot deoptimize
		}
		if idx >= entries || exit < exitStart || exit >= int64(ci.end-ci.start) {
			return nil, false
		}
		if bc := d[first+idx*deoptEntrySize]; isSmi(bc) && smi(bc) >= 0 {
			pts = append(pts, deoptPoint{off: pc - 1, bc: int(smi(bc)), entry: idx})
		}
	}
	return pts, true
}

// pointFrames names the frames of a deoptimization point: the functions
// inlined there, innermost first, then the frame's own function.
func (n *Namer) pointFrames(f Frame, sfi *sfiInfo, ci *codeInfo, p *deoptPoint) []symbolize.Frame {
	if len(p.frames) == 0 {
		line := 0
		if sfi != nil {
			line = n.bytecodeLine(sfi, ci.bytecode, p.bc)
		}
		return []symbolize.Frame{n.frame(f, sfi, line)}
	}
	var out []symbolize.Frame
	for k := len(p.frames) - 1; k >= 0; k-- {
		tf := p.frames[k]
		var bc uint64
		if tf.bytecode >= 0 && tf.bytecode < len(ci.protected) {
			bc = ci.protected[tf.bytecode]
		}
		if k == 0 {
			if bc == 0 {
				bc = ci.bytecode
			}
			line := 0
			if sfi != nil {
				line = n.bytecodeLine(sfi, bc, tf.offset)
			}
			out = append(out, n.frame(f, sfi, line))
			break
		}
		var fnPtr uint64
		if tf.fn >= 0 && tf.fn < len(ci.allLiterals) {
			fnPtr = ci.allLiterals[tf.fn] &^ 2 // a weak reference is tagged 11
		}
		in := n.sfi(fnPtr, 0)
		line := 0
		if in != nil {
			line = n.bytecodeLine(in, bc, tf.offset)
		}
		out = append(out, n.frame(Frame{PC: f.PC, SFI: fnPtr}, in, line))
	}
	return out
}

// sfiBytecode finds the BytecodeArray of a SharedFunctionInfo (tagged):
// its function data field is not exported since V8 12, so the first
// fields are looked at for a BytecodeArray, or for the baseline Code,
// InterpreterData or BytecodeWrapper that holds one, each checked by its
// instance type.
func (n *Namer) sfiBytecode(sfi uint64) uint64 {
	h, l := &n.h, n.h.l
	w, err := h.words0(sfi, 5)
	if err != nil {
		return 0
	}
	for _, p := range w[1:] {
		t, err := h.typeOf(p)
		if err != nil {
			continue
		}
		switch {
		case t == l.TypeBytecodeArray:
			return p
		case t == l.TypeCode:
			// Baseline code, which keeps its BytecodeArray in the
			// deoptimization data field.
			if q, err := h.field(p, l.CodeDeoptData); err == nil {
				if t, err := h.typeOf(q); err == nil && t == l.TypeBytecodeArray {
					return q
				}
			}
		case t != 0 && (t == l.TypeInterpreterData || t == l.TypeBytecodeWrapper):
			in, err := h.words0(p, 4)
			if err != nil {
				continue
			}
			for _, q := range in[1:] {
				if t, err := h.typeOf(q); err == nil && t == l.TypeBytecodeArray {
					return q
				}
			}
		}
	}
	return 0
}

// calledFrom returns the code holding pc when it is code of the function
// sfi (tagged): its optimized code, or baseline code compiled from its
// bytecode; else nil.
func (n *Namer) calledFrom(pc, sfi uint64) *codeInfo {
	ci := n.code(pc, 0)
	if ci == nil || !n.owns(ci, sfi) || ci.sfi == 0 && !ci.baseline {
		return nil
	}
	return ci
}
