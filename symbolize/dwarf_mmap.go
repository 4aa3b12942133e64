package symbolize

import (
	"debug/dwarf"
	"debug/elf"
	"io"
	"os"
	"runtime"
	"syscall"
)

// mappedDWARF opens the DWARF of an executable or shared object whose
// contents are the file ra for its line tables, with only the sections
// those need, and the uncompressed ones read in place from a read-only
// mapping of the file instead of copied onto the heap (f.DWARF reads every
// debug section whole, variable locations and call frames included: tens of
// MiB for a Python built with -g). Only the pages the line lookups touch
// become resident, and they are the page cache's, shared and clean.
// Compressed sections (separate debug files often are) are inflated onto
// the heap, as f.DWARF would. The mapping lives as long as the returned
// data. ok is false when the object needs relocations or a section cannot
// be read: the caller then uses f.DWARF.
func mappedDWARF(f *elf.File, ra io.ReaderAt) (d *dwarf.Data, ok bool) {
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
	var secs [8][]byte
	// Call frames and public names are not needed for lines.
	for i, name := range []string{".debug_abbrev", ".debug_aranges", "", ".debug_info", ".debug_line", "", ".debug_ranges", ".debug_str"} {
		if name == "" {
			continue
		}
		if secs[i], ok = section(name); !ok {
			return nil, false
		}
	}
	d, err = dwarf.New(secs[0], secs[1], secs[2], secs[3], secs[4], secs[5], secs[6], secs[7])
	if err != nil {
		return nil, false
	}
	// DWARF 5; variable locations (.debug_loclists) are not needed.
	for _, name := range []string{".debug_addr", ".debug_line_str", ".debug_str_offsets", ".debug_rnglists"} {
		b, ok := section(name)
		if !ok {
			return nil, false
		}
		if b != nil {
			if err := d.AddSection(name, b); err != nil {
				return nil, false
			}
		}
	}
	unmap = false
	runtime.AddCleanup(d, func(b []byte) { syscall.Munmap(b) }, data)
	return d, true
}
