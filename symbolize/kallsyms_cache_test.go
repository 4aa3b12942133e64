package symbolize

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// kallsymsOdd has symbols at one address (the last wins), modules loaded
// and not (a BPF program), and gaps wider than maxKernelSymbolSize.
const kallsymsOdd = "ffffffff81000000 T _stext\n" +
	"ffffffff81000100 t dup_a\n" +
	"ffffffff81000100 t dup_b\n" +
	"ffffffff81000200 d data\n" +
	"ffffffff81000300 T late\n" +
	"ffffffff82000000 T far_after_gap\n" +
	"ffffffff82000010 T _etext_sym\n" +
	"ffffffffc0001000 t mod_one\t[mymod]\n" +
	"ffffffffc0001100 t mod_two\t[mymod]\n" +
	"ffffffffc0001200 t bpf_prog_1_f\t[bpf]\n" +
	"ffffffffc0001300 t bpf_prog_2_g\t[bpf]\n" +
	"ffffffffc0002000 t other_one\t[othermod]\n" +
	"ffffffffc0002100 t other_two\t[othermod]\n"

// probeAddrs are every symbol's address of k, one byte either side, the
// middle of each gap, and both ends.
func probeAddrs(k *kernelSymbols) []uint64 {
	addrs := []uint64{1, 0xffffffffffffff00}
	for i := range k.len() {
		a := k.at(i).addr
		addrs = append(addrs, a-1, a, a+1)
		if i+1 < k.len() {
			addrs = append(addrs, a+(k.at(i+1).addr-a)/2)
		}
	}
	slices.Sort(addrs)
	return slices.Compact(addrs)
}

// The cache names an address only where the table of kallsyms gives the
// same frame, and names every address between two symbols of the kernel
// image or of one loaded module; never one that code outside the cache
// (BPF programs, modules not listed) could hold.
func TestKernelCacheMatchesKallsyms(t *testing.T) {
	var key [32]byte
	key[0] = 7
	live, _ := os.ReadFile("/proc/kallsyms")
	for name, tc := range map[string]struct {
		text    string
		modules map[string]bool
	}{
		"odd":  {kallsymsOdd, map[string]bool{"mymod": true}},
		"proc": {string(live), runningModules()},
	} {
		t.Run(name, func(t *testing.T) {
			table, err := parseKallsyms(strings.NewReader(tc.text))
			if err != nil {
				t.Fatal(err)
			}
			if name == "proc" && table.len() < 1000 {
				t.Skipf("only %d text symbols in /proc/kallsyms: run as root", table.len())
			}
			b := encodeKernelCache(table, key, tc.modules)
			c := parseKernelCache(bytes.NewReader(b), int64(len(b)), key)
			if c == nil {
				t.Fatal("the encoded cache does not read back")
			}
			answered := 0
			for _, a := range probeAddrs(table) {
				f, ok := c.frame(a)
				want := table.frame(a)
				if ok {
					answered++
					if f != want {
						t.Fatalf("%#x: cache %+v, kallsyms %+v", a, f, want)
					}
				}
				if ok && (want.Module == "[bpf]" || want.Module == "[othermod]") {
					t.Fatalf("%#x: named from the cache in %s", a, want.Module)
				}
			}
			if name == "odd" {
				for a, fn := range map[uint64]string{0xffffffff81000150: "dup_b", 0xffffffff81000301: "late", 0xffffffffc0001050: "mod_one"} {
					if f, ok := c.frame(a); !ok || f.Function != fn {
						t.Errorf("%#x: %+v %v, want %s", a, f, ok, fn)
					}
				}
				if f, ok := c.frame(0xffffffff81800000); !ok || f.Function != "" {
					t.Errorf("past maxKernelSymbolSize: %+v %v", f, ok)
				}
				for _, a := range []uint64{0xffffffffc0001150, 0xffffffffc0001250, 0xffffffff82000020, 0xffffffff80000000} {
					if f, ok := c.frame(a); ok {
						t.Errorf("%#x named from the cache: %+v", a, f)
					}
				}
			}
			if name == "proc" && answered < table.len() {
				t.Fatalf("the cache named %d of %d probes", answered, table.len())
			}
		})
	}
}

// cachedSymbolizer reads kallsyms from path with the cache in dir under key.
func cachedSymbolizer(path, dir string, key byte) *Symbolizer {
	s := New(WithKallsyms(path), WithKernelCache(dir))
	s.kernelCacheKey = func() (k [32]byte, ok bool) { k[0] = key; return k, true }
	s.loadedModules = func() map[string]bool { return map[string]bool{"mymod": true} }
	return s
}

// A session writes the cache; the next one with the same key names its
// addresses without reading kallsyms; a new key (reboot, module loaded)
// reads kallsyms again and rewrites the cache; an address the cache cannot
// answer for is read from kallsyms.
func TestKernelCacheStaleRebuilt(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	path := filepath.Join(dir, "kallsyms")
	if err := os.WriteFile(path, []byte(kallsymsOdd), 0o644); err != nil {
		t.Fatal(err)
	}
	chains := [][]uint64{{0xffffffff81000150, 0xffffffffc0001051}}
	s := cachedSymbolizer(path, cache, 1)
	s.PrepareKernel(chains)
	if st := s.KernelStack(chains[0]); st[0].Function != "dup_b" || st[1].Function != "mod_one" || st[1].Module != "[mymod]" {
		t.Fatalf("first session: %+v", st)
	}
	s.Close()
	fi, err := os.Stat(filepath.Join(cache, kernelCacheName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache file: %v %v", fi, err)
	}

	// Same key: kallsyms is not read (it is gone).
	if err := os.Rename(path, path+".away"); err != nil {
		t.Fatal(err)
	}
	s = cachedSymbolizer(path, cache, 1)
	s.PrepareKernel(chains)
	if st := s.KernelStack(chains[0]); st[0].Function != "dup_b" || st[1].Function != "mod_one" || s.KernelErr() != nil || len(s.Warnings()) != 0 {
		t.Fatalf("from the cache: %+v, %v %q", st, s.KernelErr(), s.Warnings())
	}
	// An address in a BPF program is read from kallsyms: gone, so a warning.
	if f := s.Kernel(0xffffffffc0001250); f.Function != "" || s.KernelErr() == nil {
		t.Fatalf("BPF address without kallsyms: %+v %v", f, s.KernelErr())
	}
	s.Close()

	// Another key: the cache is stale, kallsyms (now other symbols) is read.
	moved := strings.ReplaceAll(kallsymsOdd, "dup_b", "dup_moved")
	if err := os.WriteFile(path, []byte(moved), 0o644); err != nil {
		t.Fatal(err)
	}
	s = cachedSymbolizer(path, cache, 2)
	s.PrepareKernel(chains)
	if st := s.KernelStack(chains[0]); st[0].Function != "dup_moved" {
		t.Fatalf("stale cache used: %+v", st)
	}
	s.Close()
	b, err := os.ReadFile(filepath.Join(cache, kernelCacheName))
	if err != nil || b[8] != 2 {
		t.Fatalf("cache not rewritten for the new key: %v", err)
	}
	s = cachedSymbolizer(path, cache, 2)
	if f := s.Kernel(0xffffffffc0001250); f.Function != "bpf_prog_1_f" || f.Module != "[bpf]" {
		t.Fatalf("BPF address: %+v", f)
	}
	s.Close()
}

// A corrupt, truncated, foreign or unreadable cache file is passed over:
// the names come from kallsyms, with no warning and no crash.
func TestKernelCacheCorrupt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kallsyms")
	if err := os.WriteFile(path, []byte(kallsymsOdd), 0o644); err != nil {
		t.Fatal(err)
	}
	table, err := parseKallsyms(strings.NewReader(kallsymsOdd))
	if err != nil {
		t.Fatal(err)
	}
	var key [32]byte
	key[0] = 1
	good := encodeKernelCache(table, key, map[string]bool{"mymod": true})
	corrupt := func(f func(b []byte) []byte) []byte { return f(slices.Clone(good)) }
	n := int(good[40]) | int(good[41])<<8 // entries in the file
	entries := kcHeaderSize + (n+kcBlock-1)/kcBlock*8
	entry := func(i, field int) int { return entries + i*kcEntrySize + field }
	for name, b := range map[string][]byte{
		"empty":     {},
		"garbage":   []byte(strings.Repeat("not a cache ", 20)),
		"truncated": good[:len(good)-3],
		"longer":    append(slices.Clone(good), 0),
		"magic":     corrupt(func(b []byte) []byte { b[0] = 'X'; return b }),
		"count":     corrupt(func(b []byte) []byte { b[40] = 0xff; b[41] = 0xff; return b }),
		"name offset": corrupt(func(b []byte) []byte {
			for i := range n { // every entry's name far outside
				b[entry(i, 11)] = 0x7f
			}
			return b
		}),
		"module index": corrupt(func(b []byte) []byte {
			for i := range n {
				b[entry(i, 15)] = 0x40
			}
			return b
		}),
		"index": corrupt(func(b []byte) []byte {
			for i := kcHeaderSize; i < entries; i++ {
				b[i] = 0xff
			}
			return b
		}),
		"unsorted": corrupt(func(b []byte) []byte {
			for i := range n {
				b[entry(i, 7)] = byte(i * 37)
			}
			return b
		}),
	} {
		t.Run(name, func(t *testing.T) {
			cache := t.TempDir()
			if err := os.WriteFile(filepath.Join(cache, kernelCacheName), b, 0o600); err != nil {
				t.Fatal(err)
			}
			s := cachedSymbolizer(path, cache, 1)
			defer s.Close()
			addrs := probeAddrs(table)
			s.PrepareKernel([][]uint64{addrs})
			for _, a := range addrs {
				f := s.Kernel(a)
				if want := table.frame(a); f != want && name != "unsorted" {
					t.Fatalf("%#x: %+v, want %+v", a, f, want)
				}
			}
			if len(s.Warnings()) != 0 {
				t.Fatalf("warnings: %q", s.Warnings())
			}
		})
	}

	// A file others may write is not trusted.
	cache := t.TempDir()
	fake := strings.ReplaceAll(kallsymsOdd, "dup_b", "planted")
	ft, _ := parseKallsyms(strings.NewReader(fake))
	p := filepath.Join(cache, kernelCacheName)
	if err := os.WriteFile(p, encodeKernelCache(ft, key, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o666); err != nil {
		t.Fatal(err)
	}
	s := cachedSymbolizer(path, cache, 1)
	defer s.Close()
	if f := s.Kernel(0xffffffff81000150); f.Function != "dup_b" {
		t.Fatalf("a world-writable cache was used: %+v", f)
	}
}

// TestKernelCacheLive names this machine's kernel functions through the
// cache as without it.
func TestKernelCacheLive(t *testing.T) {
	cache := t.TempDir()
	var addrs []uint64
	for _, name := range []string{"schedule", "do_sys_openat2"} {
		a := kallsymsAddr(t, name)
		addrs = append(addrs, a, a+1, a+16)
	}
	for round := range 2 { // writes the cache, then reads it
		s := New(WithKernelCache(cache))
		s.PrepareKernel([][]uint64{addrs})
		for _, a := range addrs {
			if f, want := s.Kernel(a), New(WithKernelCache("")).Kernel(a); f != want || f.Function == "" {
				t.Fatalf("round %d, %#x: %+v, want %+v", round, a, f, want)
			}
		}
		if round == 1 && s.kernelRead {
			t.Fatal("kallsyms was read with the cache written")
		}
		s.Close()
	}
}
