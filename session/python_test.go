package session

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// pythons are the five interpreters Python frames are tested on.
var pythons = []struct{ name, path string }{
	{"3.10", "/root/.pyenv/versions/3.10.13/bin/python3.10"},
	{"3.11", "/root/.pyenv/versions/3.11.7/bin/python3.11"},
	{"3.12", "/root/.pyenv/versions/3.12.1/bin/python3.12"},
	{"3.13", "/root/.pyenv/versions/3.13.0/bin/python3.13"},
	{"debian-3.11", "/usr/bin/python3.11"},
}

func needInterpreter(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing: install it (pyenv install 3.X with --enable-shared, or apt-get install python3.11)", path)
	}
}

// runPython traces a script of testdata with Python frames on and returns
// the profile and the log.
func runPython(t *testing.T, python string, args ...string) (*profile.Profile, string) {
	return runPython2(t, nil, python, args...)
}

func runPython2(t *testing.T, pl *PythonFrames, python string, args ...string) (*profile.Profile, string) {
	t.Helper()
	needPerf(t)
	needInterpreter(t, python)
	out := filepath.Join(t.TempDir(), "py.pb.gz")
	var log bytes.Buffer
	if pl == nil {
		pl = NewPythonFrames(&log)
	}
	_, err := Run(context.Background(), Config{
		Command: append([]string{python}, args...), Freq: 999, Output: out, Log: &log,
		Plugins: []Plugin{pl},
	})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	return readProfile(t, out), log.String()
}

// pyFunc is a Python function as pprof shows it.
type pyFunc struct {
	file string
	line int64
}

// pythonFuncs returns, for each Python function of file base on some
// sample's stack, its file and a line, and the samples holding it.
func pythonFuncs(p *profile.Profile, base string) (map[string]pyFunc, map[string]int) {
	funcs, count := map[string]pyFunc{}, map[string]int{}
	for _, s := range p.Sample {
		seen := map[string]bool{}
		for _, l := range s.Location {
			for _, ln := range l.Line {
				if filepath.Base(ln.Function.Filename) != base {
					continue
				}
				name := ln.Function.Name
				funcs[name] = pyFunc{ln.Function.Filename, ln.Line}
				if !seen[name] {
					seen[name] = true
					count[name]++
				}
			}
		}
	}
	return funcs, count
}

func TestPythonFramesSplit(t *testing.T) {
	for _, py := range pythons {
		t.Run(py.name, func(t *testing.T) {
			p, log := runPython(t, py.path, "testdata/py_split.py", "1.5")
			funcs, count := pythonFuncs(p, "py_split.py")
			h, l := count["heavy"], count["light"]
			t.Logf("%s: %d samples, heavy %d, light %d, share %.3f; notes: %q", py.name, len(p.Sample), h, l,
				float64(h)/float64(h+l), log)
			for _, name := range []string{"heavy", "light", "main", "<module>"} {
				f, ok := funcs[name]
				if !ok {
					t.Fatalf("%s is on no stack; functions of py_split.py: %v", name, funcs)
				}
				if !strings.HasSuffix(f.file, "testdata/py_split.py") || f.line <= 0 {
					t.Errorf("%s at %s:%d, want testdata/py_split.py with a line", name, f.file, f.line)
				}
			}
			if h+l < 300 {
				t.Fatalf("only %d samples in heavy or light", h+l)
			}
			if share := float64(h) / float64(h+l); share < 0.75-0.08 || share > 0.75+0.08 {
				t.Errorf("heavy has %.3f of heavy+light, want 0.75 ± 0.08", share)
			}
			if frac := float64(count["<module>"]) / float64(len(p.Sample)); frac < 0.9 {
				t.Errorf("only %.2f of the samples reach <module>", frac)
			}
		})
	}
}
