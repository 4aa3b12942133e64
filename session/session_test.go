package session

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/tracer-dev/tracer/internal/privtest"
	"github.com/tracer-dev/tracer/internal/testbin"
	"github.com/tracer-dev/tracer/internal/usage"
	"github.com/tracer-dev/tracer/loader"
)

func needPerf(t *testing.T) {
	t.Helper()
	privtest.Require(t, "sampling other processes", loader.CheckPrivilege(), loader.ProbeFeatures(loader.FeaturePerfEvent))
}

// shares returns each function's share of the samples as leaf (self) and
// anywhere on the stack (cum).
// weight is the number of samples a profile sample stands for: the writer
// merges samples with the same stack.
func weight(s *profile.Sample) int64 {
	if len(s.Value) == 0 || s.Value[0] < 1 {
		return 1
	}
	return s.Value[0]
}

func shares(p *profile.Profile) (self, cum map[string]float64) {
	self, cum = map[string]float64{}, map[string]float64{}
	n := 0.0
	for _, s := range p.Sample {
		n += float64(weight(s))
	}
	for _, s := range p.Sample {
		w := float64(weight(s))
		seen := map[string]bool{}
		for i, l := range s.Location {
			name := locName(l)
			if i == 0 {
				self[name] += w / n
			}
			if !seen[name] {
				seen[name] = true
				cum[name] += w / n
			}
		}
	}
	return self, cum
}

// locName names a location by its function, or by its address when the
// address could not be named.
func locName(l *profile.Location) string {
	if len(l.Line) == 0 {
		return fmt.Sprintf("0x%x", l.Address)
	}
	return l.Line[0].Function.Name
}

// cumContaining sums the cumulative share of functions whose name has sub.
func cumContaining(cum map[string]float64, sub string) (float64, []string) {
	var best float64
	var names []string
	for name, v := range cum {
		if strings.Contains(name, sub) {
			names = append(names, name)
			best = max(best, v)
		}
	}
	return best, names
}

func TestRunBurnerSplitAndExitStatus(t *testing.T) {
	needPerf(t)
	burn := testbin.Burner(t, t.TempDir())
	dir := t.TempDir()
	out, folded := filepath.Join(dir, "burn.pb.gz"), filepath.Join(dir, "burn.folded")
	var log bytes.Buffer
	res, err := Run(context.Background(), Config{
		Command: []string{burn, "2", "3"}, Freq: 999, Output: out, Folded: folded, Log: &log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Exit == nil || res.Exit.Code != 3 || res.Exit.Signal != 0 {
		t.Errorf("exit status %v, want exited with status 3", res.Exit)
	}
	p := testbin.ReadProfile(t, out)
	if len(p.Sample) != res.Samples || res.Samples < 500 {
		t.Fatalf("profile has %d samples, result says %d; want at least 500", len(p.Sample), res.Samples)
	}
	self, _ := shares(p)
	three, one := self["burn_three"], self["burn_one"]
	t.Logf("burn_three %.1f %%, burn_one %.1f %% of %d samples", 100*three, 100*one, len(p.Sample))
	// The burner splits its CPU time 3:1; allow ±8 percentage points.
	if three < 0.67 || three > 0.83 || one < 0.17 || one > 0.33 {
		t.Errorf("split burn_three %.3f burn_one %.3f, want 0.75 and 0.25 within 0.08", three, one)
	}
	var exe *profile.Mapping
	for _, m := range p.Mapping {
		if m.File == burn {
			exe = m
		}
	}
	if exe == nil || exe.BuildID == "" || !exe.HasFunctions {
		t.Errorf("mapping of the burner %+v: want it with a build ID and functions", exe)
	}
	for _, s := range p.Sample[:10] {
		if s.NumLabel["pid"][0] <= 0 || s.Label["comm"][0] != "burn" {
			t.Errorf("sample labels %v %v", s.Label, s.NumLabel)
		}
	}
	b, err := os.ReadFile(folded)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "burn;__libc_start_call_main;main;loop;burn_three ") {
		t.Errorf("folded stacks lack burn;…;main;loop;burn_three:\n%.500s", b)
	}
	for _, want := range []string{"samples in", "burn_three", "top functions by cumulative time"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, log.String())
		}
	}
}

func TestRunNodeJSNames(t *testing.T) {
	needPerf(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: apt-get install nodejs")
	}
	t.Setenv("NODE_OPTIONS", "--max-old-space-size=200")
	dir := t.TempDir()
	out := filepath.Join(dir, "node.pb.gz")
	stdout, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	var log bytes.Buffer
	_, err = Run(context.Background(), Config{
		Command: []string{node, "testdata/app.js", "2"}, Freq: 499, Output: out, Stdout: stdout, Log: &log,
		Plugins: jsPlugins(&log),
	})
	if err != nil {
		t.Fatal(err)
	}
	// The JS names come from V8's memory: node's options are the user's.
	b, _ := os.ReadFile(stdout.Name())
	if !strings.Contains(string(b), "--max-old-space-size=200") || strings.Contains(string(b), "--interpreted-frames-native-stack") {
		t.Errorf("node saw %q: want the user's NODE_OPTIONS kept and no perf options added (log: %s)", b, log.String())
	}
	self, cum := shares(testbin.ReadProfile(t, out))
	tr, trNames := cumContaining(cum, "transition")
	rd, _ := cumContaining(cum, "render")
	t.Logf("transition %.1f %% %v, render %.1f %%; self %v", 100*tr, trNames, 100*rd, topN(self, 5))
	if tr == 0 || rd == 0 {
		t.Fatalf("JS functions missing from the profile (transition %v, render %v); top self %v", tr, rd, topN(self, 8))
	}
	// transition does three times render's work.
	if ratio := tr / rd; ratio < 2 || ratio > 4.5 {
		t.Errorf("transition:render = %.2f, want about 3", ratio)
	}
}

func TestRunPythonShowsLibpython(t *testing.T) {
	needPerf(t)
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is not installed")
	}
	out := filepath.Join(t.TempDir(), "py.pb.gz")
	prog := "import time\nend = time.process_time() + 1\nx = 0\nwhile time.process_time() < end:\n    x = sum(i * i for i in range(1000))\n"
	_, err = Run(context.Background(), Config{
		Command: []string{"python3", "-c", prog}, Freq: 499, Output: out, Log: &bytes.Buffer{},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := testbin.ReadProfile(t, out)
	// libpython is built without frame pointers, so only the leaf of each
	// user stack is reliable (Python frames come from the interpreter's
	// memory, interp/cpython): most leaves are libpython's, and the eval loop is
	// among them.
	inLib := 0
	for _, s := range p.Sample {
		if len(s.Location) > 0 {
			if m := s.Location[0].Mapping; m != nil && strings.Contains(m.File, "libpython3") && m.HasFunctions {
				inLib++
			}
		}
	}
	self, _ := shares(p)
	t.Logf("%d of %d leaves in libpython; top self %v", inLib, len(p.Sample), topN(self, 5))
	if len(p.Sample) < 100 || float64(inLib) < 0.5*float64(len(p.Sample)) {
		t.Errorf("%d of %d leaves in libpython, want most (python3 is %s)", inLib, len(p.Sample), python)
	}
	if self["_PyEval_EvalFrameDefault"] < 0.1 {
		t.Errorf("_PyEval_EvalFrameDefault is the leaf of %.2f of the samples, want at least 0.1", self["_PyEval_EvalFrameDefault"])
	}
}

// startBurner runs the burner outside the tracer, for attach.
func startBurner(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(testbin.Burner(t, t.TempDir()), args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	time.Sleep(50 * time.Millisecond) // let it start its threads
	return cmd
}

func TestAttachDuration(t *testing.T) {
	needPerf(t)
	cmd := startBurner(t, "10", "0", "2")
	out := filepath.Join(t.TempDir(), "attach.pb.gz")
	res, err := Run(context.Background(), Config{PID: cmd.Process.Pid, Duration: time.Second, Freq: 499, Output: out, Log: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Exited {
		t.Error("the burner is said to have exited")
	}
	p := testbin.ReadProfile(t, out)
	self, _ := shares(p)
	tids := map[int64]bool{}
	for _, s := range p.Sample {
		tids[s.NumLabel["tid"][0]] = true
	}
	if self["burn_three"] < 0.5 || len(tids) != 2 {
		t.Errorf("burn_three %.2f of %d samples from threads %v; want most, from both threads", self["burn_three"], len(p.Sample), tids)
	}
}

func TestAttachProcessVanishes(t *testing.T) {
	needPerf(t)
	cmd := startBurner(t, "0.5")
	go cmd.Wait() // reap it, so its pid goes away
	out := filepath.Join(t.TempDir(), "gone.pb.gz")
	begin := time.Now()
	res, err := Run(context.Background(), Config{PID: cmd.Process.Pid, Duration: time.Minute, Output: out, Log: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Exited || time.Since(begin) > 30*time.Second {
		t.Errorf("Exited %v after %v: want the session to end when the process does", res.Exited, time.Since(begin))
	}
	p := testbin.ReadProfile(t, out)
	if self, _ := shares(p); len(p.Sample) > 0 && self["burn_three"] == 0 {
		t.Errorf("%d samples but none in burn_three", len(p.Sample))
	}
}

func TestRunCancelledStillWritesProfile(t *testing.T) {
	needPerf(t)
	burn := testbin.Burner(t, t.TempDir())
	out := filepath.Join(t.TempDir(), "cancel.pb.gz")
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	res, err := Run(ctx, Config{Command: []string{burn, "60"}, Freq: 199, Output: out, Log: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing passed a signal on (no Ctrl-C): the session ends the command.
	if res.Exit == nil || res.Exit.Signal == 0 {
		t.Errorf("exit status %v, want killed by a signal", res.Exit)
	}
	if p := testbin.ReadProfile(t, out); len(p.Sample) == 0 {
		t.Error("empty profile after cancellation")
	}
}

func TestUsageErrors(t *testing.T) {
	needPerf(t)
	for name, cfg := range map[string]Config{
		"missing command": {Command: []string{"no-such-command-xyz"}},
		"bad frequency":   {Command: []string{"true"}, Freq: 20000},
		"no target":       {},
		"negative pid":    {PID: -4},
		"absent pid":      {PID: 1 << 30},
	} {
		cfg.Output = filepath.Join(t.TempDir(), "x.pb.gz")
		_, err := Run(context.Background(), cfg)
		if !usage.Is(err) {
			t.Errorf("%s: error %v, want a usage error", name, err)
		}
		if _, serr := os.Stat(cfg.Output); serr == nil {
			t.Errorf("%s: a profile was written", name)
		}
	}
}

func topN(m map[string]float64, n int) []string {
	type kv struct {
		k string
		v float64
	}
	var all []kv
	for k, v := range m {
		all = append(all, kv{k, v})
	}
	for i := range all {
		for j := i + 1; j < len(all); j++ {
			if all[j].v > all[i].v {
				all[i], all[j] = all[j], all[i]
			}
		}
	}
	var out []string
	for i := 0; i < n && i < len(all); i++ {
		out = append(out, all[i].k)
	}
	return out
}

func TestRunNamesBinaryDeletedBeforeExit(t *testing.T) {
	needPerf(t)
	burn := testbin.Burner(t, t.TempDir())
	dir := t.TempDir()
	out := filepath.Join(dir, "del.pb.gz")
	// The copy is deleted while it runs: its symbols must have been read
	// while tracing, not after.
	script := `cp "$1" "$2" && "$2" 1.5 & sleep 1; rm -f "$2"; wait`
	_, err := Run(context.Background(), Config{
		Command: []string{"sh", "-c", script, "sh", burn, filepath.Join(dir, "gone")},
		Freq:    499, Output: out, Log: &bytes.Buffer{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "gone")); err == nil {
		t.Fatal("the copy was not deleted")
	}
	self, _ := shares(testbin.ReadProfile(t, out))
	if self["burn_three"] < 0.4 {
		t.Errorf("burn_three is the leaf of %.2f of the samples, want most; top %v", self["burn_three"], topN(self, 5))
	}
}
