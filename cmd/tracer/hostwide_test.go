package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/tracer-dev/tracer/internal/testbin"
)

// nodeSpin burns a fixed amount of CPU in a named JavaScript function.
const nodeSpin = `function spinHostwide() { let s = 0; for (let i = 0; i < 1e6; i++) s += i * i; return s; }
let t = 0; for (let k = 0; k < 400; k++) t += spinHostwide();
console.log(t > 0 ? "done" : "");
`

// testCgroup makes a cgroup v2 directory of its own for the processes of
// one test, so that the host-wide mode, filtered on it, sees them and not
// the rest of the machine. It returns the directory and its cgroup path.
func testCgroup(t *testing.T) (dir, path string) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	mount := ""
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if ok && strings.HasPrefix(post, "cgroup2 ") {
			if fs := strings.Fields(pre); len(fs) > 4 && fs[3] == "/" {
				mount = fs[4]
				break
			}
		}
	}
	if mount == "" {
		t.Skip("no cgroup v2 hierarchy is mounted: the host-wide tests put their processes in a cgroup of their own")
	}
	name := fmt.Sprintf("tracer-test-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "_"))
	dir = filepath.Join(mount, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot make a cgroup under %s (%v): the host-wide tests put their processes in a cgroup of their own", mount, err)
	}
	t.Cleanup(func() { os.Remove(dir) })
	// The directory is right below the hierarchy's root: its cgroup path
	// is /NAME.
	return dir, "/" + name
}

// inCgroup starts argv in the cgroup directory cg (a shell moves itself
// there, then execs argv: the pid is argv's).
func inCgroup(t *testing.T, cg string, argv ...string) *exec.Cmd {
	t.Helper()
	args := append([]string{"-c", `echo $$ > "$0/cgroup.procs" && exec "$@"`, cg}, argv...)
	cmd := exec.Command("/bin/sh", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", argv, err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// waitOK waits for a process started by inCgroup and fails on a non-zero
// exit.
func waitOK(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, cmd.Stdout)
	}
}

// hostTracer is a tracer attach --all running in the background.
type hostTracer struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	ready  chan struct{}
	done   chan struct{}
	code   int
}

// startHostTracer starts tracer attach --all with args and waits until it
// follows the processes that start (its "following" line).
func startHostTracer(t *testing.T, args ...string) *hostTracer {
	t.Helper()
	h := &hostTracer{ready: make(chan struct{}), done: make(chan struct{})}
	h.cmd = exec.Command(tracerBin, append([]string{"attach", "--all"}, args...)...)
	pr, err := h.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			h.mu.Lock()
			h.stderr.WriteString(sc.Text() + "\n")
			h.mu.Unlock()
			if strings.Contains(sc.Text(), "following ") {
				once.Do(func() { close(h.ready) })
			}
		}
		io.Copy(io.Discard, pr)
		err := h.cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			h.code = ee.ExitCode()
		}
		close(h.done)
	}()
	t.Cleanup(func() {
		h.cmd.Process.Kill()
		<-h.done
	})
	select {
	case <-h.ready:
	case <-h.done:
		t.Fatalf("tracer attach --all ended before following anything (exit %d):\n%s", h.code, h.text())
	}
	return h
}

func (h *hostTracer) text() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stderr.String()
}

// stop ends the tracer as Ctrl-C does and returns its exit code and
// stderr.
func (h *hostTracer) stop(t *testing.T) (int, string) {
	t.Helper()
	h.cmd.Process.Signal(syscall.SIGINT)
	<-h.done
	return h.code, h.text()
}

// profilePIDs counts the samples of a pprof profile by pid.
func profilePIDs(t *testing.T, path string) map[int64]int64 {
	t.Helper()
	p := testbin.ReadProfile(t, path)
	n := map[int64]int64{}
	for _, s := range p.Sample {
		for _, pid := range s.NumLabel["pid"] {
			n[pid] += s.Value[0]
		}
	}
	return n
}

// TestHostwideFollowsNewProcesses: tracer attach --all, started first,
// follows a python and a node process started after it: their samples are
// in the profile (Python frames for the one, node's own command name for
// the other), the steps the python process reports through the binding are
// checked, and the Collector receives both processes, each as its own
// resource.
func TestHostwideFollowsNewProcesses(t *testing.T) {
	needCapture(t)
	col := startCollector(t)
	cg, cgPath := testCgroup(t)
	dir := t.TempDir()
	prof, folded, trace := filepath.Join(dir, "p.pb.gz"), filepath.Join(dir, "p.folded"), filepath.Join(dir, "t.jsonl")
	js := filepath.Join(dir, "spin.js")
	if err := os.WriteFile(js, []byte(nodeSpin), 0o644); err != nil {
		t.Fatal(err)
	}
	h := startHostTracer(t, "--cgroup", cgPath, "-F", "499", "-o", prof, "--folded", folded, "--trace", trace,
		"--otlp-endpoint", col.endpoint, "--otlp-interval", "1s")
	py := inCgroup(t, cg, realPython(t), abs(t, "../../examples/python_container.py"), "--steps", "60000")
	node := inCgroup(t, cg, "node", js)
	waitOK(t, py)
	waitOK(t, node)
	code, stderr := h.stop(t)
	if code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, stderr)
	}
	pids := profilePIDs(t, prof)
	pyPID, nodePID := int64(py.Process.Pid), int64(node.Process.Pid)
	if pids[pyPID] == 0 || pids[nodePID] == 0 {
		t.Fatalf("samples by pid %v, want some of python %d and of node %d\n%s", pids, pyPID, nodePID, stderr)
	}
	for pid := range pids {
		if pid != pyPID && pid != nodePID {
			t.Errorf("pid %d is in the profile: only the processes of cgroup %s should be", pid, cgPath)
		}
	}
	b, err := os.ReadFile(folded)
	if err != nil {
		t.Fatal(err)
	}
	var pyFrames, nodeComm bool
	for _, line := range strings.Split(string(b), "\n") {
		pyFrames = pyFrames || strings.HasPrefix(line, "python") && strings.Contains(line, ";transition")
		nodeComm = nodeComm || strings.HasPrefix(line, "node;")
	}
	if !pyFrames || !nodeComm {
		t.Errorf("folded stacks: Python frame transition %v, node's samples %v\n%s", pyFrames, nodeComm, b)
	}
	tb, err := os.ReadFile(trace)
	if err != nil {
		t.Fatalf("the python process's steps were not captured: %v\n%s", err, stderr)
	}
	if n := bytes.Count(tb, []byte(`"kind":"step"`)); n == 0 || n > 60000 {
		t.Errorf("the trace has %d steps, want some of the 60000\n%s", n, stderr)
	}
	if !strings.Contains(stderr, "steps checked") && !strings.Contains(stderr, "conform") {
		t.Logf("stderr:\n%s", stderr)
	}
	got := col.waitSamples(t, 1)
	runtimes := map[string]string{}
	for _, res := range got.resources {
		runtimes[res["process.pid"]] = res["process.runtime.name"]
	}
	if runtimes[strconv.FormatInt(pyPID, 10)] != "cpython" || runtimes[strconv.FormatInt(nodePID, 10)] != "nodejs" {
		t.Errorf("resources at the Collector by pid: %v, want %d cpython and %d nodejs", runtimes, pyPID, nodePID)
	}
}

// TestHostwideFilters: the uid and executable filters leave out what they
// should: a python process of another user and a node process are not
// followed, a python process of root is.
func TestHostwideFilters(t *testing.T) {
	needCapture(t)
	cg, cgPath := testCgroup(t)
	// Readable by the other user's process.
	dir, err := os.MkdirTemp("", "tracer-hostwide-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	prof := filepath.Join(dir, "p.pb.gz")
	js := filepath.Join(dir, "spin.js")
	loop := filepath.Join(dir, "loop.py")
	if err := os.WriteFile(js, []byte(nodeSpin), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(loop, []byte("def spin_hostwide():\n    return sum(i * i for i in range(3_000_000))\nfor _ in range(3):\n    spin_hostwide()\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Debian's python3.11 is readable by every user (pyenv's is under /root).
	other := "/usr/bin/python3.11"
	if _, err := os.Stat(other); err != nil {
		t.Fatalf("%s is needed for a python process of another user: apt-get install -y python3.11", other)
	}
	h := startHostTracer(t, "--cgroup", cgPath, "--uid", "0", "--exe", "python*", "-F", "499", "-o", prof)
	mine := inCgroup(t, cg, realPython(t), loop)
	theirs := inCgroup(t, cg, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", other, loop)
	node := inCgroup(t, cg, "node", js)
	waitOK(t, mine)
	waitOK(t, theirs)
	waitOK(t, node)
	code, stderr := h.stop(t)
	if code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, stderr)
	}
	pids := profilePIDs(t, prof)
	if pids[int64(mine.Process.Pid)] == 0 {
		t.Errorf("no samples of root's python %d (samples by pid: %v)\n%s", mine.Process.Pid, pids, stderr)
	}
	if n := pids[int64(theirs.Process.Pid)]; n != 0 {
		t.Errorf("%d samples of uid 65534's python: --uid 0 should leave it out", n)
	}
	if n := pids[int64(node.Process.Pid)]; n != 0 {
		t.Errorf("%d samples of node: --exe python* should leave it out", n)
	}
	if len(pids) != 1 {
		t.Errorf("samples by pid %v, want only %d", pids, mine.Process.Pid)
	}
}
