package symbolize

import (
	"debug/dwarf"
	"debug/elf"
	"io"
	"os"
	"runtime"
	"sync"
	"syscall"
)

// MappedDWARF opens the DWARF of the executable or shared object f, whose
// contents are the file ra, for reading its types and lines, with the
// sections read in place as mappedSections does (call frames, public names
// and variable locations left out). ok is false when that cannot be done:
// the caller then uses f.DWARF. release unmaps the file at once (d must not
// be used after it); without it the mapping lives as long as d.
func MappedDWARF(f *elf.File, ra io.ReaderAt) (d *dwarf.Data, release func(), ok bool) {
	secs, ok := mappedSections(f, ra)
	if !ok {
		return nil, nil, false
	}
	info, ok := secs.fullInfo()
	if !ok {
		secs.mapped.unmap()
		return nil, nil, false
	}
	if d, ok = secs.data(info); !ok {
		secs.mapped.unmap()
		return nil, nil, false
	}
	// The runtime holds a cleanup's argument until d is unreachable, and
	// with it the sections and their mapping.
	runtime.AddCleanup(d, func(*dwarfSections) {}, secs)
	return d, secs.mapped.unmap, true
}

// fileMapping is a read-only mapping of a file, unmapped once.
type fileMapping struct {
	b    []byte
	once sync.Once
}

func (m *fileMapping) unmap() { m.once.Do(func() { syscall.Munmap(m.b) }) }

// dwarfSections are the sections line tables need, each mapped from the
// file or, when compressed, inflated onto the heap.
type dwarfSections struct {
	abbrev, aranges, info, line, ranges, str []byte
	addr, lineStr, strOffsets, rnglists      []byte // DWARF 5
	// infoSection is a compressed .debug_info not inflated (info is nil
	// then): the per-unit path keeps only the head of each unit
	// (unitHeads), and fullInfo inflates it whole for the other path.
	infoSection *elf.Section
	mapped      *fileMapping // what the sections are read from
	// The line-program path (programLineTable) reads the strings only for
	// a first decode, from these.
	strSection, lineStrSection *elf.Section
	strsRead                   bool
}

// fullInfo returns .debug_info whole, inflating it if needed.
func (s *dwarfSections) fullInfo() ([]byte, bool) {
	if s.info == nil && s.infoSection != nil {
		b, err := s.infoSection.Data()
		if err != nil {
			return nil, false
		}
		s.info, s.infoSection = b, nil
	}
	return s.info, true
}

// data opens the DWARF of the sections with info as its .debug_info: the
// whole section, or one unit of it (lineTable.perUnit).
func (s *dwarfSections) data(info []byte) (*dwarf.Data, bool) {
	d, err := dwarf.New(s.abbrev, s.aranges, nil, info, s.line, nil, s.ranges, s.str)
	if err != nil {
		return nil, false
	}
	for _, x := range []struct {
		name string
		b    []byte
	}{{".debug_addr", s.addr}, {".debug_line_str", s.lineStr}, {".debug_str_offsets", s.strOffsets}, {".debug_rnglists", s.rnglists}} {
		if x.b != nil {
			if err := d.AddSection(x.name, x.b); err != nil {
				return nil, false
			}
		}
	}
	return d, true
}

// mappedSections reads the DWARF sections of an executable or shared object whose
// contents are the file ra for its line tables, with only the sections
// those need, and the uncompressed ones read in place from a read-only
// mapping of the file instead of copied onto the heap (f.DWARF reads every
// debug section whole, variable locations and call frames included: tens of
// MiB for a Python built with -g). Only the pages the line lookups touch
// become resident, and they are the page cache's, shared and clean.
// Compressed sections (separate debug files often are) are inflated onto
// the heap, as f.DWARF would. The mapping lives as long as the returned
// sections. ok is false when the object needs relocations or a section cannot
// be read: the caller then uses f.DWARF.
func mappedSections(f *elf.File, ra io.ReaderAt) (secs *dwarfSections, ok bool) {
	file, isFile := ra.(*os.File)
	if !isFile || f.Type == elf.ET_REL {
		return nil, false
	}
	st, err := file.Stat()
	if err != nil || st.Size() <= 0 || st.Size() != int64(int(st.Size())) {
		return nil, false
	}
	data, err := syscall.Mmap(int(file.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, false
	}
	unmap := true
	defer func() {
		if unmap {
			syscall.Munmap(data)
		}
	}()
	section := func(name string) ([]byte, bool) {
		s := f.Section(name)
		if s == nil {
			return nil, true
		}
		if s.Type == elf.SHT_NOBITS {
			return nil, false
		}
		if s.Flags&elf.SHF_COMPRESSED != 0 {
			b, err := s.Data()
			return b, err == nil
		}
		if s.Offset > uint64(len(data)) || s.Size > uint64(len(data))-s.Offset {
			return nil, false
		}
		return data[s.Offset : s.Offset+s.Size : s.Offset+s.Size], true
	}
	secs = &dwarfSections{}
	// Call frames, public names and variable locations are not needed for lines.
	if s := f.Section(".debug_info"); s != nil && s.Flags&elf.SHF_COMPRESSED != 0 && s.Type != elf.SHT_NOBITS {
		secs.infoSection = s // read lazily (fullInfo, unitHeads)
	} else if secs.info, ok = section(".debug_info"); !ok {
		return nil, false
	}
	for _, x := range []struct {
		name string
		dst  *[]byte
	}{
		{".debug_abbrev", &secs.abbrev}, {".debug_aranges", &secs.aranges},
		{".debug_line", &secs.line}, {".debug_ranges", &secs.ranges}, {".debug_str", &secs.str},
		{".debug_addr", &secs.addr}, {".debug_line_str", &secs.lineStr},
		{".debug_str_offsets", &secs.strOffsets}, {".debug_rnglists", &secs.rnglists},
	} {
		if *x.dst, ok = section(x.name); !ok {
			return nil, false
		}
	}
	unmap = false
	secs.mapped = &fileMapping{b: data}
	runtime.AddCleanup(secs, (*fileMapping).unmap, secs.mapped)
	return secs, true
}
