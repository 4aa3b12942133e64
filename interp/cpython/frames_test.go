package cpython_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/tracer-dev/tracer/internal/privtest"
	"github.com/tracer-dev/tracer/internal/testbin"
	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/session"
)

// pythons are the interpreters Python frames are tested on.
var pythons = []struct{ name, path string }{
	{"3.10", "/root/.pyenv/versions/3.10.13/bin/python3.10"},
	{"3.11", "/root/.pyenv/versions/3.11.7/bin/python3.11"},
	{"3.12", "/root/.pyenv/versions/3.12.1/bin/python3.12"},
	{"3.13", "/root/.pyenv/versions/3.13.0/bin/python3.13"},
	{"debian-3.11", "/usr/bin/python3.11"},
	{"3.8", "/root/.pyenv/versions/3.8.18/bin/python3.8"},
	{"3.9", "/root/.pyenv/versions/3.9.18/bin/python3.9"},
}

func needPerf(t *testing.T) {
	t.Helper()
	privtest.Require(t, "sampling other processes", loader.CheckPrivilege())
}

// leafShare returns the share of the samples whose leaf is function name.
func leafShare(p *profile.Profile, name string) float64 {
	n := 0
	for _, s := range p.Sample {
		if len(s.Location) > 0 && len(s.Location[0].Line) > 0 && s.Location[0].Line[0].Function.Name == name {
			n++
		}
	}
	return float64(n) / float64(len(p.Sample))
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

func runPython2(t *testing.T, pl *session.PythonFrames, python string, args ...string) (*profile.Profile, string) {
	t.Helper()
	needPerf(t)
	needInterpreter(t, python)
	out := filepath.Join(t.TempDir(), "py.pb.gz")
	var log bytes.Buffer
	if pl == nil {
		pl = session.NewPythonFrames(&log)
	}
	_, err := session.Run(context.Background(), session.Config{
		Command: append([]string{python}, args...), Freq: 999, Output: out, Log: &log,
		Plugins: []session.Plugin{pl},
	})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	return testbin.ReadProfile(t, out), log.String()
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
					count[name] += int(s.Value[0]) // the writer merges identical samples
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
					var mods []string
					for _, fn := range p.Function {
						if fn.Name == "<module>" {
							mods = append(mods, fn.Filename)
						}
					}
					t.Fatalf("%s is on no stack; functions of py_split.py: %v; <module> files: %q", name, funcs, mods)
				}
				if !strings.HasSuffix(f.file, "testdata/py_split.py") || f.line <= 0 {
					t.Errorf("%s at %s:%d, want testdata/py_split.py with a line", name, f.file, f.line)
				}
			}
			if h+l < 200 {
				t.Fatalf("only %d samples in heavy or light", h+l)
			}
			if share := float64(h) / float64(h+l); share < 0.75-0.08 || share > 0.75+0.08 {
				t.Errorf("heavy has %.3f of heavy+light, want 0.75 ± 0.08", share)
			}
			// Stacks in main reach <module> (not mis-rooted). The writer
			// merges identical samples, so their order is not time order.
			inMain, reach := 0, 0
			for _, s := range p.Sample {
				st := pyStack(s)
				if !slices.Contains(st, "main") {
					continue
				}
				inMain += int(s.Value[0])
				if st[len(st)-1] == "<module>" {
					reach += int(s.Value[0])
				}
			}
			if inMain == 0 || float64(reach) < 0.95*float64(inMain) {
				t.Errorf("%d of the %d samples in main reach <module>", reach, inMain)
			}
		})
	}
}

// pyStack returns the names of the Python frames of a sample, leaf first.
func pyStack(s *profile.Sample) []string {
	var out []string
	for _, f := range pyFrames(s) {
		out = append(out, f.name)
	}
	return out
}

func TestPythonFramesThreads(t *testing.T) {
	for _, py := range []struct{ name, path string }{pythons[0], pythons[2]} {
		t.Run(py.name, func(t *testing.T) {
			p, _ := runPython(t, py.path, "testdata/py_threads.py", "1.5")
			// Each thread burns in its own chain; a thread's samples must
			// all show that chain and no other.
			chains := map[string][]string{
				"burn_a":    {"spin", "burn_a", "thread_a"},
				"burn_b":    {"spin", "burn_b", "thread_b"},
				"burn_main": {"spin", "burn_main", "<module>"},
			}
			byTID := map[int64]map[string]int{}
			all := map[int64]int{} // every sample of a thread, with Python frames or not
			for _, s := range p.Sample {
				all[s.NumLabel["tid"][0]]++
				st := pyStack(s)
				if len(st) < 3 || st[0] != "spin" {
					continue
				}
				tid := s.NumLabel["tid"][0]
				if byTID[tid] == nil {
					byTID[tid] = map[string]int{}
				}
				byTID[tid][st[1]]++
				if want, ok := chains[st[1]]; ok && (st[2] != want[2]) {
					t.Errorf("tid %d: stack %v, want %v below", tid, st, want)
				}
			}
			seen := map[string]bool{}
			for tid, fs := range byTID {
				if len(fs) != 1 {
					t.Errorf("tid %d shows several threads' functions: %v", tid, fs)
				}
				for f, n := range fs {
					if n >= 20 {
						seen[f] = true
					}
				}
			}
			for f := range chains {
				if !seen[f] {
					// all tells a thread that ran little (few samples)
					// from one whose Python frames were lost.
					t.Errorf("no thread with 20 samples in %s: %v (samples by tid, with or without Python frames: %v)", f, byTID, all)
				}
			}
		})
	}
}

func TestPythonFramesDeepRecursionTruncated(t *testing.T) {
	for _, py := range []struct{ name, path string }{pythons[0], pythons[3]} {
		t.Run(py.name, func(t *testing.T) {
			p, _ := runPython(t, py.path, "testdata/py_deep.py", "1")
			deep, marked := 0, 0
			for _, s := range p.Sample {
				st := pyStack(s)
				if len(st) == 0 || st[0] != "down" {
					continue
				}
				deep += int(s.Value[0]) // the writer merges identical samples
				if st[len(st)-1] == "[truncated python stack]" {
					marked += int(s.Value[0])
					if n := len(st) - 1; n != 128 {
						t.Errorf("truncated stack has %d frames, want the bound 128", n)
					}
					for _, f := range st[:len(st)-1] {
						if f != "down" {
							t.Fatalf("truncated stack holds %q: %v", f, st)
						}
					}
				}
			}
			if deep < 200 || marked < deep*95/100 {
				t.Errorf("%d samples in down, %d marked truncated; want at least 200, nearly all marked", deep, marked)
			}
		})
	}
}

func TestPythonFramesWhileImporting(t *testing.T) {
	p, log := runPython(t, pythons[3].path, "testdata/py_imports.py", "0.5")
	funcs, count := pythonFuncs(p, "py_imports.py")
	if count["burn_between"] < 20 || count["after_imports"] < 100 {
		t.Errorf("burn_between in %d samples, after_imports in %d; want 20 and 100 (%v)", count["burn_between"], count["after_imports"], funcs)
	}
	// Code objects made by the imports are named too.
	named, unnamed, importing := 0, 0, 0
	for _, s := range p.Sample {
		for _, f := range pyStack(s) {
			if strings.HasPrefix(f, "[python code") {
				unnamed++
			} else {
				named++
			}
			if f == "_find_and_load" {
				importing++
				break
			}
		}
	}
	if importing < 20 || unnamed*50 > named {
		t.Errorf("%d samples inside _find_and_load, %d unnamed of %d Python frames; log:\n%s", importing, unnamed, named+unnamed, log)
	}
}

// TestPythonFramesAgainstCProfile compares the split tracer sees with the
// one CPython's own deterministic profiler measures on the same program.
func TestPythonFramesAgainstCProfile(t *testing.T) {
	py := pythons[1].path
	p, _ := runPython(t, py, "testdata/py_split.py", "1.5")
	_, count := pythonFuncs(p, "py_split.py")
	ours := float64(count["heavy"]) / float64(count["heavy"]+count["light"])
	stats := filepath.Join(t.TempDir(), "split.prof")
	script := `import cProfile, pstats, runpy, sys
sys.argv = ["py_split.py", "1.5"]
cProfile.run('runpy.run_path("testdata/py_split.py", run_name="__main__")', "` + stats + `")
st = pstats.Stats("` + stats + `")
t = {f[2]: v[2] for f, v in st.stats.items() if f[0].endswith("py_split.py")}
print(t["heavy"] / (t["heavy"] + t["light"]))
`
	out, err := exec.Command(py, "-c", script).Output()
	if err != nil {
		t.Fatalf("cProfile: %v", err)
	}
	theirs, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatalf("cProfile said %q", out)
	}
	t.Logf("heavy share: tracer %.3f, cProfile %.3f", ours, theirs)
	if math.Abs(ours-theirs) > 0.08 {
		t.Errorf("tracer's heavy share %.3f differs from cProfile's %.3f by more than 0.08", ours, theirs)
	}
}

func TestPythonFramesUnsupportedVersion(t *testing.T) {
	py := "/root/.pyenv/versions/3.7.16/bin/python3.7"
	p, log := runPython(t, py, "testdata/py_split.py", "0.5")
	if n := strings.Count(log, "native frames only"); n != 1 {
		t.Errorf("%d warnings about python 3.7, want exactly one; log:\n%s", n, log)
	}
	if !strings.Contains(log, "python 3.7") {
		t.Errorf("the warning does not name the version; log:\n%s", log)
	}
	self := leafShare(p, "_PyEval_EvalFrameDefault")
	if len(p.Sample) < 100 || self < 0.05 {
		t.Errorf("%d samples, eval loop leaf in %.2f: native frames should remain", len(p.Sample), self)
	}
	for _, s := range p.Sample {
		if st := pyStack(s); len(st) > 0 {
			t.Fatalf("a Python frame for an unsupported version: %v", st)
		}
	}
}

func TestPythonFramesAttach(t *testing.T) {
	needPerf(t)
	py := pythons[2].path
	needInterpreter(t, py)
	// Threads that exist before the attach, and the main thread.
	cmd := exec.Command(py, "testdata/py_threads.py", "4")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	time.Sleep(500 * time.Millisecond)
	out := filepath.Join(t.TempDir(), "attach.pb.gz")
	var log bytes.Buffer
	_, err := session.Run(context.Background(), session.Config{
		PID: cmd.Process.Pid, Duration: time.Second, Freq: 999, Output: out, Log: &log,
		Plugins: []session.Plugin{session.NewPythonFrames(&log)},
	})
	if err != nil {
		t.Fatalf("attach: %v\n%s", err, log.String())
	}
	p := testbin.ReadProfile(t, out)
	_, count := pythonFuncs(p, "py_threads.py")
	for _, f := range []string{"burn_a", "burn_b", "burn_main"} {
		if count[f] < 20 {
			t.Errorf("%s in %d samples, want at least 20 (%v); log:\n%s", f, count[f], count, log.String())
		}
	}
}

func TestPythonFramesForkedChild(t *testing.T) {
	p, _ := runPython(t, pythons[2].path, "testdata/py_fork.py", "1.5")
	pids := map[string]map[int64]int{}
	for _, s := range p.Sample {
		for _, f := range pyStack(s) {
			if f == "child_work" || f == "parent_work" {
				if pids[f] == nil {
					pids[f] = map[int64]int{}
				}
				pids[f][s.NumLabel["pid"][0]] += int(s.Value[0]) // the writer merges identical samples
			}
		}
	}
	if len(pids["child_work"]) != 1 || len(pids["parent_work"]) != 1 {
		t.Fatalf("child_work in pids %v, parent_work in pids %v; want one process each", pids["child_work"], pids["parent_work"])
	}
	for c, n := range pids["child_work"] {
		if _, same := pids["parent_work"][c]; same || n < 100 {
			t.Errorf("child_work: %d samples in pid %d; parent_work: %v", n, c, pids["parent_work"])
		}
	}
}
