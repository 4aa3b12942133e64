package session

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCommitReplaces checks that a streamed output replaces what its path
// held: a large file (whose blocks a helper process frees, see
// loader.ReleaseFiles), a small one, and a link, whose target stays as it
// was.
func TestCommitReplaces(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("target"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		setup func(path string) error
	}{
		{"large file", func(p string) error { return os.WriteFile(p, bytes.Repeat([]byte("x"), releaseBytes+1), 0o644) }},
		{"small file", func(p string) error { return os.WriteFile(p, []byte("old"), 0o644) }},
		{"link", func(p string) error { return os.Symlink(target, p) }},
		{"nothing", func(string) error { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".jsonl")
			if err := tc.setup(path); err != nil {
				t.Fatal(err)
			}
			f, err := createStream(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString("new\n"); err != nil {
				t.Fatal(err)
			}
			if err := f.Commit(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != "new\n" {
				t.Fatalf("%s holds %q (%v), want \"new\\n\"", path, got, err)
			}
			if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
				t.Errorf("%s is not a regular file after Commit: %v", path, err)
			}
			if b, _ := os.ReadFile(target); string(b) != "target" {
				t.Errorf("the link's target now holds %q", b)
			}
			left, _ := filepath.Glob(filepath.Join(dir, ".*tmp-*"))
			if len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}
