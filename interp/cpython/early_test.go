package cpython_test

import (
	"bytes"
	"context"
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
// interpreter was found before the samplers' mapping records were read.
func checkEarly(t *testing.T, p *profile.Profile, log string) {
	t.Helper()
	_, count := pythonFuncs(p, "py_early.py")
	// 30 ms of CPU at 999 Hz is about 30 samples; a process found from its
	// mapping records (read every 50 ms of wall time) showed none.
	if count["early"] < 10 || count["late"] < 10 {
		t.Errorf("early in %d samples, late in %d; want 10 each\n%s", count["early"], count["late"], log)
	}
}

func TestPythonFramesFromFirstSample(t *testing.T) {
	// Known gap: on a quiet machine, a pyenv 3.10, 3.12 or 3.13 named
	// directly as the command gets its first Python frames only after
	// early() has run (3.11, Debian's 3.11, a pipeline and a #! script are
	// covered from their first samples: the tests below). Not yet found
	// why; docs/python-frames.md says so.
	t.Skip("known gap: the interpreter named as the command is not always recognised at its first sample")
	for _, py := range pythons {
		t.Run(py.name, func(t *testing.T) {
			needInterpreter(t, py.path)
			p, log := runCommand(t, py.path, "testdata/py_early.py")
			checkEarly(t, p, log)
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
	// The reader is woken by the first stack holding a code object, and
	// names it unless the interpreter frees it before the reader runs:
	// on a machine this busy that left about 1 % (was 9.5 % freed and
	// 22 % unreadable when the ring was read every 20 ms).
	if all < 100 || (freed+unread)*100 > all*5 {
		t.Errorf("%d freed and %d unreadable code objects in %d Python stacks; want below 5 %%\n%s", freed, unread, all, log)
	}
}
