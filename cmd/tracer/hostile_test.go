package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/tracer-dev/tracer/internal/testbin"
)

// Hostile programs and a tracer killed at any moment (docs/hardening.md):
// nothing a traced program does may block tracer or leave a process
// stopped, and a SIGKILL of tracer at any point leaves no process stopped,
// no BPF program or link loaded and no partial output at a final path.

// settle is how long a test waits for what the kernel and the keeper do
// after tracer is gone (a bound for a hang, not a timing assumption).
const settle = 60 * time.Second

// requireTracing skips a test that needs root for BPF and uprobes.
func requireTracing(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for BPF and uprobes")
	}
}

// fifoExec copies /bin/true, unlinks it, puts a FIFO named as the kernel
// names the deleted file and execs the copy through /proc/self/fd; then
// runs /bin/echo, whose exec would wait if the first one wedged tracer.
const fifoExec = `import os, shutil, subprocess, sys
prog = os.path.join(os.getcwd(), "prog")
shutil.copy("/bin/true", prog)
fd = os.open(prog, os.O_RDONLY)
os.unlink(prog)
os.mkfifo(prog + " (deleted)")
pid = os.fork()
if pid == 0:
    os.execv("/proc/self/fd/%d" % fd, ["prog"])
_, status = os.waitpid(pid, 0)
r = subprocess.run(["/bin/echo", "after"], timeout=60, capture_output=True)
print("true:", status, "echo:", r.stdout.decode().strip(), flush=True)
`

func TestHostileExecThroughFIFOName(t *testing.T) {
	requireTracing(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "fifo_exec.py"), []byte(fifoExec), 0o644); err != nil {
		t.Fatal(err)
	}
	r := invoke(t, invocation{dir: dir, args: []string{"run", "-o", "p.pb.gz", "--", realPython(t), "fifo_exec.py"}})
	noPanic(t, "exec through a FIFO name", r)
	if r.code != 0 || r.stdout != "true: 0 echo: after\n" {
		t.Fatalf("exit %d, stdout %q; want 0 and both programs run; stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	testbin.ReadProfile(t, filepath.Join(dir, "p.pb.gz"))
}

// TestKillDuringExecs kills tracer (SIGKILL) at random moments while the
// shell it traces execs /bin/true in a loop: each exec stops the process
// until tracer has looked at it, and no process may stay stopped.
func TestKillDuringExecs(t *testing.T) {
	requireTracing(t)
	for try := range 5 {
		k := startKillable(t, t.TempDir(), nil, "run", "--", "/bin/sh", "-c", "while :; do /bin/true; done")
		k.waitCommand(t)
		time.Sleep(time.Duration(rand.IntN(1000)) * time.Millisecond)
		k.kill(t)
		k.assertClean(t, fmt.Sprintf("try %d", try))
		k.killTree()
	}
}

// TestKillAtRandomPoints kills tracer at random points of a run of the
// example Python container, from its start-up to the writing of its
// outputs; then runs again into the same paths, which must complete and
// leave no temporary file behind.
func TestKillAtRandomPoints(t *testing.T) {
	requireTracing(t)
	dir := t.TempDir()
	args := []string{"run", "-o", "p.pb.gz", "--folded", "f.txt", "--trace", "t.jsonl", "--",
		realPython(t), examplePath(t, "python_container.py"), "--steps", "20000", "--seed", "3"}
	start := time.Now()
	whole := invoke(t, invocation{dir: dir, args: args})
	full := time.Since(start)
	if whole.code != 0 {
		t.Fatalf("a whole run: exit %d\n%s", whole.code, whole.stderr)
	}
	for _, f := range []string{"p.pb.gz", "f.txt", "t.jsonl"} {
		os.Remove(filepath.Join(dir, f))
	}
	for try := range 8 {
		k := startKillable(t, dir, nil, args...)
		// Anywhere from the first instant to past the end of a whole run.
		time.Sleep(time.Duration(rand.Int64N(int64(full) * 11 / 10)))
		k.kill(t)
		k.assertClean(t, fmt.Sprintf("try %d", try))
		assertWholeOrAbsent(t, dir)
		k.killTree()
	}
	again := invoke(t, invocation{dir: dir, args: args})
	if again.code != 0 {
		t.Fatalf("the run after the kills: exit %d\n%s", again.code, again.stderr)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	if len(left) > 0 {
		t.Errorf("temporary files left after a complete run into the same paths: %v", left)
	}
	assertWholeOrAbsent(t, dir)
}

func examplePath(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// assertWholeOrAbsent checks that each output in dir is absent or whole:
// a profile that decodes, a trace whose every line is a JSON object.
func assertWholeOrAbsent(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "p.pb.gz")); err == nil {
		testbin.ReadProfile(t, filepath.Join(dir, "p.pb.gz"))
	}
	if b, err := os.ReadFile(filepath.Join(dir, "t.jsonl")); err == nil {
		if len(b) > 0 && b[len(b)-1] != '\n' {
			t.Errorf("t.jsonl ends in the middle of a line")
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<24)
		for n := 1; sc.Scan(); n++ {
			var v map[string]any
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				t.Fatalf("t.jsonl line %d: %v", n, err)
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "f.txt")); err == nil && len(b) > 0 && b[len(b)-1] != '\n' {
		t.Errorf("f.txt ends in the middle of a line")
	}
}

// killable is a tracer started to be killed.
type killable struct {
	cmd      *exec.Cmd
	out      *os.File     // tracer's output: a file, so that no pipe outlives it in its children
	children map[int]bool // tracer's children seen: the command, the keeper, helpers
	progs    map[ebpf.ProgramID]bool
	links    map[link.ID]bool
}

func startKillable(t *testing.T, dir string, env []string, args ...string) *killable {
	t.Helper()
	k := &killable{children: map[int]bool{}, progs: map[ebpf.ProgramID]bool{}, links: map[link.ID]bool{}}
	k.cmd = exec.Command(tracerBin, args...)
	k.cmd.Dir = dir
	k.cmd.Env = append(os.Environ(), env...)
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	k.out = out
	k.cmd.Stdout, k.cmd.Stderr = out, out
	if err := k.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.cmd.Process.Kill(); k.cmd.Wait(); k.killTree() })
	return k
}

// waitCommand waits until tracer has a child (the command behind its gate).
func (k *killable) waitCommand(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(settle)
	for time.Now().Before(deadline) {
		k.look()
		if len(k.children) > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	b, _ := os.ReadFile(k.out.Name())
	t.Fatalf("tracer started no command; output:\n%s", b)
}

// look records tracer's children and the BPF programs and links it holds.
func (k *killable) look() {
	pid := k.cmd.Process.Pid
	for _, c := range childrenOf(pid) {
		k.children[c] = true
	}
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fdinfo", pid))
	for _, e := range ents {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, e.Name()))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			key, val, ok := strings.Cut(line, ":")
			n, err := strconv.ParseUint(strings.TrimSpace(val), 10, 32)
			if !ok || err != nil {
				continue
			}
			switch key {
			case "prog_id":
				k.progs[ebpf.ProgramID(n)] = true
			case "link_id":
				k.links[link.ID(n)] = true
			}
		}
	}
}

// kill records what tracer holds, sends SIGKILL and reaps it.
func (k *killable) kill(t *testing.T) {
	t.Helper()
	k.look()
	k.cmd.Process.Signal(syscall.SIGKILL)
	k.cmd.Wait()
}

// assertClean waits (at most settle) until no process tracer started or
// its command started is stopped, and every BPF program and link tracer
// held is gone; then says what is left.
func (k *killable) assertClean(t *testing.T, what string) {
	t.Helper()
	var stopped []string
	var progs, links []uint32
	deadline := time.Now().Add(settle)
	for {
		stopped, progs, links = nil, nil, nil
		for c := range k.children {
			for _, p := range treeOf(c) {
				if st := procState(p); st == "T" || st == "t" {
					stopped = append(stopped, fmt.Sprintf("%d (%s)", p, procComm(p)))
				}
			}
		}
		for id := range k.progs {
			if p, err := ebpf.NewProgramFromID(id); err == nil {
				p.Close()
				progs = append(progs, uint32(id))
			}
		}
		for id := range k.links {
			if l, err := link.NewFromID(id); err == nil {
				l.Close()
				links = append(links, uint32(id))
			}
		}
		if len(stopped)+len(progs)+len(links) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(stopped) > 0 {
		t.Errorf("%s: processes left stopped after tracer was killed: %v", what, stopped)
	}
	if len(progs)+len(links) > 0 {
		t.Errorf("%s: BPF programs %v and links %v of the killed tracer are still loaded", what, progs, links)
	}
}

// killTree kills every process tracer started (the command's tree).
func (k *killable) killTree() {
	for c := range k.children {
		for _, p := range treeOf(c) {
			syscall.Kill(p, syscall.SIGKILL)
		}
	}
}

// childrenOf lists the children of every thread of pid.
func childrenOf(pid int) []int {
	var out []int
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// treeOf returns pid and its descendants.
func treeOf(pid int) []int {
	if procState(pid) == "" {
		return nil
	}
	out := []int{pid}
	for i := 0; i < len(out) && len(out) < 10000; i++ {
		out = append(out, childrenOf(out[i])...)
	}
	return out
}

// procState is the state letter of pid in /proc/PID/stat, "" when gone.
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+3 > len(b) {
		return ""
	}
	return string(b[i+2 : i+3])
}

func procComm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

// manyForks forks 1100 children that exit at once (more than the Python
// frames table holds at a time), then burns in one more child.
const manyForks = `import os, time
def late_child_work():
    end = time.monotonic() + 1.0
    x = 0
    while time.monotonic() < end:
        x += 1
for i in range(1100):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
pid = os.fork()
if pid == 0:
    late_child_work()
    os._exit(0)
os.waitpid(pid, 0)
print("done", flush=True)
`

// TestPythonFramesAfterManyProcesses: the Python frames of a process are
// still read after more processes than the BPF table holds have come and
// gone (each one's entry goes at its exit), and the notes stay few.
func TestPythonFramesAfterManyProcesses(t *testing.T) {
	requireTracing(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "forks.py"), []byte(manyForks), 0o644); err != nil {
		t.Fatal(err)
	}
	r := invoke(t, invocation{dir: dir, args: []string{"run", "-F", "499", "-o", "p.pb.gz", "--", realPython(t), "forks.py"}})
	noPanic(t, "many forks", r)
	if r.code != 0 || r.stdout != "done\n" {
		t.Fatalf("exit %d, stdout %q; stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if n := strings.Count(r.stderr, "python frames for pid"); n > 10 {
		t.Errorf("%d lines about processes the Python frames table could not take", n)
	}
	p := testbin.ReadProfile(t, filepath.Join(dir, "p.pb.gz"))
	n := 0
	for _, s := range p.Sample {
		for _, loc := range s.Location {
			for _, l := range loc.Line {
				if l.Function != nil && l.Function.Name == "late_child_work" {
					n++
				}
			}
		}
	}
	if n == 0 {
		t.Errorf("no sample names late_child_work, the Python function of the 1101st process; stderr:\n%s", r.stderr)
	}
}
