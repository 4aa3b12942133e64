package symbolize

import (
	"cmp"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unsafe"
)

// symTable is one ELF symbol table (.symtab or .dynsym) kept as raw bytes:
// entries are decoded as they are walked, and a name is a substring of one
// copy of the string table. debug/elf's Symbols allocates a string per
// symbol (node: 260 000 of them), and sorting those with sort.SliceStable
// went through reflection: reading node's symbols took 145-158 ms, now
// 44-59 ms (BenchmarkReadSymbolsNode), paid at the end of every node
// session.
type symTable struct {
	data  []byte // the entries, the null entry 0 included
	strs  string // the linked string table
	size  int    // bytes per entry
	bo    binary.ByteOrder
	class elf.Class
}

// symEntry is one decoded entry.
type symEntry struct {
	name        string
	nameOff     uint32 // of name in the string table
	info        byte
	shndx       elf.SectionIndex
	value, size uint64
}

// readSymTable reads the first section of type typ and its string table.
// It returns elf.ErrNoSymbols when the file has no such table, as
// debug/elf does.
func readSymTable(f *elf.File, typ elf.SectionType) (*symTable, error) {
	sec := f.SectionByType(typ)
	if sec == nil {
		return nil, elf.ErrNoSymbols
	}
	t := &symTable{bo: f.ByteOrder, class: f.Class}
	switch f.Class {
	case elf.ELFCLASS64:
		t.size = elf.Sym64Size
	case elf.ELFCLASS32:
		t.size = elf.Sym32Size
	default:
		return nil, fmt.Errorf("symbols: unknown ELF class %v", f.Class)
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("cannot load symbol section: %w", err)
	}
	if len(data) == 0 {
		return nil, elf.ErrNoSymbols
	}
	if len(data)%t.size != 0 {
		return nil, errors.New("length of symbol section is not a multiple of the symbol size")
	}
	strs, err := linkedStrings(f, sec)
	if err != nil {
		return nil, err
	}
	t.data, t.strs = data, strs
	return t, nil
}

// linkedStrings reads the string table linked to the symbol table sec.
func linkedStrings(f *elf.File, sec *elf.Section) (string, error) {
	if sec.Link == 0 || int(sec.Link) >= len(f.Sections) {
		return "", errors.New("cannot load string table section: section has invalid string table link")
	}
	b, err := f.Sections[sec.Link].Data()
	if err != nil {
		return "", fmt.Errorf("cannot load string table section: %w", err)
	}
	// Data returned a copy of the section, which nothing else holds: the
	// string shares it rather than copying it again (node's is 11 MiB).
	return unsafe.String(unsafe.SliceData(b), len(b)), nil
}

// count is the number of entries, the null entry included.
func (t *symTable) count() int {
	if t == nil {
		return 0
	}
	return len(t.data) / t.size
}

// entry decodes entry i (0 < i < count).
func (t *symTable) entry(i int) symEntry {
	b := t.data[i*t.size : (i+1)*t.size]
	var e symEntry
	var name uint32
	if t.class == elf.ELFCLASS64 {
		name = t.bo.Uint32(b[0:4])
		e.info = b[4]
		e.shndx = elf.SectionIndex(t.bo.Uint16(b[6:8]))
		e.value = t.bo.Uint64(b[8:16])
		e.size = t.bo.Uint64(b[16:24])
	} else {
		name = t.bo.Uint32(b[0:4])
		e.value = uint64(t.bo.Uint32(b[4:8]))
		e.size = uint64(t.bo.Uint32(b[8:12]))
		e.info = b[12]
		e.shndx = elf.SectionIndex(t.bo.Uint16(b[14:16]))
	}
	e.name, e.nameOff = t.name(name), name
	return e
}

// name returns the string at off, "" when off or its terminator is outside
// the table (as debug/elf reads it).
func (t *symTable) name(off uint32) string {
	if uint64(off) >= uint64(len(t.strs)) {
		return ""
	}
	s := t.strs[off:]
	end := strings.IndexByte(s, 0)
	if end < 0 {
		return ""
	}
	return s[:end]
}

// isFunc reports whether entry i has a function type.
func (t *symTable) isFunc(i int) bool {
	info := t.data[i*t.size+4]
	if t.class == elf.ELFCLASS32 {
		info = t.data[i*t.size+12]
	}
	typ := elf.ST_TYPE(info)
	return typ == elf.STT_FUNC || typ == stGNUIFunc
}

// funcCount counts the entries of function type, to size what is read.
func (t *symTable) funcCount() int {
	n := 0
	for i := 1; i < t.count(); i++ {
		if t.isFunc(i) {
			n++
		}
	}
	return n
}

// funcEntry decodes entry i if it is a defined function symbol.
func (t *symTable) funcEntry(i int) (symEntry, bool) {
	if !t.isFunc(i) {
		return symEntry{}, false
	}
	e := t.entry(i)
	if e.value == 0 || e.shndx == elf.SHN_UNDEF || e.name == "" {
		return e, false
	}
	return e, true
}

// Symbol ranks: at one address, .symtab names win over .dynsym names,
// global symbols over local ones, and a PLT stub only stands where nothing
// else does.
const (
	rankPLT     = 0
	rankDynamic = 1
	rankSymtab  = 2
	rankGlobal  = 2 // added for STB_GLOBAL
	maxRank     = rankSymtab + rankGlobal
)

// candidates collects the symbols read, in reading order, for pick.
type candidates struct {
	keys []candKey
	syms []symbol // by sequence number
}

// candKey is what candidates are sorted by: the address, then the rank
// (highest first), then the order of reading (first first), packed into
// order so that the sort moves 16 bytes without pointers.
type candKey struct {
	addr  uint64
	order uint32 // (maxRank-rank)<<24 | sequence number
}

// newCandidates makes room for n symbols (at most maxObjectSymbols).
func newCandidates(n int) *candidates {
	n = min(n, maxObjectSymbols)
	return &candidates{keys: make([]candKey, 0, n), syms: make([]symbol, 0, n)}
}

func (c *candidates) len() int { return len(c.syms) }

func (c *candidates) add(s symbol, rank int) {
	c.keys = append(c.keys, candKey{addr: s.addr, order: uint32(maxRank-rank)<<24 | uint32(len(c.syms))})
	c.syms = append(c.syms, s)
}

// pick sorts the candidates by address and keeps, at each address, the
// highest ranked one (the first read among equals).
func (c *candidates) pick() []symbol {
	slices.SortFunc(c.keys, func(a, b candKey) int {
		if a.addr != b.addr {
			return cmp.Compare(a.addr, b.addr)
		}
		return cmp.Compare(a.order, b.order)
	})
	out := make([]symbol, 0, len(c.keys))
	for i, k := range c.keys {
		if i > 0 && c.keys[i-1].addr == k.addr {
			continue
		}
		out = append(out, c.syms[k.order&(1<<24-1)])
	}
	return out
}
