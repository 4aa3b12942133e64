package symbolize

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"

	"github.com/tracer-dev/tracer/internal/cachedir"
)

// The line-program path's work kept on disk. For libc's separate debug
// file, programLineTable inflates .debug_line (1.3 MiB, about 11 ms of CPU)
// and runs every line program's address arithmetic (about 6 ms), and the
// first decode inflates the strings (about 2 ms): the same work in every
// session, for a file that does not change. The inflated sections and the
// ranges found are kept in one file per debug file (debug-lines/ in the
// user's cache directory), named by its build ID and keyed by the build ID
// and the three sections' headers (offset, size, flags); it is read whole
// and checked against a CRC-32C of its contents, and a file that does not
// match, is not the user's own, or cannot be read is passed over and
// written again. A file without a build ID is never cached.
//
// The symbol cache (symtab_cache.go) and the row cache
// (dwarf_rows_cache.go) keep their files in the same directory, which
// grows one file per build and kind: an entry is marked used when it is
// read (its modification time set, at most once a day, cachedir.Touch), and
// whenever an entry is written, those not used for 30 days are removed
// (cachedir.Prune).

// lineCacheDir is the directory of the line cache ("" keeps none).
var lineCacheDir = func() string { return cachedir.Dir(cachedir.DebugLines) }

// lineCacheMagic opens a line cache file; the version changes with the
// layout.
var lineCacheMagic = [8]byte{'t', 'r', 'l', 'i', 'n', 'e', '0', '1'}

// maxLineCacheFile bounds what is read of a line cache file.
const maxLineCacheFile = 256 << 20

// The layout, little-endian:
//
//	magic  [8]byte
//	key    [32]byte  lineCacheKey
//	ncus, noffs, lineLen, strLen, lineStrLen, flags, crc  uint32
//	cus    ncus × {lo u64, hi u64, unit u32}   sorted by lo
//	offs   noffs × u64
//	.debug_line, .debug_str, .debug_line_str   inflated
//
// flags: bit 0, .debug_str was read; bit 1, .debug_line_str was. crc is
// the CRC-32C of everything after the header.
const (
	lcHeaderSize = 8 + 32 + 7*4
	lcRangeSize  = 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// lineCacheKey identifies f's line programs and strings.
func lineCacheKey(f *elf.File, id string) [32]byte {
	h := sha256.New()
	h.Write([]byte("lines 1 " + id + "\n"))
	for _, name := range []string{".debug_line", ".debug_str", ".debug_line_str"} {
		h.Write([]byte(name))
		if s := f.Section(name); s != nil {
			for _, v := range []uint64{s.Offset, s.FileSize, s.Size, uint64(s.Flags), uint64(s.Type)} {
				h.Write([]byte(" " + strconv.FormatUint(v, 10)))
			}
		}
		h.Write([]byte("\n"))
	}
	return [32]byte(h.Sum(nil))
}

// cachedProgramLineTable is programLineTable through the line cache.
func cachedProgramLineTable(f *elf.File) *lineTable {
	dir, id := lineCacheDir(), buildID(f)
	if dir == "" || id == "" {
		return programLineTable(f)
	}
	path := filepath.Join(dir, id+".lines")
	key := lineCacheKey(f, id)
	if lt := readLineCache(path, key); lt != nil {
		return lt
	}
	lt := programLineTable(f)
	if lt != nil {
		// The strings are read now, as the first decode would, to be kept.
		lt.secs.readStrings()
		writeCacheEntry(dir, filepath.Base(path), func(w io.Writer) error { return writeLineCache(w, lt, key) })
	}
	return lt
}

// writeLineCache writes the ranges and sections of lt (from
// programLineTable, its strings read) for key to w, without copying the
// sections.
func writeLineCache(w io.Writer, lt *lineTable, key [32]byte) error {
	s := lt.secs
	le := binary.LittleEndian
	var flags uint32
	if s.str != nil {
		flags |= 1
	}
	if s.lineStr != nil {
		flags |= 2
	}
	ranges := make([]byte, 0, len(lt.cus)*lcRangeSize+len(lt.progOffs)*8)
	for _, c := range lt.cus {
		ranges = le.AppendUint64(ranges, c.lo)
		ranges = le.AppendUint64(ranges, c.hi)
		ranges = le.AppendUint32(ranges, uint32(c.unit))
	}
	for _, o := range lt.progOffs {
		ranges = le.AppendUint64(ranges, o)
	}
	parts := [][]byte{ranges, s.line, s.str, s.lineStr}
	var sum uint32
	for _, p := range parts {
		sum = crc32.Update(sum, castagnoli, p)
	}
	h := make([]byte, lcHeaderSize)
	copy(h, lineCacheMagic[:])
	copy(h[8:], key[:])
	for i, v := range []uint32{uint32(len(lt.cus)), uint32(len(lt.progOffs)), uint32(len(s.line)), uint32(len(s.str)), uint32(len(s.lineStr)), flags, sum} {
		le.PutUint32(h[40+4*i:], v)
	}
	for _, p := range append([][]byte{h}, parts...) {
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// readLineCache reads the line table kept at path for key; nil when it is
// missing, not the user's own, or does not match. The file is mapped, not
// read onto the heap: the sections are used in place, the pages of the
// line programs decoded (none, when the row cache has their rows) staying
// the page cache's. Entries are replaced by renaming, never cut short, so
// the mapping stays whole; a fault in it is a panic (readLineTable).
func readLineCache(path string, key [32]byte) *lineTable {
	f, st, err := cachedir.Open(path, os.O_RDONLY)
	if err != nil {
		return nil
	}
	defer f.Close()
	if st.Size < lcHeaderSize || st.Size > maxLineCacheFile {
		return nil
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil
	}
	m := &fileMapping{b: data}
	lt := decodeLineCache(data, key)
	if lt == nil {
		m.unmap()
		return nil
	}
	lt.secs.mapped = m
	runtime.AddCleanup(lt.secs, (*fileMapping).unmap, m)
	cachedir.Touch(path, cachedir.ModTime(st))
	return lt
}

// decodeLineCache reads a line cache file's contents b for key; nil when
// they do not match.
func decodeLineCache(b []byte, key [32]byte) *lineTable {
	if len(b) < lcHeaderSize || [8]byte(b[:8]) != lineCacheMagic || [32]byte(b[8:40]) != key {
		return nil
	}
	le := binary.LittleEndian
	var v [7]uint64
	for i := range v {
		v[i] = uint64(le.Uint32(b[40+4*i:]))
	}
	ncus, noffs, lineLen, strLen, lineStrLen, flags, sum := v[0], v[1], v[2], v[3], v[4], v[5], uint32(v[6])
	if uint64(len(b)) != lcHeaderSize+ncus*lcRangeSize+noffs*8+lineLen+strLen+lineStrLen || crc32.Checksum(b[lcHeaderSize:], castagnoli) != sum {
		return nil
	}
	p := b[lcHeaderSize:]
	cus := make([]cuRange, ncus)
	for i := range cus {
		c := cuRange{lo: le.Uint64(p), hi: le.Uint64(p[8:]), unit: int(le.Uint32(p[16:]))}
		if c.unit >= int(noffs) || c.lo >= c.hi || (i > 0 && c.lo < cus[i-1].lo) {
			return nil
		}
		cus[i], p = c, p[lcRangeSize:]
	}
	offs := make([]uint64, noffs)
	for i := range offs {
		if offs[i], p = le.Uint64(p), p[8:]; offs[i] >= lineLen {
			return nil
		}
	}
	secs := &dwarfSections{strsRead: true}
	secs.line, p = p[:lineLen:lineLen], p[lineLen:]
	str, p := p[:strLen:strLen], p[strLen:]
	lineStr := p[:lineStrLen:lineStrLen]
	if flags&1 != 0 {
		secs.str = str
	}
	if flags&2 != 0 {
		secs.lineStr = lineStr
	}
	return &lineTable{secs: secs, progOffs: offs, cus: cus, rows: map[int]*unitRows{}}
}

// readCacheEntry reads the entry at path of the caches kept by build ID
// (at most max bytes) and marks it used (cachedir.Touch); ok is false when
// it is missing, larger, not the user's own or cannot be read.
func readCacheEntry(path string, max int64) (b []byte, ok bool) {
	f, st, err := cachedir.Open(path, os.O_RDONLY)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	if st.Size > max {
		return nil, false
	}
	b = make([]byte, st.Size)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, false
	}
	cachedir.Touch(path, cachedir.ModTime(st))
	return b, true
}

// writeCacheEntry writes the entry name of the caches kept by build ID in
// dir, and removes the entries there not used for a while (cachedir.Prune):
// these caches grow one file per build.
// Failing to write only costs the next session the work.
func writeCacheEntry(dir, name string, write func(io.Writer) error) error {
	err := cachedir.WriteWith(dir, name, write)
	if err == nil {
		cachedir.Prune(dir)
	}
	return err
}
