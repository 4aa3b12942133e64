package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-dev/tracer/internal/privtest"
	"github.com/tracer-dev/tracer/internal/testbin"
	"github.com/tracer-dev/tracer/loader"
)

func needCapture(t *testing.T) {
	t.Helper()
	privtest.Require(t, "transition capture", loader.CheckPrivilege(), loader.ProbeFeatures(loader.FeaturePerfEvent, loader.FeatureBPF, loader.FeatureUprobe))
}

// TestRunTraceLabelsAndVerdict: the whole feature at a small scale:
// run writes a whole trace and exits 0, the profile's samples carry action
// labels, and a planted bug exits 1 naming its step.
func TestRunTraceLabelsAndVerdict(t *testing.T) {
	needCapture(t)
	dir := t.TempDir()
	trace, prof := filepath.Join(dir, "t.jsonl"), filepath.Join(dir, "p.pb.gz")
	code, stderr := tracerIn(t, ".", "run", "-F", "499", "--trace", trace, "-o", prof, "--",
		"python3", "../../session/testdata/slow_steps.py", "80")
	if code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, stderr)
	}
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte(`"kind":"step"`)); n != 80 {
		t.Fatalf("trace has %d steps, want 80", n)
	}
	actions := map[string]int{}
	for _, s := range testbin.ReadProfile(t, prof).Sample {
		for _, a := range s.Label["action"] {
			actions[a]++
		}
	}
	if actions["post"] == 0 || actions["comment"] == 0 {
		t.Fatalf("action labels in the profile: %v, want post and comment", actions)
	}

	code, stderr = tracerIn(t, ".", "run", "-o", "-", "--trace", filepath.Join(dir, "bug.jsonl"), "--",
		"node", "../../examples/buggy/nodejs_utf16.js", "--steps", "300", "--seed", "4")
	if code != 1 || !strings.Contains(stderr, "DIVERGENCE at step") || !strings.Contains(stderr, "tracer: divergence at step") {
		t.Fatalf("planted bug: exit %d, want 1 with the report\n%s", code, stderr)
	}
	// Under bisim the UTF-16 bug keeps the data length: conforming.
	code, stderr = tracerIn(t, ".", "run", "-o", "-", "--relation", "bisim", "--",
		"node", "../../examples/buggy/nodejs_utf16.js", "--steps", "300", "--seed", "4")
	if code != 0 || !strings.Contains(stderr, "conforming under --relation bisim") {
		t.Fatalf("planted bug under bisim: exit %d, want 0\n%s", code, stderr)
	}
}

// TestRunCommandFailureIsReported: the traced program's own failure is
// passed on when the transitions conform.
func TestRunCommandFailureIsReported(t *testing.T) {
	needCapture(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "fail.py")
	prog := "import runpy, sys\nsys.argv = ['c', '--steps', '50']\n" +
		"try:\n    runpy.run_path('../../examples/python_container.py', run_name='__main__')\n" +
		"except SystemExit:\n    pass\nsys.exit(3)\n"
	if err := os.WriteFile(script, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stderr := tracerIn(t, ".", "run", "-o", "-", "--trace", filepath.Join(dir, "t.jsonl"), "--", "python3", script)
	if code != 3 || !strings.Contains(stderr, "conforming under --relation exact") {
		t.Fatalf("exit %d, want 3 with a conforming verdict\n%s", code, stderr)
	}
}

// TestRunWithoutUprobes: without uprobes, run still samples (one line says
// there are no transitions); asking for --trace is then an input error.
func TestRunWithoutUprobes(t *testing.T) {
	needCapture(t)
	dir := t.TempDir()
	cmd := exec.Command(tracerBin, "run", "-o", filepath.Join(dir, "p.pb.gz"), "--", "python3", "-c", "pass")
	cmd.Env = append(os.Environ(), "TRACER_DISABLE_FEATURES=uprobe")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "sampling goes on without transitions") {
		t.Fatalf("run without uprobes: %v\n%s", err, out)
	}
	cmd = exec.Command(tracerBin, "run", "-o", "-", "--trace", filepath.Join(dir, "t.jsonl"), "--", "python3", "-c", "pass")
	cmd.Env = append(os.Environ(), "TRACER_DISABLE_FEATURES=uprobe")
	out, err = cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "cannot write --trace") {
		t.Fatalf("--trace without uprobes: %v, want exit 2\n%s", err, out)
	}
}
