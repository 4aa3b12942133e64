package symbolize

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"errors"
	"hash"
	"hash/crc32"
	"io"
	"path/filepath"
	"strconv"
)

// The symbol cache. A file's function symbols are found by walking its
// symbol tables and sorting what they hold by address (readSymbols): for
// libpython3.11 (16 000 entries) and libc with its debug file, a few ms
// each, in every session, for files that do not change. What that finds
// (sorted, one symbol per address) is kept in one file per build
// (debug-lines/ID.syms in the user's cache directory, next to the line
// caches), keyed by the build ID and the section headers of the file and of
// its separate debug file: per symbol its address, size, and where its name
// is (a string table and an offset), not the name itself. A later session
// reads that file in one read, and the string tables from the ELF files as
// before; the symbol tables are not read, nor sorted. A file that does not
// match, is not the user's own or cannot be read is passed over and written
// again; a file with fewer than minCachedSymbols symbols, or no build ID,
// is not cached (reading it costs less than the cache would).

// symCacheMagic opens a symbol cache file; the version changes with the
// layout.
var symCacheMagic = [8]byte{'t', 'r', 's', 'y', 'm', 's', '0', '1'}

// minCachedSymbols is the fewest symbols a file needs to be cached.
const minCachedSymbols = 1024

// The layout, little-endian:
//
//	magic  [8]byte
//	key    [32]byte  symCacheKey
//	n, crc uint32
//	syms   n × {addr u64, size u64, nameOff u32, nameLen u24 | src<<24}
//
// sorted by address, one symbol per address; crc is the CRC-32C of syms.
// A name is nameLen bytes at nameOff of the string table src (nameSymtab…),
// followed there by a NUL.
const (
	scHeaderSize = 8 + 32 + 2*4
	scEntrySize  = 24
	maxNameLen   = 1<<24 - 1
)

// maxSymCacheFile bounds what is read of a symbol cache file.
const maxSymCacheFile = scHeaderSize + maxObjectSymbols*scEntrySize

// symCacheKey identifies the symbols of a file with build ID id read from
// files (the file itself and its separate debug file, or nil).
func symCacheKey(id string, files [2]*elf.File) [32]byte {
	h := sha256.New()
	h.Write([]byte("syms 1 " + id + "\n"))
	for _, f := range files {
		writeSectionHeaders(h, f)
	}
	return [32]byte(h.Sum(nil))
}

// writeSectionHeaders writes what identifies the layout of f to h: its
// machine, class and section headers ("none" for nil).
func writeSectionHeaders(h hash.Hash, f *elf.File) {
	if f == nil {
		h.Write([]byte("none\n"))
		return
	}
	h.Write([]byte(f.Machine.String() + " " + f.Class.String() + " " + f.ByteOrder.String() + "\n"))
	for _, s := range f.Sections {
		h.Write([]byte(s.Name))
		for _, v := range []uint64{uint64(s.Type), uint64(s.Flags), s.Addr, s.Offset, s.Size, s.FileSize, uint64(s.Link), uint64(s.Info), s.Entsize} {
			h.Write([]byte(" " + strconv.FormatUint(v, 10)))
		}
		h.Write([]byte("\n"))
	}
}

// functionSymbols reads the function symbols of o and its debug file, through
// the symbol cache.
func (o *object) functionSymbols() ([]symbol, error) {
	dir := lineCacheDir()
	if dir == "" || o.buildID == "" {
		return o.readFunctionSymbols()
	}
	var files [2]*elf.File
	var err error
	if files[0], err = elf.NewFile(o.ra); err != nil {
		return o.readFunctionSymbols()
	}
	if o.debug != nil {
		if files[1], err = elf.NewFile(o.debug.ra); err != nil {
			return o.readFunctionSymbols()
		}
	}
	key := symCacheKey(o.buildID, files)
	path := filepath.Join(dir, o.buildID+".syms")
	if syms, ok := readSymCache(path, key, files); ok {
		return syms, nil
	}
	syms, err := o.readFunctionSymbols()
	if err == nil && len(syms) >= minCachedSymbols {
		// Failing to write only costs the next session the reading.
		writeCacheEntry(dir, filepath.Base(path), func(w io.Writer) error { return writeSymCache(w, syms, key) })
	}
	return syms, err
}

// readFunctionSymbols reads the function symbols of o and its debug file
// (whose names win at one address). An error reading the debug file leaves
// its symbols out, and is returned only when the file itself read well.
func (o *object) readFunctionSymbols() ([]symbol, error) {
	syms, err := readSymbols(o.ra)
	if o.debug != nil {
		extra, derr := readSymbols(o.debug.ra)
		if derr != nil {
			if err == nil {
				err = derr
			}
			return syms, err
		}
		for i := range extra {
			if extra[i].src != 0 {
				extra[i].src += debugSrc
			}
		}
		syms = mergeSymbols(extra, syms)
	}
	return syms, err
}

var errUncachable = errors.New("a symbol the cache cannot hold")

// writeSymCache writes syms (just read: names not demangled) for key to w.
func writeSymCache(w io.Writer, syms []symbol, key [32]byte) error {
	le := binary.LittleEndian
	b := make([]byte, scHeaderSize, scHeaderSize+len(syms)*scEntrySize)
	for _, s := range syms {
		n := len(s.name)
		if s.src == namePLT || s.src == namePLT+debugSrc {
			n -= len("@plt")
		}
		if s.src == 0 || s.src > namePLT+debugSrc || s.demangled || n < 0 || n > maxNameLen {
			return errUncachable
		}
		b = le.AppendUint64(b, s.addr)
		b = le.AppendUint64(b, s.size)
		b = le.AppendUint32(b, s.nameOff)
		b = le.AppendUint32(b, uint32(n)|uint32(s.src)<<24)
	}
	copy(b, symCacheMagic[:])
	copy(b[8:], key[:])
	le.PutUint32(b[40:], uint32(len(syms)))
	le.PutUint32(b[44:], crc32.Checksum(b[scHeaderSize:], castagnoli))
	_, err := w.Write(b)
	return err
}

// readSymCache reads the symbols kept at path for key, their names from
// the string tables of files; ok is false when the entry is missing, not
// the user's own, or does not match.
func readSymCache(path string, key [32]byte, files [2]*elf.File) (syms []symbol, ok bool) {
	b, ok := readCacheEntry(path, maxSymCacheFile)
	if !ok || len(b) < scHeaderSize || [8]byte(b[:8]) != symCacheMagic || [32]byte(b[8:40]) != key {
		return nil, false
	}
	le := binary.LittleEndian
	n := uint64(le.Uint32(b[40:]))
	if uint64(len(b)) != scHeaderSize+n*scEntrySize || crc32.Checksum(b[scHeaderSize:], castagnoli) != le.Uint32(b[44:]) {
		return nil, false
	}
	var tables [namePLT + debugSrc + 1]string // by src; PLT names in .dynsym's
	var read [len(tables)]bool
	table := func(src nameSrc) (string, bool) {
		if src == namePLT || src == namePLT+debugSrc {
			src--
		}
		if !read[src] {
			f, typ := files[0], elf.SHT_SYMTAB
			if src > debugSrc {
				f = files[1]
			}
			if src == nameDynsym || src == nameDynsym+debugSrc {
				typ = elf.SHT_DYNSYM
			}
			if f == nil {
				return "", false
			}
			sec := f.SectionByType(typ)
			if sec == nil {
				return "", false
			}
			s, err := linkedStrings(f, sec)
			if err != nil {
				return "", false
			}
			tables[src], read[src] = s, true
		}
		return tables[src], true
	}
	syms = make([]symbol, n)
	p := b[scHeaderSize:]
	for i := range syms {
		e := p[i*scEntrySize : (i+1)*scEntrySize]
		off, nl := le.Uint32(e[16:]), le.Uint32(e[20:])
		src, nameLen := nameSrc(nl>>24), uint64(nl&maxNameLen)
		s := symbol{addr: le.Uint64(e), size: le.Uint64(e[8:]), src: src, nameOff: off}
		if src == 0 || src > namePLT+debugSrc || (i > 0 && s.addr <= syms[i-1].addr) {
			return nil, false
		}
		strs, ok := table(src)
		if !ok || uint64(off)+nameLen >= uint64(len(strs)) || strs[uint64(off)+nameLen] != 0 {
			return nil, false
		}
		s.name = strs[off : uint64(off)+nameLen]
		if src == namePLT || src == namePLT+debugSrc {
			s.name += "@plt"
		}
		syms[i] = s
	}
	return syms, true
}
