package symbolize

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// startInterpreter runs an interpreter in dir on a script that prints
// "ready" and then waits for stdin to close. It returns the pid.
func startInterpreter(t testing.TB, dir string, env []string, name string, args ...string) int {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed for this test: %v", name, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
		os.Remove(perfMapPath(DefaultPerfMapDir, cmd.Process.Pid))
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if sc.Text() == "ready" {
			return cmd.Process.Pid
		}
	}
	t.Fatalf("%s ended before it was ready", name)
	return 0
}

// perfMapEntryFor finds the first line of a perf map whose name has prefix.
func perfMapEntryFor(t *testing.T, path, prefix string) perfMapEntry {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read perf map: %v", err)
	}
	for _, e := range parsePerfMap(data, 0) {
		if strings.HasPrefix(e.name, prefix) {
			return e
		}
	}
	t.Fatalf("no %q entry in %s", prefix, path)
	return perfMapEntry{}
}

const nodeScript = `
function transition(x) { let s = 0; for (let i = 0; i < 100; i++) s += i * x; return s; }
let t = 0;
for (let k = 0; k < 200000; k++) t += transition(k);
console.log(t > 0 ? 'ready' : 'odd');
process.stdin.resume();
`

// TestNodeJIT reads the perf map node writes with --perf-basic-prof and
// names JS code as the user wrote it; node's own C++ code is demangled.
func TestNodeJIT(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "app.js")
	if err := os.WriteFile(script, []byte(nodeScript), 0o644); err != nil {
		t.Fatal(err)
	}
	pid := startInterpreter(t, dir, []string{"NODE_OPTIONS=" + NodeJITOptions}, "node", script)
	s := New()
	defer s.Close()
	if !s.HasPerfMap(pid) {
		t.Fatalf("node wrote no %s", s.PerfMapPath(pid))
	}
	if err := s.LoadProcMaps(pid); err != nil {
		t.Fatal(err)
	}
	e := perfMapEntryFor(t, s.PerfMapPath(pid), "JS:*transition")
	f := s.User(pid, e.start+e.size/2)
	if f.Function != "transition" || f.File != script || f.Line != 2 || f.Kind != JIT {
		t.Errorf("JIT frame: got %+v", f)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "isolate-*.log")); len(left) > 0 {
		t.Errorf("node left %v in its working directory", left)
	}

	// node::Start, placed by hand from node's ELF header and its mapping.
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		t.Fatal(err)
	}
	addr := symbolAddress(t, pid, exe, "_ZN4node5StartEiPPc")
	if f := s.User(pid, addr+8); f.Function != "node::Start" || f.Kind != Native {
		t.Errorf("node C++ frame: got %+v, want node::Start", f)
	}
}

// TestPythonPerfMap reads the perf map of python -X perf (3.12 and later).
func TestPythonPerfMap(t *testing.T) {
	py := "/root/.pyenv/versions/3.12.1/bin/python3.12"
	if _, err := os.Stat(py); err != nil {
		if py, err = exec.LookPath("python3.12"); err != nil {
			t.Skip("no python 3.12 here; -X perf needs 3.12 or later")
		}
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "app.py")
	src := "import sys\n" +
		"def transition(x):\n    return x * 2\n" +
		"for i in range(1000):\n    transition(i)\n" +
		"print('ready', flush=True)\nsys.stdin.read()\n"
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	pid := startInterpreter(t, dir, nil, py, "-X", "perf", script)
	s := New()
	defer s.Close()
	e := perfMapEntryFor(t, s.PerfMapPath(pid), "py::transition:")
	f := s.User(pid, e.start+1)
	if f.Function != "transition" || f.File != script || f.Kind != JIT {
		t.Errorf("got %+v", f)
	}
}
