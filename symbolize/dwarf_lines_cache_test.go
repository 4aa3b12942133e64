package symbolize

import (
	"debug/elf"
	"os"
	"path/filepath"
	"testing"
)

// libcDebug opens this machine's libc's separate debug file, skipping when
// it has none or it is not compressed DWARF 5.
func libcDebug(t *testing.T) (*elf.File, string) {
	t.Helper()
	path, libc := libcDebugPath(t)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	ef, err := elf.NewFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if programLineTable(ef) == nil {
		t.Skip("libc's debug file is not compressed DWARF 5")
	}
	return ef, libc
}

// libcDebugPath finds this machine's libc and its separate debug file,
// skipping when it has none.
func libcDebugPath(t *testing.T) (debug, libc string) {
	t.Helper()
	libc = "/usr/lib/x86_64-linux-gnu/libc.so.6"
	lf, err := elf.Open(libc)
	if err != nil {
		t.Skipf("no %s: %v", libc, err)
	}
	id := buildID(lf)
	lf.Close()
	if len(id) < 3 {
		t.Skipf("%s has no build ID", libc)
	}
	debug = filepath.Join(DefaultDebugDir, ".build-id", id[:2], id[2:]+".debug")
	if _, err := os.Stat(debug); err != nil {
		t.Skipf("libc has no separate debug file here (%v): install libc6-dbg to run this test", err)
	}
	return debug, libc
}

// The line cache gives libc's lines as the line-program path does: when it
// writes the entry, when it reads it back, and when the entry is damaged,
// stale or not the user's own (then it is passed over and written again).
func TestLineCacheLibc(t *testing.T) {
	ef, libc := libcDebug(t)
	dir := t.TempDir()
	old := lineCacheDir
	lineCacheDir = func() string { return dir }
	t.Cleanup(func() { lineCacheDir = old })

	pcs := functionAddrs(t, libc, true, 4)
	want := lookupAll(programLineTable(ef), pcs)
	path := filepath.Join(dir, buildID(ef)+".lines")
	check := func(what string, fromCache bool) {
		t.Helper()
		lt := cachedProgramLineTable(ef)
		if lt == nil {
			t.Fatalf("%s: no line table", what)
		}
		if cached := lt.secs.strSection == nil; cached != fromCache {
			t.Fatalf("%s: from the cache %v, want %v", what, cached, fromCache)
		}
		got := lookupAll(lt, pcs)
		named := 0
		for i := range pcs {
			if got[i] != want[i] {
				t.Fatalf("%s, %#x: %+v, want %+v", what, pcs[i], got[i], want[i])
			}
			if got[i].ok {
				named++
			}
		}
		if named < len(pcs)/2 {
			t.Fatalf("%s: only %d of %d addresses have a line", what, named, len(pcs))
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: entry %v %v", what, fi, err)
		}
	}
	check("first session", false)
	check("from the cache", true)

	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	stale := append([]byte(nil), good...)
	stale[20] ^= 1 // the key: another debug file with this build ID
	for name, b := range map[string][]byte{
		"empty":        {},
		"truncated":    good[:len(good)/2],
		"longer":       append(append([]byte(nil), good...), 0),
		"flipped byte": func() []byte { b := append([]byte(nil), good...); b[len(b)-100] ^= 0x40; return b }(),
		"counts":       func() []byte { b := append([]byte(nil), good...); b[41] ^= 0x10; return b }(),
		"stale key":    stale,
		"not a cache":  []byte("not a line cache file at all, but long enough to have a header of sixty-eight bytes..."),
	} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		check(name, false)
		check(name+", written again", true)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	check("world-writable", false)
}
