package probe

import (
	"path/filepath"
	"strings"
	"testing"
)

// Every way a program ends, short of a hard crash, writes the pending batch.
// Ten steps fit in one batch, so nothing is written before the end.
func TestFlushAtExit(t *testing.T) {
	const pySteps = `
p = tracer_probe.Probe()
s = {"agent_id": "A", "shard_id": 0, "data": []}
p.init(s)
for i in range(10):
    p.step({"type": "comment", "author": "a", "content": "c"}, s, time.monotonic_ns())
`
	const jsSteps = `
const p = new Probe();
const s = { agent_id: 'A', shard_id: 0, data: [] };
p.init(s);
for (let i = 0; i < 10; i++) p.step({ type: 'comment', author: 'a', content: 'c' }, s, process.hrtime.bigint());
`
	cases := []struct {
		name, lang, end string
		code            int
	}{
		{"python/end of script", "python", "", 0},
		{"python/sys.exit", "python", "sys.exit(3)\n", 3},
		{"python/uncaught exception", "python", "raise RuntimeError('boom')\n", 1},
		// Python re-raises SIGINT on itself after its atexit handlers ran.
		{"python/KeyboardInterrupt", "python", "raise KeyboardInterrupt\n", -1},
		{"python/exception in a thread, then exit", "python", "t = threading.Thread(target=lambda: 1/0); t.start(); t.join()\n", 0},
		{"node/end of script", "node", "", 0},
		{"node/process.exit", "node", "process.exit(3);\n", 3},
		{"node/uncaught exception", "node", "throw new Error('boom');\n", 1},
		{"node/uncaught exception in a callback", "node", "setTimeout(() => { throw new Error('later'); }, 1);\n", 1},
		{"node/unhandled rejection", "node", "Promise.reject(new Error('nope'));\n", 1},
	}
	py, js := python(t, "python3"), node(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, code := py, pySteps
			if c.lang == "node" {
				in, code = js, jsSteps
			}
			trace := filepath.Join(t.TempDir(), "trace.jsonl")
			res := in.run(t, code+c.end, "TRACER_PROBE_FILE="+trace)
			if res.code != c.code {
				t.Fatalf("exit %d, want %d: %s", res.code, c.code, res.stderr)
			}
			if n := len(readTrace(t, trace)); n != 11 {
				t.Fatalf("%d records after the exit, want 11 (init and 10 steps)", n)
			}
			mustConform(t, trace)
		})
	}
}

// A batch that waits 100 ms with no further step is written by the idle
// flusher (Python: a daemon thread; Node: an unref'd timer) while the program
// keeps running. The script polls its own trace file for up to 10 s.
func TestIdleFlush(t *testing.T) {
	cases := []struct {
		in   interp
		code string
	}{
		{python(t, "python3"), `
p = tracer_probe.Probe()
p.init({"agent_id": "A", "shard_id": 0, "data": []})
p.step({"type": "register", "name": "B"}, {"agent_id": "B", "shard_id": 0, "data": []}, time.monotonic_ns())
for _ in range(1000):
    if os.path.getsize(os.environ["TRACER_PROBE_FILE"]) > 0:
        print("flushed while running")
        break
    time.sleep(0.01)
`},
		{node(t), `
const p = new Probe();
p.init({ agent_id: 'A', shard_id: 0, data: [] });
p.step({ type: 'register', name: 'B' }, { agent_id: 'B', shard_id: 0, data: [] }, process.hrtime.bigint());
let tries = 0;
const poll = setInterval(() => {
  if (fs.statSync(process.env.TRACER_PROBE_FILE).size > 0) {
    console.log('flushed while running');
    clearInterval(poll);
  } else if (++tries > 1000) clearInterval(poll);
}, 10);
`},
	}
	for _, c := range cases {
		t.Run(c.in.name, func(t *testing.T) {
			trace := filepath.Join(t.TempDir(), "trace.jsonl")
			res := c.in.run(t, c.code, "TRACER_PROBE_FILE="+trace)
			if res.code != 0 {
				t.Fatalf("exit %d: %s", res.code, res.stderr)
			}
			if !strings.Contains(res.stdout, "flushed while running") {
				t.Fatalf("the pending batch was not written while the program idled (stdout %q)", res.stdout)
			}
			if n := len(readTrace(t, trace)); n != 2 {
				t.Fatalf("%d records, want 2", n)
			}
		})
	}
}
