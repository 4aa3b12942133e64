package probe

import (
	"path/filepath"
	"strings"
	"testing"
)

// Lists and texts beyond the caps of docs/trace-format.md are recorded as
// their length and a flag, with lengths in Unicode scalar values, and
// `tracer check` accepts the trace and says what it could not check.
func TestCaps(t *testing.T) {
	const py = `
p = tracer_probe.Probe()
s = {"agent_id": "A", "shard_id": 0, "data": []}
p.init(s)
def go(a, s2):
    p.step(a, s2, time.monotonic_ns())
    return s2
items = list(range(2000))
s = go({"type": "distribute", "items": items}, dict(s, data=items))
crabs = "\U0001F980" * 5000
s = go({"type": "post", "author": "a", "content": crabs}, dict(s, data=[5000] + s["data"]))
edge = "\U0001F980" * 4096
s = go({"type": "post", "author": "a", "content": edge}, dict(s, data=[4096] + s["data"]))
s = go({"type": "distribute", "items": [1, 2]}, dict(s, data=[1, 2]))
s = go({"type": "comment", "author": "a", "content": "x" * 4097}, s)
big = [10 ** 80] * 900
s = go({"type": "distribute", "items": big}, dict(s, data=big))
`
	const js = `
const p = new Probe();
let s = { agent_id: 'A', shard_id: 0, data: [] };
p.init(s);
function go(a, s2) {
  p.step(a, s2, process.hrtime.bigint());
  return s2;
}
const items = Array.from({ length: 2000 }, (_, i) => i);
s = go({ type: 'distribute', items }, { ...s, data: items });
const crabs = '\u{1F980}'.repeat(5000);
s = go({ type: 'post', author: 'a', content: crabs }, { ...s, data: [5000, ...s.data] });
const edge = '\u{1F980}'.repeat(4096);
s = go({ type: 'post', author: 'a', content: edge }, { ...s, data: [4096, ...s.data] });
s = go({ type: 'distribute', items: [1, 2] }, { ...s, data: [1, 2] });
s = go({ type: 'comment', author: 'a', content: 'x'.repeat(4097) }, s);
const big = Array(900).fill(10n ** 80n);
s = go({ type: 'distribute', items: big }, { ...s, data: big });
`
	for _, in := range interps(t) {
		t.Run(in.name, func(t *testing.T) {
			code := py
			if in.name == "node" {
				code = js
			}
			trace := filepath.Join(t.TempDir(), "trace.jsonl")
			if res := in.run(t, code, "TRACER_PROBE_FILE="+trace); res.code != 0 {
				t.Fatalf("exit %d: %s", res.code, res.stderr)
			}
			recs := readTrace(t, trace)
			if len(recs) != 7 {
				t.Fatalf("%d records, want 7", len(recs))
			}
			capped := func(r record, field, n string) {
				t.Helper()
				if r.has(field) || r.num(t, field+"_len") != n || r.get(t, field+"_capped") != true {
					t.Errorf("seq %s: want %s omitted, %s_len %s and %s_capped true", r.num(t, "seq"), field, field, n, field)
				}
			}
			capped(recs[1], "action.items", "2000")
			capped(recs[1], "state.data", "2000")
			capped(recs[2], "action.content", "5000") // scalar values, not UTF-16 units
			capped(recs[2], "state.data", "2001")
			if c, _ := recs[3].get(t, "action.content").(string); len([]rune(c)) != 4096 {
				t.Errorf("seq 3: content of exactly 4096 scalar values must not be capped")
			}
			if d := recs[4].get(t, "state.data").([]any); len(d) != 2 {
				t.Errorf("seq 4: data %v, want [1 2]", d)
			}
			capped(recs[5], "action.content", "4097")
			// 900 items of 81 digits make a record larger than a batch: its
			// lists are capped although they are shorter than 1000.
			capped(recs[6], "action.items", "900")
			capped(recs[6], "state.data", "900")

			out := mustConform(t, trace)
			if !strings.Contains(out, "not checked") {
				t.Errorf("check does not say what it could not check:\n%s", out)
			}
			mustConform(t, "--relation", "bisim", trace)
		})
	}
}
