package v8

import (
	"encoding/binary"
	"sort"
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
	off int64 // code offset of the instruction that is the point
	bc  int   // bytecode offset of the function's bytecode
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
	exits := map[int64]int{} // eager exit offset → bytecode offset
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
			exits[int64(smi(pc))] = int(smi(bc))
		} else {
			// A return address: the point is the call before it.
			pts = append(pts, deoptPoint{off: int64(smi(pc)) - 1, bc: int(smi(bc))})
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
		if bc, ok := exits[target]; ok {
			pts = append(pts, deoptPoint{off: p, bc: bc})
		}
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].off < pts[j].off })
	return pts
}

// pointAt returns the bytecode offset of the first point at or after code
// offset off (the last one when none follows).
func pointAt(pts []deoptPoint, off int64) (int, bool) {
	if len(pts) == 0 {
		return 0, false
	}
	i := sort.Search(len(pts), func(i int) bool { return pts[i].off >= off })
	if i == len(pts) {
		i--
	}
	return pts[i].bc, true
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
