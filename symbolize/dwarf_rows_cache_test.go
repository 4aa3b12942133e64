package symbolize

import (
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"time"
)

// pythonLib is pyenv's libpython3.11, built with DWARF 5 left uncompressed
// and .debug_aranges (the per-unit path); skipping when it is not there.
func pythonLib(t testing.TB) string {
	t.Helper()
	const lib = "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0"
	if _, err := os.Stat(lib); err != nil {
		t.Skipf("pyenv python 3.11.7 is not installed: %v", err)
	}
	return lib
}

// withCacheDir keeps the caches by build ID in dir ("" keeps none) until
// the test ends.
func withCacheDir(t testing.TB, dir string) {
	old := lineCacheDir
	lineCacheDir = func() string { return dir }
	t.Cleanup(func() { lineCacheDir = old })
}

// everyNth keeps every nth of pcs.
func everyNth(pcs []uint64, n int) []uint64 {
	var out []uint64
	for i := 0; i < len(pcs); i += n {
		out = append(out, pcs[i])
	}
	return out
}

// The row cache gives every line the decoding gives, on libpython (the
// per-unit path) and libc's debug file (the line-program path): when the
// units' records are written, when records are added by a later session
// for units it decodes first, when they are read back, and when the file is
// damaged, stale or not the user's own (then it is passed over and written
// again, keeping the good records).
func TestRowCache(t *testing.T) {
	t.Run("libpython", func(t *testing.T) {
		lib := pythonLib(t)
		testRowCache(t, lib, everyNth(functionAddrs(t, lib, false, 2), 5))
	})
	t.Run("libc", func(t *testing.T) {
		debug, libc := libcDebugPath(t)
		testRowCache(t, debug, functionAddrs(t, libc, true, 4))
	})
}

func testRowCache(t *testing.T, path string, pcs []uint64) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// A session: a line table read through the cache in dir, looked up.
	session := func(dir string, pcs []uint64) ([]lineAt, *lineTable) {
		t.Helper()
		withCacheDir(t, dir)
		lt := readLineTable(f)
		if lt == nil {
			t.Fatal("no line table")
		}
		defer lt.close()
		return lookupAll(lt, pcs), lt
	}
	want, plain := session("", pcs)
	if plain.cache != nil {
		t.Fatal("a cache without a cache directory")
	}
	named := 0
	for _, w := range want {
		if w.ok {
			named++
		}
	}
	if named < len(pcs)/2 {
		t.Fatalf("only %d of %d addresses have a line", named, len(pcs))
	}

	dir := t.TempDir()
	rows := filepath.Join(dir, fileBuildID(t, f)+".rows")
	stat := func() (size int64, ino uint64) {
		t.Helper()
		fi, err := os.Stat(rows)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("entry mode %v", fi.Mode())
		}
		return fi.Size(), fi.Sys().(*syscall.Stat_t).Ino
	}
	check := func(what string, pcs []uint64, want []lineAt) *lineTable {
		t.Helper()
		got, lt := session(dir, pcs)
		for i := range pcs {
			if got[i] != want[i] {
				t.Fatalf("%s, %#x: %+v, want %+v", what, pcs[i], got[i], want[i])
			}
		}
		if lt.cache == nil {
			t.Fatalf("%s: no row cache", what)
		}
		return lt
	}

	half := len(pcs) / 2
	check("first session, half the addresses", pcs[:half], want[:half])
	size1, ino1 := stat()
	check("second session, all the addresses", pcs, want)
	size2, ino2 := stat()
	if ino2 != ino1 || size2 <= size1 {
		t.Fatalf("the units decoded in the second session were not appended: inode %d then %d, size %d then %d", ino1, ino2, size1, size2)
	}
	lt := check("from the cache", pcs, want)
	if size, _ := stat(); size != size2 {
		t.Fatalf("a session that decoded nothing new changed the file: size %d, was %d", size, size2)
	}
	// Every unit read from the file is the one decoding gives.
	if len(lt.rows) < 2 {
		t.Fatalf("only %d units looked up", len(lt.rows))
	}
	for unit, u := range lt.rows {
		if d := plain.decode(unit); !reflect.DeepEqual(u, d) {
			t.Fatalf("unit %d: cached %d rows %d files, decoded %d rows %d files", unit, len(u.rows), len(u.files), len(d.rows), len(d.files))
		}
	}
	if len(lt.cache.records) != len(lt.rows) {
		t.Fatalf("%d records for %d units", len(lt.cache.records), len(lt.rows))
	}

	good, err := os.ReadFile(rows)
	if err != nil {
		t.Fatal(err)
	}
	// The offset of the second record's body.
	var second int64
	for _, r := range lt.cache.records {
		if r.off > rcHeaderSize+rcRecordHead && (second == 0 || r.off < second) {
			second = r.off
		}
	}
	flip := func(at int64) []byte {
		b := append([]byte(nil), good...)
		b[at] ^= 0x40
		return b
	}
	damaged := []struct {
		name string
		b    []byte
	}{
		{"empty", []byte{}},
		{"header only", good[:rcHeaderSize]},
		{"cut in a record", good[:second+5]},
		{"a byte more", append(append([]byte(nil), good...), 0)},
		{"flipped body byte", flip(second + 3)},
		{"flipped record head", flip(second - rcRecordHead + 8)},
		{"last body byte", flip(int64(len(good) - 1))},
		{"stale key", flip(20)},
		{"another version", flip(7)},
	}
	for _, d := range damaged {
		if err := os.WriteFile(rows, d.b, 0o600); err != nil {
			t.Fatal(err)
		}
		check(d.name, pcs, want)
		size, _ := stat()
		check(d.name+", written again", pcs, want)
		if again, _ := stat(); again != size {
			t.Fatalf("%s: the file written again changed in the next session: %d, then %d", d.name, size, again)
		}
	}
	if err := os.Chmod(rows, 0o666); err != nil {
		t.Fatal(err)
	}
	check("world-writable", pcs, want)
	stat() // written again, the user's own
}

// fileBuildID is the build ID of the ELF file f.
func fileBuildID(t *testing.T, f *os.File) string {
	t.Helper()
	o, err := openObject(f, f.Name())
	if err != nil || o.buildID == "" {
		t.Fatalf("no build ID: %v", err)
	}
	return o.buildID
}

// A session that decodes nothing new does not touch an entry used today;
// one last used more than a day ago is marked used, and one not used for
// the time the caches keep entries is removed when another is written.
func TestRowCacheAge(t *testing.T) {
	lib := pythonLib(t)
	dir := t.TempDir()
	withCacheDir(t, dir)
	f, err := os.Open(lib)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pcs := everyNth(functionAddrs(t, lib, false, 1), 200)
	session := func() {
		lt := readLineTable(f)
		lookupAll(lt, pcs)
		lt.close()
	}
	session()
	entries, _ := filepath.Glob(filepath.Join(dir, "*.rows"))
	if len(entries) != 1 {
		t.Fatalf("entries %v", entries)
	}
	rows := entries[0]
	mtime := func() time.Time {
		fi, err := os.Stat(rows)
		if err != nil {
			t.Fatal(err)
		}
		return fi.ModTime()
	}
	hourAgo := time.Now().Add(-time.Hour).Truncate(time.Second)
	os.Chtimes(rows, hourAgo, hourAgo)
	session()
	if !mtime().Equal(hourAgo) {
		t.Fatalf("an entry used an hour ago was touched: %v", mtime())
	}
	weekAgo := time.Now().Add(-7 * 24 * time.Hour)
	os.Chtimes(rows, weekAgo, weekAgo)
	session()
	if time.Since(mtime()) > time.Hour {
		t.Fatalf("an entry used a week ago was not marked used: %v", mtime())
	}

	stale := filepath.Join(dir, "0000.rows")
	if err := os.WriteFile(stale, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	longAgo := time.Now().Add(-31 * 24 * time.Hour)
	os.Chtimes(stale, longAgo, longAgo)
	os.Remove(rows) // the next session writes a new entry
	session()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("an entry not used for 31 days was kept: %v", err)
	}
	if _, err := os.Stat(rows); err != nil {
		t.Fatalf("the entry written: %v", err)
	}
}

// A cache directory that cannot be written costs nothing but the caching:
// the lines are those decoding gives, and after a failed write nothing more
// is tried in the session.
func TestRowCacheUnwritable(t *testing.T) {
	lib := pythonLib(t)
	f, err := os.Open(lib)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pcs := everyNth(functionAddrs(t, lib, false, 1), 300)
	withCacheDir(t, "")
	plain := readLineTable(f)
	want := lookupAll(plain, pcs)
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	withCacheDir(t, filepath.Join(notDir, "cache"))
	lt := readLineTable(f)
	got := lookupAll(lt, pcs)
	if !reflect.DeepEqual(got, want) {
		t.Fatal("the lines differ when the cache cannot be written")
	}
	if lt.cache == nil || !lt.cache.unwritable || len(lt.rows) < 2 {
		t.Fatalf("cache %+v after %d units", lt.cache, len(lt.rows))
	}
}
