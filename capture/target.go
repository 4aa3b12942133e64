package capture

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/tracer-dev/tracer/loader"
)

// Interp names the interpreter whose write path a capture hooks.
type Interp string

// Interpreters tracer can capture transitions from.
const (
	CPython Interp = "cpython"
	Node    Interp = "node"
)

// Hooked functions: the interpreter's own write path, called once per batch.
const (
	cpythonWriteSym = "_Py_write"   // Py_ssize_t _Py_write(int fd, const void *buf, size_t count)
	nodeWriteSym    = "uv_fs_write" // libuv, under fs.writeSync
)

// ErrNoInterpreter means the process maps neither CPython nor Node: there are
// no transitions to capture, sampling goes on without them.
var ErrNoInterpreter = errors.New("neither CPython nor Node")

// Target is one file to put a uprobe on: the binary or library that holds the
// interpreter's write function.
type Target struct {
	Interp Interp
	Path   string // path to open, as the tracer sees it
	Symbol string
	Offset uint64 // file offset of Symbol, for the uprobe
	// Dev and Ino name the file that was read: the uprobe goes on that
	// file, and on no other that may have taken its path since.
	Dev, Ino uint64
}

func (t Target) String() string {
	return fmt.Sprintf("%s %s in %s", t.Interp, t.Symbol, t.Path)
}

// FindTargets reads /proc/PID/maps and returns the interpreter targets mapped
// into the process, or ErrNoInterpreter.
func FindTargets(pid int) ([]Target, error) {
	paths, err := mappedFiles(pid)
	if err != nil {
		return nil, err
	}
	var out []Target
	for _, p := range paths {
		if t, ok := TargetForFile(p); ok {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, ErrNoInterpreter
	}
	return out, nil
}

// mappedFiles lists the distinct executable file mappings of pid, each as a
// path the tracer can open (through /proc/PID/root when the process lives in
// another mount namespace).
func mappedFiles(pid int) ([]string, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, fmt.Errorf("read maps of pid %d: %w", pid, err)
	}
	defer f.Close()
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || !strings.Contains(fields[1], "x") {
			continue
		}
		path := strings.Join(fields[5:], " ")
		if !strings.HasPrefix(path, "/") || strings.HasSuffix(path, "(deleted)") || seen[path] {
			continue
		}
		seen[path] = true
		inode, _ := strconv.ParseUint(fields[4], 10, 64)
		out = append(out, openablePath(pid, path, inode))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read maps of pid %d: %w", pid, err)
	}
	return out, nil
}

// openablePath returns path when it names the mapped inode here, else the same
// path under /proc/PID/root.
func openablePath(pid int, path string, inode uint64) string {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err == nil && (inode == 0 || st.Ino == inode) {
		return path
	}
	return fmt.Sprintf("/proc/%d/root%s", pid, path)
}

// TargetForFile says whether the ELF file at path holds an interpreter's write
// function and where. Only files that can be interpreters are opened:
// libpython*, libnode*, libuv*, and executables named python* or node*;
// each without blocking and only when it is a regular file.
func TargetForFile(path string) (Target, bool) {
	if _, ok := interpSymbol(path); !ok {
		return Target{}, false
	}
	f, err := loader.OpenProgramFile(path, true)
	if err != nil {
		return Target{}, false
	}
	defer f.Close()
	return targetForOpenFile(f, path)
}

// interpSymbol returns the write function an interpreter file named like
// path would hold.
func interpSymbol(path string) (string, bool) {
	base := filepath.Base(path)
	switch {
	case strings.HasPrefix(base, "libpython"), strings.HasPrefix(base, "python"):
		return cpythonWriteSym, true
	case strings.HasPrefix(base, "libnode"), strings.HasPrefix(base, "libuv"),
		strings.HasPrefix(base, "node") || base == "nodejs":
		return nodeWriteSym, true
	}
	return "", false
}

// targetForOpenFile is TargetForFile for a file already open (f), named
// path.
func targetForOpenFile(f *os.File, path string) (Target, bool) {
	s, ok := interpSymbol(path)
	if !ok {
		return Target{}, false
	}
	dev, ino, err := loader.FileID(f)
	if err != nil {
		return Target{}, false
	}
	off, err := symbolOffset(f, path, s)
	if err != nil {
		return Target{}, false
	}
	in := CPython
	if s == nodeWriteSym {
		in = Node
	}
	return Target{Interp: in, Path: path, Symbol: s, Offset: off, Dev: dev, Ino: ino}, true
}

type symKey struct {
	dev, ino uint64
	mtime    int64
	sym      string
}

type symResult struct {
	off uint64
	err error
}

var symCache sync.Map // symKey → symResult

// symbolOffset returns the file offset of the defined function sym in the
// open ELF file f (named path), from .dynsym first and then .symtab.
// Results are cached by inode and modification time.
func symbolOffset(f *os.File, path, sym string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return 0, fmt.Errorf("stat %s: %w", path, err)
	}
	key := symKey{uint64(st.Dev), st.Ino, st.Mtim.Nano(), sym}
	if r, ok := symCache.Load(key); ok {
		return r.(symResult).off, r.(symResult).err
	}
	off, err := lookupSymbolOffset(f, path, sym)
	symCache.Store(key, symResult{off, err})
	return off, err
}

func lookupSymbolOffset(file *os.File, path, sym string) (uint64, error) {
	f, err := elf.NewFile(file)
	if err != nil {
		return 0, fmt.Errorf("open ELF %s: %w", path, err)
	}
	if v, ok := dynsymValue(f, sym); ok {
		return fileOffset(f, path, sym, v)
	}
	for _, load := range []func() ([]elf.Symbol, error){f.DynamicSymbols, f.Symbols} {
		syms, err := load()
		if err != nil {
			continue
		}
		for _, s := range syms {
			if s.Name != sym || elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Section == elf.SHN_UNDEF || s.Value == 0 {
				continue
			}
			return fileOffset(f, path, sym, s.Value)
		}
	}
	return 0, fmt.Errorf("%s does not define %s", path, sym)
}

// fileOffset turns a symbol's address into its offset in the file.
func fileOffset(f *elf.File, path, sym string, v uint64) (uint64, error) {
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 && p.Vaddr <= v && v < p.Vaddr+p.Memsz {
			return v - p.Vaddr + p.Off, nil
		}
	}
	return 0, fmt.Errorf("%s in %s is outside every executable segment", sym, path)
}

// dynsymValue finds the defined function sym in .dynsym without decoding
// every symbol: node's .dynsym holds some 60 000 of them, and decoding them
// all takes about 80 ms, during which a followed process waits at its exec.
// It looks for the name in .dynstr and then for the entry that points at it.
func dynsymValue(f *elf.File, sym string) (uint64, bool) {
	if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB {
		return 0, false
	}
	ds, dstr := f.Section(".dynsym"), f.Section(".dynstr")
	if ds == nil || dstr == nil {
		return 0, false
	}
	strs, err := dstr.Data()
	if err != nil {
		return 0, false
	}
	needle := append(append([]byte{0}, sym...), 0)
	i := bytes.Index(strs, needle)
	if i < 0 {
		return 0, false
	}
	name := uint32(i + 1)
	syms, err := ds.Data()
	if err != nil {
		return 0, false
	}
	const entry = 24 // Elf64_Sym
	for off := 0; off+entry <= len(syms); off += entry {
		e := syms[off : off+entry]
		if binary.LittleEndian.Uint32(e[0:4]) != name {
			continue
		}
		info, shndx := e[4], elf.SectionIndex(binary.LittleEndian.Uint16(e[6:8]))
		value := binary.LittleEndian.Uint64(e[8:16])
		if elf.ST_TYPE(info) == elf.STT_FUNC && shndx != elf.SHN_UNDEF && value != 0 {
			return value, true
		}
	}
	return 0, false
}
