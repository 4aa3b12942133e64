package symbolize

import (
	"bufio"
	"fmt"
	"io"
	"os"
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

// parseKallsyms keeps the text symbols (types t and T) of a kallsyms file:
// "ffffffff81000000 T _stext" or "ffffffffc0a01000 t foo\t[mod]".
// Addresses that are all zero (kptr_restrict) are dropped.
func parseKallsyms(r io.Reader) (*kernelSymbols, error) {
	k := &kernelSymbols{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) < 3 || len(fields[1]) != 1 {
			continue
		}
		if t := fields[1][0]; t != 't' && t != 'T' {
			continue
		}
		addr, err := strconv.ParseUint(fields[0], 16, 64)
		if err != nil || addr == 0 {
			continue
		}
		s := ksym{addr: addr, name: fields[2]}
		if len(fields) >= 4 {
			s.module = strings.Trim(fields[3], "[]")
		}
		k.syms = append(k.syms, s)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.SliceStable(k.syms, func(i, j int) bool { return k.syms[i].addr < k.syms[j].addr })
	return k, nil
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
