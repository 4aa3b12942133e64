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
// CPython layouts, the kernel symbols, the line programs) and nothing else.
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
	for _, f := range []string{"python-layouts/abc-3.12.json", "kernel-symbols/kallsyms", "debug-lines/abc.lines", "debug-lines/abc.syms", "debug-lines/abc.rows", "other-tool/keep"} {
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
	for _, kind := range []string{"python-layouts", "kernel-symbols", "debug-lines"} {
		if _, err := os.Stat(filepath.Join(dir, kind)); !os.IsNotExist(err) {
			t.Fatalf("%s still there: %v", kind, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "other-tool", "keep")); err != nil {
		t.Fatalf("what another program keeps there was removed: %v", err)
	}
	if out := run("cache", "--help"); !strings.Contains(out, "kernel-symbols/") || !strings.Contains(out, "python-layouts/") || !strings.Contains(out, "debug-lines/") {
		t.Fatalf("cache help: %q", out)
	}
}
