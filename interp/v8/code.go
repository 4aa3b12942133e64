package v8

import (
	"encoding/binary"
	"sort"
)

// Finding the code object around an instruction. A JSFunction's code field
// says what the next call will run, not what a frame on the stack runs (on-
// stack replacement, deoptimized code still returning, the function's code
// replaced since), so the code is found from the instruction itself: V8
// puts each code object's instructions right after its header (V8 10: the
// Code object itself; V8 11+: an InstructionStream that points to its
// Code), so the header is found by looking back from
// the instruction for a word that is the map of such objects, then checked:
// the instruction must lie inside the code it describes.

const (
	codeAlign    = 8 // the header's alignment (16 in V8 11.3, more later)
	codeScanStep = 4096
	codeScanMax  = 1 << 20 // the largest code object looked for
)

// code returns the code whose instructions hold pc, or nil. sfi is the
// function the frame runs: optimized code of another function (freed and
// its space reused since) is looked up again.
func (n *Namer) code(pc, sfi uint64) *codeInfo {
	i := sort.Search(len(n.codes), func(i int) bool { return n.codes[i].end > pc })
	if i < len(n.codes) && n.codes[i].start <= pc {
		ci := n.codes[i]
		if ci.baseline || ci.sfi == sfi || sfi == 0 {
			if n.stillThere(ci) {
				return ci
			}
		}
		n.codes = append(n.codes[:i], n.codes[i+1:]...)
	}
	if n.p.InBuiltins(pc) {
		return nil // builtins are no code object of the heap
	}
	// An instruction in no code found (code being installed, or not V8's)
	// is looked for again on its 2nd, 4th, 8th… time only.
	if k, ok := n.nocode[pc]; ok {
		n.nocode[pc] = k + 1
		if (k+1)&k != 0 {
			return nil
		}
	}
	ci := n.scan(pc)
	if ci == nil {
		if len(n.nocode) > 1<<14 {
			n.nocode = map[uint64]uint32{}
		}
		if _, ok := n.nocode[pc]; !ok {
			n.nocode[pc] = 1
		}
		return nil
	}
	delete(n.nocode, pc)
	i = sort.Search(len(n.codes), func(i int) bool { return n.codes[i].start >= ci.start })
	n.codes = append(n.codes, nil)
	copy(n.codes[i+1:], n.codes[i:])
	n.codes[i] = ci
	if len(n.codes) > 1<<14 {
		n.codes = nil
	}
	return ci
}

// stillThere checks that a cached code object still describes the same
// instructions (the garbage collector may have freed or moved it).
func (n *Namer) stillThere(ci *codeInfo) bool {
	start, end, ok := n.codeRange(ci.obj)
	return ok && start == ci.start && end == ci.end
}

// codeRange reads the instruction range of a Code object (tagged).
func (n *Namer) codeRange(code uint64) (start, end uint64, ok bool) {
	h, l := &n.h, n.h.l
	if l.CodeStartIsPointer {
		s, err := h.field(code, l.CodeInstructionStart)
		if err != nil {
			return 0, 0, false
		}
		start = s
	} else {
		start = untag(code) + uint64(l.CodeInstructionStart)
	}
	size, err := h.u32(untag(code) + uint64(l.CodeInstructionSize))
	if err != nil || size == 0 || size > codeScanMax {
		return 0, 0, false
	}
	return start, start + uint64(size), true
}

// scan looks back from pc for the header of the code object holding it.
func (n *Namer) scan(pc uint64) *codeInfo {
	l := n.h.l
	want := l.TypeIStream
	if !l.CodeStartIsPointer {
		want = l.TypeCode
	}
	buf := make([]byte, codeScanStep)
	end := (pc &^ (codeAlign - 1)) + codeAlign
	for back := uint64(0); back < codeScanMax && end > codeScanStep; back += codeScanStep {
		lo := end - codeScanStep
		if err := n.h.read(lo, buf); err != nil {
			return nil
		}
		for a := end - codeAlign; a >= lo && a+codeAlign > lo; a -= codeAlign {
			w := binary.LittleEndian.Uint64(buf[a-lo:])
			if !isHeap(w) {
				continue
			}
			if n.codeMap != 0 {
				if w != n.codeMap {
					continue
				}
			} else if t, err := n.h.mapType(w); err != nil || t != want {
				continue
			}
			if ci := n.codeAt(a, pc); ci != nil {
				n.codeMap = w
				return ci
			}
		}
		end = lo
	}
	return nil
}

// codeAt reads the code object whose header is at a, if its instructions
// hold pc.
func (n *Namer) codeAt(a, pc uint64) *codeInfo {
	h, l := &n.h, n.h.l
	code := a + 1
	if l.CodeStartIsPointer {
		// The InstructionStream points to its Code among its first fields.
		code = 0
		for off := uint64(8); off <= 32; off += 8 {
			p, err := h.u64(a + off)
			if err != nil {
				return nil
			}
			if t, err := h.typeOf(p); err == nil && t == l.TypeCode {
				code = p
				break
			}
		}
		if code == 0 {
			return nil
		}
	}
	start, end, ok := n.codeRange(code)
	if !ok || pc < start || pc >= end {
		return nil
	}
	flags, err := h.u32(untag(code) + uint64(l.CodeFlags))
	if err != nil {
		return nil
	}
	ci := &codeInfo{obj: code, start: start, end: end}
	kind := int(flags & l.CodeKindMask >> l.CodeKindShift)
	ci.baseline = kind == l.CodeKindBaseline
	ci.maglev = kind == l.CodeKindBaseline+1
	spt, err := h.field(code, l.CodeSourcePositions)
	if err == nil {
		ci.positions, _ = h.bytes(spt, 1<<22)
	}
	data, err := h.field(code, l.CodeDeoptData)
	if err != nil {
		return ci
	}
	if ci.baseline {
		// Baseline code keeps its BytecodeArray in that field.
		ci.bytecode = data
		return ci
	}
	d, err := h.words(data, l.DeoptInliningPositions+4+deoptEntrySize*maxDeoptPoints)
	if err != nil || len(d) <= l.DeoptInliningPositions {
		return ci
	}
	shared := d[l.DeoptSharedInfo]
	if l.DeoptSharedIsWrapped {
		shared, _ = h.field(shared, l.SFIWrapperShared)
	}
	ci.sfi = shared
	inlined := isSmi(d[l.DeoptInlinedCount]) && smi(d[l.DeoptInlinedCount]) > 0
	if inlined {
		ci.literals, _ = h.words(d[l.DeoptLiteralArray], int(smi(d[l.DeoptInlinedCount])))
		ci.inlining, _ = h.bytes(d[l.DeoptInliningPositions], 1<<20)
	}
	if len(ci.positions) == 0 {
		n.readPoints(ci, d, inlined)
	}
	return ci
}

// baselineOffset maps an offset in baseline code to the bytecode offset it
// was compiled from: the code's table holds the end of the prologue, then
// per bytecode in order the end of its machine code (unsigned VLQ
// deltas); the bytecode lengths come from the bytecodes and the binary's
// table of bytecode sizes. The prologue is given to the first bytecode.
func (n *Namer) baselineOffset(ci *codeInfo, off uint64) (int, bool) {
	l := n.h.l
	sizes := l.BytecodeSizes
	if len(sizes) == 0 || ci.bytecode == 0 {
		return 0, false
	}
	count := len(sizes) / 3
	bl, err := n.h.field(ci.bytecode, l.FixedArrayLength)
	if err != nil || !isSmi(bl) || smi(bl) <= 0 || smi(bl) > 1<<20 {
		return 0, false
	}
	code := make([]byte, smi(bl))
	if err := n.h.read(untag(ci.bytecode)+uint64(l.BytecodeData), code); err != nil {
		return 0, false
	}
	pcOff, bcOff := uint64(0), 0
	for i, entry := 0, 0; i < len(ci.positions); entry++ {
		d, k := uvlq(ci.positions[i:])
		if k == 0 {
			return 0, false
		}
		i += k
		pcOff += d
		if pcOff > off {
			return bcOff, true
		}
		if entry == 0 {
			continue // the first entry ends the prologue, not a bytecode
		}
		if bcOff >= len(code) {
			return 0, false
		}
		op, scale, pre := int(code[bcOff]), 0, 0
		if op <= 3 { // Wide, ExtraWide and their debug-break forms
			scale, pre = 1+op%2, 1
			if bcOff+1 >= len(code) {
				return 0, false
			}
			op = int(code[bcOff+1])
		}
		if op >= count {
			return 0, false
		}
		size := int(sizes[scale*count+op])
		if size <= 0 {
			return 0, false
		}
		bcOff += pre + size
	}
	return 0, false
}
