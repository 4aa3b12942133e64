package probe

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// batch is one framed write (docs/probe-framing.md).
type batch struct {
	number  uint32
	payload []byte
}

// parseBatches splits a TRACER_PROBE_FRAMED file into its batches and checks
// every rule of the framing.
func parseBatches(t *testing.T, b []byte) []batch {
	t.Helper()
	magic := []byte("\xfeTRCBAT1")
	var out []batch
	for off := 0; off < len(b); {
		if len(b)-off < 16 || !bytes.Equal(b[off:off+8], magic) {
			t.Fatalf("offset %d: no batch header (% x)", off, b[off:min(off+16, len(b))])
		}
		n := int(binary.LittleEndian.Uint32(b[off+8:]))
		num := binary.LittleEndian.Uint32(b[off+12:])
		if 16+n > 65536 {
			t.Fatalf("batch %d: %d bytes, more than 64 KiB", num, 16+n)
		}
		if off+16+n > len(b) {
			t.Fatalf("batch %d: payload of %d bytes runs past the end", num, n)
		}
		p := b[off+16 : off+16+n]
		if n == 0 || p[n-1] != '\n' {
			t.Fatalf("batch %d: payload does not end a record with a newline", num)
		}
		if bytes.IndexByte(p, 0xfe) >= 0 {
			t.Fatalf("batch %d: payload holds the byte 0xFE", num)
		}
		out = append(out, batch{num, p})
		off += 16 + n
	}
	return out
}

// The steps of a long run with large records split into many framed batches
// that hold whole records, numbered from 1 without gaps; their payloads make
// the same trace as the plain file.
func TestFraming(t *testing.T) {
	const py = `
p = tracer_probe.Probe()
s = {"agent_id": "A", "shard_id": 0, "data": []}
p.init(s)
text = "日本語 🦀 café " * 20
for i in range(20000):
    t0 = time.monotonic_ns()
    if i % 4 == 3:
        s = dict(s, data=[i])
        p.step({"type": "distribute", "items": [i]}, s, t0)
        continue
    s = dict(s, data=[len(text)] + s["data"])
    p.step({"type": "post", "author": "a%d" % (i % 7), "content": text}, s, t0)
`
	const js = `
const p = new Probe();
let s = { agent_id: 'A', shard_id: 0, data: [] };
p.init(s);
const text = '日本語 🦀 café '.repeat(20);
const n = [...text].length;
for (let i = 0; i < 20000; i++) {
  const t0 = process.hrtime.bigint();
  if (i % 4 === 3) {
    s = { ...s, data: [i] };
    p.step({ type: 'distribute', items: [i] }, s, t0);
    continue;
  }
  s = { ...s, data: [n, ...s.data] };
  p.step({ type: 'post', author: 'a' + (i % 7), content: text }, s, t0);
}
`
	for _, in := range interps(t) {
		t.Run(in.name, func(t *testing.T) {
			code := py
			if in.name == "node" {
				code = js
			}
			dir := t.TempDir()
			framed := filepath.Join(dir, "framed.bin")
			if res := in.run(t, code, "TRACER_PROBE_FILE="+framed, "TRACER_PROBE_FRAMED=1"); res.code != 0 {
				t.Fatalf("exit %d: %s", res.code, res.stderr)
			}
			b, err := os.ReadFile(framed)
			if err != nil {
				t.Fatal(err)
			}
			batches := parseBatches(t, b)
			var all bytes.Buffer
			for i, bt := range batches {
				if bt.number != uint32(i+1) {
					t.Fatalf("batch %d is numbered %d", i+1, bt.number)
				}
				all.Write(bt.payload)
			}
			// Records are about 290 bytes: batches are full but for the time
			// limit, which a run this fast does not reach often.
			if least := all.Len()/(65536-16) + 1; len(batches) < least || len(batches) > 2*least {
				t.Errorf("%d batches for %d bytes, want %d to %d", len(batches), all.Len(), least, 2*least)
			}
			recs := decodeLines(t, all.Bytes())
			if len(recs) != 20001 {
				t.Fatalf("%d records in the batches, want 20001", len(recs))
			}
			trace := filepath.Join(dir, "trace.jsonl")
			if err := os.WriteFile(trace, all.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			mustConform(t, trace)

			plain := filepath.Join(dir, "plain.jsonl")
			if res := in.run(t, code, "TRACER_PROBE_FILE="+plain); res.code != 0 {
				t.Fatalf("exit %d: %s", res.code, res.stderr)
			}
			if n := len(readTrace(t, plain)); n != 20001 {
				t.Fatalf("plain file: %d records, want 20001", n)
			}
		})
	}
}

// A record that cannot fit in one batch even with its data capped (a 70 000
// character agent_id) is dropped from the framed stream and its batch number
// skipped, so a reader counts the loss; a plain file takes it whole.
func TestOversizedRecord(t *testing.T) {
	const py = `
p = tracer_probe.Probe()
s = {"agent_id": "A", "shard_id": 0, "data": []}
p.init(s)
big = dict(s, agent_id="x" * 70000)
p.step({"type": "register", "name": big["agent_id"]}, big, time.monotonic_ns())
p.step({"type": "register", "name": "A"}, s, time.monotonic_ns())
p.close()
print(p.dropped)
`
	const js = `
const p = new Probe();
const s = { agent_id: 'A', shard_id: 0, data: [] };
p.init(s);
const big = { ...s, agent_id: 'x'.repeat(70000) };
p.step({ type: 'register', name: big.agent_id }, big, process.hrtime.bigint());
p.step({ type: 'register', name: 'A' }, s, process.hrtime.bigint());
p.close();
console.log(p.dropped);
`
	for _, in := range interps(t) {
		t.Run(in.name, func(t *testing.T) {
			code := py
			if in.name == "node" {
				code = js
			}
			dir := t.TempDir()
			framed := filepath.Join(dir, "framed.bin")
			res := in.run(t, code, "TRACER_PROBE_FILE="+framed, "TRACER_PROBE_FRAMED=1")
			if res.code != 0 || strings.TrimSpace(res.stdout) != "1" {
				t.Fatalf("exit %d, dropped %q, want 0 and 1: %s", res.code, res.stdout, res.stderr)
			}
			b, err := os.ReadFile(framed)
			if err != nil {
				t.Fatal(err)
			}
			batches := parseBatches(t, b)
			if len(batches) != 2 || batches[0].number != 1 || batches[1].number != 3 {
				t.Fatalf("batches %v, want numbers 1 and 3 (2 skipped for the dropped record)", batches)
			}
			if recs := decodeLines(t, batches[1].payload); len(recs) != 1 || recs[0].num(t, "seq") != "2" {
				t.Fatalf("second batch %q, want step 2 alone", batches[1].payload)
			}

			plain := filepath.Join(dir, "plain.jsonl")
			if res := in.run(t, code, "TRACER_PROBE_FILE="+plain); res.code != 0 || strings.TrimSpace(res.stdout) != "0" {
				t.Fatalf("exit %d, dropped %q, want 0 and 0: %s", res.code, res.stdout, res.stderr)
			}
			recs := readTrace(t, plain)
			if len(recs) != 3 || len(recs[1].get(t, "state.agent_id").(string)) != 70000 {
				t.Fatalf("plain file: %d records, want 3 with the 70000 byte agent_id whole", len(recs))
			}
			mustConform(t, plain)
		})
	}
}
