package cpython_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/tracer-dev/tracer/internal/testbin"
	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/session"
)

// runCommand traces a command line with Python frames on.
func runCommand(t *testing.T, argv ...string) (*profile.Profile, string) {
	t.Helper()
	var log bytes.Buffer
	return runWith(t, session.NewPythonFrames(&log), &log, argv...)
}

// runWith traces a command line with a Python frames plugin whose notes go
// to log.
func runWith(t *testing.T, plugin session.Plugin, log *bytes.Buffer, argv ...string) (*profile.Profile, string) {
	t.Helper()
	needPerf(t)
	out := filepath.Join(t.TempDir(), "py.pb.gz")
	_, err := session.Run(context.Background(), session.Config{
		Command: argv, Freq: 999, Output: out, Log: log,
		Plugins: []session.Plugin{plugin},
	})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	return testbin.ReadProfile(t, out), log.String()
}

// kernelOnly is the Python frames plugin deprived of the samplers' mapping
// records: it learns of a process only from the stacks the BPF program
// reads of the interpreters it recognises by itself, so what a test sees
// does not depend on when those records are read.
type kernelOnly struct{ *session.PythonFrames }

func (k kernelOnly) Observe(rec loader.Record) {
	if _, ok := rec.(*loader.Mmap); ok {
		return
	}
	k.PythonFrames.Observe(rec)
}

// runKernelOnly traces a command line with Python frames found by the BPF
// program only.
func runKernelOnly(t *testing.T, argv ...string) (*profile.Profile, string) {
	t.Helper()
	var log bytes.Buffer
	return runWith(t, kernelOnly{session.NewPythonFrames(&log)}, &log, argv...)
}

// checkEarly says whether py_early.py's two functions, which burn 30 ms of
// CPU each (about 30 samples at 999 Hz: the samplers count the task's CPU
// time, whatever the load), the first before the program imports anything,
// got their samples.
func checkEarly(t *testing.T, p *profile.Profile, log string, want int) {
	t.Helper()
	// Without the exec tracepoint the program cannot recognise a process by
	// its interpreter file, and every process is found late.
	if strings.Contains(log, "recognised from their mapping records only") {
		t.Errorf("the program cannot recognise interpreters at exec:\n%s", log)
	}
	_, count := pythonFuncs(p, "py_early.py")
	if count["early"] < want || count["late"] < want {
		t.Errorf("early in %d samples, late in %d; want %d or more each\n%s", count["early"], count["late"], want, log)
	}
}

// TestPythonFramesFromFirstSample runs each interpreter named directly as
// the command (a shared libpython mapped after exec by pyenv's builds, the
// interpreter in the executable for Debian's), known to the plugin only
// through the stacks the program reads of the processes it recognises:
// every sample of the program's Python code carries its frames.
func TestPythonFramesFromFirstSample(t *testing.T) {
	for _, py := range pythons {
		t.Run(py.name, func(t *testing.T) {
			if _, err := os.Stat(py.path); err != nil {
				t.Skipf("python %s is not installed (%s)", py.name, py.path)
			}
			p, log := runKernelOnly(t, py.path, "testdata/py_early.py")
			checkEarly(t, p, log, 25)
		})
	}
}

// TestPythonFramesChildren runs pythons started by a traced python: each
// is recognised at its first sample in the interpreter, not when the
// samplers' records of its fork, exec and mappings are read.
func TestPythonFramesChildren(t *testing.T) {
	for _, py := range pythons {
		t.Run(py.name, func(t *testing.T) {
			if _, err := os.Stat(py.path); err != nil {
				t.Skipf("python %s is not installed (%s)", py.name, py.path)
			}
			for _, run := range []struct {
				name string
				run  func(*testing.T, ...string) (*profile.Profile, string)
			}{{"records and program", runCommand}, {"program only", runKernelOnly}} {
				p, log := run.run(t, py.path, "testdata/py_children.py")
				_, count := pythonFuncs(p, "py_children.py")
				// Eight children burn 30 ms of CPU each in child_work:
				// about 240 samples at 999 Hz. Children described with
				// their parent's addresses at their fork lost 60 to 95.
				if count["child_work"] < 210 {
					t.Errorf("%s: child_work in %d samples, want about 240 (210 or more)\n%s", run.name, count["child_work"], log)
				}
			}
		})
	}
}

func TestPythonFramesShellPipeline(t *testing.T) {
	py := pythons[1].path
	needInterpreter(t, py)
	p, log := runCommand(t, "sh", "-c", py+" testdata/py_early.py | cat")
	checkEarly(t, p, log, 10)
}

func TestPythonFramesEnvScript(t *testing.T) {
	needPerf(t)
	p, log := runCommand(t, "./testdata/py_env_script.py")
	checkEarly(t, p, log, 10)
}

// TestPythonFramesStdlibUnittest runs a stdlib test module, whose imports
// free module bodies as soon as they ran: their code objects are named
// while they live.
func TestPythonFramesStdlibUnittest(t *testing.T) {
	py := pythons[1].path
	needInterpreter(t, py)
	p, log := runCommand(t, py, "-m", "unittest", "test.test_json")
	freed, unread, all := 0, 0, 0
	for _, s := range p.Sample {
		st := pyStack(s)
		if len(st) == 0 {
			continue
		}
		n := int(s.Value[0]) // the writer merges identical samples
		all += n
		for _, f := range st {
			if f == "[freed python code]" {
				freed += n
				break
			}
			if strings.HasPrefix(f, "[python code") {
				unread += n
				break
			}
		}
	}
	// A code object is named while it lives (the kernel copies its names
	// at its first sight): none is freed unnamed. A few stacks may hold a
	// code address read from a frame being pushed or popped at the sample
	// (2 in 7,000 on this machine): they stay [python code 0x…].
	if all < 100 || freed > 0 || unread*100 > all {
		t.Errorf("%d freed and %d unreadable code objects in %d Python stacks; want none freed, below 1 %% unreadable\n%s", freed, unread, all, log)
	}
}
