package session

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracer-dev/tracer/capture"
	"github.com/tracer-dev/tracer/internal/privtest"
	"github.com/tracer-dev/tracer/internal/testbin"
	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/model"
)

// needCapture skips when the kernel lacks BPF, uprobes or perf events.
func needInterpreter(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing: install it (pyenv install 3.X with --enable-shared, or apt-get install python3.11)", path)
	}
}

func needCapture(t *testing.T) {
	t.Helper()
	needPerf(t)
	privtest.Require(t, "transition capture", loader.ProbeFeatures(loader.FeatureBPF, loader.FeatureUprobe))
}

// traced is what one traced session produced.
type traced struct {
	res     Result
	verdict Verdict
	stats   capture.CaptureStats
	trace   string // the --trace file
	profile string // the pprof file
	log     string
	notes   []string
}

// traceRun runs argv under the samplers and the transitions plugin.
func traceRun(t *testing.T, freq int, rel model.Relation, argv ...string) traced {
	t.Helper()
	dir := t.TempDir()
	out := traced{trace: filepath.Join(dir, "t.jsonl"), profile: filepath.Join(dir, "p.pb.gz")}
	var log bytes.Buffer
	cmd := append([]string(nil), argv...)
	if p, err := exec.LookPath(cmd[0]); err == nil {
		cmd[0] = p
	}
	tr := NewTransitions(TransitionsConfig{Relation: rel, Trace: out.trace, Command: cmd, Log: &log})
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	res, err := Run(context.Background(), Config{
		Command: argv, Freq: freq, Output: out.profile, Log: &log,
		Stdout: devnull, Stderr: devnull, Plugins: []Plugin{tr},
	})
	out.res, out.log, out.notes = res, log.String(), tr.Notes()
	if err != nil {
		t.Fatalf("run %v: %v\n%s", argv, err, out.log)
	}
	out.verdict, out.stats = tr.Verdict(), tr.CaptureStats()
	return out
}

// traceLines reads a trace file: the step seqs and action types, and whether
// it starts with an init record.
func traceLines(t *testing.T, path string) (seqs []uint64, actions []string, init bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for i := 0; sc.Scan(); i++ {
		var r struct {
			Kind   string
			Seq    uint64
			Action struct{ Type string }
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s:%d: %v", path, i+1, err)
		}
		if r.Kind == "init" {
			init = init || i == 0
			continue
		}
		seqs = append(seqs, r.Seq)
		actions = append(actions, r.Action.Type)
	}
	return seqs, actions, init
}

func checkFile(t *testing.T, path string, rel model.Relation) model.Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := model.CheckTrace(model.NewDecoder(f, path), rel)
	if err != nil {
		t.Fatalf("check %s: %v", path, err)
	}
	return r
}

// wantWholeTrace asserts a trace of exactly steps steps, seq 1..steps, from
// an init record, conforming under exact, and a clean capture.
func wantWholeTrace(t *testing.T, tr traced, steps int) {
	t.Helper()
	seqs, _, init := traceLines(t, tr.trace)
	if !init || len(seqs) != steps {
		t.Fatalf("trace has %d steps (init %v), want %d from init\n%s", len(seqs), init, steps, tr.log)
	}
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("step %d has seq %d", i+1, s)
		}
	}
	r := checkFile(t, tr.trace, model.Exact)
	if !r.Conforming() || r.Steps != uint64(steps) || r.Checked != uint64(steps) {
		t.Fatalf("check: conforming %v, %d steps, %d checked", r.Conforming(), r.Steps, r.Checked)
	}
	if tr.verdict.Divergent || tr.verdict.Steps != uint64(steps) || !tr.verdict.Captured || tr.verdict.Malformed != 0 {
		t.Fatalf("live verdict %+v", tr.verdict)
	}
	if tr.stats.Lost() || tr.stats.MissedAtStart != 0 || tr.stats.Batches == 0 {
		t.Fatalf("capture stats: %s", tr.stats)
	}
	if !strings.Contains(tr.log, "conforming under --relation exact") {
		t.Errorf("the report does not give the verdict:\n%s", tr.log)
	}
}

func TestCaptureContainersConformPairwise(t *testing.T) {
	needCapture(t)
	const steps = 3000
	py := traceRun(t, 99, model.Exact, "python3", "../examples/python_container.py", "--steps", fmt.Sprint(steps), "--seed", "11")
	wantWholeTrace(t, py, steps)
	js := traceRun(t, 99, model.Exact, "node", "../examples/nodejs_container.js", "--steps", fmt.Sprint(steps), "--seed", "11")
	wantWholeTrace(t, js, steps)
	a, _ := os.Open(py.trace)
	defer a.Close()
	b, _ := os.Open(js.trace)
	defer b.Close()
	r, err := model.CheckPair(model.NewDecoder(a, py.trace), model.NewDecoder(b, js.trace), model.Exact)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Conforming() || r.Steps != steps {
		t.Fatalf("pair: conforming %v over %d steps", r.Conforming(), r.Steps)
	}
}

// TestCaptureStaticPython: Debian's python3.11 has _Py_write in the executable.
func TestCaptureStaticPython(t *testing.T) {
	needCapture(t)
	needInterpreter(t, "/usr/bin/python3.11")
	tr := traceRun(t, 99, model.Exact, "/usr/bin/python3.11", "../examples/python_container.py", "--steps", "1500", "--seed", "3")
	wantWholeTrace(t, tr, 1500)
}

// TestCaptureShortRuns: a run of 20 steps writes its only batch at exit,
// tens of milliseconds after the start; it must never be missed, also when
// the interpreter is a child of the command.
func TestCaptureShortRuns(t *testing.T) {
	needCapture(t)
	for i := range 3 {
		for _, argv := range [][]string{
			{"python3", "../examples/python_container.py", "--steps", "20", "--seed", fmt.Sprint(i)},
			{"node", "../examples/nodejs_container.js", "--steps", "20", "--seed", fmt.Sprint(i)},
			// a child of a shell, not the pid tracer started
			{"/bin/sh", "-c", "python3 ../examples/python_container.py --steps 20 --seed " + fmt.Sprint(i) + "; true"},
		} {
			wantWholeTrace(t, traceRun(t, 99, model.Exact, argv...), 20)
		}
	}
}

// TestCapturePlantedBug: the divergence is found live, at the first step
// whose action the bug mishandles.
func TestCapturePlantedBug(t *testing.T) {
	needCapture(t)
	for _, tc := range []struct {
		name string
		argv []string
		rel  model.Relation
		// first returns the seq the bug first shows at, from the trace.
		first func(seqs []uint64, actions []string, path string) uint64
	}{
		{"python comment counted", []string{"python3", "../examples/buggy/python_comment_counts.py", "--steps", "500", "--seed", "4"}, model.Bisim,
			func(seqs []uint64, actions []string, _ string) uint64 {
				for i, a := range actions {
					if a == "comment" && seqs[i] > 1 {
						return seqs[i]
					}
				}
				return 0
			}},
		{"node utf16 length", []string{"node", "../examples/buggy/nodejs_utf16.js", "--steps", "500", "--seed", "4"}, model.Exact,
			func(_ []uint64, _ []string, path string) uint64 { return firstAstralPost(t, path) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := traceRun(t, 99, tc.rel, tc.argv...)
			seqs, actions, _ := traceLines(t, tr.trace)
			want := tc.first(seqs, actions, tr.trace)
			if want == 0 {
				t.Fatal("the workload never triggers the bug: change --seed")
			}
			v := tr.verdict
			if !v.Divergent || v.Result.First == nil || v.Result.First.Seq != want {
				t.Fatalf("verdict %+v, want the first divergence at step %d\n%s", v, want, tr.log)
			}
			live := fmt.Sprintf("divergence at step %d", want)
			if !strings.Contains(strings.Join(tr.notes, "\n"), live) {
				t.Errorf("no live note %q in %q", live, tr.notes)
			}
			if !strings.Contains(tr.log, fmt.Sprintf("DIVERGENCE at step %d", want)) {
				t.Errorf("the report does not name step %d:\n%s", want, tr.log)
			}
		})
	}
}

// firstAstralPost returns the seq of the first post whose content has a
// character outside the BMP (where UTF-16 length and Lean's length differ).
func firstAstralPost(t *testing.T, path string) uint64 {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r struct {
			Seq    uint64
			Action struct{ Type, Content string }
		}
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.Action.Type != "post" {
			continue
		}
		for _, c := range r.Action.Content {
			if c > 0xFFFF {
				return r.Seq
			}
		}
	}
	return 0
}

// TestCaptureLabelsAndOrdinaryOutput: slow steps (3 ms of CPU each) between
// lots of ordinary output. Samples inside a step carry its seq and action in
// the pprof labels; the trace is whole despite the other writes.
func TestCaptureLabelsAndOrdinaryOutput(t *testing.T) {
	needCapture(t)
	const steps = 150
	tr := traceRun(t, 499, model.Exact, "python3", "testdata/slow_steps.py", fmt.Sprint(steps))
	wantWholeTrace(t, tr, steps)
	if tr.stats.Hits < steps*20 {
		t.Errorf("%d uprobe hits: the %d ordinary writes were not seen", tr.stats.Hits, steps*20)
	}
	p := testbin.ReadProfile(t, tr.profile)
	labelled := 0
	for _, s := range p.Sample {
		st, act := s.NumLabel["step"], s.Label["action"]
		if len(st) == 0 {
			continue
		}
		labelled++
		// slow_steps.py: odd seqs are posts, even seqs comments.
		want := "comment"
		if st[0]%2 == 1 {
			want = "post"
		}
		if len(act) != 1 || act[0] != want || st[0] < 1 || st[0] > steps {
			t.Fatalf("sample labelled step %v action %v, want action %s", st, act, want)
		}
	}
	// 150 steps × 3 ms at 499 Hz is about 225 samples in steps; the rest
	// is startup and the ordinary output.
	if labelled < 120 {
		t.Fatalf("%d of %d samples carry a step label, want about 225", labelled, len(p.Sample))
	}
	for _, want := range []string{"per action", "post", "comment", "p99"} {
		if !strings.Contains(tr.log, want) {
			t.Errorf("summary lacks %q:\n%s", want, tr.log)
		}
	}
}

// TestCaptureAttachMidRun: attach to a running program: the trace starts
// mid-run, without init, and is checkable stepwise.
func TestCaptureAttachMidRun(t *testing.T) {
	needCapture(t)
	cmd := exec.Command("python3", "testdata/slow_steps.py", "2000")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	// Let it run some steps untraced, past its first batch (100 ms of
	// steps), however long the interpreter takes to start.
	sc := bufio.NewScanner(out)
	found := false
	for !found && sc.Scan() {
		found = sc.Text() == "step 40 line 0"
	}
	if !found {
		t.Fatalf("slow_steps.py ended before its step 40: %v", sc.Err())
	}
	go io.Copy(io.Discard, out)
	dir := t.TempDir()
	trace := filepath.Join(dir, "attach.jsonl")
	var log bytes.Buffer
	tr := NewTransitions(TransitionsConfig{Relation: model.Exact, Trace: trace, Log: &log})
	_, err = Run(context.Background(), Config{PID: cmd.Process.Pid, Duration: 1500 * time.Millisecond, Output: "-", Log: &log, Plugins: []Plugin{tr}})
	if err != nil {
		t.Fatalf("attach: %v\n%s", err, log.String())
	}
	seqs, _, init := traceLines(t, trace)
	if init || len(seqs) < 10 || seqs[0] <= 1 {
		t.Fatalf("partial trace: init %v, %d steps from seq %v\n%s", init, len(seqs), seqs[:min(1, len(seqs))], log.String())
	}
	r := checkFile(t, trace, model.Exact)
	if !r.Conforming() || r.FromInit || r.Steps != uint64(len(seqs)) || r.Checked == 0 {
		t.Fatalf("check of the partial trace: %+v", r)
	}
	v := tr.Verdict()
	if v.Divergent || v.Steps != uint64(len(seqs)) {
		t.Fatalf("live verdict %+v", v)
	}
}

// TestCaptureNotAnInterpreter: a program that is neither CPython nor Node is
// sampled, with one line saying there are no transitions.
func TestCaptureNotAnInterpreter(t *testing.T) {
	needCapture(t)
	tr := traceRun(t, 99, model.Exact, "/bin/sh", "-c", "i=0; while [ $i -lt 300 ]; do i=$((i+1)); done")
	if tr.verdict.Captured || tr.verdict.Divergent {
		t.Fatalf("verdict %+v", tr.verdict)
	}
	if !strings.Contains(tr.log, "neither CPython nor Node") {
		t.Fatalf("no note about the missing interpreter:\n%s", tr.log)
	}
}

// TestCaptureAttachFollowsChildren: attached to a shell, tracer captures the
// transitions of a python the shell starts afterwards, from its first batch.
func TestCaptureAttachFollowsChildren(t *testing.T) {
	needCapture(t)
	cmd := exec.Command("/bin/sh", "-c", "sleep 0.5; python3 testdata/slow_steps.py 60 >/dev/null; sleep 5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	trace := filepath.Join(t.TempDir(), "child.jsonl")
	var log bytes.Buffer
	tr := NewTransitions(TransitionsConfig{Relation: model.Exact, Trace: trace, Log: &log})
	_, err := Run(context.Background(), Config{PID: cmd.Process.Pid, Duration: 3 * time.Second, Output: "-", Log: &log, Plugins: []Plugin{tr}})
	if err != nil {
		t.Fatalf("attach: %v\n%s", err, log.String())
	}
	seqs, _, init := traceLines(t, trace)
	if !init || len(seqs) != 60 {
		t.Fatalf("child's trace: init %v, %d steps, want 60 from init\n%s", init, len(seqs), log.String())
	}
	if v := tr.Verdict(); v.Divergent || v.Steps != 60 {
		t.Fatalf("verdict %+v", v)
	}
}
