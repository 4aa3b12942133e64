package symbolize

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// kernelModule is the Module of frames in the kernel image itself.
const kernelModule = "[kernel.kallsyms]"

// ksym is one kernel text symbol.
type ksym struct {
	addr   uint64
	name   string
	module string // "" for the kernel image
}

// kernelSymbols is a sorted table of kernel text symbols.
type kernelSymbols struct {
	syms []ksym
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
// whole and names are substrings of one copy of it: with 120 000 symbols,
// splitting every line into fields cost 244 000 allocations (the kernel
// formatting the file is most of what remains: about 35 ms).
func parseKallsyms(r io.Reader) (*kernelSymbols, error) {
	data, err := readAllSized(io.LimitReader(r, maxKallsymsBytes), 8<<20)
	if err != nil {
		return nil, err
	}
	text := string(data)
	k := &kernelSymbols{syms: make([]ksym, 0, strings.Count(text, "\n")/2+1)}
	for len(text) > 0 {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		if s, ok := parseKallsymsLine(line); ok {
			k.syms = append(k.syms, s)
		}
	}
	if !slices.IsSortedFunc(k.syms, compareKsym) {
		slices.SortStableFunc(k.syms, compareKsym)
	}
	return k, nil
}

// readAllSized is io.ReadAll starting with a buffer of size bytes, so that
// a file of about that size is read without growing (and clearing) the
// buffer again and again.
func readAllSized(r io.Reader, size int) ([]byte, error) {
	b := make([]byte, 0, size)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

func compareKsym(a, b ksym) int { return cmp.Compare(a.addr, b.addr) }

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
	s := k.syms[i]
	if addr-s.addr > maxKernelSymbolSize {
		return ksym{}, false
	}
	return s, true
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
