package symbolize

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLibpython names the CPython evaluation loop in pyenv's shared
// libpython of a running python3, with its C source line from DWARF.
func TestLibpython(t *testing.T) {
	const lib = "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0"
	py := "/root/.pyenv/versions/3.11.7/bin/python3.11"
	if _, err := os.Stat(py); err != nil {
		t.Skipf("pyenv python 3.11.7 is not installed: %v", err)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "idle.py")
	writeFile(t, script, "import sys\nprint('ready', flush=True)\nsys.stdin.read()\n")
	pid := startInterpreter(t, dir, nil, py, script)
	s := New()
	defer s.Close()
	if err := s.LoadProcMaps(pid); err != nil {
		t.Fatal(err)
	}
	addr := symbolAddress(t, pid, lib, "_PyEval_EvalFrameDefault")
	f := s.User(pid, addr+64)
	if f.Function != "_PyEval_EvalFrameDefault" || f.Module != lib || f.Kind != Native {
		t.Fatalf("got %+v", f)
	}
	if !strings.HasSuffix(f.File, "ceval.c") || f.Line == 0 {
		t.Errorf("source %s:%d, want a line of Python/ceval.c", f.File, f.Line)
	}
	var ids int
	for _, m := range s.Mappings(pid) {
		if m.Path == lib && m.BuildID != "" {
			ids++
		}
	}
	if ids == 0 {
		t.Errorf("no build ID on the libpython mapping")
	}
}
