package symbolize

import (
	"debug/dwarf"
	"debug/elf"
	"encoding/binary"
	"errors"
	"sort"
)

// The line-program path of line tables, for objects whose .debug_info is
// compressed (separate debug files such as libc's are). The other paths
// find a unit's line program through the unit's first entry in
// .debug_info, which then has to be inflated whole: 5.8 MiB for libc's,
// about 80 ms of CPU, for the few units a profile samples. In DWARF 5 a
// line program is self-contained (its header names the compilation
// directory and the primary file, which earlier versions left to the unit's
// entry), so here .debug_info is not read at all: .debug_line is inflated
// (1.3 MiB for libc), the address range of each of its sequences is found
// by running the line programs' address arithmetic alone, and the program
// holding a sampled address is decoded as the other paths decode a unit's.
// debug/dwarf reads a line program only through a unit entry that points
// at it: each decode gets a made-up unit of one entry, DW_AT_stmt_list.

// programLineTable returns the line table of f from its line programs
// alone; nil when f's .debug_info is not compressed, or when any program
// is older than DWARF 5 or cannot be read (the caller then takes the
// unit path).
func programLineTable(f *elf.File) *lineTable {
	info, line := f.Section(".debug_info"), f.Section(".debug_line")
	if info == nil || line == nil || info.Flags&elf.SHF_COMPRESSED == 0 || info.Type == elf.SHT_NOBITS || line.Type == elf.SHT_NOBITS {
		return nil
	}
	b, err := line.Data()
	if err != nil {
		return nil
	}
	cus, offs, ok := scanLinePrograms(b)
	if !ok || len(cus) == 0 {
		return nil
	}
	sort.Slice(cus, func(i, j int) bool { return cus[i].lo < cus[j].lo })
	secs := &dwarfSections{line: b, strSection: f.Section(".debug_str"), lineStrSection: f.Section(".debug_line_str")}
	return &lineTable{secs: secs, progOffs: offs, cus: cus, rows: map[int]*unitRows{}}
}

// scanLinePrograms finds the sequences of every line program in the
// .debug_line section b: their address ranges, each with the index of its
// program, and the offset of each program. ok is false unless every
// program is DWARF 5 for 8-byte addresses with one operation per
// instruction, and reads to its end.
func scanLinePrograms(b []byte) (cus []cuRange, offs []uint64, ok bool) {
	bo := binary.LittleEndian
	for pos := 0; pos < len(b); {
		start := pos
		if len(b)-pos < 4 {
			return nil, nil, false
		}
		length, offSize := uint64(bo.Uint32(b[pos:])), 4
		pos += 4
		if length == 0xffffffff {
			if len(b)-pos < 8 {
				return nil, nil, false
			}
			length, offSize = bo.Uint64(b[pos:]), 8
			pos += 8
		}
		if length > uint64(len(b)-pos) {
			return nil, nil, false
		}
		end := pos + int(length)
		p := b[pos:end]
		pos = end
		// version, address size, segment selector size, header length,
		// minimum instruction length, maximum operations per instruction,
		// default_is_stmt, line_base, line_range, opcode_base.
		if len(p) < 2+1+1+offSize+6 || bo.Uint16(p) != 5 || p[2] != 8 || p[3] != 0 {
			return nil, nil, false
		}
		p = p[4:]
		var hdrLen uint64
		if offSize == 4 {
			hdrLen = uint64(bo.Uint32(p))
		} else {
			hdrLen = bo.Uint64(p)
		}
		p = p[offSize:]
		if hdrLen > uint64(len(p)) {
			return nil, nil, false
		}
		prog := p[hdrLen:]
		minInst, maxOps, lineRange, opBase := uint64(p[0]), p[1], p[4], p[5]
		if maxOps != 1 || lineRange == 0 || opBase == 0 || len(p) < 6+int(opBase)-1 {
			return nil, nil, false
		}
		unit := len(offs)
		offs = append(offs, uint64(start))
		if cus, ok = scanSequences(prog, cus, unit, minInst, lineRange, opBase, p[6:6+int(opBase)-1]); !ok {
			return nil, nil, false
		}
	}
	return cus, offs, true
}

// scanSequences runs the address arithmetic of one line program (DWARF 5,
// 6.2.5) and appends the range of each of its sequences that holds code.
// opLens are the operand counts of standard opcodes 1 to opBase-1.
func scanSequences(prog []byte, cus []cuRange, unit int, minInst uint64, lineRange, opBase byte, opLens []byte) ([]cuRange, bool) {
	var addr, lo uint64
	rows := false // the sequence has a row: lo is its first address
	row := func() {
		if !rows {
			lo, rows = addr, true
		}
	}
	r := uleb{b: prog}
	for len(r.b) > 0 && !r.bad {
		op := r.b[0]
		r.b = r.b[1:]
		switch {
		case op >= opBase: // special opcode: advance and add a row
			addr += uint64((op-opBase)/lineRange) * minInst
			row()
		case op == 0: // extended opcode
			n := r.next()
			if r.bad || n == 0 || n > uint64(len(r.b)) {
				return nil, false
			}
			sub, body := r.b[0], r.b[1:n]
			r.b = r.b[n:]
			switch sub {
			case 1: // DW_LNE_end_sequence
				row()
				if addr > lo {
					cus = append(cus, cuRange{lo: lo, hi: addr, unit: unit})
				}
				addr, rows = 0, false
			case 2: // DW_LNE_set_address
				if len(body) != 8 {
					return nil, false
				}
				addr = binary.LittleEndian.Uint64(body)
			}
		case op == 1: // DW_LNS_copy
			row()
		case op == 2: // DW_LNS_advance_pc
			addr += r.next() * minInst
		case op == 8: // DW_LNS_const_add_pc
			addr += uint64((255-opBase)/lineRange) * minInst
		case op == 9: // DW_LNS_fixed_advance_pc
			if len(r.b) < 2 {
				return nil, false
			}
			addr += uint64(binary.LittleEndian.Uint16(r.b))
			r.b = r.b[2:]
		default: // operands that do not move the address (or unknown)
			for i := byte(0); i < opLens[op-1]; i++ {
				r.next()
			}
		}
	}
	return cus, !r.bad
}

// uleb reads unsigned LEB128 numbers; bad is set on a number cut short
// (signed operands are skipped as unsigned: only their length matters).
type uleb struct {
	b   []byte
	bad bool
}

func (r *uleb) next() uint64 {
	var v uint64
	for i, c := range r.b {
		if i < 10 {
			v |= uint64(c&0x7f) << (7 * i)
		}
		if c < 0x80 {
			r.b = r.b[i+1:]
			return v
		}
	}
	r.b, r.bad = nil, true
	return 0
}

// stmtListAbbrev is the abbreviation table of the made-up unit: code 1, a
// DW_TAG_compile_unit without children, with DW_AT_stmt_list as a
// DW_FORM_sec_offset.
var stmtListAbbrev = []byte{1, 0x11, 0, 0x10, 0x17, 0, 0, 0}

// readStrings reads .debug_str and .debug_line_str, once.
func (s *dwarfSections) readStrings() {
	if s.strsRead {
		return
	}
	s.strsRead = true
	for _, x := range []struct {
		sec *elf.Section
		dst *[]byte
	}{{s.strSection, &s.str}, {s.lineStrSection, &s.lineStr}} {
		if x.sec != nil && x.sec.Type != elf.SHT_NOBITS {
			*x.dst, _ = x.sec.Data() // a string left unread comes out empty
		}
	}
}

// programLineReader opens the line program at off in .debug_line through
// a made-up unit (DWARF 4, 32-bit) whose one entry points at it.
func (s *dwarfSections) programLineReader(off uint64) (*dwarf.LineReader, error) {
	if off > 0xfffffff0 {
		return nil, errNoUnit
	}
	s.readStrings()
	info := make([]byte, 16)
	bo := binary.LittleEndian
	bo.PutUint32(info, 12)    // unit length
	bo.PutUint16(info[4:], 4) // version
	bo.PutUint32(info[6:], 0) // abbreviation offset
	info[10] = 8              // address size
	info[11] = 1              // the entry's abbreviation code
	bo.PutUint32(info[12:], uint32(off))
	d, err := dwarf.New(stmtListAbbrev, nil, nil, info, s.line, nil, nil, s.str)
	if err != nil {
		return nil, err
	}
	if s.lineStr != nil {
		if err := d.AddSection(".debug_line_str", s.lineStr); err != nil {
			return nil, err
		}
	}
	e, err := d.Reader().Next()
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, errors.New("no line program")
	}
	return d.LineReader(e)
}
