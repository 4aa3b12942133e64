package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tracer-dev/tracer/internal/privtest"
)

// TestSecurityTraceFile: the --trace file, like the profile, is 0644 and
// belongs to the sudo user whatever the umask, and replaces a link rather
// than writing through it.
func TestSecurityTraceFile(t *testing.T) {
	privtest.Root(t, "needs root, as under sudo")
	dir := publicDir(t)
	// Debian's python3 (pyenv's lives under /root, which nobody cannot enter).
	py := "/usr/bin/python3.11"
	if _, err := os.Stat(py); err != nil {
		t.Fatalf("%s is missing (apt-get install python3.11): the traced command must be one that nobody may run", py)
	}
	container, err := filepath.Abs("../../examples/python_container.py")
	if err != nil {
		t.Fatal(err)
	}
	// A link planted where the trace goes must not lead root's write
	// elsewhere.
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("root's file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, "out.jsonl")); err != nil {
		t.Fatal(err)
	}
	r := invoke(t, invocation{dir: dir, env: sudoEnv, bin: umaskWrapper(t), args: []string{"run",
		"-o", "-", "--trace", "out.jsonl", "--", py, container, "--steps", "200"}})
	noPanic(t, "sudo run --trace", r)
	if r.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	p := filepath.Join(dir, "out.jsonl")
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 || st.Uid != 65534 || st.Gid != 65534 {
		t.Errorf("out.jsonl: %v owned by %d:%d, want a regular file 0644 owned by 65534:65534", fi.Mode(), st.Uid, st.Gid)
	}
	if b, err := os.ReadFile(p); err != nil || strings.Count(string(b), `"kind":"step"`) != 200 {
		t.Errorf("trace: %v; want the 200 steps", err)
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "root's file\n" {
		t.Errorf("the link's target was written through: %q %v", b, err)
	}
}
