package v8

import (
	"bufio"
	"fmt"
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
				walkSplit(t, node, script)
			})
		}
		t.Run(name+"/inline.js/maglev", func(t *testing.T) {
			// heavy and light inlined by Maglev: named through the
			// frame translations of main's deoptimization points, read
			// from V8 13 on.
			p, err := Inspect(node)
			if err != nil {
				t.Fatal(err)
			}
			if p.Layout.Major < 13 {
				t.Skipf("V8 %s: the frame translations of Maglev code are read from V8 13 on", p.Layout.Version())
			}
			walkSplit(t, node, "inline.js", "--maglev", "--no-turbofan")
		})
	}
}

// walkSplit checks the JS stacks of a script whose heavy and light
// functions, called from main, split the CPU 3:1. For inline.js, whose
// main TurboFan compiles with both inlined, only the samples taken inside
// main's optimized code with heavy or light inlined are judged: the test
// reads stacks until 400 of them are in.
func walkSplit(t *testing.T, node, script string, flags ...string) {
	want := 400
	if script == "inline.js" && len(flags) > 0 {
		want = 1500
	} else if script == "inline.js" {
		// Maglev code has no source positions: the functions it inlined
		// are not known (docs/v8-frames.md). Node 18's V8 has no
		// Maglev, and no flag for it.
		if exec.Command(node, "--no-maglev", "-e", "0").Run() == nil {
			flags = []string{"--no-maglev"}
		}
		want = 1500
	}
	stacks, st := walkNode(t, node, "testdata/"+script, want, flags...)
	t.Logf("stats %+v, %d stacks", st, len(stacks))
	if len(stacks) < 400 {
		t.Fatalf("%d JS stacks in a minute at 999 Hz", len(stacks))
	}
	heavy, light, main, inlined := 0, 0, 0, 0
	lines := map[string]int{} // inline.js: inlined heavy and light by line
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
				// Inlined: the next frame runs the same instruction.
				if k+1 < len(s) && s[k+1].Addr == f.Addr && s[k+1].Function == "main" {
					in = true
				} else if script == "inline.js" {
					continue
				}
				h, l = h || f.Function == "heavy", l || f.Function == "light"
				if script == "inline.js" {
					lines[fmt.Sprintf("%s:%d", f.Function, f.Line)]++
				}
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
	if script == "inline.js" && inlined < 300 {
		// TurboFan compiles main within seconds of its loop getting hot,
		// even on a loaded machine: fewer means the inlined functions of
		// its code were not found.
		t.Fatalf("heavy or light inlined into main in %d of %d stacks, want 300", inlined, len(stacks))
	}
	if script == "inline.js" {
		// Their loops: heavy's at line 9, light's at 15.
		t.Logf("inlined frames by line: %v", lines)
		if n := lines["heavy:9"] + lines["light:15"]; n*20 < inlined*19 {
			t.Errorf("%d of %d inlined frames at their loop's line (%v)", n, inlined, lines)
		}
	}
	if heavy+light < 300 {
		t.Fatalf("heavy or light in %d of %d stacks", heavy+light, len(stacks))
	}
	share := float64(heavy) / float64(heavy+light)
	t.Logf("heavy share %.3f", share)
	if share < 0.67 || share > 0.83 {
		t.Errorf("heavy share %.3f, want 0.75 ± 0.08", share)
	}
}

// Each kind of code names hot's loop at its lines (8 and 9), not at the
// function's first: Ignition through the frame's bytecode offset,
// Sparkplug through its bytecode offset table (and the builtins it calls
// without a frame, through the return address at the stack pointer),
// Maglev through its deoptimization points, TurboFan through its source
// positions. Each kind is forced with node's flags.
func TestWalkerLinesByCodeKind(t *testing.T) {
	kinds := []struct {
		name  string
		flags [][]string // the first set node accepts
	}{
		{"ignition", [][]string{{"--jitless"}}},
		{"sparkplug", [][]string{{"--always-sparkplug", "--no-turbofan", "--no-maglev"}, {"--always-sparkplug", "--no-opt"}}},
		// Without Maglev's inlining, hot stays a function of its own:
		// inlined into main (on node 24 when main's loop is compiled
		// first), a sample after its loop takes main's next call.
		// Inlined functions are tested by inline.js.
		{"maglev", [][]string{{"--maglev", "--no-turbofan", "--no-maglev-inlining"}, {"--maglev", "--no-turbofan"}}},
		{"turbofan", [][]string{{"--no-maglev"}, {}}},
	}
	for name, node := range testbin.Nodes(t) {
		for _, k := range kinds {
			t.Run(name+"/"+k.name, func(t *testing.T) {
				flags := nodeFlags(t, node, k.name, k.flags)
				stacks, st := walkNode(t, node, "testdata/maglev.js", 400, flags...)
				t.Logf("stats %+v, %d stacks", st, len(stacks))
				lines, hot := map[int]int{}, 0
				for _, s := range stacks {
					for _, f := range s {
						if f.Function == "hot" {
							lines[f.Line]++
							hot++
							break
						}
					}
				}
				t.Logf("%s: hot's lines: %v", k.name, lines)
				if hot*10 < len(stacks)*8 {
					t.Fatalf("hot in %d of %d stacks", hot, len(stacks))
				}
				if n := lines[8] + lines[9]; n*20 < hot*19 {
					t.Errorf("hot at lines 8-9 in %d of %d stacks (%v)", n, hot, lines)
				}
			})
		}
	}
}

// nodeFlags returns the first set of flags node accepts, or skips the test:
// the code kind they force is missing from that node.
func nodeFlags(t *testing.T, node, kind string, sets [][]string) []string {
	t.Helper()
	for _, f := range sets {
		if exec.Command(node, append(f, "-e", "0")...).Run() == nil {
			return f
		}
	}
	t.Skipf("%s has no %s (V8 before 11 has no Maglev)", node, kind)
	return nil
}

// An optimized frame below a call is named at the call's line: TurboFan's
// through its source positions, Maglev's through the safepoint of the
// call and its deoptimization entry.
func TestWalkerCallerLine(t *testing.T) {
	kinds := []struct {
		name  string
		flags [][]string
	}{
		{"turbofan", [][]string{{"--no-maglev", "--no-turbo-inlining"}, {"--no-turbo-inlining"}}},
		{"maglev", [][]string{{"--maglev", "--no-turbofan", "--no-maglev-inlining"}}},
	}
	for name, node := range testbin.Nodes(t) {
		for _, k := range kinds {
			t.Run(name+"/"+k.name, func(t *testing.T) {
				flags := nodeFlags(t, node, k.name, k.flags)
				stacks, _ := walkNode(t, node, "testdata/caller.js", 400, flags...)
				lines, n := map[int]int{}, 0
				for _, s := range stacks {
					for i := 0; i+1 < len(s); i++ {
						if s[i].Function == "callee" && s[i+1].Function == "caller" {
							lines[s[i+1].Line]++
							n++
							break
						}
					}
				}
				t.Logf("%s: caller's lines under callee: %v", k.name, lines)
				if n*10 < len(stacks)*8 {
					t.Fatalf("callee under caller in %d of %d stacks", n, len(stacks))
				}
				if lines[13]*10 < n*9 {
					t.Errorf("caller at line 13 (the call) in %d of %d stacks (%v)", lines[13], n, lines)
				}
			})
		}
	}
}
