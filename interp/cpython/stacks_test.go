package cpython

import (
	"bufio"
	"os/exec"
	"strings"
	"testing"

	"github.com/cilium/ebpf/rlimit"
	"github.com/elastic/go-perf"
	"golang.org/x/sys/unix"

	"github.com/tracer-dev/tracer/internal/privtest"
	"github.com/tracer-dev/tracer/loader"
)

// interpreters are the five the Python frame reader is tested on.
var interpreters = []struct{ name, path string }{
	{"3.10", "/root/.pyenv/versions/3.10.13/bin/python3.10"},
	{"3.11", "/root/.pyenv/versions/3.11.7/bin/python3.11"},
	{"3.12", "/root/.pyenv/versions/3.12.1/bin/python3.12"},
	{"3.13", "/root/.pyenv/versions/3.13.0/bin/python3.13"},
	{"debian-3.11", "/usr/bin/python3.11"},
}

// pyDepthRun starts testdata/python_depth.py, reads its Python stacks with
// the BPF program on a cpu-clock event of its own, and returns them.
func pyDepthRun(t *testing.T, python, mode string) ([]*Stack, Stats) {
	t.Helper()
	privtest.Require(t, "sampling other processes", loader.CheckPrivilege())
	_ = rlimit.RemoveMemlock()
	cmd := exec.Command(python, "testdata/python_depth.py", mode)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", python, err)
	}
	defer cmd.Process.Kill()
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); strings.TrimSpace(line) != "ready" {
		t.Fatalf("burner said %q", line)
	}
	pp, err := Find(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := openStackReader()
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if err := pf.AddProcess(pp, 1); err != nil {
		t.Fatal(err)
	}
	a := &perf.Attr{Type: perf.SoftwareEvent, Config: uint64(perf.CPUClock),
		Options: perf.Options{Disabled: true, UseClockID: true}, ClockID: unix.CLOCK_MONOTONIC}
	a.SetSampleFreq(999)
	ev, err := perf.Open(a, cmd.Process.Pid, -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	if err := pf.Attach([]*perf.Event{ev}); err != nil {
		t.Fatal(err)
	}
	pf.Start()
	if err := ev.Enable(); err != nil {
		t.Fatal(err)
	}
	stdin.Write([]byte("go\n"))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("burner: %v", err)
	}
	pf.Stop()
	var stacks []*Stack
	for st := range pf.Stacks() {
		stacks = append(stacks, st)
	}
	return stacks, pf.Stats()
}

func TestPythonFramesDepth(t *testing.T) {
	for _, py := range interpreters {
		t.Run(py.name, func(t *testing.T) {
			stacks, stats := pyDepthRun(t, py.path, "flat")
			if len(stacks) < 100 {
				t.Fatalf("only %d stacks in a second of burning at 999 Hz (stats %+v)", len(stacks), stats)
			}
			// Samples in spin have <module>, outer, middle, spin.
			four := 0
			for _, st := range stacks {
				if st.Err == PyErrNone && len(st.Frames) == 4 && !st.Truncated {
					four++
					if !st.Frames[3].Entry {
						t.Errorf("<module> frame is not marked as an eval-loop entry: %+v", st.Frames)
					}
					if st.Frames[0].Code == st.Frames[1].Code || st.Frames[0].FirstLine <= 0 {
						t.Errorf("implausible frames %+v", st.Frames)
					}
				}
			}
			if four < len(stacks)*9/10 {
				t.Errorf("%d of %d stacks have the 4 frames of spin (stats %+v); first %+v", four, len(stacks), stats, stacks[0])
			}
		})
	}
}

func TestPythonFramesTruncated(t *testing.T) {
	stacks, stats := pyDepthRun(t, interpreters[2].path, "deep")
	trunc := 0
	for _, st := range stacks {
		if st.Truncated {
			trunc++
			if len(st.Frames) != 128 {
				t.Errorf("truncated stack has %d frames, want the bound 128", len(st.Frames))
			}
		}
	}
	if trunc < len(stacks)*9/10 || stats.Truncated == 0 {
		t.Errorf("%d of %d stacks truncated (stats %+v)", trunc, len(stacks), stats)
	}
}
