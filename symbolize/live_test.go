package symbolize

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLiveProcess places executables (PIE and not) and a dlopened library
// through /proc/PID/maps and names known functions, also at addresses inside
// them.
func TestLiveProcess(t *testing.T) {
	fx := fixtures(t)
	for _, tc := range []struct {
		name string
		bin  string
		lib  string
		want map[string]string // printed name → expected function ("" = unnamed)
	}{
		{"pie", fx.pie, fx.lib, map[string]string{
			"fixture_alpha": "fixture_alpha", "fixture_beta": "fixture_beta",
			"fixture_static_gamma": "fixture_static_gamma",
			"lib_fixture_exported": "lib_fixture_exported", "lib_fixture_hidden": "lib_fixture_hidden",
		}},
		{"nopie", fx.nopie, fx.lib, map[string]string{
			"fixture_alpha": "fixture_alpha", "fixture_static_gamma": "fixture_static_gamma",
			"lib_fixture_exported": "lib_fixture_exported",
		}},
		{"stripped-lib", fx.pie, fx.libStripped, map[string]string{
			"fixture_beta":         "fixture_beta",
			"lib_fixture_exported": "lib_fixture_exported", // from .dynsym
			"lib_fixture_hidden":   "",                     // only .symtab had it
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startFixture(t, tc.bin, tc.lib)
			s := New()
			defer s.Close()
			if err := s.LoadProcMaps(p.pid); err != nil {
				t.Fatal(err)
			}
			for printed, want := range tc.want {
				addr, ok := p.addrs[printed]
				if !ok {
					t.Fatalf("fixture did not print %s", printed)
				}
				for _, delta := range []uint64{0, 1, 4} {
					f := s.User(p.pid, addr+delta)
					if f.Function != want {
						t.Errorf("%s+%d: got %q (%+v), want %q", printed, delta, f.Function, f, want)
					}
					if f.Kind != Native {
						t.Errorf("%s: kind %v, want native", printed, f.Kind)
					}
					wantMod := tc.bin
					if strings.HasPrefix(printed, "lib_") {
						wantMod = tc.lib
					}
					if f.Module != wantMod {
						t.Errorf("%s: module %q, want %q", printed, f.Module, wantMod)
					}
					// The PIE and libfixture.so are built with -g: DWARF lines.
					if tc.name == "pie" && want != "" {
						wantFile := "fixture.c"
						if strings.HasPrefix(printed, "lib_") {
							wantFile = "libfixture.c"
						}
						if filepath.Base(f.File) != wantFile || f.Line < 1 || f.Line > 60 {
							t.Errorf("%s: source %s:%d, want a line of %s", printed, f.File, f.Line, wantFile)
						}
					}
				}
			}
		})
	}
}

// TestMappingsCarryBuildIDs checks that the mappings for pprof name the
// files and carry the build IDs gcc wrote.
func TestMappingsCarryBuildIDs(t *testing.T) {
	fx := fixtures(t)
	p := startFixture(t, fx.pie, fx.lib)
	s := New()
	defer s.Close()
	if err := s.LoadProcMaps(p.pid); err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, m := range s.Mappings(p.pid) {
		if m.Limit <= m.Start {
			t.Errorf("empty mapping %+v", m)
		}
		found[m.Path] = m.BuildID
	}
	for _, path := range []string{fx.pie, fx.lib} {
		id, ok := found[path]
		if !ok {
			t.Fatalf("no mapping for %s in %v", path, found)
		}
		if len(id) != 40 {
			t.Errorf("build ID of %s = %q, want 40 hex digits", path, id)
		}
	}
}

// TestExitedAndDeleted symbolizes after the process has exited and its
// files were deleted: the files were opened when the mappings were added.
func TestExitedAndDeleted(t *testing.T) {
	fx := fixtures(t)
	dir := t.TempDir()
	bin := copyFile(t, fx.pie, dir+"/fixture")
	lib := copyFile(t, fx.lib, dir+"/libfixture.so")
	p := startFixture(t, bin, lib)
	s := New()
	defer s.Close()
	if err := s.LoadProcMaps(p.pid); err != nil {
		t.Fatal(err)
	}
	p.stop()
	os.Remove(bin)
	os.Remove(lib)
	for name, addr := range p.addrs {
		if got := s.User(p.pid, addr+1).Function; got != name {
			t.Errorf("after exit: %s resolved to %q", name, got)
		}
	}
}

// TestReplacedLibrary names a library that was replaced on disk after it was
// mapped: /proc shows "(deleted)" and the mapped file is read through
// /proc/PID/map_files, not the new file at the path.
func TestReplacedLibrary(t *testing.T) {
	fx := fixtures(t)
	dir := t.TempDir()
	lib := copyFile(t, fx.lib, dir+"/libfixture.so")
	p := startFixture(t, fx.pie, lib)
	// Replace the library with a different ELF file (the executable).
	tmp := copyFile(t, fx.nopie, dir+"/new.so")
	if err := os.Rename(tmp, lib); err != nil {
		t.Fatal(err)
	}
	s := New()
	defer s.Close()
	if err := s.LoadProcMaps(p.pid); err != nil {
		t.Fatal(err)
	}
	sawDeleted := false
	for _, m := range s.Mappings(p.pid) {
		if m.Path == lib+deletedSuffix {
			sawDeleted = true
		}
	}
	if !sawDeleted {
		t.Fatalf("expected %s%s among the mappings", lib, deletedSuffix)
	}
	for _, name := range []string{"lib_fixture_exported", "lib_fixture_hidden"} {
		f := s.User(p.pid, p.addrs[name]+2)
		if f.Function != name || f.Module != lib {
			t.Errorf("%s resolved to %+v", name, f)
		}
	}
	if w := s.Warnings(); len(w) > 0 {
		t.Errorf("warnings: %q", w)
	}
}

func copyFile(t *testing.T, from, to string) string {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return to
}

// TestGapsFilledFromProc: when the records announced only some mappings
// (the library), an address outside them is placed by reading
// /proc/PID/maps once.
func TestGapsFilledFromProc(t *testing.T) {
	fx := fixtures(t)
	p := startFixture(t, fx.pie, fx.lib)
	maps := readProcMaps(t, p.pid)
	s := New()
	defer s.Close()
	for _, m := range maps {
		if m.Path == fx.lib {
			s.AddMapping(p.pid, m)
		}
	}
	if got := s.User(p.pid, p.addrs["lib_fixture_exported"]).Function; got != "lib_fixture_exported" {
		t.Errorf("announced library: got %q", got)
	}
	if got := s.User(p.pid, p.addrs["fixture_alpha"]).Function; got != "fixture_alpha" {
		t.Errorf("unannounced executable: got %q", got)
	}
}

// TestPreload: files opened by Preload while the process ran symbolize the
// mappings added after it exited and its files were deleted.
func TestPreload(t *testing.T) {
	fx := fixtures(t)
	dir := t.TempDir()
	bin := copyFile(t, fx.pie, dir+"/fixture")
	lib := copyFile(t, fx.lib, dir+"/libfixture.so")
	p := startFixture(t, bin, lib)
	maps := readProcMaps(t, p.pid)
	s := New()
	defer s.Close()
	for _, m := range maps {
		s.Preload(p.pid, m)
	}
	p.stop()
	os.Remove(bin)
	os.Remove(lib)
	for _, m := range maps {
		s.AddMapping(p.pid, m)
	}
	for name, addr := range p.addrs {
		if got := s.User(p.pid, addr+1).Function; got != name {
			t.Errorf("%s resolved to %q", name, got)
		}
	}
}

// readProcMaps parses /proc/PID/maps of a running fixture.
func readProcMaps(t *testing.T, pid int) []Mapping {
	t.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	maps, err := parseProcMaps(f)
	if err != nil {
		t.Fatal(err)
	}
	return maps
}
