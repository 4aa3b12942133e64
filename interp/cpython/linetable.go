package cpython

import "math"

// pyLineRange says that the instructions at byte offsets [start, end) of a
// code object belong to source line line (-1: no line).
type pyLineRange struct {
	start, end int
	line       int
}

// decodeLinetable310 decodes a CPython 3.10 co_linetable: pairs of an
// unsigned byte-offset delta and a signed line delta, -128 meaning "no line"
// (Objects/lnotab_notes.txt of 3.10). Empty ranges are dropped.
func decodeLinetable310(t []byte, firstLine int) []pyLineRange {
	var out []pyLineRange
	line, end := firstLine, 0
	for i := 0; i+1 < len(t); i += 2 {
		start := end
		end += int(t[i])
		l := -1
		if d := int8(t[i+1]); d != -128 {
			line += int(d)
			l = line
		}
		if start < end {
			out = append(out, pyLineRange{start, end, l})
		}
	}
	return out
}

// decodeLnotab decodes a CPython 3.8 or 3.9 co_lnotab: pairs of an
// unsigned byte-offset delta and a signed line delta, the line changing at
// the offset reached (Objects/lnotab_notes.txt of 3.9). The last line runs
// to the end of the code, whose length the table does not hold.
func decodeLnotab(t []byte, firstLine int) []pyLineRange {
	var out []pyLineRange
	line, start, addr := firstLine, 0, 0
	for i := 0; i+1 < len(t); i += 2 {
		addr += int(t[i])
		if addr > start {
			out = append(out, pyLineRange{start, addr, line})
			start = addr
		}
		line += int(int8(t[i+1]))
	}
	return append(out, pyLineRange{start, math.MaxInt32, line})
}

// decodeLocationTable decodes the location table of CPython 3.11 and later
// (InternalDocs/locations.md): entries of a first byte 1cccclll (code c,
// length l+1 code units) and a code-dependent tail. Only lines are kept.
func decodeLocationTable(t []byte, firstLine int) []pyLineRange {
	var out []pyLineRange
	line, addr := firstLine, 0
	i := 0
	varint := func() int {
		v, shift := 0, 0
		for i < len(t) {
			b := t[i]
			i++
			v |= int(b&63) << shift
			shift += 6
			if b&64 == 0 || shift > 30 {
				break
			}
		}
		return v
	}
	svarint := func() int {
		v := varint()
		if v&1 != 0 {
			return -(v >> 1)
		}
		return v >> 1
	}
	for i < len(t) {
		first := t[i]
		i++
		if first&0x80 == 0 {
			break // not an entry start: the table is damaged
		}
		code := int(first>>3) & 15
		length := (int(first&7) + 1) * 2
		l := line
		switch {
		case code == 15: // no location
			l = -1
		case code == 14: // long form
			line += svarint()
			varint() // end line delta
			varint() // column + 1
			varint() // end column + 1
			l = line
		case code == 13: // no column
			line += svarint()
			l = line
		case code >= 10: // one-line form, line delta code-10
			line += code - 10
			i += 2
			l = line
		default: // short form: same line, one column byte
			i++
		}
		out = append(out, pyLineRange{addr, addr + length, l})
		addr += length
	}
	return out
}

// lineAt returns the line of the instruction at byte offset off.
func lineAt(r []pyLineRange, off uint32) (int, bool) {
	o := int(off)
	lo, hi := 0, len(r)
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case o < r[m].start:
			hi = m
		case o >= r[m].end:
			lo = m + 1
		default:
			if r[m].line < 0 {
				return 0, false
			}
			return r[m].line, true
		}
	}
	return 0, false
}
