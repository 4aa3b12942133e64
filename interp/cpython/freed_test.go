package cpython_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// pyFrame is one Python frame of a sample, as the profile names it.
type pyFrame struct {
	name, file string
	line       int64
}

// pyFrames returns a sample's Python frames, leaf first.
func pyFrames(s *profile.Sample) []pyFrame {
	var out []pyFrame
	for _, l := range s.Location {
		for _, ln := range l.Line {
			if strings.HasPrefix(ln.Function.SystemName, "python:") {
				out = append(out, pyFrame{ln.Function.Name, ln.Function.Filename, ln.Line})
			}
		}
	}
	return out
}

var genModule = regexp.MustCompile(`^gen_mod_(\d+)\.py$`)

// TestPythonFramesFreedModules runs a program whose generated modules burn
// CPU in their bodies at import time: each body's code object is freed when
// its import ends and its address taken by the next one (all start at line
// 1). Every frame must still be named, as the object that ran, at the line
// that ran.
func TestPythonFramesFreedModules(t *testing.T) {
	for _, py := range pythons {
		t.Run(py.name, func(t *testing.T) {
			if _, err := os.Stat(py.path); err != nil {
				t.Skipf("python %s is not installed (%s)", py.name, py.path)
			}
			p, log := runCommand(t, py.path, "testdata/py_modules.py")
			var all, freed, unread, wrong, bodies, badLine int
			mods := map[string]bool{}
			var bad []string
			for _, s := range p.Sample {
				st := pyFrames(s)
				if len(st) == 0 {
					continue
				}
				n := int(s.Value[0]) // the writer merges identical samples
				all += n
				for i, f := range st {
					switch {
					case f.name == "[freed python code]":
						freed += n
					case strings.HasPrefix(f.name, "[python code"):
						unread += n
					}
					m := genModule.FindStringSubmatch(filepath.Base(f.file))
					if m == nil {
						continue
					}
					// work_K is defined in gen_mod_K.py and called by its body.
					ok := f.name == "<module>" || f.name == "work_"+m[1] &&
						i+1 < len(st) && st[i+1].name == "<module>" && st[i+1].file == f.file
					if !ok {
						wrong += n
						if len(bad) < 5 {
							bad = append(bad, fmt.Sprint(st))
						}
					}
					before := badLine
					// py_modules.py's BODY: lines 3 (import), 6 (def) and 12
					// to 15 (its loop, the call of work_K) are the body's,
					// lines 6 to 9 work_K's. Line 1, a comment, is the line
					// of a frame named without its line table.
					switch {
					case f.name == "<module>":
						if i == 0 {
							bodies += n
						}
						if f.line != 3 && f.line != 6 && (f.line < 12 || f.line > 15) {
							badLine += n
						}
					case f.line < 6 || f.line > 9:
						badLine += n
					}
					if badLine > before && len(bad) < 5 {
						bad = append(bad, fmt.Sprint(st))
					}
					if f.name == "<module>" {
						mods[m[1]] = true
					}
				}
			}
			t.Logf("%d Python samples, %d in a module body's own loop; %d of 60 modules seen", all, bodies, len(mods))
			if freed > 0 || unread*100 > all || wrong > 0 || badLine > 0 {
				t.Errorf("%d samples with [freed python code], %d with [python code 0x…], %d misnamed, %d frames of a generated module at a wrong line (%q), of %d\n%s",
					freed, unread, wrong, badLine, bad, all, log)
			}
			// 60 bodies burn about 3 ms each in their own loop: most get samples.
			if len(mods) < 40 {
				t.Errorf("module bodies of %d of 60 generated modules on the stacks, want 40 or more\n%s", len(mods), log)
			}
		})
	}
}
