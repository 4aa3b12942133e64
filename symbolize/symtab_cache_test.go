package symbolize

import (
	"debug/elf"
	"os"
	"path/filepath"
	"testing"
)

// The symbol cache gives the symbols reading the tables gives, and names
// every address alike: for libpython, for libc with its separate debug file
// (whose names come from a second file), and for node (79 000 function
// symbols, whose entry must stay within its bound); when the entry is
// written, read back, and damaged, stale or not the user's own (then passed
// over and written again).
func TestSymbolCache(t *testing.T) {
	t.Run("libpython", func(t *testing.T) {
		lib := pythonLib(t)
		testSymbolCache(t, lib, false, functionAddrs(t, lib, false, 2))
	})
	t.Run("libc", func(t *testing.T) {
		_, libc := libcDebugPath(t)
		testSymbolCache(t, libc, true, functionAddrs(t, libc, true, 2))
	})
	t.Run("node", func(t *testing.T) {
		const node = "/usr/bin/node"
		if _, err := os.Stat(node); err != nil {
			t.Skipf("no node: %v", err)
		}
		testSymbolCache(t, node, false, everyNth(functionAddrs(t, node, false, 1), 100))
	})
}

func testSymbolCache(t *testing.T, path string, withDebug bool, pcs []uint64) {
	s := New()
	defer s.Close()
	// A session: the file opened afresh, its symbols read through the cache
	// in dir, its addresses named.
	session := func(dir string) (*object, []string) {
		t.Helper()
		withCacheDir(t, dir)
		o, err := openFile(path, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { o.close() })
		if withDebug {
			s.attachDebugFile(o)
			if o.debug == nil {
				t.Fatalf("%s: no separate debug file", path)
			}
		}
		names := make([]string, len(pcs))
		for i, pc := range pcs {
			if sym, ok := o.lookup(pc); ok {
				names[i] = sym.name
			}
		}
		return o, names
	}
	plain, want := session("")
	if len(plain.syms) < minCachedSymbols {
		t.Fatalf("%s: %d symbols, too few to be cached", path, len(plain.syms))
	}
	if withDebug {
		fromDebug := 0
		for _, sym := range plain.syms {
			if sym.src > debugSrc {
				fromDebug++
			}
		}
		if fromDebug == 0 {
			t.Fatal("no symbol came from the debug file: the test proves nothing about it")
		}
	}
	dir := t.TempDir()
	entry := filepath.Join(dir, plain.buildID+".syms")
	check := func(what string, fromCache bool) {
		t.Helper()
		files, key := symCacheFiles(t, plain)
		_, cached := readSymCache(entry, key, files)
		if cached != fromCache {
			t.Fatalf("%s: in the cache %v, want %v", what, cached, fromCache)
		}
		o, got := session(dir)
		for i := range pcs {
			if got[i] != want[i] {
				t.Fatalf("%s, %#x: %q, want %q", what, pcs[i], got[i], want[i])
			}
		}
		if len(o.syms) != len(plain.syms) {
			t.Fatalf("%s: %d symbols, want %d", what, len(o.syms), len(plain.syms))
		}
		for i, sym := range o.syms {
			if w := plain.syms[i]; sym.addr != w.addr || sym.size != w.size || sym.name != w.name || sym.src != w.src || sym.nameOff != w.nameOff {
				t.Fatalf("%s: symbol %d %+v, want %+v", what, i, sym, w)
			}
		}
		fi, err := os.Stat(entry)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: entry %v %v", what, fi, err)
		}
		if size := int64(scHeaderSize + len(plain.syms)*scEntrySize); fi.Size() != size {
			t.Fatalf("%s: entry of %d bytes for %d symbols", what, fi.Size(), len(plain.syms))
		}
	}
	check("first session", false)
	check("from the cache", true)

	good, err := os.ReadFile(entry)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(at int) []byte {
		b := append([]byte(nil), good...)
		b[at] ^= 0x40
		return b
	}
	for _, d := range []struct {
		name string
		b    []byte
	}{
		{"empty", []byte{}},
		{"truncated", good[:len(good)/2]},
		{"a byte more", append(append([]byte(nil), good...), 0)},
		{"flipped byte", flip(len(good) - 5)},
		{"count", flip(41)},
		{"stale key", flip(20)},
		{"another version", flip(7)},
	} {
		if err := os.WriteFile(entry, d.b, 0o600); err != nil {
			t.Fatal(err)
		}
		check(d.name, false)
		check(d.name+", written again", true)
	}
	if err := os.Chmod(entry, 0o666); err != nil {
		t.Fatal(err)
	}
	check("world-writable", false)
}

// symCacheFiles are the ELF files of o and its debug file, and the key of
// its symbol cache entry.
func symCacheFiles(t *testing.T, o *object) ([2]*elf.File, [32]byte) {
	t.Helper()
	var files [2]*elf.File
	var err error
	if files[0], err = elf.NewFile(o.ra); err != nil {
		t.Fatal(err)
	}
	if o.debug != nil {
		if files[1], err = elf.NewFile(o.debug.ra); err != nil {
			t.Fatal(err)
		}
	}
	return files, symCacheKey(o.buildID, files)
}
