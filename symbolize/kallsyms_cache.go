package symbolize

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/tracer-dev/tracer/internal/cachedir"
)

// The kernel symbol cache. Reading /proc/kallsyms costs about 40 ms of CPU
// a session (most of it the kernel formatting 120 000 lines), for symbols
// that only change when the machine reboots or a module is loaded or
// unloaded. The static text symbols (the kernel image's and the loaded
// modules') are kept in one file of the user's cache directory
// (kernel-symbols/kallsyms), keyed by the boot ID and a digest of
// /proc/modules, sorted by address and binary-searched in place.
//
// Code that comes and goes without either key changing (BPF programs,
// ftrace and kprobe trampolines: "[bpf]", "[__builtin__ftrace]"…) is left
// out, and an address is named from the file only when it lies between two
// symbols of one owner (the kernel image, or one module's text), where no
// such code can be: the answer is then the one /proc/kallsyms would give.
// Any other address is named from /proc/kallsyms as before. A missing,
// stale, foreign or malformed file is passed over and rewritten.

// kernelCacheName is the file of the cache in its directory.
const kernelCacheName = "kallsyms"

// DefaultKernelCacheDir is where the kernel symbol cache is kept, "" when
// the user has no cache directory.
func DefaultKernelCacheDir() string { return cachedir.Dir(cachedir.KernelSymbols) }

// WithKernelCache keeps the kernel symbol cache in dir instead of
// DefaultKernelCacheDir; "" keeps none. It is only used with the running
// kernel's /proc/kallsyms (WithKallsyms turns it off).
func WithKernelCache(dir string) Option {
	return func(s *Symbolizer) { s.kernelCacheDir = dir }
}

// kernelCacheMagic opens a cache file; the version changes with the layout.
var kernelCacheMagic = [8]byte{'t', 'r', 'k', 's', 'y', 'm', '0', '2'}

// The layout of a cache file, little-endian:
//
//	magic    [8]byte
//	key      [32]byte   runningKernelKey
//	n, nmod, namesLen, 0  uint32
//	index    ceil(n/kcBlock) × u64: the address of every kcBlock-th entry
//	entries  n × {addr u64, name u32, nameLen u16, module u16}, sorted by addr
//	modules  nmod × {name u32, len u32}; module 0 is the kernel image ("")
//	names    namesLen bytes
//
// A lookup searches the index (a few pages), then one block of entries:
// the pages of the file a session touches, and so its resident memory,
// stay few.
const (
	kcBlock      = 64
	kcHeaderSize = 8 + 32 + 16
	kcEntrySize  = 16
	kcModuleSize = 8
)

// runningKernelKey identifies the running kernel's symbols: its boot ID and
// the name, size, state and address of each loaded module (not their use
// counts, which change without the symbols changing). ok is false when the
// boot ID cannot be read.
func runningKernelKey() (key [32]byte, ok bool) {
	boot := cachedir.BootID()
	if boot == "" {
		return key, false
	}
	h := sha256.New()
	h.Write([]byte("boot " + boot + "\n"))
	// A kernel without modules has no /proc/modules: the boot ID is the key.
	if f, err := os.Open("/proc/modules"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// "name size refcount deps state address [taint]"
			fs := bytes.Fields(sc.Bytes())
			for _, i := range []int{0, 1, 4, 5} {
				if i < len(fs) {
					h.Write(fs[i])
				}
				h.Write([]byte{' '})
			}
			h.Write([]byte("\n"))
		}
		if sc.Err() != nil {
			return key, false
		}
	}
	copy(key[:], h.Sum(nil))
	return key, true
}

// kernelCache is an open cache file. Its index and module table are read
// at open; a lookup reads one block of entries and a name. (Mapping the
// file instead made every page touched 64 KiB resident, fault-around
// included: the whole 5 MiB file for a few hundred addresses.)
type kernelCache struct {
	r        io.ReaderAt
	closer   io.Closer
	index    []uint64
	modules  []uint64 // name offset<<32 | length, by module
	n        int
	entries  int64 // offset of entry 0
	names    int64 // offset of the names
	namesLen uint64
	// The block of entries last read (block, and the entry after it).
	block    int
	blockBuf []byte
}

// openKernelCache opens dir's cache file if it was written for key by this
// user and is well formed; nil otherwise.
func openKernelCache(dir string, key [32]byte) *kernelCache {
	// Only a regular file of this user that no one else may write is
	// trusted to name the kernel's code.
	f, st, err := cachedir.Open(filepath.Join(dir, kernelCacheName), os.O_RDONLY)
	if err != nil {
		return nil
	}
	c := parseKernelCache(f, st.Size, key)
	if c == nil {
		f.Close()
		return nil
	}
	c.closer = f
	return c
}

// parseKernelCache checks the header and sizes of the size bytes of r
// against key and reads its index and module table; nil when they do not
// fit.
func parseKernelCache(r io.ReaderAt, size int64, key [32]byte) *kernelCache {
	var h [kcHeaderSize]byte
	if size < kcHeaderSize || size > maxKallsymsBytes {
		return nil
	}
	if _, err := r.ReadAt(h[:], 0); err != nil || [8]byte(h[:8]) != kernelCacheMagic || [32]byte(h[8:40]) != key {
		return nil
	}
	le := binary.LittleEndian
	n, nmod, namesLen := uint64(le.Uint32(h[40:])), uint64(le.Uint32(h[44:])), uint64(le.Uint32(h[48:]))
	nidx := (n + kcBlock - 1) / kcBlock
	if nmod == 0 || uint64(size) != kcHeaderSize+nidx*8+n*kcEntrySize+nmod*kcModuleSize+namesLen {
		return nil
	}
	x := kcHeaderSize + nidx*8
	e := x + n*kcEntrySize
	m := e + nmod*kcModuleSize
	b := make([]byte, nidx*8+nmod*kcModuleSize)
	if _, err := r.ReadAt(b[:nidx*8], kcHeaderSize); err != nil {
		return nil
	}
	if _, err := r.ReadAt(b[nidx*8:], int64(e)); err != nil {
		return nil
	}
	c := &kernelCache{r: r, n: int(n), entries: int64(x), names: int64(m), namesLen: namesLen, block: -1, index: make([]uint64, nidx), modules: make([]uint64, nmod)}
	for i := range c.index {
		c.index[i] = le.Uint64(b[i*8:])
	}
	for i := range c.modules {
		c.modules[i] = le.Uint64(b[nidx*8+uint64(i)*kcModuleSize:])
	}
	return c
}

func (c *kernelCache) close() {
	if c != nil && c.closer != nil {
		c.closer.Close()
		c.closer = nil
	}
}

// readBlock reads block blk of entries and the entry after it into
// c.blockBuf; false when it cannot be read.
func (c *kernelCache) readBlock(blk int) bool {
	if c.block == blk {
		return true
	}
	lo, hi := blk*kcBlock, min(c.n, (blk+1)*kcBlock+1)
	c.blockBuf = c.blockBuf[:cap(c.blockBuf)]
	if len(c.blockBuf) < (hi-lo)*kcEntrySize {
		c.blockBuf = make([]byte, (kcBlock+1)*kcEntrySize)
	}
	c.blockBuf = c.blockBuf[:(hi-lo)*kcEntrySize]
	if _, err := c.r.ReadAt(c.blockBuf, c.entries+int64(lo)*kcEntrySize); err != nil {
		c.block = -1
		return false
	}
	c.block = blk
	return true
}

// name reads n bytes at off of the names; ok is false out of bounds.
func (c *kernelCache) name(off, n uint64) (string, bool) {
	if n == 0 || off+n > c.namesLen {
		return "", false
	}
	b := make([]byte, n)
	if _, err := c.r.ReadAt(b, c.names+int64(off)); err != nil {
		return "", false
	}
	return string(b), true
}

// frame names addr as kernelSymbols.frame would on the table of
// /proc/kallsyms; ok is false when the file cannot answer for addr (it is
// not between two symbols of one owner, or the file is malformed).
func (c *kernelCache) frame(addr uint64) (f Frame, ok bool) {
	if c == nil {
		return Frame{}, false
	}
	// The block of the last entry at or below addr, then the entry.
	blk := sort.Search(len(c.index), func(j int) bool { return c.index[j] > addr }) - 1
	if blk < 0 || !c.readBlock(blk) {
		return Frame{}, false
	}
	le := binary.LittleEndian
	ents := c.blockBuf
	at := func(i int) uint64 { return le.Uint64(ents[i*kcEntrySize:]) }
	module := func(i int) uint16 { return le.Uint16(ents[i*kcEntrySize+14:]) }
	n := len(ents) / kcEntrySize // the block, and the entry after it if any
	i := sort.Search(min(n, kcBlock), func(i int) bool { return at(i) > addr }) - 1
	if i < 0 || i+1 >= n {
		return Frame{}, false
	}
	mod := module(i)
	if module(i+1) != mod || at(i) > addr || at(i+1) <= addr {
		return Frame{}, false
	}
	f = Frame{Addr: addr, Kind: Kernel, Module: kernelModule}
	if addr-at(i) > maxKernelSymbolSize {
		return f, true
	}
	ent := ents[i*kcEntrySize:]
	if f.Function, ok = c.name(uint64(le.Uint32(ent[8:])), uint64(le.Uint16(ent[12:]))); !ok {
		return Frame{}, false
	}
	if mod != 0 {
		if int(mod) >= len(c.modules) {
			return Frame{}, false
		}
		name, ok := c.name(c.modules[mod]&0xffffffff, c.modules[mod]>>32)
		if !ok {
			return Frame{}, false
		}
		f.Module = "[" + name + "]"
	}
	return f, true
}

// encodeKernelCache lays out the symbols of k owned by the kernel image or
// by a module of modules (the others are code that comes and goes) as a
// cache file for key.
func encodeKernelCache(k *kernelSymbols, key [32]byte, modules map[string]bool) []byte {
	var buf bytes.Buffer
	writeKernelCache(&buf, k, key, modules)
	return buf.Bytes()
}

// writeKernelCache writes what encodeKernelCache returns to w, in two
// passes over k and without a copy of the table.
func writeKernelCache(w io.Writer, k *kernelSymbols, key [32]byte, modules map[string]bool) error {
	le := binary.LittleEndian
	// First pass: which symbols are kept, their modules' numbers in the
	// file, and the sizes.
	modIndex := map[uint16]uint16{0: 0}
	modNames := []string{""}
	keep := func(m uint16) (uint16, bool) {
		if i, ok := modIndex[m]; ok {
			return i, true
		}
		if name := k.modules[m]; modules[name] {
			i := uint16(len(modNames))
			modIndex[m], modNames = i, append(modNames, name)
			return i, true
		}
		return 0, false
	}
	var n, namesLen uint64
	var index []byte // the address of every kcBlock-th kept symbol
	for _, e := range k.syms {
		if _, ok := keep(e.module); ok {
			if n%kcBlock == 0 {
				index = le.AppendUint64(index, e.addr)
			}
			n++
			namesLen += uint64(e.nameLen)
		}
	}
	var modLen uint64
	for _, m := range modNames {
		modLen += uint64(len(m))
	}
	b := make([]byte, 0, kcHeaderSize)
	b = append(b, kernelCacheMagic[:]...)
	b = append(b, key[:]...)
	b = le.AppendUint32(b, uint32(n))
	b = le.AppendUint32(b, uint32(len(modNames)))
	b = le.AppendUint32(b, uint32(modLen+namesLen))
	b = le.AppendUint32(b, 0)
	if _, err := w.Write(b); err != nil {
		return err
	}
	if _, err := w.Write(index); err != nil {
		return err
	}
	// Second pass: the entries; the module names come first in the names.
	var ent [kcEntrySize]byte
	off := modLen
	for _, e := range k.syms {
		m, ok := keep(e.module)
		if !ok {
			continue
		}
		le.PutUint64(ent[:], e.addr)
		le.PutUint32(ent[8:], uint32(off))
		le.PutUint16(ent[12:], e.nameLen)
		le.PutUint16(ent[14:], m)
		if _, err := w.Write(ent[:]); err != nil {
			return err
		}
		off += uint64(e.nameLen)
	}
	var mb [kcModuleSize]byte
	off = 0
	for _, m := range modNames {
		le.PutUint32(mb[:], uint32(off))
		le.PutUint32(mb[4:], uint32(len(m)))
		if _, err := w.Write(mb[:]); err != nil {
			return err
		}
		off += uint64(len(m))
	}
	for _, m := range modNames {
		if _, err := io.WriteString(w, m); err != nil {
			return err
		}
	}
	for _, e := range k.syms {
		if _, ok := keep(e.module); ok {
			c, at := e.name/nameChunk, e.name%nameChunk
			if _, err := w.Write(k.names[c][at : at+uint32(e.nameLen)]); err != nil {
				return err
			}
		}
	}
	return nil
}

// runningModules is the set of module names in /proc/modules.
func runningModules() map[string]bool {
	mods := map[string]bool{}
	f, err := os.Open("/proc/modules")
	if err != nil {
		return mods
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := bytes.Fields(sc.Bytes()); len(fs) > 0 {
			mods[string(fs[0])] = true
		}
	}
	return mods
}

// useKernelCache says whether the symbolizer keeps the cache: it must read
// the running kernel's symbols and have a directory for it.
func (s *Symbolizer) useKernelCache() bool {
	return s.kernelCacheDir != "" && s.kernelCacheKey != nil
}

// openedKernelCache maps the cache file once, and says whether it answers
// for the running kernel. Called with s.mu held.
func (s *Symbolizer) openedKernelCache() *kernelCache {
	if s.kernelCacheTried || !s.useKernelCache() {
		return s.kernelCacheFile
	}
	s.kernelCacheTried = true
	key, ok := s.kernelCacheKey()
	if !ok {
		return nil
	}
	s.kernelCacheKeyOK, s.kernelCacheKeyVal = true, key
	s.kernelCacheFile = openKernelCache(s.kernelCacheDir, key)
	return s.kernelCacheFile
}

// loadKernelTable reads the whole table of kallsyms, and writes the cache
// from it when the cache could not answer. Called with s.mu held.
func (s *Symbolizer) loadKernelTable() (*kernelSymbols, error) {
	k, err := loadKallsyms(s.kallsyms)
	if err != nil || k.len() == 0 {
		return k, err
	}
	if s.openedKernelCache() == nil && s.kernelCacheKeyOK {
		// Failing to write only costs the next session the read.
		mods := s.loadedModules()
		cachedir.WriteWith(s.kernelCacheDir, kernelCacheName, func(w io.Writer) error {
			return writeKernelCache(w, k, s.kernelCacheKeyVal, mods)
		})
	}
	return k, nil
}
