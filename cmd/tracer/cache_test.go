package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// `tracer cache dir` prints tracer's cache directory under $XDG_CACHE_HOME,
// and `tracer cache clear` removes what every kind of entry left in it (the
// CPython layouts and the kernel symbols).
func TestCacheDirClear(t *testing.T) {
	home := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(tracerBin, args...)
		cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+home)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("tracer %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	dir := filepath.Join(home, "tracer")
	if got := strings.TrimSpace(run("cache", "dir")); got != dir {
		t.Fatalf("cache dir: %q, want %q", got, dir)
	}
	for _, f := range []string{"python-layouts/abc-3.12.json", "kernel-symbols/kallsyms"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if out := run("cache", "clear"); !strings.Contains(out, "cleared "+dir) {
		t.Fatalf("cache clear: %q", out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s still there: %v", dir, err)
	}
	if out := run("cache", "--help"); !strings.Contains(out, "kernel-symbols/") || !strings.Contains(out, "python-layouts/") {
		t.Fatalf("cache help: %q", out)
	}
}
