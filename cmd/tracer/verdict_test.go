package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// writeTrace writes lines to a file in t's temporary directory.
func writeTrace(t *testing.T, name string, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func stepLine(seq int, action, state string) string {
	return fmt.Sprintf(`{"kind":"step","seq":%d,"t0":1,"t1":2,"tid":7,"action":%s,"state":%s}`, seq, action, state)
}

const initLine = `{"kind":"init","impl":"test","pid":1,"state":{"agent_id":"a","shard_id":0,"data":[]}}`

// TestCheckVerdictExitCodes: each case of a dishonest verdict, as tracer
// check now judges it. The "was" comments give what it said before.
func TestCheckVerdictExitCodes(t *testing.T) {
	comment := `{"type":"comment","author":"a","content":"x"}`
	evenSeqs := func(shardChanges bool) []string {
		lines := []string{initLine}
		for i := 1; i <= 1000; i++ {
			shard := 0
			if shardChanges {
				shard = i
			}
			lines = append(lines, stepLine(2*i, comment, fmt.Sprintf(`{"agent_id":"wrong","shard_id":%d,"data":[9,9]}`, shard)))
		}
		return lines
	}
	conforming := []string{initLine}
	for i := 1; i <= 100; i++ {
		conforming = append(conforming, stepLine(i, comment, `{"agent_id":"a","shard_id":0,"data":[]}`))
	}
	minus50 := append([]string(nil), conforming...)
	minus50[50] = stepLine(50, comment, `{"agent_id":"a","shard_id":0,"data":[-50]}`)
	cut := append([]string(nil), conforming...)
	cut[50] = cut[50][:40]
	lost := append(append([]string(nil), conforming...), `{"kind":"lost","batches":3,"reason":"batches not captured"}`)
	pre := []string{
		`{"kind":"step","seq":1,"tid":1,"pre":{"agent_id":"a","shard_id":0,"data":[]},"action":{"type":"post","author":"a","content":"ab"},"state":{"agent_id":"a","shard_id":0,"data":[2]}}`,
		`{"kind":"step","seq":2,"tid":2,"pre":{"agent_id":"b","shard_id":4,"data":[7]},"action":{"type":"register","name":"c"},"state":{"agent_id":"c","shard_id":4,"data":[7]}}`,
		`{"kind":"step","seq":3,"tid":1,"pre":{"agent_id":"a","shard_id":0,"data":[2]},"action":{"type":"comment","author":"a","content":""},"state":{"agent_id":"a","shard_id":0,"data":[2]}}`,
		`{"kind":"step","seq":4,"tid":1,"pre":{"agent_id":"z","shard_id":0,"data":[]},"action":{"type":"post","author":"z","content":"😀"},"state":{"agent_id":"z","shard_id":0,"data":[1]}}`,
	}
	preBug := append([]string(nil), pre...)
	preBug[3] = strings.Replace(preBug[3], `"data":[1]}}`, `"data":[2]}}`, 1)
	for _, tc := range []struct {
		name   string
		lines  []string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		// was: "checked: 0 steps … conforming", exit 0
		{"even seqs, shard_id changes", evenSeqs(true), nil, 1,
			[]string{"DIVERGENCE at step 2 (comment)", "after 1 step not observed", "Lean theorem run_shard_id", "shard_id: 0 ≠ 1",
				"DIVERGENT under --relation exact: 1000 divergent steps"}, nil},
		// was: conforming, exit 0
		{"even seqs, shard_id kept", evenSeqs(false), nil, 3,
			[]string{"INCOMPLETE under --relation exact", "1000 steps not observed", "no step could be checked",
				"across gaps:  1000 steps"}, []string{"tracer: check: verdict incomplete: not every step could be checked"}},
		// was: exit 2, "malformed trace"
		{"data -50 at step 50", minus50, nil, 1,
			[]string{"INVALID RECORD at step 50", "state.data[0]: -50 is negative", "1 invalid record, the first at seq 50"}, nil},
		{"data -50 at step 50, bisim", minus50, []string{"--relation", "bisim"}, 1, []string{"INVALID RECORD at step 50"}, nil},
		// was: exit 2
		{"a line cut short", cut, nil, 3, []string{"INCOMPLETE", "1 step not observed, 1 undecodable line", ":51: not JSON"}, nil},
		{"a lost record", lost, nil, 3, []string{"INCOMPLETE", "3 batches lost in capture"}, nil},
		{"conforming", conforming, nil, 0, []string{"conforming under --relation exact", "checked:      100 steps"}, nil},
		{"steps with pre", pre, nil, 0,
			[]string{"conforming", "from pre:     4 steps checked from their own pre state; 1 new chain (seq 4)"}, nil},
		{"steps with pre, bisim", pre, []string{"--relation", "bisim"}, 0, []string{"conforming under --relation bisim"}, nil},
		{"a step wrong from its pre", preBug, nil, 1,
			[]string{"DIVERGENCE at step 4 (post)", "transition of the step's own pre state", "data[0]: 1 ≠ 2"}, nil},
		{"not a trace", []string{"a,b", "1,2"}, nil, 2, nil, []string{"not a trace: no line is a record of the trace format"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTrace(t, "t.jsonl", tc.lines...)
			code, stdout, stderr := runTracer(t, append(append([]string{"check"}, tc.args...), path)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
	// A pair: the same pre traces agree; the pre states are compared.
	a, b := writeTrace(t, "a.jsonl", pre...), writeTrace(t, "b.jsonl", pre...)
	if code, stdout, _ := runTracer(t, "check", a, b); code != 0 || !strings.Contains(stdout, "conforming") {
		t.Fatalf("pair with pre: exit %d\n%s", code, stdout)
	}
	otherPre := append([]string(nil), pre...)
	otherPre[2] = strings.Replace(otherPre[2], `"pre":{"agent_id":"a","shard_id":0,"data":[2]}`, `"pre":{"agent_id":"a","shard_id":0,"data":[5]}`, 1)
	c := writeTrace(t, "c.jsonl", otherPre...)
	if code, stdout, _ := runTracer(t, "check", a, c); code != 1 || !strings.Contains(stdout, "the pre states are not related") {
		t.Fatalf("pair with other pre: exit %d\n%s", code, stdout)
	}
}

// startCheck starts tracer check on path with its output captured.
func startCheck(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(tracerBin, append([]string{"check"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stdout, &stderr
}

func exitOf(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// inSyscall waits until a thread of pid is blocked in syscall nr (from
// /proc/PID/task/*/syscall), so that a signal is sent while tracer waits,
// not before it has set up its handlers.
func inSyscall(t *testing.T, pid int, nrs ...int) {
	t.Helper()
	for i := 0; ; i++ {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", pid))
		for _, f := range tasks {
			b, _ := os.ReadFile(f)
			for _, nr := range nrs {
				if strings.HasPrefix(string(b), fmt.Sprintf("%d ", nr)) {
					return
				}
			}
		}
		if i > 6000 {
			t.Fatalf("tracer (pid %d) never blocked in syscalls %v", pid, nrs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCheckFIFOWithoutWriter: a FIFO nobody writes does not hold tracer
// check forever: it gives up with one line naming the FIFO.
func TestCheckFIFOWithoutWriter(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runTracer(t, "check", fifo)
	if code != 2 || !strings.Contains(stderr, "no writer opened the FIFO "+fifo+" within 10s") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestCheckInterrupted: SIGINT or SIGTERM ends a check at once, whether it
// waits for a FIFO's writer, reads a FIFO whose writer is silent, or reads a
// silent pipe on stdin: exit 3 and a line saying it was interrupted.
func TestCheckInterrupted(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run("waiting for a writer/"+sig.String(), func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "fifo")
			if err := unix.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd, _, stderr := startCheck(t, fifo)
			inSyscall(t, cmd.Process.Pid, unix.SYS_OPENAT)
			cmd.Process.Signal(sig)
			if code := exitOf(t, cmd); code != 3 || !strings.Contains(stderr.String(), "interrupted while waiting for a writer on "+fifo) {
				t.Fatalf("exit %d: %s", code, stderr)
			}
		})
		t.Run("reading a silent FIFO/"+sig.String(), func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "fifo")
			if err := unix.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd, stdout, stderr := startCheck(t, fifo)
			w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // waits for tracer's open
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			fmt.Fprintln(w, initLine)
			fmt.Fprintln(w, stepLine(1, `{"type":"comment","author":"a","content":""}`, `{"agent_id":"a","shard_id":0,"data":[]}`))
			// Once the FIFO is empty tracer has read the records: it is past
			// its open, in the reading loop.
			for i := 0; ; i++ {
				n, err := unix.IoctlGetInt(int(w.Fd()), unix.TIOCINQ)
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
				if i > 6000 {
					t.Fatalf("tracer never read the FIFO (%d bytes left)", n)
				}
				time.Sleep(10 * time.Millisecond)
			}
			cmd.Process.Signal(sig)
			code := exitOf(t, cmd)
			if code != 3 || !strings.Contains(stderr.String(), "check: interrupted before the end of the input") ||
				!strings.Contains(stdout.String(), "interrupted:  the check was stopped before the end of the input") ||
				!strings.Contains(stdout.String(), "checked:      1 steps against the model") {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
		})
	}
	t.Run("reading a silent stdin", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		cmd := exec.Command(tracerBin, "check", "-")
		cmd.Stdin = r
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r.Close()
		inSyscall(t, cmd.Process.Pid, unix.SYS_READ)
		cmd.Process.Signal(syscall.SIGINT)
		if code := exitOf(t, cmd); code != 3 || !strings.Contains(stderr.String(), "interrupted") {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	})
}
