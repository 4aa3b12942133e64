package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonNode is a JSON value with its object members in the order written, so
// that a line can be written again in another spelling.
type jsonNode struct {
	kind    byte // '{', '[', '"', or 'n' for any other literal (kept as written)
	keys    []string
	vals    []*jsonNode
	str     string
	literal string
}

func parseNode(dec *json.Decoder) (*jsonNode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &jsonNode{kind: byte(t)}
		for dec.More() {
			if t == '{' {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k.(string))
			}
			v, err := parseNode(dec)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, v)
		}
		_, err := dec.Token() // the closing bracket
		return n, err
	case string:
		return &jsonNode{kind: '"', str: t}, nil
	case json.Number:
		return &jsonNode{kind: 'n', literal: t.String()}, nil
	case bool:
		return &jsonNode{kind: 'n', literal: strconv.FormatBool(t)}, nil
	case nil:
		return &jsonNode{kind: 'n', literal: "null"}, nil
	}
	return nil, fmt.Errorf("token %v", tok)
}

// spelling says how writeNode writes a value.
type spelling struct {
	dumps    bool // ", " and ": " separators, non-ASCII as \u escapes (Python's json.dumps)
	reversed bool // object members in reverse order
}

func writeNode(out []byte, n *jsonNode, sp spelling) []byte {
	comma, colon := ",", ":"
	if sp.dumps {
		comma, colon = ", ", ": "
	}
	switch n.kind {
	case '"':
		return writeStr(out, n.str, sp.dumps)
	case 'n':
		return append(out, n.literal...)
	case '[':
		out = append(out, '[')
		for i, v := range n.vals {
			if i > 0 {
				out = append(out, comma...)
			}
			out = writeNode(out, v, sp)
		}
		return append(out, ']')
	}
	out = append(out, '{')
	for k := range n.vals {
		i := k
		if sp.reversed {
			i = len(n.vals) - 1 - k
		}
		if k > 0 {
			out = append(out, comma...)
		}
		out = writeStr(out, n.keys[i], sp.dumps)
		out = append(out, colon...)
		out = writeNode(out, n.vals[i], sp)
	}
	return append(out, '}')
}

// writeStr writes s as json.dumps does when ascii (every non-ASCII
// character as \uXXXX, surrogate pairs above U+FFFF), else with raw UTF-8.
func writeStr(out []byte, s string, ascii bool) []byte {
	out = append(out, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			out = append(out, '\\', byte(r))
		case r == '\n':
			out = append(out, `\n`...)
		case r == '\t':
			out = append(out, `\t`...)
		case r < 0x20:
			out = fmt.Appendf(out, `\u%04x`, r)
		case r < utf8.RuneSelf || !ascii:
			out = utf8.AppendRune(out, r)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
		default:
			out = fmt.Appendf(out, `\u%04x`, r)
		}
	}
	return append(out, '"')
}

// respell writes every line of trace that is one valid JSON value again in
// spelling sp; other lines (and lines with invalid UTF-8, which a JSON
// library would repair) stay as they are.
func respell(trace []byte, sp spelling) []byte {
	var out []byte
	for _, line := range bytes.SplitAfter(trace, []byte("\n")) {
		body := bytes.TrimRight(line, "\n")
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		n, err := parseNode(dec)
		if err != nil || !json.Valid(body) || !utf8.Valid(body) {
			out = append(out, line...)
			continue
		}
		out = writeNode(out, n, sp)
		out = append(out, line[len(body):]...)
	}
	return out
}

var spellings = map[string]spelling{
	"compact":              {},
	"json.dumps":           {dumps: true},
	"reordered":            {reversed: true},
	"json.dumps reordered": {dumps: true, reversed: true},
}

// checkWays checks trace with the fast path (checkLines) and with the
// decoder alone (checkSource over a plain source) and fails unless both give
// the same result and error; it returns the result, the error's text and the
// lines the fast path left to the decoder.
func checkWays(t *testing.T, trace []byte, name string, rel Relation) (string, int) {
	t.Helper()
	fast, falls, ferr := checkLines(NewDecoder(bytes.NewReader(trace), name), rel)
	d := NewDecoder(bytes.NewReader(trace), name)
	slow, serr := checkSource(d, &plainSource{d: d}, rel)
	fj, _ := fast.JSON()
	sj, _ := slow.JSON()
	if !bytes.Equal(fj, sj) {
		t.Fatalf("fast path and decoder differ:\n%s\n%s", fj, sj)
	}
	if fmt.Sprint(ferr) != fmt.Sprint(serr) {
		t.Fatalf("fast path and decoder errors differ: %v / %v", ferr, serr)
	}
	// And the fast path reading the trace from a mapped file.
	mapped, merr := checkMappedFile(t, trace, name, rel, nil)
	if mj, _ := mapped.JSON(); !bytes.Equal(mj, fj) || fmt.Sprint(merr) != fmt.Sprint(ferr) {
		t.Fatalf("mapped file and reader differ:\n%s %v\n%s %v", mj, merr, fj, ferr)
	}
	return string(fj) + "\nerror: " + fmt.Sprint(ferr), falls
}

// TestCheckFastPathTaken: a conforming trace, in the compact spelling, as
// json.dumps writes it, and with every object's keys in reverse order, is
// checked by the fast path alone (only the init record goes to the decoder),
// with the same result as the decoder gives, under both relations.
func TestCheckFastPathTaken(t *testing.T) {
	trace := genTrace(3000, 7)
	texts := map[string][]byte{}
	for name, sp := range spellings {
		texts[name] = respell(trace, sp)
	}
	// Every line in another spelling than the one before it.
	var mixed [][]byte
	for k, name := range []string{"compact", "json.dumps", "reordered", "json.dumps reordered"} {
		for i, line := range bytes.SplitAfter(texts[name], []byte("\n")) {
			if k == 0 {
				mixed = append(mixed, nil)
			}
			if i%4 == k {
				mixed[i] = line
			}
		}
	}
	texts["mixed"] = bytes.Join(mixed, nil)
	for name, text := range texts {
		if name != "compact" && bytes.Equal(text, trace) {
			t.Fatalf("%s: respelling changed nothing", name)
		}
		for _, rel := range []Relation{Exact, Bisim} {
			t.Run(name+"/"+rel.String(), func(t *testing.T) {
				res, falls := checkWays(t, text, "t", rel)
				if falls != 1 {
					t.Errorf("%d lines left to the decoder, want 1 (the init record)", falls)
				}
				if want, _ := checkWays(t, trace, "t", rel); res != want {
					t.Errorf("result differs from the compact spelling's:\n%s\n%s", res, want)
				}
			})
		}
	}
}

// TestCheckFixturesSpellings: every fixture gives the same result and error
// through the fast path as through the decoder, and the same in every
// spelling.
func TestCheckFixturesSpellings(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "traces", "*.jsonl"))
	if err != nil || len(files) < 30 {
		t.Fatalf("fixtures missing (%v): testdata/traces is committed with the repo", err)
	}
	for _, file := range files {
		trace, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(file)
		for _, rel := range []Relation{Exact, Bisim} {
			want, _ := checkWays(t, trace, name, rel)
			for sp, how := range spellings {
				t.Run(name+"/"+sp+"/"+rel.String(), func(t *testing.T) {
					if got, _ := checkWays(t, respell(trace, how), name, rel); got != want {
						t.Errorf("differs from the fixture as written:\n%s\n%s", got, want)
					}
				})
			}
		}
	}
}

// TestCheckFastPathLeaves: lines the fast path must leave to the decoder are
// left, and give the decoder's verdict and message.
func TestCheckFastPathLeaves(t *testing.T) {
	init := `{"kind":"init","state":{"agent_id":"a","shard_id":0,"data":[]}}` + "\n"
	step := func(mid string) string { return init + `{"kind":"step","seq":1,` + mid + "}\n" }
	for _, tc := range []struct{ name, trace, want string }{
		{"escaped key", step(`"action":{"type":"comment","author":"a","content":""},"st\u0061te":{"agent_id":"a","shard_id":0,"data":[]}`), "conforming"},
		{"big natural", step(`"action":{"type":"distribute","items":[18446744073709551616]},"state":{"agent_id":"a","shard_id":0,"data":[18446744073709551616]}`), "conforming"},
		{"20 digits below 2^64", step(`"action":{"type":"distribute","items":[10000000000000000000]},"state":{"agent_id":"a","shard_id":0,"data":[10000000000000000000]}`), "conforming"},
		{"capped", step(`"action":{"type":"comment","author":"a","content":""},"state":{"agent_id":"a","shard_id":0,"data_len":0,"data_capped":true}`), "conforming"},
		{"unknown field", step(`"action":{"type":"comment","author":"a","content":""},"state":{"agent_id":"a","shard_id":0,"data":[]},"x":1`), "conforming"},
		{"null", step(`"t0":null,"action":{"type":"comment","author":"a","content":""},"state":{"agent_id":"a","shard_id":0,"data":[]}`), "conforming"},
		{"repeated key", step(`"action":{"type":"comment","author":"a","content":""},"state":{"agent_id":"a","shard_id":0,"data":[1],"data":[]}`), "conforming"},
		{"negative", step(`"action":{"type":"distribute","items":[-1]},"state":{"agent_id":"a","shard_id":0,"data":[]}`), "is negative"},
		{"fraction", step(`"action":{"type":"distribute","items":[1.5]},"state":{"agent_id":"a","shard_id":0,"data":[]}`), "is not a whole number"},
		{"leading zero", step(`"action":{"type":"distribute","items":[01]},"state":{"agent_id":"a","shard_id":0,"data":[]}`), "leading zero"},
		{"cut short", init + `{"kind":"step","seq":1,"action":{"type":"comment","author":"a","content":"`, "unterminated string"},
		{"bad escape", step(`"action":{"type":"comment","author":"a","content":"\x"},"state":{"agent_id":"a","shard_id":0,"data":[]}`), "bad escape"},
		{"bad surrogate escape", step(`"action":{"type":"comment","author":"a","content":"\ud800\u12"},"state":{"agent_id":"a","shard_id":0,"data":[]}`), "escape"},
		{"invalid UTF-8", step("\"action\":{\"type\":\"comment\",\"author\":\"a\",\"content\":\"\xed\xa0\x80\"},\"state\":{\"agent_id\":\"a\",\"shard_id\":0,\"data\":[]}"), "not valid UTF-8"},
		{"control character", step("\"action\":{\"type\":\"comment\",\"author\":\"a\",\"content\":\"\t\"},\"state\":{\"agent_id\":\"a\",\"shard_id\":0,\"data\":[]}"), "control character"},
		{"extra text", step(`"action":{"type":"comment","author":"a","content":""},"state":{"agent_id":"a","shard_id":0,"data":[]}} x`), "extra text"},
		{"form feed", step("\"action\":{\"type\":\"comment\",\"author\":\"a\",\"content\":\"\"},\"state\":{\"agent_id\":\"a\",\"shard_id\":0,\"data\":[]}\f"), "not JSON"},
		{"tid too large", step(`"tid":4611686018427387905,"action":{"type":"comment","author":"a","content":""},"state":{"agent_id":"a","shard_id":0,"data":[]}`), "not a process or thread id"},
		{"divergence", step(`"action":{"type":"post","author":"a","content":"é"},"state":{"agent_id":"a","shard_id":0,"data":[1,1]}`), "len(data) 1 ≠ 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, rel := range []Relation{Exact, Bisim} {
				res, falls := checkWays(t, []byte(tc.trace), "t", rel)
				if falls != 2 {
					t.Errorf("%d lines left to the decoder, want 2", falls)
				}
				if tc.want == "conforming" {
					if !strings.Contains(res, `"verdict":"conforming"`) {
						t.Errorf("%s: not conforming: %s", rel, res)
					}
				} else if !strings.Contains(res, tc.want) && rel == Exact {
					t.Errorf("%s: result does not say %q: %s", rel, tc.want, res)
				}
			}
		})
	}
}

// TestScanStringAgreesWithDecoder: the scanner takes exactly the strings the
// decoder takes, and counts the scalar values the decoder decodes, for every
// string of up to three bytes from a set of bytes at the edges of JSON and
// UTF-8 (and four-byte sequences of its non-ASCII bytes), at every offset in
// a word and near the end of a line.
func TestScanStringAgreesWithDecoder(t *testing.T) {
	edges := []byte{0x00, 0x1f, ' ', '"', '\\', 'a', 'u', 'd', '8', 'n', 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf,
		0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff}
	var inner [][]byte
	for _, a := range edges {
		inner = append(inner, []byte{a})
		for _, b := range edges {
			inner = append(inner, []byte{a, b})
			for _, c := range edges {
				inner = append(inner, []byte{a, b, c})
			}
		}
	}
	for _, a := range edges[10:] {
		for _, b := range edges[10:] {
			for _, c := range edges[10:] {
				for _, d := range edges[10:] {
					inner = append(inner, []byte{a, b, c, d})
				}
			}
		}
	}
	inner = append(inner, []byte(`\ud83d\ude00`), []byte(`\ud800\udc00\udc00`), []byte(`\ud800\u12`), []byte(`\uDBFF\uDFFFx`), []byte(`é\"😀`))
	var sp strSpan
	for _, in := range inner {
		for pre := 0; pre < 9; pre++ {
			for _, post := range []string{"", ",\"padding after the string\"}"} {
				line := append(append(append([]byte(`"`), strings.Repeat("x", pre)...), in...), `"`+post...)
				scanAgrees(t, line, &sp)
			}
		}
	}
}

// TestCheckFastPathLateLayoutChange: lines whose layout differs from the
// line before only after their last value (a trailing space) are read
// member by member after the layout failed them; divergences in the
// agent_id and the data list on such lines are still found, as the decoder
// finds them.
func TestCheckFastPathLateLayoutChange(t *testing.T) {
	for _, sp := range []spelling{{}, {dumps: true}} {
		colon := ":"
		if sp.dumps {
			colon = ": "
		}
		var trace []byte
		for i, line := range bytes.SplitAfter(respell(genTrace(400, 9), sp), []byte("\n")) {
			line = bytes.TrimSuffix(line, []byte("\n"))
			if bytes.Contains(line, []byte(`comment"`)) && i%7 == 3 {
				line = bytes.Replace(line, []byte(`"agent_id"`+colon+`"`), []byte(`"agent_id"`+colon+`"x`), 1)
			}
			if bytes.Contains(line, []byte(`comment"`)) && i%7 == 5 {
				line = bytes.Replace(line, []byte(`"data"`+colon+`[`), []byte(`"data"`+colon+`[7,`), 1)
			}
			if i%2 == 1 && len(line) > 0 {
				line = append(line, ' ')
			}
			trace = append(append(trace, line...), '\n')
		}
		for _, rel := range []Relation{Exact, Bisim} {
			res, _ := checkWays(t, trace, "t", rel)
			if !strings.Contains(res, `"verdict":"divergent"`) {
				t.Fatalf("no divergence found: %s", res)
			}
		}
	}
}

// TestCheckFastPathStopsAtNewline: the fast path reads lines in the reader's
// buffer without looking for their end first; a line cut short inside a
// list, a string or between members is never read on into the next line,
// which would make one record of two.
func TestCheckFastPathStopsAtNewline(t *testing.T) {
	init := `{"kind":"init","state":{"agent_id":"a","shard_id":0,"data":[]}}` + "\n"
	good := `{"kind":"step","seq":1,"action":{"type":"comment","author":"a","content":""},"state":{"agent_id":"a","shard_id":0,"data":[]}}` + "\n"
	for _, cut := range []string{
		`{"kind":"step","seq":2,"action":{"type":"distribute","items":[1,` + "\n" + `2]},"state":{"agent_id":"a","shard_id":0,"data":[1,2]}}`,
		`{"kind":"step","seq":2,"action":{"type":"comment","author":"a","content":""},"state":{"agent_id":"a","shard_id":0,"data":[` + "\n" + `]}}`,
		`{"kind":"step","seq":2,"action":{"type":"comment","author":"a","content":""},"state":{"agent_id":"a","shard_id":0,` + "\n" + `"data":[]}}`,
		`{"kind":"step","seq":2,"action":{"type":"comment","author":"a","content":"` + "\n" + `"},"state":{"agent_id":"a","shard_id":0,"data":[]}}`,
		`{"kind":"step","seq":2,"action":{"type":"comment","author":"a","content":""},"state":{"agent_id":"a","shard_id":0,"data":[]}` + "\n" + `}`,
	} {
		trace := init + good + cut + "\n" + strings.Replace(good, `"seq":1`, `"seq":3`, 1)
		for _, rel := range []Relation{Exact, Bisim} {
			res, _ := checkWays(t, []byte(trace), "t", rel)
			if !strings.Contains(res, `"undecodable_lines":2`) {
				t.Errorf("%q: want both halves undecodable: %s", cut, res)
			}
		}
	}
}

// scanAgrees scans the string at the start of line, as the fast path does
// (past the end of the line is "not taken", as scan recovers it), and fails
// t unless the decoder reads it alike: taken where the decoder reads it, up
// to the same end, with as many scalar values. It returns the scanner's end.
func scanAgrees(t *testing.T, line []byte, sp *strSpan) int {
	t.Helper()
	end := func() (end int) {
		defer func() {
			if recover() != nil {
				end = -1
			}
		}()
		return scanString(line, 0, sp)
	}()
	p := parser{b: line}
	dec, err := p.strq()
	if (end >= 0) != (err == nil && p.i == end) {
		t.Fatalf("%q: scanner ends at %d, decoder at %d with %v", line, end, p.i, err)
	}
	if end >= 0 && sp.runes() != uint64(utf8.RuneCount(dec)) {
		t.Fatalf("%q: %d scalar values, the decoder decodes %d", line, sp.runes(), utf8.RuneCount(dec))
	}
	return end
}
