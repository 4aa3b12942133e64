package capture

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tracer-dev/tracer/internal/privtest"
	"github.com/tracer-dev/tracer/loader"
)

// Interpreters the capture tests run; each must exist on this machine.
const (
	pyenvPython  = "/root/.pyenv/versions/3.11.7/bin/python3.11" // shared libpython
	staticPython = "/usr/bin/python3.11"                         // _Py_write in the executable
	nodeBin      = "/usr/bin/node"
)

// requireCapture skips the test when the kernel lacks what the capture needs.
func requireCapture(t *testing.T) {
	t.Helper()
	privtest.Require(t, "transition capture", loader.CheckPrivilege(), loader.ProbeFeatures(loader.FeatureBPF, loader.FeatureUprobe))
}

// requireFile fails (does not skip) when an interpreter the test needs is missing.
func requireFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is needed by this test: %v (install it or fix the path)", path, err)
	}
}

// gatedCmd starts argv with a pipe on stdin; writing a line to the returned
// writer lets it go on.
func gatedCmd(t *testing.T, argv ...string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = io.Discard
	cmd.Stderr = os.Stderr
	w, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", argv, err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, w
}

// collectBatches reads batches until run returns, then drains the ring.
func collectBatches(t *testing.T, c *Capture, run func() error) ([]Batch, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var got []Batch
	done := make(chan error, 1)
	go func() {
		done <- c.Read(ctx, func(b Batch) error {
			b.Payload = bytes.Clone(b.Payload)
			got = append(got, b)
			return nil
		})
	}()
	runErr := run()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("read: %v", err)
	}
	return got, runErr
}

// checkWriterBatches asserts what capture_writer.{py,js} BATCHES PER wrote.
func checkWriterBatches(t *testing.T, c *Capture, got []Batch, pid, batches, per int) {
	t.Helper()
	if len(got) != batches+2 {
		t.Fatalf("got %d batches, want %d (%d + the largest + the truncated one)", len(got), batches+2, batches)
	}
	seq := 1
	for i, b := range got[:batches] {
		if b.PID != pid || int(b.Number) != i+1 || b.Gap != 0 || b.Truncated {
			t.Fatalf("batch %d: pid %d number %d gap %d truncated %v; want pid %d number %d", i, b.PID, b.Number, b.Gap, b.Truncated, pid, i+1)
		}
		if b.Time == 0 {
			t.Errorf("batch %d has no time", i)
		}
		n := 0
		err := Records(b.Payload, func(line []byte) error {
			var r struct{ Seq int }
			if err := json.Unmarshal(line, &r); err != nil {
				return err
			}
			if r.Seq != seq {
				return fmt.Errorf("seq %d, want %d", r.Seq, seq)
			}
			seq++
			n++
			return nil
		})
		if err != nil || n != per {
			t.Fatalf("batch %d: %d records (want %d): %v", i, n, per, err)
		}
	}
	largest := got[batches]
	if len(largest.Payload)+FrameHeaderLen != FrameMaxLen || largest.Truncated {
		t.Errorf("largest batch: %d payload bytes, truncated %v; want %d whole", len(largest.Payload), largest.Truncated, FrameMaxLen-FrameHeaderLen)
	}
	cut := got[batches+1]
	if !cut.Truncated || len(cut.Payload) == 0 || len(cut.Payload) > FrameMaxLen-FrameHeaderLen || cut.Payload[len(cut.Payload)-1] != '\n' {
		t.Errorf("oversized batch: truncated %v, %d payload bytes", cut.Truncated, len(cut.Payload))
	}
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Batches != uint64(batches+2) || st.Truncated != 1 || st.Malformed != 1 || st.RingFull != 0 || st.ReadFail != 0 || st.BadFrames != 0 || st.LostBatches != 0 || st.MissedAtStart != 0 {
		t.Errorf("stats: %+v", st)
	}
	if st.DroppedBytes == 0 {
		t.Errorf("truncated batch dropped no bytes: %+v", st)
	}
	// 200 ordinary writes to /dev/null + batches + largest + malformed + oversized.
	if st.Hits < uint64(batches+203) {
		t.Errorf("only %d uprobe hits: ordinary writes were not seen", st.Hits)
	}
}

func testWriter(t *testing.T, argv []string, wantInterp Interp) {
	requireCapture(t)
	requireFile(t, argv[0])
	const batches, per = 40, 25
	c, err := NewCapture(CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cmd, gate := gatedCmd(t, append(argv, fmt.Sprint(batches), fmt.Sprint(per))...)
	ts, err := waitTargets(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range ts {
		if tg.Interp != wantInterp {
			t.Fatalf("found %v, want %s", tg, wantInterp)
		}
		if err := c.AttachTarget(cmd.Process.Pid, tg); err != nil {
			t.Fatal(err)
		}
	}
	got, err := collectBatches(t, c, func() error {
		gate.Write([]byte("go\n"))
		return cmd.Wait()
	})
	if err != nil {
		t.Fatalf("writer: %v", err)
	}
	checkWriterBatches(t, c, got, cmd.Process.Pid, batches, per)
	if err := c.Detach(cmd.Process.Pid); err != nil {
		t.Errorf("detach: %v", err)
	}
}

// waitTargets polls /proc/PID/maps until the interpreter is mapped: the
// process is blocked on stdin by then.
func waitTargets(pid int) ([]Target, error) {
	var err error
	for range 2000 {
		var ts []Target
		if ts, err = FindTargets(pid); err == nil {
			return ts, nil
		}
		sleepBrief()
	}
	return nil, fmt.Errorf("pid %d: %w", pid, err)
}

func TestCaptureSharedLibpython(t *testing.T) {
	testWriter(t, []string{pyenvPython, filepath.Join("testdata", "capture_writer.py")}, CPython)
}

func TestCaptureStaticPython(t *testing.T) {
	testWriter(t, []string{staticPython, filepath.Join("testdata", "capture_writer.py")}, CPython)
}

func TestCaptureNode(t *testing.T) {
	testWriter(t, []string{nodeBin, filepath.Join("testdata", "capture_writer.js")}, Node)
}

// TestCaptureAcrossExec attaches to libpython on a shell's pid before the shell
// execs python: the uprobe follows the pid into its new image.
func TestCaptureAcrossExec(t *testing.T) {
	requireCapture(t)
	requireFile(t, pyenvPython)
	lib := "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0"
	tg, ok := TargetForFile(lib)
	if !ok || tg.Interp != CPython || tg.Offset == 0 {
		t.Fatalf("TargetForFile(%s) = %v, %v", lib, tg, ok)
	}
	c, err := NewCapture(CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	script := filepath.Join("testdata", "capture_writer.py")
	cmd, gate := gatedCmd(t, "/bin/sh", "-c", `read x; exec "$0" "$1" 3 5`, pyenvPython, script)
	if err := c.AttachTarget(cmd.Process.Pid, tg); err != nil {
		t.Fatal(err)
	}
	got, err := collectBatches(t, c, func() error {
		gate.Write([]byte("go\ngo\n")) // one line for sh, one for python
		return cmd.Wait()
	})
	if err != nil {
		t.Fatalf("writer: %v", err)
	}
	checkWriterBatches(t, c, got, cmd.Process.Pid, 3, 5)
}

func TestFindTargetsNoInterpreter(t *testing.T) {
	cmd, _ := gatedCmd(t, "/bin/cat")
	var err error
	for range 200 {
		if _, err = FindTargets(cmd.Process.Pid); errors.Is(err, ErrNoInterpreter) {
			return
		}
		sleepBrief()
	}
	t.Fatalf("FindTargets(cat) = %v, want ErrNoInterpreter", err)
}

func TestTargetForFile(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		interp     Interp
		sym        string
		ok         bool
	}{
		{"shared libpython", "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0", CPython, "_Py_write", true},
		{"libpython 3.12", "/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0", CPython, "_Py_write", true},
		{"static python", staticPython, CPython, "_Py_write", true},
		{"pyenv executable without _Py_write", pyenvPython, "", "", false},
		{"node", nodeBin, Node, "uv_fs_write", true},
		{"libc", "/lib/x86_64-linux-gnu/libc.so.6", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireFile(t, tc.path)
			tg, ok := TargetForFile(tc.path)
			if ok != tc.ok || tg.Interp != tc.interp || tg.Symbol != tc.sym || (ok && tg.Offset == 0) {
				t.Fatalf("TargetForFile(%s) = %+v, %v", tc.path, tg, ok)
			}
		})
	}
}

func TestResolveCommand(t *testing.T) {
	requireFile(t, pyenvPython)
	dir := t.TempDir()
	script := filepath.Join(dir, "tool")
	if err := os.WriteFile(script, []byte("#!/usr/bin/env node\nconsole.log(1)\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, exe string
		want      string // path of the single target; "" for none
	}{
		{"pyenv python needs libpython", pyenvPython, "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0"},
		{"static python", staticPython, staticPython},
		{"node", nodeBin, nodeBin},
		{"env node script", script, nodeBin},
		{"shell", "/bin/sh", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := ResolveCommand(tc.exe, "/usr/local/bin:/usr/bin:/bin")
			switch {
			case tc.want == "" && len(ts) != 0:
				t.Fatalf("ResolveCommand(%s) = %v, want none", tc.exe, ts)
			case tc.want != "" && (len(ts) != 1 || ts[0].Path != tc.want):
				t.Fatalf("ResolveCommand(%s) = %v, want %s", tc.exe, ts, tc.want)
			}
		})
	}
}

// TestCaptureFollowExecs: a shell that starts python as a child (through
// pyenv's shim) and exits at once: the uprobe is placed at the child's exec,
// before python runs, so its batches are all seen.
func TestCaptureFollowExecs(t *testing.T) {
	requireCapture(t)
	requireFile(t, pyenvPython)
	c, err := NewCapture(CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	script := filepath.Join("testdata", "capture_writer.py")
	cmd, gate := gatedCmd(t, "/bin/sh", "-c", `read x; echo go | python3 "$0" 3 5; echo go | /usr/bin/python3.11 "$0" 2 4`, script)
	var attachedPIDs []int
	if err := c.Follow(cmd.Process.Pid, true, func(pid int, ts []Target) { attachedPIDs = append(attachedPIDs, pid) }); err != nil {
		t.Fatal(err)
	}
	got, err := collectBatches(t, c, func() error {
		gate.Write([]byte("go\n"))
		return cmd.Wait()
	})
	if err != nil {
		t.Fatalf("shell: %v", err)
	}
	byPID := map[int][]Batch{}
	var order []int
	for _, b := range got {
		if byPID[b.PID] == nil {
			order = append(order, b.PID)
		}
		byPID[b.PID] = append(byPID[b.PID], b)
	}
	if len(order) != 2 || len(byPID[order[0]]) != 5 || len(byPID[order[1]]) != 4 {
		t.Fatalf("batches by pid: %d pids, %v; attached %v", len(order), byPID, attachedPIDs)
	}
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.MissedAtStart != 0 || st.LostBatches != 0 || st.Execs < 2 || st.ExecLost != 0 || st.AttachErrors != 0 {
		t.Fatalf("stats: %s", st)
	}
}
