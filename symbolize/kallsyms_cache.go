package symbolize

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/tracer-dev/tracer/internal/cachedir"
)

// The kernel symbol cache. Reading /proc/kallsyms costs about 40 ms of CPU
// a session (most of it the kernel formatting 120 000 lines), for symbols
// that only change when the machine reboots or a module is loaded or
// unloaded. The static text symbols (the kernel image's and the loaded
// modules') are kept in one file of the user's cache directory
// (kernel-symbols/kallsyms), keyed by the boot ID and a digest of
// /proc/modules, mapped read-only and binary-searched.
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
func DefaultKernelCacheDir() string { return cachedir.Dir("kernel-symbols") }

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
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil || len(bytes.TrimSpace(boot)) == 0 {
		return key, false
	}
	h := sha256.New()
	h.Write([]byte("boot "))
	h.Write(bytes.TrimSpace(boot))
	h.Write([]byte("\n"))
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

// kernelCache is a mapped cache file.
type kernelCache struct {
	mapped  []byte
	index   []byte
	entries []byte
	modules []byte
	names   []byte
	n       int
}

// openKernelCache maps dir's cache file if it was written for key by this
// user and is well formed; nil otherwise.
func openKernelCache(dir string, key [32]byte) *kernelCache {
	f, err := os.Open(filepath.Join(dir, kernelCacheName))
	if err != nil {
		return nil
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return nil
	}
	// Only a regular file of this user that no one else may write is
	// trusted to name the kernel's code.
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Uid != uint32(os.Geteuid()) || st.Mode&0o022 != 0 {
		return nil
	}
	if st.Size < kcHeaderSize || st.Size > maxKallsymsBytes {
		return nil
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil
	}
	c := parseKernelCache(b, key)
	if c == nil {
		syscall.Munmap(b)
		return nil
	}
	c.mapped = b
	return c
}

// parseKernelCache checks b's header and sizes against key and returns its
// parts; nil when they do not fit.
func parseKernelCache(b []byte, key [32]byte) *kernelCache {
	if len(b) < kcHeaderSize || [8]byte(b[:8]) != kernelCacheMagic || [32]byte(b[8:40]) != key {
		return nil
	}
	le := binary.LittleEndian
	n, nmod, namesLen := uint64(le.Uint32(b[40:])), uint64(le.Uint32(b[44:])), uint64(le.Uint32(b[48:]))
	nidx := (n + kcBlock - 1) / kcBlock
	if nmod == 0 || uint64(len(b)) != kcHeaderSize+nidx*8+n*kcEntrySize+nmod*kcModuleSize+namesLen {
		return nil
	}
	x := kcHeaderSize + nidx*8
	e := x + n*kcEntrySize
	m := e + nmod*kcModuleSize
	return &kernelCache{index: b[kcHeaderSize:x], entries: b[x:e], modules: b[e:m], names: b[m:], n: int(n)}
}

func (c *kernelCache) close() {
	if c != nil && c.mapped != nil {
		syscall.Munmap(c.mapped)
		c.mapped = nil
	}
}

func (c *kernelCache) addr(i int) uint64 {
	return binary.LittleEndian.Uint64(c.entries[i*kcEntrySize:])
}

func (c *kernelCache) module(i int) uint16 {
	return binary.LittleEndian.Uint16(c.entries[i*kcEntrySize+14:])
}

// name returns the bytes at off, len of the names; ok is false out of
// bounds.
func (c *kernelCache) name(off, n uint64) (string, bool) {
	if off+n > uint64(len(c.names)) {
		return "", false
	}
	return string(c.names[off : off+n]), true
}

// frame names addr as kernelSymbols.frame would on the table of
// /proc/kallsyms; ok is false when the file cannot answer for addr (it is
// not between two symbols of one owner, or the file is malformed).
func (c *kernelCache) frame(addr uint64) (f Frame, ok bool) {
	if c == nil {
		return Frame{}, false
	}
	// The block of the last entry at or below addr, then the entry.
	le := binary.LittleEndian
	blk := sort.Search(len(c.index)/8, func(j int) bool { return le.Uint64(c.index[j*8:]) > addr }) - 1
	if blk < 0 {
		return Frame{}, false
	}
	lo, hi := blk*kcBlock, min(c.n, (blk+1)*kcBlock)
	i := lo + sort.Search(hi-lo, func(i int) bool { return c.addr(lo+i) > addr }) - 1
	if i < 0 || i+1 >= c.n {
		return Frame{}, false
	}
	mod := c.module(i)
	if c.module(i+1) != mod || c.addr(i) > addr || c.addr(i+1) <= addr {
		return Frame{}, false
	}
	f = Frame{Addr: addr, Kind: Kernel, Module: kernelModule}
	if addr-c.addr(i) > maxKernelSymbolSize {
		return f, true
	}
	ent := c.entries[i*kcEntrySize:]
	if f.Function, ok = c.name(uint64(le.Uint32(ent[8:])), uint64(le.Uint16(ent[12:]))); !ok || f.Function == "" {
		return Frame{}, false
	}
	if mod != 0 {
		if uint64(mod)*kcModuleSize >= uint64(len(c.modules)) {
			return Frame{}, false
		}
		mb := c.modules[uint64(mod)*kcModuleSize:]
		name, ok := c.name(uint64(le.Uint32(mb)), uint64(le.Uint32(mb[4:])))
		if !ok || name == "" {
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
	le := binary.LittleEndian
	var names []byte
	modIndex := map[uint16]uint16{0: 0}
	modRefs := []uint32{0, 0} // module 0: the kernel image, no name
	var entries []byte
	for _, e := range k.syms {
		mod, ok := modIndex[e.module]
		if !ok {
			name := k.modules[e.module]
			if !modules[name] {
				continue
			}
			mod = uint16(len(modRefs) / 2)
			modIndex[e.module] = mod
			modRefs = append(modRefs, uint32(len(names)), uint32(len(name)))
			names = append(names, name...)
		}
		c, at := e.name/nameChunk, e.name%nameChunk
		off := len(names)
		names = append(names, k.names[c][at:at+uint32(e.nameLen)]...)
		entries = le.AppendUint64(entries, e.addr)
		entries = le.AppendUint32(entries, uint32(off))
		entries = le.AppendUint16(entries, e.nameLen)
		entries = le.AppendUint16(entries, mod)
	}
	n := len(entries) / kcEntrySize
	b := make([]byte, 0, kcHeaderSize+(n/kcBlock+1)*8+len(entries)+len(modRefs)*4+len(names))
	b = append(b, kernelCacheMagic[:]...)
	b = append(b, key[:]...)
	b = le.AppendUint32(b, uint32(n))
	b = le.AppendUint32(b, uint32(len(modRefs)/2))
	b = le.AppendUint32(b, uint32(len(names)))
	b = le.AppendUint32(b, 0)
	for i := 0; i < n; i += kcBlock {
		b = append(b, entries[i*kcEntrySize:i*kcEntrySize+8]...)
	}
	b = append(b, entries...)
	for _, r := range modRefs {
		b = le.AppendUint32(b, r)
	}
	return append(b, names...)
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
		cachedir.WriteFile(s.kernelCacheDir, kernelCacheName, encodeKernelCache(k, s.kernelCacheKeyVal, s.loadedModules()))
	}
	return k, nil
}
