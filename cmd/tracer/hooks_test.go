package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-dev/tracer/internal/testbin"
	"github.com/tracer-dev/tracer/model"
)

// hookData is where the programs of the --transition tests live.
var hookData = filepath.Join("..", "..", "capture", "hooks", "testdata")

func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestHookSeedContainers: the two original containers, unmodified, conform
// under --transition transition with their two register steps each.
func TestHookSeedContainers(t *testing.T) {
	needCapture(t)
	if _, err := exec.LookPath("perf"); err != nil {
		t.Fatal("the containers start perf record: apt-get install linux-perf")
	}
	for _, c := range []struct{ interp, file string }{{"python3", "python_container.py"}, {"node", "nodejs_container.js"}} {
		t.Run(c.file, func(t *testing.T) {
			dir := t.TempDir()
			src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "seed", c.file))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, c.file), src, 0o644); err != nil {
				t.Fatal(err)
			}
			code, stderr := tracerIn(t, dir, "run", "--transition", "transition", "--trace", "t.jsonl", "-o", "-", "--", c.interp, c.file)
			if code != 0 || !strings.Contains(stderr, "t.jsonl: conforming under --relation exact") {
				t.Fatalf("exit %d, want 0 and conforming\n%s", code, stderr)
			}
			init, steps := testbin.ReadSteps(t, filepath.Join(dir, "t.jsonl"))
			if init == nil || len(steps) != 2 {
				t.Fatalf("init %v, %d steps; want an init and 2 steps", init, len(steps))
			}
			for _, s := range steps {
				if s.Action.Type != model.Register || s.Action.Name != "CICADA-Harbot-0" || s.State.AgentID != "CICADA-Harbot-0" {
					t.Errorf("step %+v, want register CICADA-Harbot-0", s)
				}
			}
			testbin.CheckFromPre(t, steps)
			if got, _ := os.ReadFile(filepath.Join(dir, c.file)); string(got) != string(src) {
				t.Error("the program's file changed")
			}
		})
	}
}

// TestHookPlantedBugs: a bug in a program that knows nothing of tracer is
// found at its call: exit 1, the step and its action named.
func TestHookPlantedBugs(t *testing.T) {
	needCapture(t)
	for _, c := range []struct{ interp, file, want string }{
		{"python3", "py_utf8_bug.py", "divergence at step 3 (post)"},
		{"node", "js_utf16_bug.js", "divergence at step 3 (post)"},
	} {
		t.Run(c.file, func(t *testing.T) {
			dir := t.TempDir()
			code, stderr := tracerIn(t, hookData, "run", "--transition", "transition", "--trace", filepath.Join(dir, "t.jsonl"), "-o", "-", "--", c.interp, c.file)
			if code != 1 || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, "DIVERGENCE at step 3") {
				t.Fatalf("exit %d, want 1 naming %q\n%s", code, c.want, stderr)
			}
		})
	}
}

// TestHookConventions runs the convention programs under tracer: every step
// is captured with its pre, and each conforms from it.
func TestHookConventions(t *testing.T) {
	needCapture(t)
	for _, c := range []struct {
		name  string
		cmd   []string
		args  string
		steps int
	}{
		{"dict states, tuple actions", []string{"python3", "py_dict_tuple.py"}, "", 20},
		{"dataclasses", []string{"python3", "py_dataclass.py"}, "", 5},
		{"method", []string{"python3", "py_method.py"}, "self,action", 5},
		{"raises", []string{"python3", "py_raises.py"}, "", 6},
		{"four threads", []string{"python3", "py_threads.py"}, "", 1004},
		{"ES module", []string{"node", "js_esm.mjs"}, "", 5},
		{"async method", []string{"node", "js_method.js"}, "self,action", 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			trace := filepath.Join(t.TempDir(), "t.jsonl")
			args := []string{"run", "--transition", "transition", "--trace", trace, "-o", "-"}
			if c.args != "" {
				args = append(args, "--transition-args", c.args)
			}
			code, stderr := tracerIn(t, hookData, append(append(args, "--"), c.cmd...)...)
			_, steps := testbin.ReadSteps(t, trace)
			if len(steps) != c.steps {
				t.Fatalf("%d steps, want %d (exit %d)\n%s", len(steps), c.steps, code, stderr)
			}
			testbin.CheckFromPre(t, steps)
			if c.name == "raises" && !strings.Contains(stderr, "5 calls of transition raised an exception and are not steps") {
				t.Errorf("no note of the calls that raised\n%s", stderr)
			}
			if code != 0 {
				t.Fatalf("exit %d, want 0\n%s", code, stderr)
			}
		})
	}
}

// TestHookPythonVersions: the hook under tracer with every Python here.
func TestHookPythonVersions(t *testing.T) {
	needCapture(t)
	for _, py := range []string{
		"/root/.pyenv/versions/3.8.18/bin/python3.8",
		"/root/.pyenv/versions/3.10.13/bin/python3.10",
		"/root/.pyenv/versions/3.11.7/bin/python3.11",
		"/root/.pyenv/versions/3.12.1/bin/python3.12",
		"/root/.pyenv/versions/3.13.0/bin/python3.13",
		"/usr/bin/python3.11",
	} {
		t.Run(py, func(t *testing.T) {
			if _, err := os.Stat(py); err != nil {
				t.Fatalf("%s is missing: install it (pyenv install, or apt-get install python3.11)", py)
			}
			trace := filepath.Join(t.TempDir(), "t.jsonl")
			code, stderr := tracerIn(t, hookData, "run", "--transition", "transition", "--trace", trace, "-o", "-", "--", py, "py_dict_tuple.py")
			_, steps := testbin.ReadSteps(t, trace)
			if code != 0 || len(steps) != 20 {
				t.Fatalf("exit %d, %d steps; want 0 and 20\n%s", code, len(steps), stderr)
			}
			testbin.CheckFromPre(t, steps)
		})
	}
}

// TestHookExamplesWithoutBinding: the example containers run without their
// binding (--no-probe) give, under --transition, the trace they write with
// it: the same init, and the same actions and states step by step.
func TestHookExamplesWithoutBinding(t *testing.T) {
	needCapture(t)
	ex := abs(t, filepath.Join("..", "..", "examples"))
	for _, c := range []struct{ interp, file string }{{"python3", "python_container.py"}, {"node", "nodejs_container.js"}} {
		t.Run(c.file, func(t *testing.T) {
			dir := t.TempDir()
			prog := []string{c.interp, filepath.Join(ex, c.file), "--steps", "400", "--seed", "11"}
			code, stderr := tracerIn(t, dir, append([]string{"run", "--trace", "with.jsonl", "-o", "-", "--"}, prog...)...)
			if code != 0 {
				t.Fatalf("with the binding: exit %d\n%s", code, stderr)
			}
			code, stderr = tracerIn(t, dir, append(append([]string{"run", "--transition", "transition", "--trace", "without.jsonl", "-o", "-", "--"}, prog...), "--no-probe")...)
			if code != 0 {
				t.Fatalf("without the binding: exit %d\n%s", code, stderr)
			}
			i1, s1 := testbin.ReadSteps(t, filepath.Join(dir, "with.jsonl"))
			i2, s2 := testbin.ReadSteps(t, filepath.Join(dir, "without.jsonl"))
			if i1 == nil || i2 == nil || len(s1) != 400 || len(s2) != 400 {
				t.Fatalf("inits %v %v, %d and %d steps; want 400 each", i1, i2, len(s1), len(s2))
			}
			if eq, _ := model.Equal(*i1, *i2); !eq {
				t.Fatalf("init %+v vs %+v", *i1, *i2)
			}
			for k := range s1 {
				a, b := s1[k], s2[k]
				eq, _ := model.Equal(a.State, b.State)
				if a.Seq != b.Seq || a.Action.Type != b.Action.Type || a.Action.Content != b.Action.Content || a.Action.Name != b.Action.Name || !eq {
					t.Fatalf("step %d differs:\n with binding %+v\n without      %+v", k+1, a, b)
				}
			}
			testbin.CheckFromPre(t, s2)
		})
	}
}

// TestHookQuietness: a plain profiling run says nothing about transitions;
// --trace with nothing captured writes an empty trace and one line why.
func TestHookQuietness(t *testing.T) {
	needCapture(t)
	dir := t.TempDir()
	code, stderr := tracerIn(t, hookData, "run", "-o", "-", "--", "python3", "py_dict_tuple.py")
	if code != 0 || strings.Contains(strings.ToLower(stderr), "transition") {
		t.Fatalf("plain run: exit %d, and it speaks of transitions:\n%s", code, stderr)
	}
	trace := filepath.Join(dir, "t.jsonl")
	code, stderr = tracerIn(t, hookData, "run", "--trace", trace, "-o", "-", "--", "python3", "py_dict_tuple.py")
	if b, err := os.ReadFile(trace); err != nil || len(b) != 0 || code != 0 {
		t.Fatalf("--trace without capture: exit %d, file %q %v\n%s", code, b, err, stderr)
	}
	if n := strings.Count(stderr, "no transitions were captured"); n != 1 || !strings.Contains(stderr, "--transition NAME") {
		t.Errorf("want one line saying why, naming --transition:\n%s", stderr)
	}
	code, stderr = tracerIn(t, hookData, "run", "--transition", "no_such_function", "--trace", trace, "-o", "-", "--", "python3", "py_dict_tuple.py")
	if b, err := os.ReadFile(trace); err != nil || len(b) != 0 || code != 0 || !strings.Contains(stderr, "no transitions were captured: no function named no_such_function was called") {
		t.Fatalf("--transition of a missing function: exit %d, file %q %v\n%s", code, b, err, stderr)
	}
	code, stderr = tracerIn(t, hookData, "run", "--transition-args", "a,b", "-o", "-", "--", "python3", "-c", "pass")
	if code != 2 || !strings.Contains(stderr, "--transition-args needs --transition NAME") {
		t.Errorf("--transition-args alone: exit %d\n%s", code, stderr)
	}
}

// TestHookVerify: verify observes one's own container that does not use the
// binding; without a container of one's own, --transition is a usage error.
func TestHookVerify(t *testing.T) {
	needCapture(t)
	dir := t.TempDir()
	prog := "import runpy, sys\nsys.argv = [sys.argv[0]] + sys.argv[1:] + ['--no-probe']\n" +
		"runpy.run_path(" + strings.ReplaceAll(`"`+abs(t, filepath.Join("..", "..", "examples", "python_container.py"))+`"`, `\`, `\\`) + ", run_name='__main__')\n"
	if err := os.WriteFile(filepath.Join(dir, "mine.py"), []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stderr := tracerIn(t, dir, "verify", "--steps", "60", "--seed", "9", "--out", "out", "--python-container", "mine.py", "--transition", "transition")
	if code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, stderr)
	}
	_, steps := testbin.ReadSteps(t, filepath.Join(dir, "out", "python.jsonl"))
	if len(steps) != 60 {
		t.Fatalf("%d steps in python.jsonl, want 60", len(steps))
	}
	testbin.CheckFromPre(t, steps)
	code, stderr = tracerIn(t, dir, "verify", "--steps", "5", "--out", "out2", "--transition", "transition")
	if code != 2 || !strings.Contains(stderr, "give --python-container FILE or --node-container FILE") {
		t.Errorf("--transition without a container: exit %d\n%s", code, stderr)
	}
}
