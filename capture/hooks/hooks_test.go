package hooks

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-dev/tracer/internal/testbin"
	"github.com/tracer-dev/tracer/model"
)

func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		name, args string
		ok         bool
	}{
		{"transition", "", true},
		{"State.transition", "self,action", true},
		{"python_container:transition", "", true},
		{"app.js:transition", " s , a ", true},
		{"", "", false},
		{"two words", "", false},
		{"f()", "", false},
		{"mod:", "", false},
		{"transition", "state", false},
		{"transition", "a,b,c", false},
		{"transition", "a,1b", false},
	} {
		s, err := ParseSpec(tc.name, tc.args)
		if (err == nil) != tc.ok {
			t.Errorf("ParseSpec(%q, %q) = %+v, %v; want ok %v", tc.name, tc.args, s, err, tc.ok)
		}
	}
}

func TestEnvKeepsTheUsersOwn(t *testing.T) {
	in := &Install{Spec: Spec{Name: "transition", Args: []string{"self", "action"}}, Dir: "/tmp/h", ReportDir: "/tmp/h/report"}
	env := in.Env([]string{"PATH=/bin", "PYTHONPATH=/mine", "NODE_OPTIONS=--max-old-space-size=100", "TRACER_TRANSITION=stale"})
	want := map[string]string{
		"PATH":                   "/bin",
		"PYTHONPATH":             "/tmp/h/python:/mine",
		"NODE_OPTIONS":           "--max-old-space-size=100 --require /tmp/h/node/hook.cjs",
		"TRACER_TRANSITION":      "transition",
		"TRACER_TRANSITION_ARGS": "self,action",
		"TRACER_HOOK_REPORT":     "/tmp/h/report",
	}
	got := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := got[k]; dup {
			t.Errorf("%s twice in %q", k, env)
		}
		got[k] = v
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s=%q, want %q", k, got[k], v)
		}
	}
	in.Dir = "/tmp/a b"
	if e := in.Env(nil); !strings.Contains(strings.Join(e, "\n"), `NODE_OPTIONS=--require "/tmp/a b/node/hook.cjs"`) {
		t.Errorf("a path with a space is not quoted for NODE_OPTIONS: %q", e)
	}
}

// hooked runs prog (python or node, with args) under the hooks for spec, the
// binding writing a plain trace file, and returns the trace's path, the
// program's output and the hooks' report.
type hookedRun struct {
	trace          string
	stdout, stderr string
	code           int
	report         Report
}

func runHooked(t *testing.T, spec Spec, extraEnv []string, prog ...string) hookedRun {
	t.Helper()
	in, err := New(spec, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	trace := filepath.Join(t.TempDir(), "t.jsonl")
	cmd := exec.Command(prog[0], prog[1:]...)
	cmd.Dir = "testdata"
	cmd.Env = append(in.Env(append(os.Environ(), extraEnv...)), "TRACER_PROBE_FILE="+trace)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	r := hookedRun{trace: trace, stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", prog, err)
	}
	r.report = in.Report()
	return r
}

// plain runs prog without the hooks.
func plain(t *testing.T, prog ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(prog[0], prog[1:]...)
	cmd.Dir = "testdata"
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", prog, err)
	}
	return stdout.String(), stderr.String(), code
}

// pythons are the interpreters the Python hook is tested with.
var pythons = []string{
	"/root/.pyenv/versions/3.8.18/bin/python3.8",
	"/root/.pyenv/versions/3.10.13/bin/python3.10",
	"/root/.pyenv/versions/3.11.7/bin/python3.11",
	"/root/.pyenv/versions/3.12.1/bin/python3.12",
	"/root/.pyenv/versions/3.13.0/bin/python3.13",
	"/usr/bin/python3.11",
}

func needFile(t *testing.T, path, install string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing: %s", path, install)
	}
}

func TestPythonVersions(t *testing.T) {
	for _, py := range pythons {
		t.Run(filepath.Base(py)+strings.ReplaceAll(filepath.Dir(py), "/", "_"), func(t *testing.T) {
			needFile(t, py, "install it with pyenv (or apt-get install python3.11 for /usr/bin)")
			want, _, _ := plain(t, py, "py_dict_tuple.py")
			r := runHooked(t, Spec{Name: "transition"}, nil, py, "py_dict_tuple.py")
			if r.code != 0 || r.stdout != want || r.stderr != "" {
				t.Fatalf("the program changed under the hook: exit %d, stdout %q (want %q), stderr %q", r.code, r.stdout, want, r.stderr)
			}
			init, steps := testbin.ReadSteps(t, r.trace)
			if init == nil || init.AgentID != "a" || init.ShardID.String() != "7" || len(steps) != 20 {
				t.Fatalf("init %+v, %d steps; want agent a, shard 7, 20 steps", init, len(steps))
			}
			testbin.CheckFromPre(t, steps)
			if s := steps[1]; s.Action.Type != model.Post || s.Action.Content != "héllo 😀" || s.State.Data[0].String() != "7" {
				t.Errorf("step 2: %+v", s)
			}
			if r.report.Calls != 20 || r.report.Steps != 20 || len(r.report.Processes) != 1 {
				t.Errorf("report %+v", r.report)
			}
		})
	}
}

func TestPythonConventions(t *testing.T) {
	for _, tc := range []struct {
		prog       string
		args       []string
		steps      int
		raised     uint64
		wantAction []model.ActionType
	}{
		{"py_dataclass.py", nil, 5, 0, []model.ActionType{model.Register, model.Post, model.Comment, model.Distribute, model.Post}},
		{"py_method.py", []string{"self", "action"}, 5, 0, []model.ActionType{model.Register, model.Post, model.Comment, model.Distribute, model.Post}},
		{"py_method.py", nil, 5, 0, nil}, // self and action are its first two parameters
		{"py_raises.py", nil, 6, 5, nil},
		{"py_utf8_bug.py", nil, 4, 0, nil},
	} {
		t.Run(tc.prog+strings.Join(tc.args, ","), func(t *testing.T) {
			for _, py := range []string{pythons[2], pythons[3]} { // setprofile and sys.monitoring
				want, _, _ := plain(t, py, tc.prog)
				r := runHooked(t, Spec{Name: "transition", Args: tc.args}, nil, py, tc.prog)
				if r.code != 0 || r.stdout != want {
					t.Fatalf("%s: exit %d, stdout %q, want %q\n%s", py, r.code, r.stdout, want, r.stderr)
				}
				_, steps := testbin.ReadSteps(t, r.trace)
				if len(steps) != tc.steps || r.report.Raised != tc.raised || r.report.Unreadable != 0 {
					t.Fatalf("%s: %d steps, report %+v; want %d steps, %d raised", py, len(steps), r.report, tc.steps, tc.raised)
				}
				for i, a := range tc.wantAction {
					if steps[i].Action.Type != a {
						t.Errorf("%s: step %d is %s, want %s", py, i+1, steps[i].Action.Type, a)
					}
				}
				if tc.prog == "py_utf8_bug.py" {
					// The planted bug: step 3 (post "héllo") is 6 bytes, 5 characters.
					testbin.CheckFromPre(t, steps[:2])
					if got := steps[2].State.Data[0].String(); got != "6" {
						t.Errorf("%s: step 3 recorded %s, want the program's own 6", py, got)
					}
					continue
				}
				testbin.CheckFromPre(t, steps)
			}
		})
	}
}

func TestPythonThreads(t *testing.T) {
	for _, py := range []string{pythons[2], pythons[3]} {
		r := runHooked(t, Spec{Name: "transition"}, nil, py, "py_threads.py")
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s", py, r.code, r.stderr)
		}
		_, steps := testbin.ReadSteps(t, r.trace)
		tids := map[int]int{}
		for _, s := range steps {
			tids[s.TID]++
		}
		if len(steps) != 4*251 || len(tids) != 4 {
			t.Fatalf("%s: %d steps on threads %v; want 1004 on 4 threads", py, len(steps), tids)
		}
		testbin.CheckFromPre(t, steps)
	}
}

func TestPythonUnreadableIsReported(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "odd.py")
	src := "class Foo:\n    pass\n\ndef transition(state, action):\n    return state\n\n" +
		"s = {'agent_id': 'a', 'shard_id': 0, 'data': []}\nfor _ in range(3):\n    s = transition(s, Foo())\nprint('ok')\n"
	if err := os.WriteFile(prog, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runHooked(t, Spec{Name: "transition"}, nil, "python3", prog)
	if r.code != 0 || r.stdout != "ok\n" {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	notes := strings.Join(r.report.Notes(), "\n")
	if want := "3 calls of transition could not be read: action has no type field (a Foo object)"; !strings.Contains(notes, want) {
		t.Errorf("notes %q, want %q", notes, want)
	}
	if why := r.report.WhyNone(); !strings.Contains(why, "none could be read") {
		t.Errorf("WhyNone %q", why)
	}
}

func TestPythonChainsToOwnSitecustomize(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sitecustomize.py"), []byte("import builtins\nbuiltins.MARK = 'mine'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	prog := "import sys, builtins\nprint(builtins.MARK, any('tracer-hooks-' in p for p in sys.path))\n"
	for _, py := range []string{pythons[2], pythons[3]} {
		r := runHooked(t, Spec{Name: "transition"}, []string{"PYTHONPATH=" + dir}, py, "-c", prog)
		if r.code != 0 || r.stdout != "mine False\n" {
			t.Errorf("%s: exit %d stdout %q stderr %q; want the program's sitecustomize run and the hook's directory gone from sys.path", py, r.code, r.stdout, r.stderr)
		}
	}
}

func TestNodeConventions(t *testing.T) {
	for _, tc := range []struct {
		prog  string
		args  []string
		steps int
		check bool
	}{
		{"js_esm.mjs", nil, 5, true},
		{"js_method.js", []string{"self", "action"}, 4, true},
		{"js_utf16_bug.js", nil, 4, false},
		{"js_concise.js", nil, 3, true},
	} {
		t.Run(tc.prog, func(t *testing.T) {
			want, _, _ := plain(t, "node", tc.prog)
			r := runHooked(t, Spec{Name: "transition", Args: tc.args}, nil, "node", tc.prog)
			if r.code != 0 || r.stdout != want {
				t.Fatalf("exit %d, stdout %q, want %q\n%s", r.code, r.stdout, want, r.stderr)
			}
			_, steps := testbin.ReadSteps(t, r.trace)
			if len(steps) != tc.steps || r.report.Unreadable != 0 {
				t.Fatalf("%d steps, report %+v; want %d", len(steps), r.report, tc.steps)
			}
			if tc.check {
				testbin.CheckFromPre(t, steps)
			} else if got := steps[2].State.Data[0].String(); got != "7" {
				t.Errorf("step 3 recorded %s, want the program's own 7 (UTF-16 units)", got)
			}
			if tc.prog == "js_method.js" && r.report.Raised != 1 {
				t.Errorf("raised %d, want 1 (the rejected call)", r.report.Raised)
			}
		})
	}
}

// TestModuleQualifiedNames: module:name and file.js:name observe the function
// in that module only.
func TestModuleQualifiedNames(t *testing.T) {
	for _, tc := range []struct {
		spec  string
		prog  []string
		steps int
	}{
		{"py_dict_tuple:transition", []string{"python3", "py_dict_tuple.py"}, 20},
		{"__main__:transition", []string{"python3", "py_dict_tuple.py"}, 20},
		{"py_dict_tuple.py:transition", []string{"python3", "py_dict_tuple.py"}, 20},
		{"elsewhere:transition", []string{"python3", "py_dict_tuple.py"}, 0},
		{"State.transition", []string{"python3", "py_method.py"}, 5},
		{"Other.transition", []string{"python3", "py_method.py"}, 0},
		{"js_utf16_bug.js:transition", []string{"node", "js_utf16_bug.js"}, 4},
		{"elsewhere.js:transition", []string{"node", "js_utf16_bug.js"}, 0},
	} {
		r := runHooked(t, Spec{Name: tc.spec}, nil, tc.prog...)
		n := 0
		if _, err := os.Stat(r.trace); err == nil {
			_, steps := testbin.ReadSteps(t, r.trace)
			n = len(steps)
		}
		if r.code != 0 || n != tc.steps {
			t.Errorf("--transition %s on %s: exit %d, %d steps; want %d\n%s", tc.spec, tc.prog[1], r.code, n, tc.steps, r.stderr)
		}
		if tc.steps == 0 && !strings.Contains(r.report.WhyNone(), "no function named "+tc.spec+" was called") {
			t.Errorf("--transition %s: WhyNone %q", tc.spec, r.report.WhyNone())
		}
	}
}
