package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Capture follows what the binding allows (docs/probe-framing.md):
// children a traced process forks, several Probes in one process, each its
// own stream; and only the binding's sink, the null device.

// workers runs the example container in four processes started by
// multiprocessing with the start method given as argv[1]: each reports
// through a Probe of its own.
const workers = `import multiprocessing as mp, os, sys
sys.path.insert(0, sys.argv[2])
import python_container
def work(seed):
    python_container.main(["--steps", "2000", "--seed", str(seed)])
if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    ps = [mp.Process(target=work, args=(i + 1,)) for i in range(4)]
    for p in ps: p.start()
    for p in ps: p.join()
    print("exit codes", [p.exitcode for p in ps], flush=True)
`

func TestCaptureForkedWorkers(t *testing.T) {
	requireTracing(t)
	for _, method := range []string{"fork", "forkserver"} {
		t.Run(method, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "workers.py"), []byte(workers), 0o644); err != nil {
				t.Fatal(err)
			}
			r := invoke(t, invocation{dir: dir, args: []string{"run", "--trace", "t.jsonl", "-o", "p.pb.gz", "--",
				realPython(t), "workers.py", method, filepath.Dir(examplePath(t, "python_container.py"))}})
			noPanic(t, method, r)
			if r.code != 0 || r.stdout != "exit codes [0, 0, 0, 0]\n" {
				t.Fatalf("exit %d, stdout %q; stderr:\n%s", r.code, r.stdout, r.stderr)
			}
			streams := traceStreams(t, dir)
			if len(streams) != 4 {
				t.Fatalf("%d traces (%v), want one per worker; stderr:\n%s", len(streams), streams, r.stderr)
			}
			for name, seqs := range streams {
				assertWholeStream(t, name, seqs, 2000)
			}
			if !strings.Contains(r.stderr, " 0 gaps, 0 missed at start") && strings.Contains(r.stderr, "capture:") {
				t.Errorf("the capture line counts losses:\n%s", r.stderr)
			}
		})
	}
}

// twoProbes reports two interleaved runs of the example container through
// two Probes of one process.
const twoProbes = `import sys, time
sys.path.insert(0, sys.argv[1])
import python_container as pc, tracer_probe
runs = []
for seed in (1, 2):
    p = tracer_probe.Probe()
    s = {"agent_id": "CICADA-Harbot-0", "shard_id": 0, "data": []}
    p.init(s)
    runs.append([p, s, list(pc.generate(seed, 20000))])
for i in range(20000):
    for r in runs:
        t0 = time.monotonic_ns()
        r[1] = pc.transition(r[1], r[2][i])
        r[0].step(r[2][i], r[1], t0)
for r in runs:
    r[0].close()
print("done", flush=True)
`

func TestCaptureTwoProbesInOneProcess(t *testing.T) {
	requireTracing(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "two.py"), []byte(twoProbes), 0o644); err != nil {
		t.Fatal(err)
	}
	r := invoke(t, invocation{dir: dir, args: []string{"run", "--trace", "t.jsonl", "-o", "p.pb.gz", "--",
		realPython(t), "two.py", filepath.Dir(examplePath(t, "python_container.py"))}})
	noPanic(t, "two probes", r)
	if r.code != 0 || r.stdout != "done\n" {
		t.Fatalf("exit %d, stdout %q; stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, " 0 gaps, 0 missed at start") {
		t.Errorf("the capture line counts gaps between the two Probes' batches:\n%s", r.stderr)
	}
	streams := traceStreams(t, dir)
	if len(streams) != 2 {
		t.Fatalf("%d traces (%v), want one per Probe; stderr:\n%s", len(streams), streams, r.stderr)
	}
	for name, seqs := range streams {
		assertWholeStream(t, name, seqs, 20000)
	}
}

// clusterWorkers runs the Node example container in two cluster workers.
const clusterWorkers = `const cluster = require('cluster');
if (cluster.isPrimary) {
  let codes = [];
  for (let i = 0; i < 2; i++) cluster.fork({ SEED: String(i + 1) });
  cluster.on('exit', (w, code) => { codes.push(code); if (codes.length === 2) console.log('exit codes', codes.join(',')); });
} else {
  const c = require(process.argv[2]);
  process.exit(c.main(['--steps', '2000', '--seed', process.env.SEED]));
}
`

func TestCaptureNodeClusterWorkers(t *testing.T) {
	requireTracing(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cluster.js"), []byte(clusterWorkers), 0o644); err != nil {
		t.Fatal(err)
	}
	r := invoke(t, invocation{dir: dir, args: []string{"run", "--trace", "t.jsonl", "-o", "p.pb.gz", "--",
		"node", "cluster.js", examplePath(t, "nodejs_container.js")}})
	noPanic(t, "node cluster", r)
	if r.code != 0 || r.stdout != "exit codes 0,0\n" {
		t.Fatalf("exit %d, stdout %q; stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	streams := traceStreams(t, dir)
	if len(streams) != 2 {
		t.Fatalf("%d traces (%v), want one per worker; stderr:\n%s", len(streams), streams, r.stderr)
	}
	for name, seqs := range streams {
		assertWholeStream(t, name, seqs, 2000)
	}
}

// elsewhere writes the same well-formed batch to a pipe, stderr, a regular
// file and a socket, and another to the null device: only the last is the
// binding's.
const elsewhere = `import os, socket, struct
MAGIC = b"\xfeTRCBAT1"
STATE = b'{"agent_id":"a","shard_id":0,"data":[]}'
def batch(agent):
    st = STATE.replace(b'"a"', b'"' + agent + b'"')
    body = b'{"kind":"init","impl":"python","pid":1,"state":' + st + b'}\n' + b"".join(
        b'{"kind":"step","seq":%d,"t0":%d,"t1":%d,"tid":1,"action":{"type":"register","name":"x"},"state":%s}\n' % (s, s, s + 1, st)
        for s in range(1, 11))
    return MAGIC + struct.pack("<II", len(body), 1) + body
r, w = os.pipe()
os.write(w, batch(b"pipe"))
os.write(2, batch(b"stderr"))
f = os.open("plain.bin", os.O_WRONLY | os.O_CREAT, 0o644)
os.write(f, batch(b"file"))
a, b = socket.socketpair()
os.write(a.fileno(), batch(b"socket"))
null = os.open("/dev/null", os.O_WRONLY)
os.write(null, batch(b"sink"))
print("wrote 5", flush=True)
`

func TestCaptureOnlyTheSink(t *testing.T) {
	requireTracing(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "elsewhere.py"), []byte(elsewhere), 0o644); err != nil {
		t.Fatal(err)
	}
	r := invoke(t, invocation{dir: dir, args: []string{"run", "--trace", "t.jsonl", "-o", "p.pb.gz", "--", realPython(t), "elsewhere.py"}})
	noPanic(t, "framed writes elsewhere", r)
	if (r.code != 0 && r.code != 1) || r.stdout != "wrote 5\n" {
		t.Fatalf("exit %d, stdout %q; stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	streams := traceStreams(t, dir)
	if len(streams) != 1 {
		t.Fatalf("%d traces (%v), want the null device's only; stderr:\n%s", len(streams), streams, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "t.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{"pipe", "stderr", "file", "socket"} {
		if strings.Contains(string(b), `"agent_id":"`+other+`"`) {
			t.Errorf("the batch written to the %s was taken", other)
		}
	}
	if !strings.Contains(string(b), `"agent_id":"sink"`) {
		t.Errorf("the batch written to the null device is missing:\n%s", b)
	}
	if !strings.Contains(r.stderr, "4 not to the sink") {
		t.Errorf("the capture line does not count the 4 batches written elsewhere:\n%s", r.stderr)
	}
}

// traceStreams reads every trace in dir (t.jsonl, t.*.jsonl) and returns
// the seq numbers of its steps, after checking it starts with init.
func traceStreams(t *testing.T, dir string) map[string][]int {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "t*.jsonl"))
	out := map[string][]int{}
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<24)
		var seqs []int
		for n := 1; sc.Scan(); n++ {
			var r struct {
				Kind string
				Seq  int
			}
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s line %d: %v", name, n, err)
			}
			if n == 1 && r.Kind != "init" {
				t.Errorf("%s starts with %q, want init", name, r.Kind)
			}
			if r.Kind == "step" {
				seqs = append(seqs, r.Seq)
			}
		}
		f.Close()
		out[filepath.Base(name)] = seqs
	}
	return out
}

// assertWholeStream checks that seqs are 1..n in order.
func assertWholeStream(t *testing.T, name string, seqs []int, n int) {
	t.Helper()
	ok := sort.IntsAreSorted(seqs) && len(seqs) == n
	for i, s := range seqs {
		if s != i+1 {
			ok = false
			break
		}
	}
	if !ok {
		head := seqs
		if len(head) > 5 {
			head = head[:5]
		}
		t.Errorf("%s: %d steps starting %v, want seq 1..%d", name, len(seqs), head, n)
	}
	_ = fmt.Sprint
}

// TestCaptureProbeFileSink: with TRACER_PROBE_FILE and TRACER_PROBE_FRAMED=1
// the binding writes its framed batches to that file, which is then the
// sink whose writes are captured.
func TestCaptureProbeFileSink(t *testing.T) {
	requireTracing(t)
	dir := t.TempDir()
	r := invoke(t, invocation{dir: dir, env: []string{"TRACER_PROBE_FILE=probe.bin", "TRACER_PROBE_FRAMED=1"},
		args: []string{"run", "--trace", "t.jsonl", "-o", "p.pb.gz", "--", realPython(t), examplePath(t, "python_container.py"), "--steps", "500"}})
	noPanic(t, "probe file sink", r)
	if r.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	streams := traceStreams(t, dir)
	if len(streams) != 1 {
		t.Fatalf("%d traces (%v), want one; stderr:\n%s", len(streams), streams, r.stderr)
	}
	assertWholeStream(t, "t.jsonl", streams["t.jsonl"], 500)
}
