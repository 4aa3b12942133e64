package symbolize

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// TestReadSymbolsMatchesDebugElf checks that the raw symbol table reader
// keeps exactly the symbols (address, size, name) that the former
// debug/elf-based reader kept, on real files of this machine and on the
// fixtures: executables, shared libraries, a stripped library, a C++
// program, a separate debug file, a Go test binary.
func TestReadSymbolsMatchesDebugElf(t *testing.T) {
	fx := fixtures(t)
	files := []string{fx.pie, fx.nopie, fx.lib, fx.libStripped, fx.cxx, os.Args[0], "/bin/bash"}
	for _, glob := range []string{
		"/usr/bin/node",
		"/usr/lib/x86_64-linux-gnu/libc.so.6",
		"/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
		"/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0",
		"/usr/lib/debug/.build-id/*/*.debug",
	} {
		m, _ := filepath.Glob(glob)
		if len(m) > 3 {
			m = m[:3]
		}
		files = append(files, m...)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer f.Close()
			want, werr := readSymbolsDebugElf(f)
			got, gerr := readSymbols(f)
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("errors differ: debug/elf %v, raw %v", werr, gerr)
			}
			if len(got) != len(want) {
				t.Fatalf("%d symbols, want %d", len(got), len(want))
			}
			if len(got) == 0 && path != fx.libStripped && path != os.Args[0] { // go test strips its binary
				t.Fatalf("no symbols read from %s", path)
			}
			for i := range got {
				// Where a name was read (src, nameOff) the reference does not say.
				if g, w := got[i], want[i]; g.addr != w.addr || g.size != w.size || g.name != w.name || g.demangled != w.demangled {
					t.Fatalf("symbol %d: got %+v, want %+v", i, got[i], want[i])
				}
			}
		})
	}
}

// readSymbolsDebugElf is the reader the raw one replaced, kept as the
// reference: debug/elf's Symbols and DynamicSymbols, ranked in a map,
// sorted stably.
func readSymbolsDebugElf(f *os.File) ([]symbol, error) {
	ef, err := elf.NewFile(f)
	if err != nil {
		return nil, err
	}
	var out []symbol
	var firstErr error
	rank := map[uint64]int{}
	add := func(list []elf.Symbol, base int, err error) {
		if err != nil && !errors.Is(err, elf.ErrNoSymbols) && firstErr == nil {
			firstErr = err
		}
		for _, s := range list {
			t := elf.ST_TYPE(s.Info)
			if t != elf.STT_FUNC && t != stGNUIFunc {
				continue
			}
			if s.Value == 0 || s.Section == elf.SHN_UNDEF || s.Name == "" {
				continue
			}
			r := base
			if elf.ST_BIND(s.Info) == elf.STB_GLOBAL {
				r += 2
			}
			if old, seen := rank[s.Value]; seen && old >= r {
				continue
			}
			rank[s.Value] = r
			out = append(out, symbol{addr: s.Value, size: s.Size, name: s.Name})
		}
	}
	syms, err := ef.Symbols()
	add(syms, 1, err)
	dyn, err := ef.DynamicSymbols()
	add(dyn, 0, err)
	for _, p := range pltSymbolsDebugElf(ef) {
		if _, seen := rank[p.addr]; !seen {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].addr < out[j].addr })
	dedup := out[:0]
	for i, s := range out {
		if i+1 < len(out) && out[i+1].addr == s.addr {
			continue
		}
		dedup = append(dedup, s)
	}
	return dedup, firstErr
}

func pltSymbolsDebugElf(f *elf.File) []symbol {
	if f.Machine != elf.EM_X86_64 || f.Class != elf.ELFCLASS64 {
		return nil
	}
	rela := f.Section(".rela.plt")
	if rela == nil {
		return nil
	}
	data, err := rela.Data()
	if err != nil {
		return nil
	}
	dyn, err := f.DynamicSymbols()
	if err != nil {
		return nil
	}
	base, skip := uint64(0), uint64(1)
	if sec := f.Section(".plt.sec"); sec != nil {
		base, skip = sec.Addr, 0
	} else if plt := f.Section(".plt"); plt != nil {
		base = plt.Addr
	} else {
		return nil
	}
	var out []symbol
	for i := uint64(0); (i+1)*24 <= uint64(len(data)); i++ {
		idx := binary.LittleEndian.Uint64(data[i*24+8:]) >> 32
		if idx == 0 || idx > uint64(len(dyn)) || dyn[idx-1].Name == "" {
			continue
		}
		out = append(out, symbol{addr: base + (i+skip)*pltEntrySize, size: pltEntrySize, name: dyn[idx-1].Name + "@plt"})
	}
	return out
}

// BenchmarkReadSymbolsNode reads the function symbols of /usr/bin/node
// (about 79 000 after merging .symtab and .dynsym), the first cost of naming any node frame.
func BenchmarkReadSymbolsNode(b *testing.B) {
	f, err := os.Open("/usr/bin/node")
	if err != nil {
		b.Skipf("no node here: %v", err)
	}
	defer f.Close()
	for range b.N {
		syms, err := readSymbols(f)
		if err != nil || len(syms) < 50000 {
			b.Fatalf("%d symbols, %v", len(syms), err)
		}
	}
}

// BenchmarkFunctionSymbolsNode reads node's function symbols as a session
// does, without the symbol cache ("cold") and from it ("cached").
func BenchmarkFunctionSymbolsNode(b *testing.B) {
	f, err := os.Open("/usr/bin/node")
	if err != nil {
		b.Skipf("no node here: %v", err)
	}
	defer f.Close()
	o, err := openObject(f, f.Name())
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, dir string }{{"cold", ""}, {"cached", b.TempDir()}} {
		b.Run(bc.name, func(b *testing.B) {
			withCacheDir(b, bc.dir)
			for range b.N {
				syms, err := o.functionSymbols()
				if err != nil || len(syms) < 50000 {
					b.Fatalf("%d symbols, %v", len(syms), err)
				}
			}
		})
	}
}
