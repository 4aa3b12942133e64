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
	"github.com/tracer-dev/tracer/interp/cpython"
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
func walkNode(t *testing.T, node, script string, want int, flags ...string) ([][]symbolize.Frame, Stats) {
	t.Helper()
	needPerf(t)
	_ = rlimit.RemoveMemlock()
	cmd := exec.Command(node, append(flags, script)...)
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
	py := cpython.NewFrames(nil)
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
	if err := py.AttachEvent(ev); err != nil {
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
		for _, script := range []string{"split.js", "inline.js"} {
			t.Run(name+"/"+script, func(t *testing.T) {
				inlined := walkSplit(t, node, script)
				// On a busy machine the optimizing compiler's thread may
				// not have run yet: try a new process.
				for try := 0; script == "inline.js" && inlined < 100 && try < 3; try++ {
					t.Logf("heavy or light inlined in %d samples: again", inlined)
					inlined = walkSplit(t, node, script)
				}
				if script == "inline.js" && inlined < 100 {
					// Whether TurboFan has compiled the loop by then
					// depends on the machine's load: say so, the split
					// above was checked either way.
					t.Logf("heavy or light inlined in only %d samples: the optimizing compiler's inlining was not exercised this time", inlined)
				}
			})
		}
	}
}

// walkSplit checks the JS stacks of a script whose heavy and light
// functions, called from main, split the CPU 3:1; it returns how many
// samples had heavy or light inlined into another function's code.
func walkSplit(t *testing.T, node, script string) (inlined int) {
	var flags []string
	if script == "inline.js" {
		// Maglev code carries no source positions: the inlined
		// functions of its instructions are not known (docs/v8-frames.md).
		// Node 18's V8 has no Maglev, and no flag for it.
		if exec.Command(node, "--no-maglev", "-e", "0").Run() == nil {
			flags = []string{"--no-maglev"}
		}
	}
	stacks, st := walkNode(t, node, "testdata/"+script, 400, flags...)
	t.Logf("stats %+v, %d stacks", st, len(stacks))
	if len(stacks) < 400 {
		t.Fatalf("%d JS stacks in a minute at 999 Hz", len(stacks))
	}
	heavy, light, main := 0, 0, 0
	for i, s := range stacks {
		if i < 2 {
			t.Logf("stack %d: %v", i, s)
		}
		var h, l, m, in bool
		for k, f := range s {
			if !strings.HasSuffix(f.File, "testdata/"+script) {
				continue
			}
			switch f.Function {
			case "heavy", "light":
				h, l = h || f.Function == "heavy", l || f.Function == "light"
				// Inlined: the next frame runs the same instruction.
				in = in || k+1 < len(s) && s[k+1].Addr == f.Addr
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
		if in {
			inlined++
		}
	}
	t.Logf("heavy %d light %d main %d inlined %d of %d", heavy, light, main, inlined, len(stacks))
	if main*10 < len(stacks)*9 {
		t.Errorf("main in %d of %d stacks", main, len(stacks))
	}
	if heavy+light == 0 {
		t.Fatalf("neither heavy nor light seen")
	}
	if script == "inline.js" && inlined == 0 && (heavy+light)*2 < len(stacks) {
		// main's optimized code ran heavy and light inlined, and those
		// samples name main alone: too few are left to judge a split on
		// (the caller tries a new process).
		t.Logf("heavy or light named in only %d of %d stacks: no split judged", heavy+light, len(stacks))
		return inlined
	}
	share := float64(heavy) / float64(heavy+light)
	t.Logf("heavy share %.3f", share)
	if share < 0.67 || share > 0.83 {
		t.Errorf("heavy share %.3f, want 0.75 ± 0.08", share)
	}
	return inlined
}
