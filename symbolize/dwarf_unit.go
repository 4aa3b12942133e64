package symbolize

import (
	"bufio"
	"debug/dwarf"
	"debug/elf"
	"encoding/binary"
	"errors"
	"sort"
)

// The per-unit path of line tables. debug/dwarf parses the header and the
// abbreviation table of every compilation unit when it opens the data: for
// libpython built with -g that is about 17 MiB of tables, held as long as
// the data, when a profile samples a few dozen of its units. When the object
// has .debug_aranges (the address ranges of each unit, by its offset in
// .debug_info), the units are found there instead, and a unit's line
// program is read, the first time one of its addresses is asked for, from a
// dwarf.Data over that one unit alone: units are self-contained (their
// attributes point into the other sections by absolute offsets, and into
// their own unit relative to its start), so only the sampled units'
// abbreviations are ever parsed.

// perUnitLineTable finds the units of secs from .debug_aranges; nil when
// the object has none or they cannot be read (the caller then opens the
// whole DWARF).
func perUnitLineTable(secs *dwarfSections) *lineTable {
	infoLen := uint64(len(secs.info))
	if secs.info == nil && secs.infoSection != nil {
		infoLen = secs.infoSection.Size // the inflated size
	}
	cus, offs, ok := readAranges(secs.aranges, infoLen)
	if !ok || len(cus) == 0 {
		return nil
	}
	lt := &lineTable{secs: secs, unitOffs: offs, cus: cus, rows: map[int]*unitRows{}}
	if secs.info == nil {
		if lt.heads, ok = unitHeads(secs.infoSection, offs); !ok {
			return nil
		}
	}
	sort.Slice(cus, func(i, j int) bool { return cus[i].lo < cus[j].lo })
	return lt
}

// maxUnitHead is what is kept of each unit of a compressed .debug_info:
// its header and its first entry, the unit's own, which is all a line
// program needs (its offset, directory and name; the entry's strings are
// in .debug_str or .debug_line_str).
const maxUnitHead = 512

// unitHeads inflates the compressed .debug_info of sec once, as a stream,
// and keeps the first maxUnitHead bytes of the unit at each offset, its
// length rewritten to what is kept: about 1 MiB for libc's separate debug
// file, whose .debug_info inflates to tens of MiB.
func unitHeads(sec *elf.Section, offs []uint64) ([][]byte, bool) {
	order := make([]int, len(offs))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return offs[order[i]] < offs[order[j]] })
	heads := make([][]byte, len(offs))
	r := bufio.NewReaderSize(sec.Open(), 64<<10)
	var pos uint64
	for _, u := range order {
		off := offs[u]
		if off < pos { // two sets name one unit: already read
			continue
		}
		if _, err := r.Discard(int(off - pos)); err != nil {
			return nil, false
		}
		pos = off
		head, err := r.Peek(maxUnitHead)
		if len(head) < 12 && err != nil {
			return nil, false
		}
		bo := binary.LittleEndian
		n, hdr := uint64(bo.Uint32(head)), uint64(4)
		if n == 0xffffffff {
			n, hdr = bo.Uint64(head[4:]), 12
		}
		keep := min(uint64(len(head)), hdr+n)
		b := make([]byte, keep)
		copy(b, head)
		if hdr == 4 {
			bo.PutUint32(b, uint32(keep-hdr))
		} else {
			bo.PutUint64(b[4:], keep-hdr)
		}
		heads[u] = b
	}
	return heads, true
}

// readAranges reads the sets of .debug_aranges: one unit each, given by
// its offset in a .debug_info of infoLen bytes, with its address ranges.
func readAranges(b []byte, infoLen uint64) (cus []cuRange, offs []uint64, ok bool) {
	bo := binary.LittleEndian
	index := map[uint64]int{}
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, nil, false
		}
		length, hdr, offSize := uint64(bo.Uint32(b)), 4, 4
		if length == 0xffffffff {
			if len(b) < 12 {
				return nil, nil, false
			}
			length, hdr, offSize = bo.Uint64(b[4:]), 12, 8
		}
		if length > uint64(len(b)-hdr) {
			return nil, nil, false
		}
		set := b[:hdr+int(length)]
		b = b[len(set):]
		p := hdr
		if len(set) < p+2+offSize+2 {
			return nil, nil, false
		}
		if v := bo.Uint16(set[p:]); v != 2 {
			return nil, nil, false
		}
		p += 2
		var off uint64
		if offSize == 4 {
			off = uint64(bo.Uint32(set[p:]))
		} else {
			off = bo.Uint64(set[p:])
		}
		p += offSize
		addrSize, segSize := int(set[p]), int(set[p+1])
		p += 2
		if addrSize != 8 || segSize != 0 || off >= infoLen {
			return nil, nil, false
		}
		// Tuples start at a multiple of twice the address size.
		if r := p % (2 * addrSize); r != 0 {
			p += 2*addrSize - r
		}
		unit, seen := index[off]
		if !seen {
			unit = len(offs)
			index[off] = unit
			offs = append(offs, off)
		}
		for ; p+16 <= len(set); p += 16 {
			lo, n := bo.Uint64(set[p:]), bo.Uint64(set[p+8:])
			if lo == 0 && n == 0 {
				break
			}
			if n > 0 && lo+n > lo {
				cus = append(cus, cuRange{lo: lo, hi: lo + n, unit: unit})
			}
		}
	}
	return cus, offs, true
}

// errNoUnit is a unit offset that names no compile unit.
var errNoUnit = errors.New("no compilation unit at the offset")

// unitLineReader opens the line program of the unit at off in .debug_info.
func (s *dwarfSections) unitLineReader(info []byte) (*dwarf.LineReader, error) {
	if len(info) < 4 {
		return nil, errNoUnit
	}
	n, hdr := uint64(binary.LittleEndian.Uint32(info)), uint64(4)
	if n == 0xffffffff {
		if len(info) < 12 {
			return nil, errNoUnit
		}
		n, hdr = binary.LittleEndian.Uint64(info[4:]), 12
	}
	if n > uint64(len(info))-hdr {
		return nil, errNoUnit
	}
	d, ok := s.data(info[: hdr+n : hdr+n])
	if !ok {
		return nil, errNoUnit
	}
	e, err := d.Reader().Next()
	if err != nil {
		return nil, err
	}
	if e == nil || (e.Tag != dwarf.TagCompileUnit && e.Tag != dwarf.TagPartialUnit) {
		return nil, errNoUnit
	}
	return d.LineReader(e)
}
