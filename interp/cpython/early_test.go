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
	"github.com/tracer-dev/tracer/session"
)

// runCommand traces a command line with Python frames on.
func runCommand(t *testing.T, argv ...string) (*profile.Profile, string) {
	t.Helper()
	needPerf(t)
	out := filepath.Join(t.TempDir(), "py.pb.gz")
	var log bytes.Buffer
	_, err := session.Run(context.Background(), session.Config{
		Command: argv, Freq: 999, Output: out, Log: &log,
		Plugins: []session.Plugin{session.NewPythonFrames(&log)},
	})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	return testbin.ReadProfile(t, out), log.String()
}

// checkEarly says whether py_early.py's first function, which burns 30 ms
// of CPU before the program imports anything, got its samples: the
// interpreter was recognised at the process's first sample in it, not from
// the samplers' mapping records read later.
func checkEarly(t *testing.T, p *profile.Profile, log string) {
	t.Helper()
	// Without the exec tracepoint the program cannot recognise a process by
	// its interpreter file, and every process is found late.
	if strings.Contains(log, "recognised from their mapping records only") {
		t.Errorf("the program cannot recognise interpreters at exec:\n%s", log)
	}
	_, count := pythonFuncs(p, "py_early.py")
	// early and late burn the same CPU time (about 30 samples at 999 Hz:
	// the samplers count the task's CPU time, whatever the load); early
	// runs right after the interpreter's start-up, before the process's
	// mapping records are read, so a process found from them loses most of
	// early's samples and none of late's.
	if count["early"] < 10 || count["late"] < 10 || 2*count["early"] < count["late"] {
		t.Errorf("early in %d samples, late in %d; want both 10 or more, early at least half of late\n%s", count["early"], count["late"], log)
	}
}

// TestPythonFramesFromFirstSample runs each interpreter named directly as
// the command (a shared libpython mapped after exec by pyenv's builds, the
// interpreter in the executable for Debian's).
func TestPythonFramesFromFirstSample(t *testing.T) {
	for _, py := range pythons {
		t.Run(py.name, func(t *testing.T) {
			if _, err := os.Stat(py.path); err != nil {
				t.Skipf("python %s is not installed (%s)", py.name, py.path)
			}
			p, log := runCommand(t, py.path, "testdata/py_early.py")
			checkEarly(t, p, log)
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
			p, log := runCommand(t, py.path, "testdata/py_children.py")
			_, count := pythonFuncs(p, "py_children.py")
			// Eight children burn 30 ms of CPU each in child_work: about
			// 240 samples at 999 Hz. Children found from their records
			// lost 60 to 95 of them.
			if count["child_work"] < 210 {
				t.Errorf("child_work in %d samples, want about 240 (210 or more)\n%s", count["child_work"], log)
			}
		})
	}
}

func TestPythonFramesShellPipeline(t *testing.T) {
	py := pythons[1].path
	needInterpreter(t, py)
	p, log := runCommand(t, "sh", "-c", py+" testdata/py_early.py | cat")
	checkEarly(t, p, log)
}

func TestPythonFramesEnvScript(t *testing.T) {
	needPerf(t)
	p, log := runCommand(t, "./testdata/py_env_script.py")
	checkEarly(t, p, log)
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
