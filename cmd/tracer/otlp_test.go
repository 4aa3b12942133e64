package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOTLPRunProfile: a run's profiles reach a Collector through the
// standard OTEL_* variables, with the resource attributes, the step and
// action of each sample and Python frames; per action they hold exactly
// the samples of the local pprof profile.
func TestOTLPRunProfile(t *testing.T) {
	needCapture(t)
	col := startCollector(t)
	dir := t.TempDir()
	prof := filepath.Join(dir, "p.pb.gz")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.endpoint)
	t.Setenv("OTEL_SERVICE_NAME", "moltbook-test")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=ci,team=a%2Cb")
	code, stderr := tracerIn(t, ".", "run", "-F", "499", "-o", prof, "--otlp-interval", "1s", "--",
		realPython(t), "../../examples/python_container.py", "--steps", "60000")
	if code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, stderr)
	}
	rep := parseOTLPReport(t, stderr)
	total, local, pid := localByAction(t, prof)
	if rep.droppedProfiles != 0 || rep.sentSamples != total {
		t.Fatalf("report %+v, want every one of the %d samples sent and none dropped\n%s", rep, total, stderr)
	}
	got := col.waitSamples(t, total)
	if got.samples != total || got.requests != rep.sentProfiles {
		t.Fatalf("the Collector has %d samples in %d requests, want %d in %d", got.samples, got.requests, total, rep.sentProfiles)
	}
	if len(local) == 0 {
		t.Fatal("the local profile has no action labels")
	}
	for _, a := range []string{"register", "post", "comment", "distribute"} {
		if got.byAction[a] != local[a] {
			t.Errorf("action %s: %d samples at the Collector, %d in the local profile", a, got.byAction[a], local[a])
		}
	}
	host, _ := os.Hostname()
	for _, res := range got.resources {
		want := map[string]string{
			"service.name": "moltbook-test", "deployment.environment": "ci", "team": "a,b",
			"host.name": host, "process.pid": strconv.FormatInt(pid, 10), "process.runtime.name": "cpython",
		}
		for k, v := range want {
			if res[k] != v {
				t.Errorf("resource attribute %s = %q, want %q (all: %v)", k, res[k], v, res)
			}
		}
		if !strings.HasPrefix(res["process.executable.name"], "python3") || !strings.HasPrefix(res["process.runtime.version"], "3.") {
			t.Errorf("resource %v: want the python executable and its version", res)
		}
	}
	found := false
	for f := range got.frames {
		found = found || (strings.HasPrefix(f, "transition ") && strings.Contains(f, "python_container.py:") && !strings.HasSuffix(f, ":0"))
	}
	if !found {
		t.Errorf("no Python frame transition with file and line among %d frames", len(got.frames))
	}
}

// TestOTLPAttachIntervals: an attach sends one profile per interval while
// it goes on.
func TestOTLPAttachIntervals(t *testing.T) {
	needCapture(t)
	col := startCollector(t)
	dir := t.TempDir()
	py := exec.Command(realPython(t), "../../examples/python_container.py", "--steps", "100000000")
	py.Stdout, py.Stderr = nil, nil
	if err := py.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		py.Process.Kill()
		py.Wait()
	}()
	code, stderr := tracerIn(t, dir, "attach", "--pid", strconv.Itoa(py.Process.Pid), "-o", "a.pb.gz",
		"--otlp-endpoint", col.endpoint, "--otlp-interval", "2s", "--duration", "7s")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	rep := parseOTLPReport(t, stderr)
	total, _, _ := localByAction(t, filepath.Join(dir, "a.pb.gz"))
	got := col.waitSamples(t, total)
	if rep.sentProfiles < 3 || got.requests != rep.sentProfiles || got.samples != total {
		t.Fatalf("sent %d profiles, the Collector has %d requests with %d samples; want at least 3 profiles holding the local %d samples\n%s",
			rep.sentProfiles, got.requests, got.samples, total, stderr)
	}
	if rep.sentRecords < 3 {
		t.Errorf("%d log records (interval summaries), want at least 3", rep.sentRecords)
	}
}

// TestOTLPDivergenceLog: a divergence of the live check arrives as a log
// record with its step, action and both states.
func TestOTLPDivergenceLog(t *testing.T) {
	needCapture(t)
	col := startCollector(t)
	code, stderr := tracerIn(t, ".", "run", "-o", "-", "--otlp-endpoint", col.endpoint, "--otlp-interval", "1s", "--",
		realPython(t), "../../examples/buggy/python_comment_counts.py", "--steps", "3000", "--seed", "3")
	m := regexp.MustCompile(`divergence at step (\d+) \((\w+)\)`).FindStringSubmatch(stderr)
	if code != 1 || m == nil {
		t.Fatalf("exit %d, want 1 with the divergence\n%s", code, stderr)
	}
	rep := parseOTLPReport(t, stderr)
	var recs int
	var first string
	deadline := time.Now().Add(time.Minute)
	for {
		recs, first = 0, ""
		for _, lr := range col.logs(t) {
			if lr.EventName() != "tracer.divergence" {
				continue
			}
			recs++
			step, _ := lr.Attributes().Get("step")
			action, _ := lr.Attributes().Get("action")
			exp, _ := lr.Attributes().Get("expected")
			obs, _ := lr.Attributes().Get("observed")
			if first == "" && strconv.FormatInt(step.Int(), 10) == m[1] {
				first = fmt.Sprintf("%s|%s|%s", action.Str(), exp.Str(), obs.Str())
			}
		}
		if first != "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	parts := strings.Split(first, "|")
	if len(parts) != 3 || parts[0] != m[2] || !strings.Contains(parts[1], `"agent_id"`) || parts[1] == parts[2] {
		t.Fatalf("no log record of the divergence at step %s (%s): %d divergence records, first matching %q; %d records sent",
			m[1], m[2], recs, first, rep.sentRecords)
	}
}

// TestOTLPCollectorStopped: a Collector that stops in the middle of a run
// costs only what tracer counts as dropped; tracing, its outputs and its
// exit code go on as without it.
func TestOTLPCollectorStopped(t *testing.T) {
	needCapture(t)
	col := startCollector(t)
	dir := t.TempDir()
	// The program works, waits until the test has stopped the Collector
	// (the file "stop"), then works again: however fast or loaded the
	// machine, samples are taken on both sides of the stop.
	py, container := realPython(t), filepath.Join(wd(t), "../../examples/python_container.py")
	script := fmt.Sprintf(`%[1]s %[2]s --steps 20000 && while [ ! -e stop ]; do sleep 0.05; done && %[1]s %[2]s --steps 20000`, py, container)
	cmd := exec.Command(tracerBin, "run", "-o", "p.pb.gz", "--otlp-endpoint", col.endpoint, "--otlp-interval", "1s", "--",
		"sh", "-c", script)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Stop the Collector once a profile has arrived.
	deadline := time.Now().Add(5 * time.Minute)
	for col.profiles(t).requests == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no profile arrived in 5 minutes\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	col.stop()
	before := col.profiles(t).samples
	if err := os.WriteFile(filepath.Join(dir, "stop"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if err != nil {
		t.Fatalf("tracer: %v, want exit 0\n%s", err, stderr.String())
	}
	rep := parseOTLPReport(t, stderr.String())
	total, _, _ := localByAction(t, filepath.Join(dir, "p.pb.gz"))
	arrived := col.profiles(t).samples
	if arrived != before {
		t.Fatalf("samples arrived after the Collector stopped: %d, then %d", before, arrived)
	}
	if rep.droppedProfiles == 0 || arrived+rep.droppedSamples < total || arrived > total || rep.sentSamples != arrived {
		t.Fatalf("local %d samples, %d arrived, report %+v: want the missing ones counted as dropped\n%s",
			total, arrived, rep, stderr.String())
	}
	if !strings.Contains(stderr.String(), "wrote p.pb.gz") {
		t.Errorf("no local profile reported\n%s", stderr.String())
	}
	_ = syscall.SIGTERM
}

func wd(t *testing.T) string {
	t.Helper()
	d, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
