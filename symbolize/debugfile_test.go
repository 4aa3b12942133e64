package symbolize

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestSeparateDebugFile: a library stripped with objcopy is named in full
// (hidden functions, source lines) from its debug file, found by build ID.
func TestSeparateDebugFile(t *testing.T) {
	fx := fixtures(t)
	if _, err := exec.LookPath("objcopy"); err != nil {
		t.Fatalf("objcopy not found: install binutils (apt-get install binutils)")
	}
	dir := t.TempDir()
	stripped := filepath.Join(dir, "libsplit.so")
	debug := filepath.Join(dir, "libsplit.debug")
	for _, args := range [][]string{
		{"--only-keep-debug", fx.lib, debug},
		{"--strip-all", fx.lib, stripped},
	} {
		if out, err := exec.Command("objcopy", args...).CombinedOutput(); err != nil {
			t.Fatalf("objcopy %v: %v\n%s", args, err, out)
		}
	}
	p := startFixture(t, fx.pie, stripped)

	plain := New(WithDebugDirs(filepath.Join(dir, "none")))
	defer plain.Close()
	if err := plain.LoadProcMaps(p.pid); err != nil {
		t.Fatal(err)
	}
	if f := plain.User(p.pid, p.addrs["lib_fixture_hidden"]+1); f.Function != "" {
		t.Fatalf("stripped library named a hidden function without its debug file: %+v", f)
	}
	var id string
	for _, m := range plain.Mappings(p.pid) {
		if m.Path == stripped {
			id = m.BuildID
		}
	}
	if len(id) < 3 {
		t.Fatalf("stripped library has no build ID")
	}

	debugDir := filepath.Join(dir, "debug")
	target := filepath.Join(debugDir, ".build-id", id[:2], id[2:]+".debug")
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(debug, target); err != nil {
		t.Fatal(err)
	}
	s := New(WithDebugDirs(debugDir))
	defer s.Close()
	if err := s.LoadProcMaps(p.pid); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lib_fixture_hidden", "lib_fixture_exported"} {
		f := s.User(p.pid, p.addrs[name]+1)
		if f.Function != name || filepath.Base(f.File) != "libfixture.c" || f.Line == 0 {
			t.Errorf("%s: got %+v", name, f)
		}
	}
}
