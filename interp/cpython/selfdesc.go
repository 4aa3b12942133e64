package cpython

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
)

// What an interpreter file says about its own layout: _Py_DebugOffsets at the
// start of _PyRuntime (3.13) and the member table of PyCode_Type. Both are
// read from the file, not from a process, so they are right even before the
// dynamic loader has relocated a freshly mapped libpython.

var pyLE = binary.LittleEndian

// debugOffsets reads the _Py_DebugOffsets that 3.13 keeps at the start of
// _PyRuntime. Other versions (and free-threaded builds, whose frames differ)
// are refused.
func debugOffsets(f *elf.File, runtime elf.Symbol) (Layout, error) {
	const size = 584 // sizeof(_Py_DebugOffsets) in 3.13
	b, err := readVaddr(f, runtime.Value, size)
	if err != nil {
		return Layout{}, fmt.Errorf("read _Py_DebugOffsets: %w", err)
	}
	if string(b[:8]) != "xdebugpy" {
		return Layout{}, errors.New("no _Py_DebugOffsets cookie")
	}
	version := pyLE.Uint64(b[8:])
	if version>>24 != 3 || version>>16&0xff != 13 {
		return Layout{}, fmt.Errorf("_Py_DebugOffsets of version 0x%x: only the 3.13 form is known", version)
	}
	if pyLE.Uint64(b[16:]) != 0 {
		return Layout{}, errors.New("free-threaded build")
	}
	u := func(off int) uint32 { return uint32(pyLE.Uint64(b[off:])) }
	ascii := u(560)
	return Layout{
		Major: 3, Minor: 13, Chain: PyLayout313,
		RuntimeInterpHead: u(40),
		InterpNext:        u(64), InterpThreadsHead: u(72),
		TstateNext: u(168), TstateFrame: u(184), TstateThreadID: u(192),
		FramePrevious: u(232), FrameCode: u(240), FrameInstr: u(248), FrameOwner: u(264),
		CodeFilename: u(280), CodeName: u(288), CodeQualname: u(296), CodeLinetable: u(304),
		CodeFirstlineno: u(312), CodeAdaptive: u(344),
		BytesSize: u(520), BytesData: u(528),
		UnicodeState: u(544), UnicodeLength: u(552),
		UnicodeASCIISize: ascii, UnicodeCompactSize: ascii + 16,
	}, nil
}

// memberTable reads the PyMemberDef table (tp_members) of the type object at
// link-time address typ: member name → offset.
func memberTable(f *elf.File, typ uint64) (map[string]uint32, error) {
	const tpMembers = 240 // offsetof(PyTypeObject, tp_members), 3.8 to 3.13
	const entrySize = 40  // sizeof(PyMemberDef)
	relocs := relativeRelocs(f)
	ptr := func(addr uint64) (uint64, error) {
		b, err := readVaddr(f, addr, 8)
		if err != nil {
			return 0, err
		}
		if v := pyLE.Uint64(b); v != 0 {
			return v, nil
		}
		return relocs[addr], nil
	}
	table, err := ptr(typ + tpMembers)
	if err != nil || table == 0 {
		return nil, fmt.Errorf("read tp_members: %v", err)
	}
	out := map[string]uint32{}
	for i := uint64(0); i < 64; i++ {
		e := table + i*entrySize
		name, err := ptr(e)
		if err != nil {
			return nil, fmt.Errorf("read member %d: %w", i, err)
		}
		if name == 0 {
			break
		}
		b, err := readVaddr(f, e+16, 8)
		if err != nil {
			return nil, fmt.Errorf("read member %d: %w", i, err)
		}
		s, err := cString(f, name)
		if err != nil {
			return nil, err
		}
		out[s] = uint32(pyLE.Uint64(b))
	}
	return out, nil
}

// applyCodeMembers takes the code-object offsets from PyCode_Type's member
// table; it reports whether the table had them.
func applyCodeMembers(o *Layout, m map[string]uint32) bool {
	need := []struct {
		name string
		dst  *uint32
	}{
		{"co_filename", &o.CodeFilename}, {"co_name", &o.CodeName},
		{lineTableField(o.Minor), &o.CodeLinetable}, {"co_firstlineno", &o.CodeFirstlineno},
	}
	if o.Minor >= 11 {
		need = append(need, struct {
			name string
			dst  *uint32
		}{"co_qualname", &o.CodeQualname})
	}
	for _, n := range need {
		if _, ok := m[n.name]; !ok {
			return false
		}
	}
	for _, n := range need {
		*n.dst = m[n.name]
	}
	return true
}

// relativeRelocs maps the addresses that R_X86_64_RELATIVE relocations fill
// to their addends (the link-time address they will hold).
func relativeRelocs(f *elf.File) map[uint64]uint64 {
	out := map[uint64]uint64{}
	s := f.Section(".rela.dyn")
	if s == nil {
		return out
	}
	data, err := s.Data()
	if err != nil {
		return out
	}
	const rRelative = 8
	for i := 0; i+24 <= len(data); i += 24 {
		if pyLE.Uint64(data[i+8:])&0xffffffff == rRelative {
			out[pyLE.Uint64(data[i:])] = pyLE.Uint64(data[i+16:])
		}
	}
	return out
}

// cString reads a NUL-terminated string of at most 256 bytes.
func cString(f *elf.File, addr uint64) (string, error) {
	for n := 256; n >= 8; n /= 2 {
		b, err := readVaddr(f, addr, n)
		if err != nil {
			continue // too near a segment end: read less
		}
		if i := bytes.IndexByte(b, 0); i >= 0 {
			return string(b[:i]), nil
		}
		return "", fmt.Errorf("string at 0x%x is too long", addr)
	}
	return "", fmt.Errorf("no string at 0x%x", addr)
}
