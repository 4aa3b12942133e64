package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tracer-dev/tracer/internal/privtest"
	"github.com/tracer-dev/tracer/internal/testbin"
)

// Faults during tracing: a target that vanishes while tracer
// attaches, and a target that sends malformed and oversized batches through
// the uprobe. Each ends either with exit 2 and one line, or with a complete
// report whose counts say what was lost; never a panic or a hang, and the
// outputs are whole or absent.

// badBatches is a Python target that writes, through os.write to /dev/null
// as the probe binding does, nine batch numbers of which only some arrive
// whole: a write whose length is not the frame's, a batch number never
// written, a batch longer than 64 KiB, a batch of undecodable records and a
// batch whose last record has no newline.
const badBatches = `import os, struct
MAGIC = b"\xfeTRCBAT1"
def frame(number, payload, claim=None):
    n = len(payload) if claim is None else claim
    return MAGIC + struct.pack("<II", n, number) + payload
STATE = b'{"agent_id":"a","shard_id":0,"data":[]}'
def steps(first, count):
    return b"".join(b'{"kind":"step","seq":%d,"t0":%d,"t1":%d,"tid":1,"action":{"type":"register","name":"a"},"state":%s}\n'
                    % (s, s * 10, s * 10 + 5, STATE) for s in range(first, first + count))
null = os.open("/dev/null", os.O_WRONLY)
w = lambda b: os.write(null, b)
w(frame(1, b'{"kind":"init","impl":"python","pid":1,"state":' + STATE + b'}\n' + steps(1, 10)))
w(frame(2, steps(11, 10), claim=5000))
w(frame(3, steps(21, 10)))
w(frame(5, steps(31, 10)))
big = steps(41, 600)
assert len(big) > 65536
w(frame(6, big))
w(frame(7, b'not json at all\n{"kind":\n'))
w(frame(8, steps(700, 3)[:-1]))
w(frame(9, steps(800, 10)))
os.close(null)
print("wrote 9 batches", flush=True)
`

func TestFaultMalformedBatches(t *testing.T) {
	privtest.Root(t, "needs root for uprobes")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad_batches.py"), []byte(badBatches), 0o644); err != nil {
		t.Fatal(err)
	}
	r := invoke(t, invocation{dir: dir, args: []string{"run", "--trace", "t.jsonl", "-o", "p.pb.gz", "--", realPython(t), "bad_batches.py"}})
	noPanic(t, "bad batches", r)
	if r.code != exitIncomplete || r.stdout != "wrote 9 batches\n" {
		t.Fatalf("exit %d, stdout %q; want 3 (the steps that arrived conform, but batches were lost) and the program's own output; stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	// The counts account for every batch number: 1, 3, 5 and 9 whole, 6 cut
	// to its first records, 7 delivered with two undecodable records, 8
	// undecodable as a frame, 2 malformed, 4 never written.
	for _, want := range []string{
		"capture: 7 batches captured",
		"lost: 0 ring full, 3 gaps, 0 missed at start",
		"rejected: 1 truncated, 1 malformed, 0 unreadable, 1 undecodable",
		"batch 6 was longer than 64 KiB; only its first records were captured",
		"2 records could not be decoded",
		"1 batches were not captured before batch 5",
		"not observed: 307 steps (seq 11–20, 503–799)",
		"INCOMPLETE under --relation exact: no divergence in what was checked, but 307 steps not observed, 2 undecodable lines",
		"tracer: verdict incomplete",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the report does not say %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("report:\n%s", r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "t.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), `"kind":"step"`); n != 502 {
		t.Errorf("trace holds %d steps, want the 502 that arrived (10+10+10+462 of the cut batch+10)", n)
	}
	// tracer check on that trace reaches the live check's verdict.
	c := invoke(t, invocation{dir: dir, args: []string{"check", "t.jsonl"}})
	if c.code != exitIncomplete || !strings.Contains(c.stdout, "INCOMPLETE under --relation exact") || !strings.Contains(c.stdout, "lost:") {
		t.Errorf("tracer check t.jsonl: exit %d, want 3 as the live check\n%s%s", c.code, c.stdout, c.stderr)
	}
	testbin.ReadProfile(t, filepath.Join(dir, "p.pb.gz"))
}

// realPython is the interpreter python3 runs in the end: pyenv's python3 is
// a shell script that execs it.
func realPython(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestFaultSamplerRingTooSmall: with one page per CPU at 4999 Hz on four
// busy threads the kernel drops records; the run still ends with its
// profile and a summary that counts them.
func TestFaultSamplerRingTooSmall(t *testing.T) {
	privtest.Root(t, "needs root to sample")
	dir := t.TempDir()
	burn := testbin.Burner(t, dir)
	r := invoke(t, invocation{dir: dir, env: []string{"TRACER_SAMPLER_RING_PAGES=1"},
		args: []string{"run", "-F", "4999", "-o", "p.pb.gz", "--", burn, "1.5", "0", "4"}})
	noPanic(t, "small ring", r)
	m := summaryLine.FindStringSubmatch(r.stderr)
	if r.code != 0 || m == nil {
		t.Fatalf("exit %d, no summary line; stderr:\n%s", r.code, r.stderr)
	}
	samples, _ := strconv.Atoi(m[1])
	lost, _ := strconv.Atoi(m[2])
	if lost == 0 || samples == 0 {
		t.Errorf("%d samples, %d lost: a one-page ring at 4999 Hz should lose records, and say so", samples, lost)
	}
	if p := testbin.ReadProfile(t, filepath.Join(dir, "p.pb.gz")); len(p.Sample) == 0 {
		t.Error("no samples in the profile")
	}
	// A ring size that is not a power of two is refused before anything runs.
	bad := invoke(t, invocation{dir: dir, env: []string{"TRACER_SAMPLER_RING_PAGES=3"}, args: []string{"run", "--", "true"}})
	oneLine(t, "ring of 3 pages", bad, "TRACER_SAMPLER_RING_PAGES", "power of two")
}

// captureLine is the capture's counts in the report.
var captureLine = regexp.MustCompile(`(?m)^(?:capture|tracer: transition capture): (\d+) batches captured .*; lost: (\d+) ring full, (\d+) gaps`)

// TestFaultCaptureRingTooSmall: with a capture ring of one page no batch
// fits (the smallest ring record is 4 KiB of data plus its header): every
// batch is lost and counted, and the report says why nothing was captured.
// With 128 KiB (two full batches) the ring may or may not keep up with the
// Python container; what it drops is counted, the steps those batches held
// are named as not observed, and the rest is checked.
func TestFaultCaptureRingTooSmall(t *testing.T) {
	privtest.Root(t, "needs root for uprobes")
	dir := t.TempDir()
	container, err := filepath.Abs("../../examples/python_container.py")
	if err != nil {
		t.Fatal(err)
	}
	py := realPython(t)
	run := func(ring string, steps int) (result, [3]int) {
		r := invoke(t, invocation{dir: dir, env: []string{"TRACER_CAPTURE_RING_BYTES=" + ring},
			args: []string{"run", "--trace", "t.jsonl", "-o", "p.pb.gz", "--", py, container, "--steps", strconv.Itoa(steps)}})
		noPanic(t, "capture ring of "+ring, r)
		m := captureLine.FindStringSubmatch(r.stderr)
		if m == nil {
			t.Fatalf("ring %s: exit %d, no capture counts; stderr:\n%s", ring, r.code, r.stderr)
		}
		var n [3]int
		for i := range n {
			n[i], _ = strconv.Atoi(m[i+1])
		}
		// Lost batches make the verdict incomplete; none lost, conforming.
		if want := map[bool]int{true: exitIncomplete, false: 0}[n[1]+n[2] > 0]; r.code != want {
			t.Fatalf("ring %s: exit %d, want %d (%d ring full, %d gaps); stderr:\n%s", ring, r.code, want, n[1], n[2], r.stderr)
		}
		testbin.ReadProfile(t, filepath.Join(dir, "p.pb.gz"))
		return r, n
	}

	r, n := run("4096", 2000)
	if n[0] != 0 || n[1] == 0 || !strings.Contains(r.stderr, fmt.Sprintf("all %d batches the program wrote were lost because the capture ring was full", n[1])) {
		t.Errorf("one-page ring: %d captured, %d ring full; want none captured, every batch counted and the reason given:\n%s", n[0], n[1], r.stderr)
	}

	const steps = 50000
	r, n = run("131072", steps)
	b, err := os.ReadFile(filepath.Join(dir, "t.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	seen := strings.Count(string(b), `"kind":"step"`)
	t.Logf("128 KiB ring: %d batches captured, %d ring full, %d gaps; %d of %d steps in the trace", n[0], n[1], n[2], seen, steps)
	if n[0] == 0 || n[2] > n[1] {
		t.Errorf("%d captured, %d ring full, %d gaps: every gap must be a counted loss", n[0], n[1], n[2])
	}
	if n[1] == 0 && seen != steps {
		t.Errorf("no loss counted, but %d of %d steps in the trace", seen, steps)
	}
	if n[2] > 0 && (seen >= steps || !strings.Contains(r.stderr, "not observed:")) {
		t.Errorf("%d gaps, %d of %d steps in the trace; the report should name the steps not observed:\n%s", n[2], seen, steps, r.stderr)
	}

	bad := invoke(t, invocation{dir: dir, env: []string{"TRACER_CAPTURE_RING_BYTES=1000"}, args: []string{"run", "--trace", "x.jsonl", "--", "true"}})
	oneLine(t, "capture ring of 1000 bytes", bad, "TRACER_CAPTURE_RING_BYTES", "power of two")
}

// TestFaultDiskFull: when the outputs do not fit on the file system, tracer
// says so and leaves neither a partial file nor a temporary one.
func TestFaultDiskFull(t *testing.T) {
	privtest.Root(t, "needs root to mount a small tmpfs")
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", dir).CombinedOutput(); err != nil {
		privtest.Require(t, "a small tmpfs to fill", fmt.Errorf("%v: %s", err, out))
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	r := invoke(t, invocation{dir: dir, args: []string{"run", "-F", "999", "-o", "p.pb.gz", "--folded", "f.folded", "--",
		"python3", "-c", "import json\nfor i in range(200000): json.dumps({'a': list(range(50))})"}})
	noPanic(t, "disk full", r)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if last := lines[len(lines)-1]; r.code != exitUsage || !strings.Contains(last, "p.pb.gz") || !strings.Contains(last, "no space left on device") {
		t.Errorf("exit %d, last line %q; want exit 2 and the file and the reason", r.code, last)
	}
	if left := leftovers(t, dir, nil); len(left) > 0 {
		t.Errorf("files left on the full file system: %v", left)
	}
}
