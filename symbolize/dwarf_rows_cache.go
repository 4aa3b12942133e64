package symbolize

import (
	"cmp"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/tracer-dev/tracer/internal/cachedir"
)

// The row cache. Decoding the line program of a compilation unit costs,
// for libpython3.11's units that a Python loop samples (ceval.c's above
// all), about 13 ms of CPU in every session, for a file that does not
// change. The rows decoded (address, file, line; unitRows) are kept in one
// file per build (debug-lines/ID.rows in the user's cache directory), keyed
// by the build ID, the way the line table was read (lineTableOf) and the
// file's section headers. A unit's rows are appended as one record when
// they are first decoded, in whichever session that is; a later session
// reads a unit's record (one read, checked against its CRC-32C) instead of
// running its line program, and writes nothing when it decodes nothing
// new. Records are appended with O_APPEND, one write each, so sessions
// running at once each add theirs whole; a unit found twice is read from
// its first record. A file that does not match (another layout version,
// another file with the build ID), is not the user's own, or has a damaged
// record is passed over and written again, with the good records it had,
// the next time a unit is decoded; past maxRowCacheFile nothing is added.

// rowCacheMagic opens a row cache file; the version changes with the
// layout or with what decoding a unit gives.
var rowCacheMagic = [8]byte{'t', 'r', 'r', 'o', 'w', 's', '0', '1'}

// The layout, little-endian:
//
//	magic    [8]byte
//	key      [32]byte  rowCacheKey
//	records, each:
//	  unit, nfiles, namesLen, nrows, bodyCRC, headCRC  uint32
//	  names  namesLen bytes: nfiles file names, each ended by a NUL
//	  rows   nrows × {addr u64, file u32, line i32}, sorted by addr
//
// bodyCRC is the CRC-32C of names and rows, headCRC that of the five words
// before it.
const (
	rcHeaderSize = 8 + 32
	rcRecordHead = 6 * 4
	rcRowSize    = 16
)

// maxRowCacheFile bounds a row cache file (the rows of all of
// libpython3.11's units take 4.7 MiB).
const maxRowCacheFile = 64 << 20

// rowCache is the row cache file of one line table.
type rowCache struct {
	dir, name  string
	key        [32]byte
	nunits     int
	f          *os.File          // the file as it was opened, nil when it did not match
	records    map[int]rowRecord // unit → its first record in f
	rewrite    bool              // write the file anew before adding to it
	unwritable bool              // writing it failed: nothing more is added
}

// rowRecord is where a unit's record is, and its header.
type rowRecord struct {
	off                              int64 // of its body
	nfiles, namesLen, nrows, bodyCRC uint32
}

// rowCacheKey identifies the rows of f's units as read by the line table
// path kind.
func rowCacheKey(f *elf.File, id, kind string) [32]byte {
	h := sha256.New()
	h.Write([]byte("rows 1 " + kind + " " + id + " " + strconv.Itoa(maxLineRows) + "\n"))
	writeSectionHeaders(h, f)
	return [32]byte(h.Sum(nil))
}

// openRowCache opens the row cache of f's line table, read by the path
// kind with nunits units; nil when there is none to keep (no cache
// directory, no build ID).
func openRowCache(f *elf.File, kind string, nunits int) *rowCache {
	dir, id := lineCacheDir(), buildID(f)
	if dir == "" || id == "" {
		return nil
	}
	c := &rowCache{dir: dir, name: id + ".rows", key: rowCacheKey(f, id, kind), nunits: nunits, rewrite: true}
	path := filepath.Join(dir, c.name)
	fh, st, err := cachedir.Open(path, os.O_RDONLY)
	if err != nil {
		return c
	}
	if st.Size > maxRowCacheFile || !c.matches(fh) {
		fh.Close()
		return c
	}
	c.f, c.records = fh, map[int]rowRecord{}
	// The records' heads are read through a window on the file: one read
	// covers the heads of many small records, and a large one's body is
	// skipped.
	win := make([]byte, 0, 64<<10)
	var winOff int64
	head := func(off int64) []byte {
		if off < winOff || off+rcRecordHead > winOff+int64(len(win)) {
			n, _ := fh.ReadAt(win[:cap(win)], off)
			win, winOff = win[:n], off
			if n < rcRecordHead {
				return nil
			}
		}
		return win[off-winOff:][:rcRecordHead]
	}
	off := int64(rcHeaderSize)
	le := binary.LittleEndian
	for off+rcRecordHead <= st.Size {
		h := head(off)
		if h == nil || crc32.Checksum(h[:20], castagnoli) != le.Uint32(h[20:]) {
			break
		}
		unit := int(le.Uint32(h[0:]))
		r := rowRecord{off: off + rcRecordHead, nfiles: le.Uint32(h[4:]), namesLen: le.Uint32(h[8:]), nrows: le.Uint32(h[12:]), bodyCRC: le.Uint32(h[16:])}
		end := r.off + int64(r.namesLen) + int64(r.nrows)*rcRowSize
		if unit >= nunits || end > st.Size {
			break
		}
		if _, seen := c.records[unit]; !seen {
			c.records[unit] = r
		}
		off = end
	}
	// A damaged record and what follows it are dropped at the next write.
	c.rewrite = off != st.Size
	cachedir.Touch(path, cachedir.ModTime(st))
	return c
}

// matches reports whether the file fh opens with c's magic and key.
func (c *rowCache) matches(fh *os.File) bool {
	var h [rcHeaderSize]byte
	_, err := fh.ReadAt(h[:], 0)
	return err == nil && [8]byte(h[:8]) == rowCacheMagic && [32]byte(h[8:]) == c.key
}

// close closes the file.
func (c *rowCache) close() {
	if c != nil && c.f != nil {
		c.f.Close()
		c.f = nil
	}
}

// get reads the rows of unit kept in the file; nil when they are not
// there or their record is damaged (it is then dropped at the next write).
func (c *rowCache) get(unit int) *unitRows {
	if c == nil || c.f == nil {
		return nil
	}
	r, ok := c.records[unit]
	if !ok {
		return nil
	}
	u, ok := c.read(r)
	if !ok {
		delete(c.records, unit)
		c.rewrite = true
		return nil
	}
	return u
}

// body reads and checks the body of r.
func (c *rowCache) body(r rowRecord) ([]byte, bool) {
	b := make([]byte, int64(r.namesLen)+int64(r.nrows)*rcRowSize)
	if _, err := c.f.ReadAt(b, r.off); err != nil || crc32.Checksum(b, castagnoli) != r.bodyCRC {
		return nil, false
	}
	return b, true
}

// read reads the rows of record r; ok is false when the record is damaged
// or its rows are not well formed. The rows are read straight into the
// []lineRow when the host lays it out as the record does (rowBytes), and
// decoded otherwise.
func (c *rowCache) read(r rowRecord) (u *unitRows, ok bool) {
	names := make([]byte, r.namesLen)
	u = &unitRows{}
	if r.nrows > 0 {
		u.rows = make([]lineRow, r.nrows)
	}
	raw := rowBytes(u.rows)
	inPlace := raw != nil
	if !inPlace {
		raw = make([]byte, len(u.rows)*rcRowSize)
	}
	if _, err := c.f.ReadAt(names, r.off); err != nil {
		return nil, false
	}
	if _, err := c.f.ReadAt(raw, r.off+int64(r.namesLen)); err != nil {
		return nil, false
	}
	if crc32.Update(crc32.Checksum(names, castagnoli), castagnoli, raw) != r.bodyCRC {
		return nil, false
	}
	if r.nfiles > 0 {
		if len(names) == 0 || names[len(names)-1] != 0 {
			return nil, false
		}
		u.files = strings.Split(string(names[:len(names)-1]), "\x00")
		if len(u.files) != int(r.nfiles) {
			return nil, false
		}
	} else if len(names) != 0 {
		return nil, false
	}
	le := binary.LittleEndian
	for i := range u.rows {
		if !inPlace {
			b := raw[i*rcRowSize:]
			u.rows[i] = lineRow{addr: le.Uint64(b), file: le.Uint32(b[8:]), line: int32(le.Uint32(b[12:]))}
		}
		if u.rows[i].file >= r.nfiles || (i > 0 && u.rows[i].addr <= u.rows[i-1].addr) {
			return nil, false
		}
	}
	return u, true
}

// rowBytes is the memory of rows, when it is laid out as a record's rows
// are (little-endian, 16 bytes a row, the fields in order); nil otherwise.
func rowBytes(rows []lineRow) []byte {
	var row lineRow
	if len(rows) == 0 || binary.NativeEndian.Uint16([]byte{1, 0}) != 1 ||
		unsafe.Sizeof(row) != rcRowSize || unsafe.Offsetof(row.file) != 8 || unsafe.Offsetof(row.line) != 12 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(rows))), len(rows)*rcRowSize)
}

// encodeRowRecord is the record of unit's rows u; ok is false when they
// cannot be kept (a name with a NUL).
func encodeRowRecord(unit int, u *unitRows) (rec []byte, ok bool) {
	namesLen := 0
	for _, name := range u.files {
		if strings.IndexByte(name, 0) >= 0 {
			return nil, false
		}
		namesLen += len(name) + 1
	}
	size := rcRecordHead + namesLen + len(u.rows)*rcRowSize
	if size > maxRowCacheFile {
		return nil, false
	}
	le := binary.LittleEndian
	b := make([]byte, rcRecordHead, size)
	for _, name := range u.files {
		b = append(b, name...)
		b = append(b, 0)
	}
	for _, r := range u.rows {
		b = le.AppendUint64(b, r.addr)
		b = le.AppendUint32(b, r.file)
		b = le.AppendUint32(b, uint32(r.line))
	}
	for i, v := range []uint32{uint32(unit), uint32(len(u.files)), uint32(namesLen), uint32(len(u.rows)), crc32.Checksum(b[rcRecordHead:], castagnoli)} {
		le.PutUint32(b[4*i:], v)
	}
	le.PutUint32(b[20:], crc32.Checksum(b[:20], castagnoli))
	return b, true
}

// add keeps the rows u just decoded for unit: appended to the file, or
// with the file written anew when it must be.
func (c *rowCache) add(unit int, u *unitRows) {
	if c == nil || unit >= c.nunits {
		return
	}
	rec, ok := encodeRowRecord(unit, u)
	if !ok {
		return
	}
	if !c.rewrite && c.append(rec) {
		return
	}
	if c.unwritable {
		return
	}
	var kept [][]byte
	size := rcHeaderSize + len(rec)
	if c.f != nil {
		offs := make([]rowRecord, 0, len(c.records))
		for u, r := range c.records {
			if u != unit {
				offs = append(offs, r)
			}
		}
		slices.SortFunc(offs, func(a, b rowRecord) int { return cmp.Compare(a.off, b.off) })
		for _, r := range offs {
			body, ok := c.body(r)
			if !ok || size+rcRecordHead+len(body) > maxRowCacheFile {
				continue
			}
			head := make([]byte, rcRecordHead, rcRecordHead+len(body))
			if _, err := c.f.ReadAt(head, r.off-rcRecordHead); err != nil {
				continue
			}
			kept = append(kept, append(head, body...))
			size += len(kept[len(kept)-1])
		}
	}
	err := writeCacheEntry(c.dir, c.name, func(w io.Writer) error {
		for _, b := range append([][]byte{rowCacheMagic[:], c.key[:]}, append(kept, rec)...) {
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
	// Later units are appended to the file written; when it cannot be
	// written, nothing more is tried this session.
	c.rewrite, c.unwritable = false, err != nil
}

// append adds rec at the end of the file, when it is still one of c's and
// has room; false when it is not (missing, replaced by another version).
func (c *rowCache) append(rec []byte) bool {
	fh, st, err := cachedir.Open(filepath.Join(c.dir, c.name), os.O_RDWR|os.O_APPEND)
	if err != nil {
		return false
	}
	defer fh.Close()
	if !c.matches(fh) {
		return false
	}
	if st.Size+int64(len(rec)) > maxRowCacheFile {
		return true // full: nothing more is added
	}
	_, err = fh.Write(rec) // one write: records of sessions running at once do not interleave
	return err == nil
}
