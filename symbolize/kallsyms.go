package symbolize

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unsafe"
)

// kernelModule is the Module of frames in the kernel image itself.
const kernelModule = "[kernel.kallsyms]"

// ksym is one kernel text symbol.
type ksym struct {
	addr   uint64
	name   string
	module string // "" for the kernel image
}

// kernelSymbols is a sorted table of kernel text symbols, stored compactly:
// 16 bytes a symbol beside its name's bytes (a ksym is 40), for the 120 000
// text symbols of a kernel.
type kernelSymbols struct {
	syms    []ksymEntry
	names   [][]byte // the names, in chunks of nameChunk bytes, never grown
	modules []string // by index; modules[0] is "" (the kernel image)
}

// nameChunk is the size of a chunk of names: growing one slice instead
// would copy the 3 MiB of names about five times over.
const nameChunk = 1 << 16

// ksymEntry is one symbol of kernelSymbols: its name is nameLen bytes at
// name%nameChunk in chunk name/nameChunk, and its module modules[module].
type ksymEntry struct {
	addr    uint64
	name    uint32
	nameLen uint16
	module  uint16
}

// len is the number of symbols.
func (k *kernelSymbols) len() int { return len(k.syms) }

// at returns symbol i.
func (k *kernelSymbols) at(i int) ksym {
	e := k.syms[i]
	c, at := e.name/nameChunk, e.name%nameChunk
	return ksym{addr: e.addr, name: string(k.names[c][at : at+uint32(e.nameLen)]), module: k.modules[e.module]}
}

// add appends a symbol; false when the table cannot hold it (a name of 64
// KiB, 4 GiB of names, 64 Ki modules), which no kernel has.
func (k *kernelSymbols) add(s ksym, moduleIndex map[string]uint16) bool {
	if len(s.name) >= nameChunk {
		return false
	}
	if n := len(k.names); n == 0 || len(k.names[n-1])+len(s.name) > nameChunk {
		if n >= 1<<32/nameChunk {
			return false
		}
		k.names = append(k.names, make([]byte, 0, nameChunk))
	}
	if len(k.modules) == 0 {
		k.modules = append(k.modules, "")
	}
	m, ok := moduleIndex[s.module]
	if !ok && s.module != "" {
		if len(k.modules) > 0xffff {
			return false
		}
		m = uint16(len(k.modules))
		k.modules = append(k.modules, strings.Clone(s.module))
		moduleIndex[k.modules[m]] = m
	}
	c := len(k.names) - 1
	k.syms = append(k.syms, ksymEntry{addr: s.addr, name: uint32(c*nameChunk + len(k.names[c])), nameLen: uint16(len(s.name)), module: m})
	k.names[c] = append(k.names[c], s.name...)
	return true
}

// loadKallsyms reads a kallsyms file.
func loadKallsyms(path string) (*kernelSymbols, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open kallsyms: %w", err)
	}
	defer f.Close()
	k, err := parseKallsyms(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return k, nil
}

// maxKallsymsBytes bounds what is read of a kallsyms file (this machine's
// is 5 MiB).
const maxKallsymsBytes = 256 << 20

// parseKallsyms keeps the text symbols (types t and T) of a kallsyms file:
// "ffffffff81000000 T _stext" or "ffffffffc0a01000 t foo\t[mod]".
// Addresses that are all zero (kptr_restrict) are dropped. The file is read
// a buffer at a time, and only the kept names are copied, into one byte
// slice (kernelSymbols).
func parseKallsyms(r io.Reader) (*kernelSymbols, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, maxKallsymsBytes), 64<<10)
	k := &kernelSymbols{syms: make([]ksymEntry, 0, 1<<17)} // 2 MiB: 122 000 symbols here
	modules := map[string]uint16{}
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// No kallsyms line is 64 KiB long: skip what is left of it.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			line = nil
		}
		if n := len(line); n > 0 && line[n-1] == '\n' {
			line = line[:n-1]
		}
		if len(line) > 0 {
			// The line is only looked at until the next read: add copies
			// what it keeps.
			if ks, ok := parseKallsymsLine(unsafe.String(&line[0], len(line))); ok {
				k.add(ks, modules)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if !slices.IsSortedFunc(k.syms, compareKsym) {
		slices.SortStableFunc(k.syms, compareKsym)
	}
	return k, nil
}

func compareKsym(a, b ksymEntry) int { return cmp.Compare(a.addr, b.addr) }

// parseKallsymsLine reads one line as strings.Fields would split it:
// address, a one-letter type, the name, and the module in brackets.
func parseKallsymsLine(line string) (ksym, bool) {
	addr, rest := nextField(line)
	typ, rest := nextField(rest)
	if len(typ) != 1 || (typ[0] != 't' && typ[0] != 'T') {
		return ksym{}, false
	}
	name, rest := nextField(rest)
	if name == "" {
		return ksym{}, false
	}
	a, err := strconv.ParseUint(addr, 16, 64)
	if err != nil || a == 0 {
		return ksym{}, false
	}
	s := ksym{addr: a, name: name}
	if mod, _ := nextField(rest); mod != "" {
		s.module = strings.Trim(mod, "[]")
	}
	return s, true
}

// nextField returns the first run of non-space characters of s and what
// follows it.
func nextField(s string) (field, rest string) {
	i := 0
	for i < len(s) && isKallsymsSpace(s[i]) {
		i++
	}
	j := i
	for j < len(s) && !isKallsymsSpace(s[j]) {
		j++
	}
	return s[i:j], s[j:]
}

func isKallsymsSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'
}

// maxKernelSymbolSize bounds how far past the last symbol, or past a module's
// last symbol, an address is still attributed to it.
const maxKernelSymbolSize = 1 << 20

// lookup returns the symbol covering addr.
func (k *kernelSymbols) lookup(addr uint64) (ksym, bool) {
	i := sort.Search(len(k.syms), func(i int) bool { return k.syms[i].addr > addr }) - 1
	if i < 0 {
		return ksym{}, false
	}
	if addr-k.syms[i].addr > maxKernelSymbolSize {
		return ksym{}, false
	}
	return k.at(i), true
}

// frame resolves a kernel address.
func (k *kernelSymbols) frame(addr uint64) Frame {
	f := Frame{Addr: addr, Kind: Kernel, Module: kernelModule}
	if k == nil {
		return f
	}
	s, ok := k.lookup(addr)
	if !ok {
		return f
	}
	f.Function = s.name
	if s.module != "" {
		f.Module = "[" + s.module + "]"
	}
	return f
}
