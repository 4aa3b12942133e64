package cachedir

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Prune removes the files not modified for KeepUnused, and nothing else;
// Touch marks an entry used when it was last marked more than a day ago.
func TestPruneTouch(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, age time.Duration) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(-age)
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
		return p
	}
	old := write("old.rows", KeepUnused+time.Hour)
	tmp := write(".old.rows-123", KeepUnused+time.Hour) // an interrupted write
	recent := write("recent.rows", KeepUnused-time.Hour)
	used := write("used.syms", KeepUnused+time.Hour)
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(used)
	Touch(used, fi.ModTime())
	hour := write("hour.syms", time.Hour)
	fi, _ = os.Stat(hour)
	Touch(hour, fi.ModTime())
	if fi2, _ := os.Stat(hour); !fi2.ModTime().Equal(fi.ModTime()) {
		t.Errorf("an entry marked an hour ago was marked again")
	}
	Prune(dir)
	for p, kept := range map[string]bool{old: false, tmp: false, recent: true, used: true, hour: true, filepath.Join(dir, "sub"): true} {
		if _, err := os.Stat(p); (err == nil) != kept {
			t.Errorf("%s: kept %v, want %v", filepath.Base(p), err == nil, kept)
		}
	}
}

// Open gives only a regular file of this user that others cannot write.
func TestOpen(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	if err := os.WriteFile(good, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, st, err := Open(good, os.O_RDONLY)
	if err != nil || st.Size != 1 {
		t.Fatalf("own entry: %v", err)
	}
	f.Close()
	shared := filepath.Join(dir, "shared")
	if err := os.WriteFile(shared, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chmod(shared, 0o666)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{shared, link, dir, filepath.Join(dir, "missing")} {
		if f, _, err := Open(p, os.O_RDONLY); err == nil {
			f.Close()
			t.Errorf("%s opened", p)
		}
	}
}
