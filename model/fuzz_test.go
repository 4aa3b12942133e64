package model

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeRecord: no input panics; everything accepted is valid JSON; an
// accepted record survives AppendRecord and decodes to the same record.
func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte(stepLine))
	f.Add(AppendRecord(nil, Record{Kind: KindStep, Seq: 9, T0: 1, T1: 2, TID: 3,
		Action: Action{Type: Post, Author: "a", Content: "h\u00e9"}, State: State{AgentID: "a", Data: []Nat{NatOf(2)}}}))
	f.Add([]byte(`{"kind":"init","impl":"python","pid":1,"state":{"agent_id":"","shard_id":0,"data":[]}}`))
	f.Add([]byte(`{"kind":"step","seq":1,"action":{"type":"distribute","items_len":2000,"items_capped":true},"state":{"agent_id":"a","shard_id":0,"data_len":2000,"data_capped":true}}`))
	f.Add([]byte(`{"kind":"step","seq":2,"tid":4,"pre":{"agent_id":"a","shard_id":0,"data":[]},"action":{"type":"post","author":"a","content":"x"},"state":{"agent_id":"a","shard_id":0,"data":[1]}}`))
	f.Add([]byte(`{"kind":"lost","batches":3,"reason":"batches not captured"}`))
	f.Add([]byte(`{"kind": "step", "seq": 2, "t0": 5, "t1": 6, "tid": 3, "action": {"type": "post", "author": "Zo\u00eb", "content": "\ud83d\udc69\u200d"}, "state": {"agent_id": "a", "shard_id": 0, "data": [3, 1]}}`))
	f.Add([]byte("{ \"kind\" : \"step\" ,\t\"seq\" : 2 , \"t0\" : 5 , \"t1\" : 6 , \"tid\" : 3 , \"action\" : { \"type\" : \"comment\" , \"author\" : \"a\" , \"content\" : \"\" } , \"state\" : { \"agent_id\" : \"a\" , \"shard_id\" : 0 , \"data\" : [ ] } }"))
	f.Fuzz(func(t *testing.T, line []byte) {
		// What the literal path accepts, the general parser accepts alike.
		var p parser
		var fast, gen Record
		p.b = line
		if decodeCanonical(&p, &fast) {
			if err := decodeGeneral(&p, line, &gen); err != nil {
				t.Fatalf("literal path accepted what the general parser rejects (%v): %q", err, line)
			}
			if a, b := AppendRecord(nil, fast), AppendRecord(nil, gen); !bytes.Equal(a, b) {
				t.Fatalf("literal path and general parser differ:\n%s\n%s", a, b)
			}
		}
		r, err := DecodeRecord(line)
		if err == nil && !r.Action.ContentCapped && r.Action.ContentLength() != uint64(utf8.RuneCountInString(r.Action.Content)) {
			t.Fatalf("content length %d for %q", r.Action.ContentLength(), r.Action.Content)
		}
		if err != nil {
			if _, ok := err.(*InputError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if !json.Valid(line) {
			t.Fatalf("accepted invalid JSON: %q", line)
		}
		out := AppendRecord(nil, r)
		back, err := DecodeRecord(out)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %s: %v", out, err)
		}
		if !bytes.Equal(AppendRecord(nil, back), out) {
			t.Fatalf("round trip changed the record:\n%s\n%s", out, AppendRecord(nil, back))
		}
	})
}

// FuzzCheckTrace: no trace panics the checker, and the pipelined and plain
// checkers agree on every input.
func FuzzCheckTrace(f *testing.F) {
	f.Add(genTrace(5, 1))
	f.Add(respell(genTrace(5, 2), spelling{dumps: true}))
	f.Add(respell(genTrace(5, 3), spelling{dumps: true, reversed: true}))
	f.Add([]byte("{\"kind\":\"step\",\"seq\":3,\"action\":{\"type\":\"comment\",\"author\":\"a\",\"content\":\"\"},\"state\":{\"agent_id\":\"a\",\"shard_id\":0,\"data\":[1]}}\n" +
		"{\"kind\":\"step\",\"seq\":7,\"action\":{\"type\":\"post\",\"author\":\"a\",\"content\":\"\\ud83d\\ude00\"},\"state\":{\"agent_id\":\"a\",\"shard_id\":0,\"data\":[1,1]}}\n"))
	f.Add(traceOf(Record{Kind: KindInit, State: stateOf("a", 0)}, postStep(3, 1, "x", stateOf("a", 2, 1)),
		`{"kind":"step","seq":4,"action":{"type":"comment","author":"a","content":""},"state":{"agent_id":"a","shard_id":0,"data":[-1]}}`,
		Record{Kind: KindLost, Lost: 1}, withPre(6, 2, stateOf("b", 1), "", stateOf("b", 1, 0)), "garbage"))
	f.Fuzz(func(t *testing.T, trace []byte) {
		checkBoth(t, trace)
	})
}

// FuzzStepScan: what the check's fast path scanner takes, the decoder takes
// alike: the same step, every field the check reads equal, the content's
// length in scalar values included.
func FuzzStepScan(f *testing.F) {
	f.Add([]byte(stepLine))
	for _, sp := range spellings {
		for _, line := range bytes.Split(respell(genTrace(8, 3), sp), []byte("\n")) {
			f.Add(line)
		}
	}
	f.Add([]byte(`{"kind":"step","seq":1,"action":{"type":"post","author":"a","content":"\ud83d\ude00\ud800\udc00\udc00\ud800x\u00e9\n\""},"state":{"agent_id":"\u00e9","shard_id":0,"data":[9]}}`))
	// Layouts to read the line against, kept from the lines of a trace in
	// each spelling, with the last line remembered (its agent_id and data
	// list).
	var primed []stepScan
	for _, sp := range spellings {
		var s stepScan
		for _, line := range bytes.Split(respell(genTrace(12, 4), sp), []byte("\n"))[1:12] {
			if !s.scan(line) {
				f.Fatalf("not taken: %q", line)
			}
			s.remember(line)
		}
		primed = append(primed, s)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var s stepScan
		if s.scan(line) {
			scannedAlike(t, &s, line)
		}
		// Read in place against a layout, as the check's fast path reads
		// it: the line, its newline and more bytes after it.
		buf := append(append(line[:len(line):len(line)], '\n'), bytes.Repeat([]byte{'7'}, headAt)...)
		for _, p := range primed {
			p.layout.misses = 3 // a miss makes the template anew
			if n := replayed(&p, buf); n == len(line) {
				scannedAlike(t, &p, line)
			}
		}
	})
}

// replayed is stepScan.replayTo with its index panics recovered, as
// fastLines recovers them: -1.
func replayed(s *stepScan, b []byte) (n int) {
	defer func() {
		if r := recover(); r != nil {
			if isFault(r) {
				panic(r)
			}
			n = -1
		}
	}()
	return s.replayTo(b)
}

// scannedAlike fails unless the decoder takes line as s read it.
func scannedAlike(t *testing.T, s *stepScan, line []byte) {
	t.Helper()
	var p parser
	var r Record
	if err := decodeGeneral(&p, line, &r); err != nil {
		t.Fatalf("scanner took what the decoder rejects (%v): %q", err, line)
	}
	a := &r.Action
	nums := func(sp natsSpan) []uint64 {
		v, end := scanNats(line, sp.start, nil)
		if end != sp.end || len(v) != sp.n || (sp.n > 0 && v[0] != sp.first) {
			t.Fatalf("list %q read as %+v", line[sp.start:sp.end], sp)
		}
		return v
	}
	same := r.Kind == KindStep && r.Seq == s.seq && !r.HasPre && a.Type == s.typ && !a.ContentCapped && !a.ItemsCapped &&
		!r.State.DataCapped && r.State.ShardID.Equal(NatOf(s.shard)) && smallsEqual(nums(s.data), r.State.Data)
	var q parser
	str := func(sp strSpan) string {
		q.b, q.i = line, sp.start-1
		b, err := q.strq()
		if err != nil {
			t.Fatalf("scanned string does not decode: %v", err)
		}
		return string(b)
	}
	same = same && str(s.agent) == r.State.AgentID
	switch a.Type {
	case Register:
		same = same && str(s.name) == a.Name
	case Post, Comment:
		same = same && str(s.author) == a.Author && str(s.content) == a.Content &&
			s.content.runes() == uint64(utf8.RuneCountInString(a.Content))
	case Distribute:
		same = same && smallsEqual(nums(s.items), a.Items)
	}
	if !same {
		t.Fatalf("scanner and decoder read %q differently: %+v / %s", line, s, AppendRecord(nil, r))
	}
}

// FuzzCheckPair: no pair of inputs panics the pair checker, and it gives the
// same answer every time (the pipelines change nothing).
func FuzzCheckPair(f *testing.F) {
	f.Add(genTrace(6, 1), genTrace(6, 1))
	f.Add(genTrace(6, 1), genTrace(6, 2))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		run := func() string {
			res, err := CheckPair(NewDecoder(bytes.NewReader(a), "a"), NewDecoder(bytes.NewReader(b), "b"), Exact)
			if err != nil {
				return "error: " + err.Error()
			}
			j, _ := res.JSON()
			return string(j)
		}
		if x, y := run(), run(); x != y {
			t.Fatalf("two runs differ:\n%s\n%s", x, y)
		}
	})
}
