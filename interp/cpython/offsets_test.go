package cpython

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tracer-dev/tracer/loader"
)

// pyenvLib returns the shared libpython of a pyenv build, failing the test
// with an instruction when it is missing.
func pyenvLib(t testing.TB, version string) string {
	t.Helper()
	parts := strings.SplitN(version, ".", 3)
	minor := parts[0] + "." + parts[1]
	p := fmt.Sprintf("/root/.pyenv/versions/%s/lib/libpython%s.so.1.0", version, minor)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing: install it with `pyenv install %s` (shared build: PYTHON_CONFIGURE_OPTS=--enable-shared)", p, version)
	}
	return p
}

var pyenvVersions = []struct {
	version string
	minor   int
}{
	{"3.8.18", 8}, {"3.9.18", 9}, {"3.10.13", 10}, {"3.11.7", 11}, {"3.12.1", 12}, {"3.13.0", 13},
}

func TestDWARFOffsetsMatchBuiltinTable(t *testing.T) {
	for _, v := range pyenvVersions {
		t.Run(v.version, func(t *testing.T) {
			f, file, err := loader.OpenELFFile(pyenvLib(t, v.version))
			if err != nil {
				t.Fatal(err)
			}
			defer file.Close()
			got, err := dwarfOffsets(f, file, v.minor)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := BuiltinLayout(v.minor)
			if got != want {
				t.Errorf("dwarf offsets differ from the built-in table:\n got  %+v\n want %+v", got, want)
			}
			if err := got.validate(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestInspectPython(t *testing.T) {
	cases := []struct {
		name, path, version, source string
		minor                       int
	}{
		{"3.8", "/root/.pyenv/versions/3.8.18/lib/libpython3.8.so.1.0", "3.8", "dwarf+PyCode_Type members", 8},
		{"3.9", "/root/.pyenv/versions/3.9.18/lib/libpython3.9.so.1.0", "3.9", "dwarf+PyCode_Type members", 9},
		{"3.10", "/root/.pyenv/versions/3.10.13/lib/libpython3.10.so.1.0", "3.10", "dwarf+PyCode_Type members", 10},
		{"3.11", "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0", "3.11.7", "dwarf+PyCode_Type members", 11},
		{"3.12", "/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0", "3.12.1", "dwarf+PyCode_Type members", 12},
		{"3.13", "/root/.pyenv/versions/3.13.0/lib/libpython3.13.so.1.0", "3.13.0", "_Py_DebugOffsets+PyCode_Type members", 13},
		{"debian-3.11", "/usr/bin/python3.11", "3.11.2", "built-in table+PyCode_Type members", 11},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := os.Stat(c.path); err != nil {
				t.Fatalf("%s is missing: install it (pyenv install, or apt-get install python3.11)", c.path)
			}
			pf, err := Inspect(c.path)
			if err != nil {
				t.Fatal(err)
			}
			if pf.Version != c.version || pf.Source != c.source {
				t.Errorf("version %q source %q, want %q %q", pf.Version, pf.Source, c.version, c.source)
			}
			want, _ := BuiltinLayout(c.minor)
			if pf.Layout != want {
				t.Errorf("offsets differ from the built-in table:\n got  %+v\n want %+v", pf.Layout, want)
			}
		})
	}
}

func TestInspectPythonUnsupported(t *testing.T) {
	p := "/root/.pyenv/versions/3.7.16/lib/libpython3.7m.so.1.0"
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing: install it with `pyenv install 3.7.16`", p)
	}
	_, err := Inspect(p)
	var ue *UnsupportedError
	if !errors.As(err, &ue) || ue.Version != "3.7" {
		t.Fatalf("got %v, want an UnsupportedError for 3.7", err)
	}
}
