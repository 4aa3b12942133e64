package testbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/pprof/profile"
)

// Burner compiles loader/testdata/burn.c (two functions at a known 3:1 CPU
// split) with gcc into dir and returns the executable's path.
func Burner(t testing.TB, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "burn")
	src := filepath.Join(Root(), "loader", "testdata", "burn.c")
	if b, err := exec.Command("gcc", "-O1", "-fno-omit-frame-pointer", "-pthread", "-o", out, src).CombinedOutput(); err != nil {
		t.Fatalf("build burner with gcc (apt-get install gcc): %v\n%s", err, b)
	}
	return out
}

// ReadProfile parses a written pprof file and fails the test unless it is
// valid.
func ReadProfile(t testing.TB, path string) *profile.Profile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	if err := p.CheckValid(); err != nil {
		t.Fatalf("invalid profile %s: %v", path, err)
	}
	return p
}
