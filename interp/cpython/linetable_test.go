package cpython

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
)

// pythons are the interpreters the Python frame reader supports.
var pythons = []struct {
	name, path string
	minor      int
}{
	{"3.8", "/root/.pyenv/versions/3.8.18/bin/python3.8", 8},
	{"3.9", "/root/.pyenv/versions/3.9.18/bin/python3.9", 9},
	{"3.10", "/root/.pyenv/versions/3.10.13/bin/python3.10", 10},
	{"3.11", "/root/.pyenv/versions/3.11.7/bin/python3.11", 11},
	{"3.12", "/root/.pyenv/versions/3.12.1/bin/python3.12", 12},
	{"3.13", "/root/.pyenv/versions/3.13.0/bin/python3.13", 13},
	{"debian-3.11", "/usr/bin/python3.11", 11},
}

func needPython(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing: install it (pyenv install 3.X, or apt-get install python3.11)", path)
	}
}

// TestLineTablesAgreeWithCoLines decodes the line tables of every code
// object in a few stdlib modules and checks each instruction's line against
// the interpreter's own co_lines().
func TestLineTablesAgreeWithCoLines(t *testing.T) {
	for _, py := range pythons {
		t.Run(py.name, func(t *testing.T) {
			needPython(t, py.path)
			out, err := exec.Command(py.path, "testdata/pylines.py").Output()
			if err != nil {
				t.Fatalf("run %s: %v", py.path, err)
			}
			var codes []struct {
				Name  string
				First int
				Table string
				Lines [][3]*int
			}
			if err := json.Unmarshal(out, &codes); err != nil {
				t.Fatal(err)
			}
			if len(codes) < 100 {
				t.Fatalf("only %d code objects", len(codes))
			}
			checked := 0
			for _, co := range codes {
				table, _ := hex.DecodeString(co.Table)
				r := decodeLines(table, co.First, py.minor)
				for _, l := range co.Lines {
					for off := *l[0]; off < *l[1]; off += 2 {
						got, ok := lineAt(r, uint32(off))
						if l[2] == nil {
							if ok {
								t.Fatalf("%s offset %d: line %d, want none", co.Name, off, got)
							}
							continue
						}
						if !ok || got != *l[2] {
							t.Fatalf("%s offset %d: line %d (%v), want %d", co.Name, off, got, ok, *l[2])
						}
						checked++
					}
				}
			}
			t.Logf("%d code objects, %d instructions checked", len(codes), checked)
		})
	}
}
