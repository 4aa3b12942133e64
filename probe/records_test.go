package probe

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The record scripts report an init state and five steps whose texts need
// escaping and Unicode counting, then print their pid.
const pyRecords = `
p = tracer_probe.Probe(impl="python")
s = {"agent_id": "A-0", "shard_id": 3, "data": []}
p.init(s)
def go(a, s2, t0=None):
    p.step(a, s2, time.monotonic_ns() if t0 is None else t0)
    return s2
s = go({"type": "register", "name": "花子 \"q\" \\ \t"}, dict(s, agent_id="花子 \"q\" \\ \t"), t0=12345)
s = go({"type": "post", "author": "Zoë", "content": "🦀 日本 e\u0301"}, dict(s, data=[7] + s["data"]))
s = go({"type": "comment", "author": "x", "content": "\U0001F469\u200d\U0001F4BB"}, s)
s = go({"type": "distribute", "items": [18446744073709551616, 0]}, dict(s, data=[18446744073709551616, 0]))
s = go({"type": "post", "author": "bad", "content": "lone \udc80 surrogate"}, dict(s, data=[16] + s["data"]))
p.close()
print(os.getpid())
`

const jsRecords = `
const p = new Probe({ impl: 'node' });
let s = { agent_id: 'A-0', shard_id: 3, data: [] };
p.init(s);
function go(a, s2, t0) {
  p.step(a, s2, t0 === undefined ? process.hrtime.bigint() : t0);
  return s2;
}
s = go({ type: 'register', name: '花子 "q" \\ \t' }, { ...s, agent_id: '花子 "q" \\ \t' }, 12345n);
s = go({ type: 'post', author: 'Zoë', content: '🦀 日本 e\u0301' }, { ...s, data: [7, ...s.data] });
s = go({ type: 'comment', author: 'x', content: '\u{1F469}\u200d\u{1F4BB}' }, s);
s = go({ type: 'distribute', items: [18446744073709551616n, 0] }, { ...s, data: [18446744073709551616n, 0] });
s = go({ type: 'post', author: 'bad', content: 'lone \udc80 surrogate' }, { ...s, data: [16, ...s.data] });
p.close();
console.log(process.pid);
`

func TestRecords(t *testing.T) {
	for _, in := range interps(t) {
		t.Run(in.name, func(t *testing.T) {
			trace := filepath.Join(t.TempDir(), "trace.jsonl")
			code := pyRecords
			if in.name == "node" {
				code = jsRecords
			}
			res := in.run(t, code, "TRACER_PROBE_FILE="+trace)
			if res.code != 0 {
				t.Fatalf("exit %d: %s", res.code, res.stderr)
			}
			pid := strings.TrimSpace(res.stdout)
			recs := readTrace(t, trace)
			if len(recs) != 6 {
				t.Fatalf("%d records, want init and 5 steps", len(recs))
			}
			init := recs[0]
			if init["kind"] != "init" || init["impl"] != in.name || init.num(t, "pid") != pid {
				t.Errorf("init record %v: want kind init, impl %s, pid %s", init, in.name, pid)
			}
			if init.num(t, "state.shard_id") != "3" || init.get(t, "state.agent_id") != "A-0" {
				t.Errorf("init state %v", init["state"])
			}
			for i, r := range recs[1:] {
				if r["kind"] != "step" || r.num(t, "seq") != strconv.Itoa(i+1) {
					t.Errorf("record %d: kind %v seq %v, want step %d", i+1, r["kind"], r["seq"], i+1)
				}
				// The main thread's id is the pid, in both bindings.
				if r.num(t, "tid") != pid {
					t.Errorf("step %d: tid %s, want the pid %s", i+1, r.num(t, "tid"), pid)
				}
				t0, _ := strconv.ParseUint(r.num(t, "t0"), 10, 64)
				t1, _ := strconv.ParseUint(r.num(t, "t1"), 10, 64)
				if t0 == 0 || t1 < t0 {
					t.Errorf("step %d: t0 %d t1 %d, want 0 < t0 <= t1", i+1, t0, t1)
				}
			}
			if got := recs[1].num(t, "t0"); got != "12345" {
				t.Errorf("t0 %s, want the caller's 12345", got)
			}
			if got := recs[1].get(t, "action.name"); got != "花子 \"q\" \\ \t" {
				t.Errorf("register name %q did not survive escaping", got)
			}
			if got := recs[2].get(t, "action.content"); got != "🦀 日本 e\u0301" {
				t.Errorf("post content %q", got)
			}
			if got := recs[4].get(t, "state.data").([]any); len(got) != 2 || got[0].(interface{ String() string }).String() != "18446744073709551616" {
				t.Errorf("distribute state data %v, want [18446744073709551616 0] exactly", got)
			}
			// A lone surrogate is written as a JSON escape, which decodes to
			// U+FFFD: one scalar value either way.
			if got := recs[5].get(t, "action.content"); got != "lone \ufffd surrogate" {
				t.Errorf("lone surrogate content %q", got)
			}
			out := mustConform(t, trace)
			if !strings.Contains(out, "5 (seq 1–5)") {
				t.Errorf("check did not count 5 steps:\n%s", out)
			}
		})
	}
}

// Steps from several Python threads get distinct seqs in file order and the
// native id of their own thread.
func TestPythonThreads(t *testing.T) {
	in := python(t, "python3")
	trace := filepath.Join(t.TempDir(), "trace.jsonl")
	res := in.run(t, `
p = tracer_probe.Probe()
s = {"agent_id": "A", "shard_id": 0, "data": [1]}
p.init(s)
tids = set()
def work():
    tids.add(threading.get_native_id())
    for i in range(2000):
        p.step({"type": "comment", "author": "t", "content": "c"}, s, time.monotonic_ns())
ts = [threading.Thread(target=work) for _ in range(4)]
for x in ts: x.start()
for x in ts: x.join()
print(" ".join(str(x) for x in sorted(tids)))
`, "TRACER_PROBE_FILE="+trace)
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	want := map[string]bool{}
	for _, f := range strings.Fields(res.stdout) {
		want[f] = true
	}
	recs := readTrace(t, trace)
	if len(recs) != 8001 {
		t.Fatalf("%d records, want 8001", len(recs))
	}
	seen := map[string]int{}
	for i, r := range recs[1:] {
		if r.num(t, "seq") != strconv.Itoa(i+1) {
			t.Fatalf("record %d has seq %s: seqs must increase in file order", i+1, r.num(t, "seq"))
		}
		tid := r.num(t, "tid")
		if !want[tid] {
			t.Fatalf("step %d: tid %s is none of the worker threads %v", i+1, tid, res.stdout)
		}
		seen[tid]++
	}
	for tid, n := range seen {
		if n != 2000 {
			t.Errorf("thread %s: %d steps, want 2000", tid, n)
		}
	}
	mustConform(t, trace)
}

// Whatever a program passes, step() neither raises nor stops recording: bad
// values become JSON null, a placeholder, a capped list, or (Python's data
// items, written with repr) an invalid line that `tracer check` reports.
func TestBadInputs(t *testing.T) {
	const py = `
p = tracer_probe.Probe()
p.init(None)
p.step(None, None, None)
p.step({"type": "x"}, {"agent_id": "a", "shard_id": 0, "data": [10**5000]}, 1.5)
p.step({"type": "distribute", "items": [10**5000, 1]}, {"agent_id": "a", "shard_id": 0, "data": [1]}, time.monotonic_ns())
c = []; c.append(c)
p.step({"type": "distribute", "items": [1]}, {"agent_id": 5, "shard_id": "x", "data": c}, "soon")
p.step({"type": "post", "author": None, "content": 5}, {"agent_id": "a", "shard_id": 0, "data": [True, None, "5"]}, time.monotonic_ns())
print("still running")
`
	const js = `
const p = new Probe();
p.init(null);
p.step(null, undefined, undefined);
p.step({ type: 'x' }, { agent_id: 'a', shard_id: 0, data: [10n ** 5000n] }, 1.5);
p.step({ type: 'distribute', items: [10n ** 5000n, 1] }, { agent_id: 'a', shard_id: 0, data: [1] }, process.hrtime.bigint());
const c = []; c.push(c);
p.step({ type: 'distribute', items: [1] }, { agent_id: 5, shard_id: 'x', data: c }, 'soon');
p.step({ type: 'post', author: null, content: 5 }, { agent_id: 'a', shard_id: 0, data: [true, null, '5', Symbol('s')] }, Symbol('t'));
console.log('still running');
`
	for _, in := range interps(t) {
		t.Run(in.name, func(t *testing.T) {
			code := py
			if in.name == "node" {
				code = js
			}
			trace := filepath.Join(t.TempDir(), "trace.jsonl")
			res := in.run(t, code, "TRACER_PROBE_FILE="+trace)
			if res.code != 0 || !strings.Contains(res.stdout, "still running") {
				t.Fatalf("exit %d, stdout %q: a bad value must not stop the program: %s", res.code, res.stdout, res.stderr)
			}
			b, err := os.ReadFile(trace)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			if len(lines) != 6 {
				t.Fatalf("%d records, want 6", len(lines))
			}
			// Every step got its seq and a t0 from an integer clock value.
			for i, l := range lines[1:] {
				if !strings.HasPrefix(l, `{"kind":"step","seq":`+strconv.Itoa(i+1)+`,"t0":`) {
					t.Errorf("line %d: %.80s", i+2, l)
				}
			}
			if recs := decodeLines(t, []byte(strings.Join(lines[:5], "\n"))); recs[1]["action"] != nil || recs[2].num(t, "t0") != "1" {
				t.Errorf("step 1 action %v (want null), step 2 t0 %v (want 1 from 1.5)", recs[1]["action"], recs[2]["t0"])
			}
			if _, code := check(t, trace); code == 0 {
				t.Error("tracer check accepted a trace of bad values")
			}
		})
	}
}

// An unwritable TRACER_PROBE_FILE is reported once on stderr and the program
// runs on, its batches going to /dev/null where tracer can still see them.
func TestUnwritableFile(t *testing.T) {
	code := map[string]string{
		"python": "p = tracer_probe.Probe()\np.init({'agent_id': 'A', 'shard_id': 0, 'data': []})\nprint('ran')\n",
		"node":   "const p = new Probe();\np.init({ agent_id: 'A', shard_id: 0, data: [] });\nconsole.log('ran');\n",
	}
	for _, in := range interps(t) {
		t.Run(in.name, func(t *testing.T) {
			res := in.run(t, code[in.name], "TRACER_PROBE_FILE="+filepath.Join(t.TempDir(), "missing", "trace.jsonl"))
			if res.code != 0 || !strings.Contains(res.stdout, "ran") {
				t.Fatalf("exit %d, stdout %q: the program must run on: %s", res.code, res.stdout, res.stderr)
			}
			if !strings.Contains(res.stderr, "tracer_probe: cannot write TRACER_PROBE_FILE=") {
				t.Errorf("stderr %q does not say the file cannot be written", res.stderr)
			}
		})
	}
}
