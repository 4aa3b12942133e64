package symbolize

import (
	"bytes"
	"debug/elf"
	"debug/gosym"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
)

// object is one parsed ELF file: its loadable segments and, read on first
// use, its function symbols.
type object struct {
	path    string
	buildID string
	ra      io.ReaderAt // the file's contents; kept so symbols can be read later
	closer  io.Closer   // the open file, nil for in-memory images
	loads   []segment

	symsRead bool
	syms     []symbol
	symErr   error        // the first error reading them
	gotab    *gosym.Table // Go function table (.gopclntab), nil for non-Go files

	lines    *lineTable // DWARF line rows; nil when the file has none
	lineRead bool

	debug *object // separate debug file found by build ID, or nil
}

// segment is one PT_LOAD program header.
type segment struct {
	off, filesz, vaddr, memsz uint64
	exec                      bool
}

// symbol is one function symbol. The name is demangled on first use.
type symbol struct {
	addr, size uint64
	name       string
	demangled  bool
	// Where the name was read (for the symbol cache): the string table
	// src (nameSymtab…) at offset nameOff. Both fit in the padding after
	// demangled.
	src     nameSrc
	nameOff uint32
}

// nameSrc is the string table a symbol's name was read from.
type nameSrc uint8

// The string tables names are read from: .symtab's, .dynsym's, and
// .dynsym's with "@plt" added, of the file itself or (debugSrc added) of
// its separate debug file. 0 is none known.
const (
	nameSymtab nameSrc = 1 + iota
	nameDynsym
	namePLT
	debugSrc nameSrc = 3
)

// stGNUIFunc is STT_GNU_IFUNC, an indirect function (glibc's memcpy etc.).
const stGNUIFunc = elf.SymType(10)

// maxObjectSymbols bounds the symbol table read from one file, so a corrupt
// header cannot make us allocate without limit.
const maxObjectSymbols = 4 << 20

// openObject reads the ELF header, program headers and build ID of ra.
// Symbols are read later, on the first lookup.
func openObject(ra io.ReaderAt, path string) (*object, error) {
	f, err := elf.NewFile(ra)
	if err != nil {
		return nil, fmt.Errorf("read elf %s: %w", path, err)
	}
	o := &object{path: path, ra: ra}
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		o.loads = append(o.loads, segment{
			off: p.Off, filesz: p.Filesz, vaddr: p.Vaddr, memsz: p.Memsz,
			exec: p.Flags&elf.PF_X != 0,
		})
	}
	o.buildID = buildID(f)
	return o, nil
}

// close releases the file behind the object (and its debug file).
func (o *object) close() error {
	if o.debug != nil {
		_ = o.debug.close()
	}
	if o.lines != nil {
		o.lines.close()
	}
	if o.closer == nil {
		return nil
	}
	err := o.closer.Close()
	o.closer = nil
	return err
}

// vaddr converts a file offset inside a mapping of this object to the
// address the ELF file links it at. ok is false when no segment holds it.
func (o *object) vaddr(off uint64) (uint64, bool) {
	const page = 4096
	best := -1
	for i, s := range o.loads {
		lo := s.off &^ (page - 1)
		if off < lo || off >= s.off+max(s.filesz, 1) {
			continue
		}
		if best < 0 || (s.exec && !o.loads[best].exec) {
			best = i
		}
	}
	if best < 0 {
		return 0, false
	}
	s := o.loads[best]
	return off - s.off + s.vaddr, true
}

// lookup returns the function symbol covering vaddr.
func (o *object) lookup(vaddr uint64) (*symbol, bool) {
	if !o.symsRead {
		o.syms, o.symErr = o.functionSymbols()
		o.gotab = goTable(o.ra)
		o.symsRead = true
	}
	syms := o.syms
	i := sort.Search(len(syms), func(i int) bool { return syms[i].addr > vaddr }) - 1
	if i < 0 {
		return nil, false
	}
	s := &syms[i]
	if s.size > 0 && vaddr-s.addr >= s.size {
		return nil, false
	}
	if s.size == 0 && !o.sameSegment(s.addr, vaddr) {
		return nil, false
	}
	if !s.demangled {
		s.name = demangleName(s.name)
		s.demangled = true
	}
	return s, true
}

// sameSegment reports whether both link addresses lie in one loaded segment.
func (o *object) sameSegment(a, b uint64) bool {
	for _, s := range o.loads {
		if a >= s.vaddr && a < s.vaddr+s.memsz {
			return b >= s.vaddr && b < s.vaddr+s.memsz
		}
	}
	return false
}

// readSymbols collects the function symbols of .symtab and .dynsym, sorted
// by address with one symbol per address (.symtab names and global symbols
// win; a PLT stub only where no other symbol is).
func readSymbols(ra io.ReaderAt) ([]symbol, error) {
	f, err := elf.NewFile(ra)
	if err != nil {
		return nil, fmt.Errorf("read elf: %w", err)
	}
	var firstErr error
	tables := [2]*symTable{}
	for i, typ := range []elf.SectionType{elf.SHT_SYMTAB, elf.SHT_DYNSYM} {
		t, err := readSymTable(f, typ)
		if err != nil && !errors.Is(err, elf.ErrNoSymbols) && firstErr == nil {
			firstErr = err
		}
		tables[i] = t
	}
	syms, dyn := tables[0], tables[1]
	plt := pltSymbols(f, dyn)
	cands := newCandidates(syms.funcCount() + dyn.funcCount() + len(plt))
	add := func(t *symTable, base int, src nameSrc) {
		for i := 1; i < t.count(); i++ {
			e, ok := t.funcEntry(i)
			if !ok {
				continue
			}
			if cands.len() >= maxObjectSymbols {
				return
			}
			r := base
			if elf.ST_BIND(e.info) == elf.STB_GLOBAL {
				r += rankGlobal
			}
			cands.add(symbol{addr: e.value, size: e.size, name: e.name, src: src, nameOff: e.nameOff}, r)
		}
	}
	add(syms, rankSymtab, nameSymtab)
	add(dyn, rankDynamic, nameDynsym)
	for _, p := range plt {
		if cands.len() >= maxObjectSymbols {
			break
		}
		cands.add(p, rankPLT)
	}
	return cands.pick(), firstErr
}

// buildID returns the hex GNU build ID of f, or "".
func buildID(f *elf.File) string {
	if s := f.Section(".note.gnu.build-id"); s != nil {
		if data, err := s.Data(); err == nil {
			if id := noteBuildID(data, f.ByteOrder); id != "" {
				return id
			}
		}
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE || p.Filesz > 1<<16 {
			continue
		}
		data := make([]byte, p.Filesz)
		if _, err := p.ReadAt(data, 0); err != nil {
			continue
		}
		if id := noteBuildID(data, f.ByteOrder); id != "" {
			return id
		}
	}
	return ""
}

// noteBuildID finds an NT_GNU_BUILD_ID note in a run of ELF notes.
func noteBuildID(data []byte, bo binary.ByteOrder) string {
	const ntGNUBuildID = 3
	for len(data) >= 12 {
		namesz := uint64(bo.Uint32(data[0:]))
		descsz := uint64(bo.Uint32(data[4:]))
		typ := bo.Uint32(data[8:])
		data = data[12:]
		nameEnd := (namesz + 3) &^ 3
		descEnd := nameEnd + (descsz+3)&^3
		if nameEnd > uint64(len(data)) || descEnd > uint64(len(data)) {
			return ""
		}
		name := data[:namesz]
		desc := data[nameEnd : nameEnd+descsz]
		if typ == ntGNUBuildID && bytes.Equal(bytes.TrimRight(name, "\x00"), []byte("GNU")) && descsz > 0 {
			return hex.EncodeToString(desc)
		}
		data = data[descEnd:]
	}
	return ""
}

// resolve names the code at link address vaddr: the function and, where
// the file says, the source file and line. Go code is named from the Go
// function table, which survives stripping and carries lines; other code
// from the ELF symbols and DWARF.
func (o *object) resolve(vaddr uint64) (fn, file string, line int, ok bool) {
	sym, found := o.lookup(vaddr)
	if o.gotab != nil {
		if fn, file, line, ok := goLookup(o.gotab, vaddr); ok {
			return fn, file, line, true
		}
	}
	if found {
		if !o.lineRead {
			o.lines = readLineTable(o.ra)
			if o.lines == nil && o.debug != nil {
				o.lines = readLineTable(o.debug.ra)
			}
			o.lineRead = true
		}
		if o.lines != nil {
			file, line, _ = o.lines.lookup(vaddr)
		}
		return sym.name, file, line, true
	}
	return "", "", 0, false
}
