package cpython

import (
	"bufio"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/tracer-dev/tracer/loader"
)

// ErrNoPython says a process has no CPython interpreter mapped.
var ErrNoPython = errors.New("no CPython interpreter mapped")

// UnsupportedError says an interpreter was found whose frames the
// reader cannot walk; its samples keep their native frames only.
type UnsupportedError struct {
	Path    string
	Version string
	Reason  string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("python %s (%s): %s; its samples show native frames only (Python frames are read for CPython 3.8 to 3.13)",
		e.Version, e.Path, e.Reason)
}

// File is one interpreter ELF (libpython or a python executable that
// holds the interpreter) and the layout of its version.
type File struct {
	Path    string
	Version string // "3.11.7", or "3.11" when only the minor is known
	Minor   int
	Layout  Layout
	Source  string // where the offsets came from, e.g. "dwarf+PyCode_Type members"

	runtimeSym uint64   // link-time address of _PyRuntime
	loads      []ptLoad // the file's PT_LOAD segments
	textDelta  uint64   // vaddr minus file offset (page aligned) of the executable PT_LOAD
	hasText    bool     // the file has an executable PT_LOAD
}

// ptLoad is one PT_LOAD segment, page aligned.
type ptLoad struct{ off, vaddr, size uint64 }

// Process is the interpreter of one process: its file, and where the
// file's _PyRuntime sits in that process.
type Process struct {
	PID     int
	Runtime uint64 // address of _PyRuntime
	*File
}

// pythonName matches the file names of CPython 3 interpreters.
var pythonName = regexp.MustCompile(`^(?:lib)?python3\.(\d+)[a-z]*(?:\.so(?:\.[0-9.]+)?)?$`)

// IsInterpreterPath says whether a mapped file's name looks like a CPython 3
// interpreter (libpython3.X.so… or python3.X), the files Inspect reads.
func IsInterpreterPath(path string) bool { return pythonName.MatchString(filepath.Base(path)) }

var pythonFiles loader.FileCache[*File]

// Inspect reads an interpreter file's version and layout. Results are
// cached by path, size and modification time. It returns ErrNoPython when the
// file holds no interpreter (no _PyRuntime symbol) and an
// *UnsupportedError for versions the reader does not cover.
func Inspect(path string) (*File, error) {
	return pythonFiles.Get(path, "inspect python", inspect)
}

func inspect(path string) (*File, error) {
	ef, file, err := loader.OpenELFFile(path)
	if err != nil {
		return nil, fmt.Errorf("inspect python %s: %w", path, err)
	}
	defer file.Close()
	syms := elfSymbols(ef)
	runtime, ok := syms["_PyRuntime"]
	if !ok {
		return nil, ErrNoPython
	}
	pf := &File{Path: path, runtimeSym: runtime.Value}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD {
			pf.loads = append(pf.loads, ptLoad{off: p.Off &^ 0xfff, vaddr: p.Vaddr &^ 0xfff, size: p.Filesz + p.Off&0xfff})
			if p.Flags&elf.PF_X != 0 && !pf.hasText {
				pf.textDelta, pf.hasText = p.Vaddr&^0xfff-p.Off&^0xfff, true
			}
		}
	}
	major, minor, patch, ok := pyVersion(ef, syms)
	if !ok {
		m := pythonName.FindStringSubmatch(filepath.Base(path))
		if m == nil {
			return nil, &UnsupportedError{Path: path, Version: "unknown", Reason: "its version could not be read"}
		}
		major, minor, patch = 3, atoi(m[1]), -1
	}
	pf.Minor = minor
	pf.Version = fmt.Sprintf("%d.%d", major, minor)
	if patch >= 0 {
		pf.Version += fmt.Sprintf(".%d", patch)
	}
	if major != 3 || layoutFor(minor) == 0 {
		return nil, &UnsupportedError{Path: path, Version: pf.Version, Reason: "this version is not supported"}
	}

	// Offsets: what the interpreter says about itself first, then the
	// built-in table.
	var sources []string
	switch o, err := debugOffsets(ef, runtime); {
	case err == nil:
		pf.Layout, sources = o, append(sources, "_Py_DebugOffsets")
	default:
		if o, err := cachedDWARFOffsets(ef, file, minor); err == nil {
			pf.Layout, sources = o, append(sources, "dwarf")
		} else {
			pf.Layout, _ = BuiltinLayout(minor)
			sources = append(sources, "built-in table")
		}
	}
	if code, ok := syms["PyCode_Type"]; ok {
		if members, err := memberTable(ef, code.Value); err == nil && applyCodeMembers(&pf.Layout, members) {
			sources = append(sources, "PyCode_Type members")
		}
	}
	pf.Source = strings.Join(sources, "+")
	if err := pf.Layout.validate(); err != nil {
		return nil, &UnsupportedError{Path: path, Version: pf.Version, Reason: err.Error()}
	}
	return pf, nil
}

// ForProcess places the file in a process where the mapping of file offset
// `offset` starts at address `start` (any of the file's mappings: the
// segment that holds the offset gives the load bias).
func (pf *File) ForProcess(pid int, start, offset uint64) *Process {
	off := offset &^ 0xfff
	delta := uint64(0)
	for i, l := range pf.loads {
		if i == 0 || (off >= l.off && off < l.off+l.size) {
			delta = l.vaddr - l.off
		}
	}
	bias := start - off - delta
	return &Process{PID: pid, Runtime: bias + pf.runtimeSym, File: pf}
}

// Find finds the CPython interpreter mapped into a running process,
// from /proc/PID/maps. It returns ErrNoPython when there is none.
func Find(pid int) (*Process, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, fmt.Errorf("find python in pid %d: %w", pid, err)
	}
	defer f.Close()
	type first struct{ start, offset uint64 }
	seen := map[string]first{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || !IsInterpreterPath(fields[5]) {
			continue
		}
		path := fields[5]
		addrs := strings.SplitN(fields[0], "-", 2)
		start, err1 := strconv.ParseUint(addrs[0], 16, 64)
		off, err2 := strconv.ParseUint(fields[2], 16, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		if _, ok := seen[path]; !ok {
			seen[path] = first{start, off}
			order = append(order, path)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("find python in pid %d: %w", pid, err)
	}
	// A shared libpython holds the interpreter when one is mapped; the
	// executable does then not define _PyRuntime.
	var unsupported error
	for _, path := range order {
		pf, err := Inspect(path)
		if errors.Is(err, ErrNoPython) {
			continue
		}
		if err != nil {
			unsupported = err
			continue
		}
		m := seen[path]
		return pf.ForProcess(pid, m.start, m.offset), nil
	}
	if unsupported != nil {
		return nil, unsupported
	}
	return nil, ErrNoPython
}

func elfSymbols(f *elf.File) map[string]elf.Symbol {
	m := map[string]elf.Symbol{}
	for _, list := range [][]elf.Symbol{must(f.DynamicSymbols()), must(f.Symbols())} {
		for _, s := range list {
			switch s.Name {
			case "_PyRuntime", "PyCode_Type", "Py_Version":
				if _, ok := m[s.Name]; !ok && s.Value != 0 {
					m[s.Name] = s
				}
			}
		}
	}
	return m
}

func must(syms []elf.Symbol, _ error) []elf.Symbol { return syms }

// pyVersion reads Py_Version (3.11+), the interpreter's PY_VERSION_HEX.
func pyVersion(f *elf.File, syms map[string]elf.Symbol) (major, minor, patch int, ok bool) {
	s, found := syms["Py_Version"]
	if !found {
		return 0, 0, 0, false
	}
	b, err := readVaddr(f, s.Value, 4)
	if err != nil {
		return 0, 0, 0, false
	}
	v := binary.LittleEndian.Uint32(b)
	return int(v >> 24), int(v >> 16 & 0xff), int(v >> 8 & 0xff), v>>24 == 3
}

// readVaddr reads n bytes of file data at a link-time address.
func readVaddr(f *elf.File, addr uint64, n int) ([]byte, error) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || addr < p.Vaddr || addr+uint64(n) > p.Vaddr+p.Filesz {
			continue
		}
		b := make([]byte, n)
		if _, err := p.ReadAt(b, int64(addr-p.Vaddr)); err != nil {
			return nil, err
		}
		return b, nil
	}
	return nil, fmt.Errorf("address 0x%x has no file data", addr)
}

func atoi(s string) int {
	v, _ := strconv.Atoi(s)
	return v
}
