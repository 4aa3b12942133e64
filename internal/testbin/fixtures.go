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
	return Unmerge(ParseProfile(t, path))
}

// ParseProfile reads a pprof file as written, merged samples and all, and
// checks that it is valid.
func ParseProfile(t testing.TB, path string) *profile.Profile {
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

// Unmerge splits every sample that stands for several (the pprof writer
// merges samples with the same stack and labels, its first value counting
// them) back into one sample each, so that a test can count samples as it
// counts sampled stacks.
func Unmerge(p *profile.Profile) *profile.Profile {
	var out []*profile.Sample
	for _, s := range p.Sample {
		n := int64(1)
		if len(s.Value) > 0 && s.Value[0] > 1 {
			n = s.Value[0]
		}
		for i := int64(0); i < n; i++ {
			c := *s
			c.Value = append([]int64(nil), s.Value...)
			for j := range c.Value {
				c.Value[j] /= n
			}
			out = append(out, &c)
		}
	}
	p.Sample = out
	return p
}
