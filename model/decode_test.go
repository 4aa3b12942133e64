package model

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

const stepLine = `{"kind":"step","seq":3,"t0":100,"t1":250,"tid":42,` +
	`"action":{"type":"post","author":"a","content":"h\u00e9llo \ud83d\ude00"},` +
	`"state":{"agent_id":"a","shard_id":18446744073709551616,"data":[7,0,340282366920938463463374607431768211457]}}`

func TestDecodeRecordStep(t *testing.T) {
	r, err := DecodeRecord([]byte(stepLine))
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != KindStep || r.Seq != 3 || r.T0 != 100 || r.T1 != 250 || r.TID != 42 {
		t.Fatalf("header: %+v", r)
	}
	if r.Action.Type != Post || r.Action.Author != "a" || r.Action.Content != "héllo 😀" {
		t.Fatalf("action: %+v", r.Action)
	}
	if n := r.Action.ContentLength(); n != 7 {
		t.Fatalf("content length %d, want 7 scalar values", n)
	}
	if r.State.ShardID.String() != "18446744073709551616" || len(r.State.Data) != 3 ||
		r.State.Data[2].String() != "340282366920938463463374607431768211457" {
		t.Fatalf("state: %s", appendState(nil, r.State, -1))
	}
}

func TestDecodeRecordInit(t *testing.T) {
	r, err := DecodeRecord([]byte(`{"kind":"init","impl":"node","pid":4242,"extra":{"x":[1,{"y":null}]},"state":{"agent_id":"","shard_id":0,"data":[]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != KindInit || r.Impl != "node" || r.PID != 4242 || r.State.Len() != 0 {
		t.Fatalf("%+v", r)
	}
}

func TestDecodeRecordFieldOrderAndSpaces(t *testing.T) {
	line := ` { "state" : { "data" : [ 1 , 2 ] , "shard_id" : 0 , "agent_id" : "z" } ,` +
		` "action" : { "items" : [ 1 , 2 ] , "type" : "distribute" } , "seq" : 1 , "kind" : "step" } `
	r, err := DecodeRecord([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if r.Action.Type != Distribute || len(r.Action.Items) != 2 || r.State.AgentID != "z" || len(r.State.Data) != 2 {
		t.Fatalf("%+v", r)
	}
}

func TestDecodeRecordCapped(t *testing.T) {
	r, err := DecodeRecord([]byte(`{"kind":"step","seq":1,"action":{"type":"post","author":"a","content_len":5000,"content_capped":true},"state":{"agent_id":"a","shard_id":0,"data_len":1201,"data_capped":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Action.ContentCapped || r.Action.ContentLength() != 5000 || !r.State.DataCapped || r.State.Len() != 1201 {
		t.Fatalf("%+v", r)
	}
}

func TestDecodeRecordLoneSurrogate(t *testing.T) {
	r, err := DecodeRecord([]byte(`{"kind":"step","seq":1,"action":{"type":"post","author":"a","content":"x\ud800y"},"state":{"agent_id":"a","shard_id":0,"data":[3]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Action.Content != "x\uFFFDy" || r.Action.ContentLength() != 3 {
		t.Fatalf("content %q", r.Action.Content)
	}
}

func TestDecodeRecordMalformed(t *testing.T) {
	state := `"state":{"agent_id":"a","shard_id":0,"data":[]}`
	for _, tc := range []struct{ name, line, want string }{
		{"not json", `{"kind":"step",`, "not JSON"},
		{"garbage", `hello`, "not JSON"},
		{"array", `[1,2]`, "not a JSON object"},
		{"trailing", `{"kind":"init",` + state + `} x`, "extra text"},
		{"no kind", `{` + state + `}`, `no "kind"`},
		{"unknown kind", `{"kind":"stop",` + state + `}`, `unknown kind "stop"`},
		{"escaped unknown kind", `{"kind":"\u0073top","state":{"agent_id":"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9","shard_id":0,"data":[]}}`, `unknown kind "stop"`},
		{"escaped unknown action", `{"kind":"step","seq":1,"action":{"type":"l\u0069ke","name":"\u00e9\u00e9\u00e9\u00e9\u00e9"},` + state + `}`, `unknown action type "like"`},
		{"unknown action", `{"kind":"step","seq":1,"action":{"type":"like"},` + state + `}`, `unknown action type "like"`},
		{"no action type", `{"kind":"step","seq":1,"action":{"name":"x"},` + state + `}`, `action has no "type"`},
		{"negative data", `{"kind":"init","state":{"agent_id":"a","shard_id":0,"data":[1,-2]}}`, "state.data[1]: -2 is negative"},
		{"negative shard", `{"kind":"init","state":{"agent_id":"a","shard_id":-1,"data":[]}}`, "state.shard_id: -1 is negative"},
		{"negative zero", `{"kind":"init","state":{"agent_id":"a","shard_id":-0,"data":[]}}`, "is negative"},
		{"fraction", `{"kind":"step","seq":1,"action":{"type":"distribute","items":[0.5]},` + state + `}`, "action.items[0]: 0.5 is not a whole number"},
		{"whole fraction", `{"kind":"init","state":{"agent_id":"a","shard_id":1.0,"data":[]}}`, "1.0 is not a whole number"},
		{"exponent", `{"kind":"init","state":{"agent_id":"a","shard_id":1e2,"data":[]}}`, "1e2 is not a whole number"},
		{"leading zero", `{"kind":"init","state":{"agent_id":"a","shard_id":01,"data":[]}}`, "leading zero"},
		{"string number", `{"kind":"init","state":{"agent_id":"a","shard_id":"1","data":[]}}`, "state.shard_id: want a natural number"},
		{"agent number", `{"kind":"init","state":{"agent_id":5,"shard_id":1,"data":[]}}`, "state.agent_id: want a string"},
		{"seq zero", `{"kind":"step","seq":0,"action":{"type":"comment","author":"a","content":""},` + state + `}`, "seq 0"},
		{"seq negative", `{"kind":"step","seq":-1,"action":{"type":"comment","author":"a","content":""},` + state + `}`, "seq: -1 is negative"},
		{"seq huge", `{"kind":"step","seq":18446744073709551616,"action":{"type":"comment","author":"a","content":""},` + state + `}`, "larger than 2^64-1"},
		{"no seq", `{"kind":"step","action":{"type":"comment","author":"a","content":""},` + state + `}`, `no "seq"`},
		{"no state", `{"kind":"step","seq":1,"action":{"type":"comment","author":"a","content":""}}`, `no "state"`},
		{"no data", `{"kind":"init","state":{"agent_id":"a","shard_id":0}}`, `no "data"`},
		{"capped no len", `{"kind":"init","state":{"agent_id":"a","shard_id":0,"data_capped":true}}`, `no "data_len"`},
		{"no content", `{"kind":"step","seq":1,"action":{"type":"post","author":"a"},` + state + `}`, `no "content"`},
		{"no items", `{"kind":"step","seq":1,"action":{"type":"distribute"},` + state + `}`, `no "items"`},
		{"bad utf8", "{\"kind\":\"init\",\"state\":{\"agent_id\":\"\xff\",\"shard_id\":0,\"data\":[]}}", "not valid UTF-8"},
		{"control char", "{\"kind\":\"init\",\"state\":{\"agent_id\":\"a\tb\",\"shard_id\":0,\"data\":[]}}", "control character"},
		{"bad escape", `{"kind":"init","state":{"agent_id":"\q","shard_id":0,"data":[]}}`, `bad escape`},
		{"deep", `{"kind":"init","x":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `,` + state + `}`, "nesting too deep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeRecord([]byte(tc.line))
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("got %v, want an InputError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestDecoderNamesFileAndLine(t *testing.T) {
	in := "\n" + `{"kind":"init","state":{"agent_id":"a","shard_id":0,"data":[]}}` + "\r\n\n" + `{"kind":"step","seq":1,` + "\n"
	d := NewDecoder(strings.NewReader(in), "t.jsonl")
	r, err := d.Next()
	if err != nil || r.Line != 2 || r.File != "t.jsonl" {
		t.Fatalf("first record: line %d err %v", r.Line, err)
	}
	_, err = d.Next()
	if err == nil || !strings.HasPrefix(err.Error(), "t.jsonl:4: not JSON") {
		t.Fatalf("second record: %v", err)
	}
}

func TestDecoderLongLineAndNoFinalNewline(t *testing.T) {
	data := strings.Repeat("123456789,", 20000) + "1"
	in := `{"kind":"init","state":{"agent_id":"a","shard_id":0,"data":[` + data + `]}}`
	d := NewDecoder(strings.NewReader(in), "long")
	r, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.State.Data) != 20001 {
		t.Fatalf("len %d", len(r.State.Data))
	}
	if _, err := d.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("want EOF, got %v", err)
	}
}

func TestAppendRecordRoundTrip(t *testing.T) {
	r, err := DecodeRecord([]byte(stepLine))
	if err != nil {
		t.Fatal(err)
	}
	line := AppendRecord(nil, r)
	back, err := DecodeRecord(line)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	if !actionsEqual(&r.Action, &back.Action) || back.Seq != r.Seq || back.T1 != r.T1 || back.TID != r.TID {
		t.Fatalf("round trip changed the record: %s", line)
	}
	if eq, known := Equal(r.State, back.State); !eq || !known {
		t.Fatalf("round trip changed the state: %s", line)
	}
	q := `{"kind":"init","pid":1,"state":{"agent_id":"q\"\\\n\u0001é","shard_id":0,"data":[]}}`
	ri, err := DecodeRecord([]byte(q))
	if err != nil {
		t.Fatal(err)
	}
	bi, err := DecodeRecord(AppendRecord(nil, ri))
	if err != nil || bi.State.AgentID != "q\"\\\n\x01é" {
		t.Fatalf("escapes: %q %v", bi.State.AgentID, err)
	}
}

// TestDecodeSpellings: the same record written compact, with json.dumps's
// default spacing, with other whitespace and with its keys in another order
// decodes to the same record, at the same cost in allocations (one path for
// all spellings; the content string is the only allocation).
func TestDecodeSpellings(t *testing.T) {
	compact := `{"kind":"step","seq":4,"t0":191417231308,"t1":191417234377,"tid":7,"action":{"type":"post","author":"Zo\u00eb-7","content":"x\u00e9 \ud83d\ude00 naïve"},"state":{"agent_id":"🦀crab-63","shard_id":3,"data":[1,2675204413,760]}}`
	spellings := map[string]string{
		"json.dumps": `{"kind": "step", "seq": 4, "t0": 191417231308, "t1": 191417234377, "tid": 7, "action": {"type": "post", "author": "Zo\u00eb-7", "content": "x\u00e9 \ud83d\ude00 na\u00efve"}, "state": {"agent_id": "\ud83e\udd80crab-63", "shard_id": 3, "data": [1, 2675204413, 760]}}`,
		"indented":   "{ \"kind\" :\t\"step\" ,\r\"seq\":  4 , \"t0\" : 191417231308, \"t1\": 191417234377, \"tid\": 7, \"action\": { \"type\": \"post\", \"author\": \"Zoë-7\", \"content\": \"xé 😀 naïve\" } , \"state\": { \"agent_id\": \"🦀crab-63\", \"shard_id\": 3, \"data\": [ 1 , 2675204413 , 760 ] } } ",
		"reordered":  `{"state":{"data":[1,2675204413,760],"shard_id":3,"agent_id":"🦀crab-63"},"action":{"content":"xé 😀 naïve","author":"Zoë-7","type":"post"},"tid":7,"t1":191417234377,"t0":191417231308,"seq":4,"kind":"step"}`,
		"unknown":    `{"kind":"step","later":{"agent_id":"a","shard_id":3,"data":[2675204413,760]},"seq":4,"t0":191417231308,"t1":191417234377,"tid":7,"action":{"type":"post","author":"Zoë-7","content":"xé 😀 naïve","x":[{"y":null}]},"state":{"agent_id":"🦀crab-63","shard_id":3,"data":[1,2675204413,760]}}`,
	}
	want, err := DecodeRecord([]byte(compact))
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := string(AppendRecord(nil, want))
	allocs := func(line string) float64 {
		var p parser
		var rec Record
		b := []byte(line)
		return testing.AllocsPerRun(50, func() {
			if err := decodeInto(&p, b, &rec); err != nil {
				t.Fatal(err)
			}
		})
	}
	base := allocs(compact)
	for name, line := range spellings {
		t.Run(name, func(t *testing.T) {
			got, err := DecodeRecord([]byte(line))
			if err != nil {
				t.Fatal(err)
			}
			if s := string(AppendRecord(nil, got)); s != wantJSON {
				t.Fatalf("decoded to\n%s\nwant\n%s", s, wantJSON)
			}
			if n := allocs(line); n > base {
				t.Errorf("%v allocations per record, %v for the compact spelling", n, base)
			}
		})
	}
}
func TestDecodeCanonicalFastPath(t *testing.T) {
	canonical := AppendRecord(nil, Record{Kind: KindStep, Seq: 4, T0: 10, T1: 20, TID: 7,
		Action: Action{Type: Distribute, Items: []Nat{NatOf(1), NatOf(2)}},
		State:  State{AgentID: "a", ShardID: NatOf(3), Data: []Nat{NatOf(1), NatOf(2)}}})
	for _, tc := range []struct {
		name string
		line string
		fast bool
	}{
		{"canonical", string(canonical), true},
		{"canonical post", `{"kind":"step","seq":1,"t0":0,"t1":0,"tid":0,"action":{"type":"post","author":"a","content":"x\u00e9"},"state":{"agent_id":"a","shard_id":0,"data":[2]}}`, true},
		{"spaces", `{"kind": "step","seq":1,"t0":0,"t1":0,"tid":0,"action":{"type":"comment","author":"a","content":""},"state":{"agent_id":"a","shard_id":0,"data":[]}}`, true},
		{"json.dumps", `{"kind": "step", "seq": 2, "t0": 6515120603569, "t1": 6515120604830, "tid": 3078, "action": {"type": "comment", "author": "Zo\u00eb-72", "content": "\ud83d\udc69\u200d\ud83d\udcbb"}, "state": {"agent_id": "CICADA-Harbot-0", "shard_id": 0, "data": [3, 1]}}`, true},
		{"indented", " { \"kind\" :\t\"step\" ,\r\"seq\"  :  1 , \"t0\":0,\"t1\":0,\"tid\":0,\"action\":  {  \"type\":\"post\", \"author\":\"a\",\"content\":\"b\" } , \"state\" : { \"agent_id\" : \"a\" , \"shard_id\" : 0 , \"data\" : [ 1 , 2 ] } } ", true},
		{"space in a key", `{"kind":"step","seq":1,"t0":0,"t1":0,"tid":0,"action":{"type":"comment","author":"a","content":""},"state":{"agent_id ":"a","shard_id":0,"data":[]}}`, false},
		{"space in a type", `{"kind":"step","seq":1,"t0":0,"t1":0,"tid":0,"action":{"type":" comment","author":"a","content":""},"state":{"agent_id":"a","shard_id":0,"data":[]}}`, false},
		{"init", `{"kind":"init","state":{"agent_id":"a","shard_id":0,"data":[]}}`, false},
		{"no times", `{"kind":"step","seq":1,"action":{"type":"comment","author":"a","content":""},"state":{"agent_id":"a","shard_id":0,"data":[]}}`, false},
		{"extra field", `{"kind":"step","seq":1,"t0":0,"t1":0,"tid":0,"action":{"type":"comment","author":"a","content":""},"state":{"agent_id":"a","shard_id":0,"data":[]},"x":1}`, false},
		{"capped", `{"kind":"step","seq":1,"t0":0,"t1":0,"tid":0,"action":{"type":"comment","author":"a","content":""},"state":{"agent_id":"a","shard_id":0,"data_len":2000,"data_capped":true}}`, false},
		{"negative", `{"kind":"step","seq":1,"t0":0,"t1":0,"tid":0,"action":{"type":"distribute","items":[-1]},"state":{"agent_id":"a","shard_id":0,"data":[]}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p parser
			var rec Record
			p.b = []byte(tc.line)
			if got := decodeCanonical(&p, &rec); got != tc.fast {
				t.Fatalf("fast path = %v, want %v", got, tc.fast)
			}
			// Whichever path, DecodeRecord gives what the general parser gives.
			r, err := DecodeRecord([]byte(tc.line))
			var g Record
			gerr := decodeGeneral(&p, []byte(tc.line), &g)
			if (err == nil) != (gerr == nil) || (err == nil && !bytes.Equal(AppendRecord(nil, r), AppendRecord(nil, g))) {
				t.Fatalf("DecodeRecord %v / general %v", err, gerr)
			}
		})
	}
}

// TestDecodeSpellingsFastPath decodes one step in several spellings: each
// gives the same record, and the spacings that tools write take the literal
// fast path (the parser's count of lines left to the general parser stays
// 0). Keys out of the trace format's order still decode the same, by the
// general parser.
func TestDecodeSpellingsFastPath(t *testing.T) {
	want := `{"kind":"step","seq":2,"t0":6515120603569,"t1":6515120604830,"tid":3078,"action":{"type":"post","author":"Zoë-72","content":"👩‍💻"},"state":{"agent_id":"CICADA-Harbot-0","shard_id":0,"data":[3,1]}}`
	for _, tc := range []struct {
		name, line string
		general    int
	}{
		{"compact", want, 0},
		{"json.dumps", `{"kind": "step", "seq": 2, "t0": 6515120603569, "t1": 6515120604830, "tid": 3078, "action": {"type": "post", "author": "Zo\u00eb-72", "content": "\ud83d\udc69\u200d\ud83d\udcbb"}, "state": {"agent_id": "CICADA-Harbot-0", "shard_id": 0, "data": [3, 1]}}`, 0},
		{"spaced raw UTF-8", `{"kind": "step", "seq": 2, "t0": 6515120603569, "t1": 6515120604830, "tid": 3078, "action": {"type": "post", "author": "Zoë-72", "content": "👩‍💻"}, "state": {"agent_id": "CICADA-Harbot-0", "shard_id": 0, "data": [3, 1]}}`, 0},
		{"indented", "{ \"kind\" : \"step\" ,\t\"seq\" : 2 , \"t0\" : 6515120603569 , \"t1\" : 6515120604830 , \"tid\" : 3078 ,\r\n \"action\" : { \"type\" : \"post\" , \"author\" : \"Zoë-72\" , \"content\" : \"👩‍💻\" } , \"state\" : { \"agent_id\" : \"CICADA-Harbot-0\" , \"shard_id\" : 0 , \"data\" : [ 3 , 1 ] } }", 0},
		{"keys reordered", `{"state":{"data":[3,1],"shard_id":0,"agent_id":"CICADA-Harbot-0"},"action":{"content":"👩‍💻","author":"Zoë-72","type":"post"},"tid":3078,"t1":6515120604830,"t0":6515120603569,"seq":2,"kind":"step"}`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p parser
			var rec Record
			if err := decodeInto(&p, []byte(tc.line), &rec); err != nil {
				t.Fatal(err)
			}
			if got := string(AppendRecord(nil, rec)); got != want {
				t.Errorf("decoded to\n%s\nwant\n%s", got, want)
			}
			if p.general != tc.general {
				t.Errorf("%d lines to the general parser, want %d", p.general, tc.general)
			}
			if n := rec.Action.ContentLength(); n != 3 { // U+1F469 U+200D U+1F4BB
				t.Errorf("content length %d, want 3", n)
			}
		})
	}
}

// TestDecodeEscapedInvalidUTF8: a string with an escape is still checked for
// invalid UTF-8 in its raw bytes, before or after the escape.
func TestDecodeEscapedInvalidUTF8(t *testing.T) {
	for _, content := range []string{"\\n\xff", "\xff\\n", "\\u00e9\xc3", "ok\\u00e9"} {
		line := `{"kind":"step","seq":1,"t0":0,"t1":0,"tid":0,"action":{"type":"post","author":"a","content":"` + content + `"},"state":{"agent_id":"a","shard_id":0,"data":[2]}}`
		_, err := DecodeRecord([]byte(line))
		if valid := content == "ok\\u00e9"; (err == nil) != valid {
			t.Errorf("%q: error %v, want valid %v", content, err, valid)
		}
	}
}
