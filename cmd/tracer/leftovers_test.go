package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// What a run leaves behind and what it says: the perf maps tracer made node
// write are removed, temporary outputs of a killed run are removed by the
// next, a Ctrl-C during start-up reaches the command, and a process tracer
// may not inspect is named as such.

func TestRunRemovesNodePerfMaps(t *testing.T) {
	requireTracing(t)
	dir := t.TempDir()
	prog := `console.log(process.pid); const end = Date.now() + 300; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1);`
	r := invoke(t, invocation{dir: dir, args: []string{"run", "-o", "p.pb.gz", "--", "node", "-e", prog}})
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(r.stdout))
	if err != nil {
		t.Fatalf("node printed %q", r.stdout)
	}
	if _, err := os.Stat(fmt.Sprintf("/tmp/perf-%d.map", pid)); err == nil {
		os.Remove(fmt.Sprintf("/tmp/perf-%d.map", pid))
		t.Errorf("/tmp/perf-%d.map, written because tracer asked node to, is left after the run", pid)
	}
}

func TestRunRemovesStaleTemporaryOutputs(t *testing.T) {
	requireTracing(t)
	dir := t.TempDir()
	stale := []string{".p.pb.gz.tmp-1234", ".t.jsonl.tmp-99", ".f.txt.tmp-7"}
	for _, n := range stale {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// One held (locked) as a run writing the same path right now would:
	// it is kept.
	busy, err := os.Create(filepath.Join(dir, ".p.pb.gz.tmp-5678"))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if err := syscall.Flock(int(busy.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	r := invoke(t, invocation{dir: dir, args: []string{"run", "-o", "p.pb.gz", "--folded", "f.txt", "--trace", "t.jsonl", "--", "/bin/true"}})
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, n := range stale {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			t.Errorf("%s, left by a killed run, is still there", n)
		}
	}
	if _, err := os.Stat(busy.Name()); err != nil {
		t.Errorf("the temporary file of a run still writing was removed: %v", err)
	}
}

// TestStartupSIGINTIsForwarded sends SIGINT to tracer as soon as its
// command exists (behind the gate, before or while the samplers open): the
// command must get it (not a SIGTERM after a grace period).
func TestStartupSIGINTIsForwarded(t *testing.T) {
	requireTracing(t)
	dir := t.TempDir()
	prog := `import signal, sys, time
def on_int(*a):
    print("got SIGINT", flush=True)
    sys.exit(5)
signal.signal(signal.SIGINT, on_int)
print("ready", flush=True)
time.sleep(120)
`
	// SIGINT is not ignored by tracer and its command, whatever started
	// this test (a background job of a shell ignores it).
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT)
	defer signal.Stop(sigs)
	for try := range 3 {
		out := filepath.Join(dir, fmt.Sprintf("out%d", try))
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(tracerBin, "run", "-o", filepath.Join(dir, "p.pb.gz"), "--", realPython(t), "-c", prog)
		cmd.Stdout, cmd.Stderr = f, f
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for len(childrenOf(cmd.Process.Pid)) == 0 && procState(cmd.Process.Pid) != "" {
			time.Sleep(time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(settle):
			cmd.Process.Kill()
			t.Fatal("tracer did not end after SIGINT")
		}
		f.Close()
		b, _ := os.ReadFile(out)
		s := string(b)
		switch {
		case strings.Contains(s, "SIGTERM"):
			t.Errorf("try %d: the command got SIGTERM, not the SIGINT:\n%s", try, s)
		case strings.Contains(s, "got SIGINT"), strings.Contains(s, "killed by signal SIGINT"),
			strings.Contains(s, "KeyboardInterrupt"), strings.Contains(s, "interrupted by SIGINT before the command ran"), strings.Contains(s, "interrupted before the command ran"):
		default:
			t.Errorf("try %d: nothing says the command got SIGINT:\n%s", try, s)
		}
	}
}

// TestAttachNotPermitted: a process tracer may not inspect (pid 1 here,
// whose /proc files are closed even to root) is named as such, not as a
// process that has gone.
func TestAttachNotPermitted(t *testing.T) {
	requireTracing(t)
	if f, err := os.Open("/proc/1/maps"); err == nil {
		f.Close()
		t.Skip("pid 1 can be inspected on this machine: no process to be refused")
	}
	r := invoke(t, invocation{args: []string{"attach", "--pid", "1", "--duration", "1s", "-o", filepath.Join(t.TempDir(), "p.pb.gz")}})
	oneLine(t, "attach --pid 1", r, "permission", "denied")
	if strings.Contains(r.stderr, "running") || strings.Contains(r.stderr, "exited") {
		t.Errorf("the message blames a process that is not running: %s", r.stderr)
	}
}
