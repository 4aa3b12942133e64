package v8

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf/rlimit"
	"github.com/elastic/go-perf"
	"golang.org/x/sys/unix"

	"github.com/tracer-dev/tracer/internal/testbin"
	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/symbolize"
)

// needPerf skips when the kernel has no cpu-clock perf events for BPF.
func needPerf(t *testing.T) {
	t.Helper()
	a := &perf.Attr{Type: perf.SoftwareEvent, Config: uint64(perf.CPUClock), Options: perf.Options{Disabled: true}}
	ev, err := perf.Open(a, os.Getpid(), -1, nil)
	if err != nil {
		t.Skipf("no cpu-clock perf events: %v", err)
	}
	ev.Close()
}

// walkNode starts node on a script, reads want of its JS stacks with the
// walker, dispatched from the CPython walker's program as in a session,
// and names them. On a busy machine this takes longer: it gives up after
// a minute.
func walkNode(t *testing.T, node, script string, want int) ([][]symbolize.Frame, Stats) {
	t.Helper()
	needPerf(t)
	_ = rlimit.RemoveMemlock()
	cmd := exec.Command(node, script)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", node, err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); strings.TrimSpace(line) != "ready" {
		t.Fatalf("%s said %q", script, line)
	}
	p, err := Find(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: V8 %s, layout from %s", node, p.Layout.Version(), p.Layout.Source)
	t.Logf("builtins %#x-%#x, copy %#x-%#x", p.BlobLo+p.bias, p.BlobHi+p.bias, p.copyLo, p.copyHi)
	w, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	py, err := loader.OpenPythonFrames()
	if err != nil {
		t.Fatal(err)
	}
	defer py.Close()
	if err := py.SetWalker(1, w.Program()); err != nil {
		t.Fatal(err)
	}
	if err := w.AddProcess(p); err != nil {
		t.Fatal(err)
	}
	if err := py.Dispatch(p.PID, 1); err != nil {
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
	if err := py.Attach([]*perf.Event{ev}); err != nil {
		t.Fatal(err)
	}
	w.Start()
	if err := ev.Enable(); err != nil {
		t.Fatal(err)
	}
	namer := NewNamer(p)
	defer namer.Close()
	var out [][]symbolize.Frame
	deadline := time.After(time.Minute)
loop:
	for len(out) < want {
		select {
		case st := <-w.Stacks():
			var frames []symbolize.Frame
			for _, f := range st.Frames {
				frames = append(frames, namer.Name(f)...)
			}
			out = append(out, frames)
		case <-deadline:
			break loop
		}
	}
	ev.Disable()
	return out, w.Stats()
}

func TestWalkerNamesJSFunctions(t *testing.T) {
	for name, node := range testbin.Nodes(t) {
		t.Run(name, func(t *testing.T) {
			stacks, st := walkNode(t, node, "testdata/split.js", 400)
			t.Logf("stats %+v, %d stacks", st, len(stacks))
			if len(stacks) < 400 {
				t.Fatalf("%d JS stacks in a minute at 999 Hz", len(stacks))
			}
			heavy, light, main := 0, 0, 0
			for i, s := range stacks {
				if i < 3 {
					t.Logf("stack %d: %v", i, s)
				}
				var h, l, m bool
				for _, f := range s {
					if !strings.HasSuffix(f.File, "testdata/split.js") {
						continue
					}
					switch f.Function {
					case "heavy":
						h = true
					case "light":
						l = true
					case "main":
						m = true
					}
				}
				if h {
					heavy++
				}
				if l {
					light++
				}
				if m {
					main++
				}
			}
			t.Logf("heavy %d light %d main %d of %d", heavy, light, main, len(stacks))
			if main*10 < len(stacks)*9 {
				t.Errorf("main in %d of %d stacks", main, len(stacks))
			}
			if heavy+light == 0 {
				t.Fatalf("neither heavy nor light seen")
			}
			share := float64(heavy) / float64(heavy+light)
			t.Logf("heavy share %.3f", share)
			if share < 0.67 || share > 0.83 {
				t.Errorf("heavy share %.3f, want 0.75 ± 0.08", share)
			}
		})
	}
}
