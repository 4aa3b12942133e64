package model

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func checkFile(t *testing.T, name string, rel Relation) (Result, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "traces", name))
	if err != nil {
		t.Fatalf("fixture missing: %v (testdata/traces is committed with the repo)", err)
	}
	defer f.Close()
	return CheckTrace(NewDecoder(f, name), rel)
}

func TestCheckFixtures(t *testing.T) {
	for _, tc := range []struct {
		file        string
		rel         Relation
		conforming  bool
		seq         uint64 // the first divergent step
		line        int
		diff        string // one of the differences
		otherHolds  bool
		notObserved uint64
		incomplete  bool // no divergence, but steps were not observed
	}{
		{file: "valid.jsonl", rel: Exact, conforming: true},
		{file: "valid_unicode.jsonl", rel: Exact, conforming: true},
		{file: "valid_unicode_escaped.jsonl", rel: Exact, conforming: true},
		{file: "valid_bignat.jsonl", rel: Exact, conforming: true},
		{file: "valid_partial.jsonl", rel: Exact, conforming: true},
		{file: "valid_gap.jsonl", rel: Exact, incomplete: true, notObserved: 3},
		{file: "valid_capped.jsonl", rel: Exact, conforming: true},
		{file: "valid_capped.jsonl", rel: Bisim, conforming: true},
		{file: "bug_register.jsonl", rel: Exact, seq: 8, line: 9, diff: `agent_id: "CICADA-Harbot-1" ≠ "CICADA-Harbot-0"`},
		{file: "bug_post_bytes.jsonl", rel: Exact, seq: 3, line: 4, diff: "data[0]: 5 ≠ 6", otherHolds: true},
		{file: "bug_post_bytes.jsonl", rel: Bisim, conforming: true},
		{file: "bug_post_utf16.jsonl", rel: Exact, seq: 4, line: 5, diff: "data[0]: 1 ≠ 2", otherHolds: true},
		{file: "bug_post_append.jsonl", rel: Exact, seq: 3, line: 4, diff: "data[1]: 11 ≠ 5", otherHolds: true},
		{file: "bug_post_dropped.jsonl", rel: Exact, seq: 6, line: 7, diff: "len(data) 6 ≠ 5"},
		{file: "bug_post_dropped.jsonl", rel: Bisim, seq: 6, line: 7, diff: "len(data) 6 ≠ 5"},
		{file: "bug_comment.jsonl", rel: Bisim, seq: 4, line: 5, diff: "len(data) 2 ≠ 3"},
		{file: "bug_comment_agent.jsonl", rel: Exact, seq: 7, line: 8, diff: `agent_id: "CICADA-Harbot-0" ≠ "other"`},
		{file: "bug_distribute_sorted.jsonl", rel: Exact, seq: 5, line: 6, diff: "data[0]: 3 ≠ 1", otherHolds: true},
		{file: "bug_distribute_keeps.jsonl", rel: Exact, seq: 10, line: 11, diff: "len(data) 0 ≠ 7"},
		{file: "bug_shard.jsonl", rel: Bisim, seq: 9, line: 10, diff: "shard_id: 0 ≠ 1"},
		{file: "bug_bignat_rounded.jsonl", rel: Exact, seq: 1, line: 2, otherHolds: true,
			diff: "data[2]: 340282366920938463463374607431768211457 ≠ 340282366920938463463374607431768211456"},
		{file: "bug_after_gap.jsonl", rel: Exact, seq: 11, line: 9, diff: "data[0]: 7 ≠ 99", otherHolds: true, notObserved: 3},
		{file: "bug_capped_len.jsonl", rel: Bisim, seq: 2, line: 3, diff: "len(data) 1201 ≠ 1200"},
		{file: "bug_capped_content.jsonl", rel: Exact, seq: 6, line: 7, diff: "data[0]: 5000 ≠ 4999", otherHolds: true},
	} {
		t.Run(tc.file+"/"+tc.rel.String(), func(t *testing.T) {
			res, err := checkFile(t, tc.file, tc.rel)
			if err != nil {
				t.Fatal(err)
			}
			if res.Conforming() != tc.conforming {
				t.Fatalf("conforming = %v, want %v", res.Conforming(), tc.conforming)
			}
			if res.NotObserved != tc.notObserved {
				t.Errorf("not observed %d, want %d", res.NotObserved, tc.notObserved)
			}
			if tc.incomplete && res.Verdict() != Incomplete {
				t.Fatalf("verdict %s, want incomplete", res.Verdict())
			}
			if tc.conforming || tc.incomplete {
				if res.First != nil {
					t.Fatal("a conforming result has a divergence")
				}
				return
			}
			d := res.First
			if d.Seq != tc.seq || d.Line != tc.line || d.File != tc.file {
				t.Fatalf("divergence at seq %d %s:%d, want seq %d line %d", d.Seq, d.File, d.Line, tc.seq, tc.line)
			}
			if !containsString(d.Differences, tc.diff) {
				t.Fatalf("differences %q lack %q", d.Differences, tc.diff)
			}
			if d.OtherHolds != tc.otherHolds {
				t.Fatalf("other relation holds = %v, want %v", d.OtherHolds, tc.otherHolds)
			}
			var out bytes.Buffer
			if err := res.WriteText(&out); err != nil {
				t.Fatal(err)
			}
			want := []string{"DIVERGENCE at step", tc.diff, "expected:", "observed:", "DIVERGENT under --relation " + tc.rel.String()}
			for _, w := range want {
				if !strings.Contains(out.String(), w) {
					t.Fatalf("report lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestCheckSummary(t *testing.T) {
	res, err := checkFile(t, "valid.jsonl", Exact)
	if err != nil {
		t.Fatal(err)
	}
	if sum := res.Summary(); !strings.HasPrefix(sum, "valid.jsonl: conforming under --relation exact\n") ||
		!strings.Contains(sum, "register 2, post 5, comment 3, distribute 2") {
		t.Fatalf("summary:\n%s", sum)
	}
	if res.Steps != 12 || res.Checked != 12 || !res.FromInit || res.Actions != (ActionCounts{Register: 2, Post: 5, Comment: 3, Distribute: 2}) {
		t.Fatalf("%+v", res)
	}
	res, err = checkFile(t, "valid_partial.jsonl", Exact)
	if err != nil {
		t.Fatal(err)
	}
	if res.FromInit || res.FirstSeq != 40 || res.Steps != 11 || res.Checked != 10 {
		t.Fatalf("partial: %+v", res)
	}
	res, err = checkFile(t, "valid_capped.jsonl", Exact)
	if err != nil {
		t.Fatal(err)
	}
	if res.Unchecked != 4 || len(res.UncheckedSeqs) != 1 || res.UncheckedSeqs[0] != (SeqRange{1, 4}) {
		t.Fatalf("capped: unchecked %d %v", res.Unchecked, res.UncheckedSeqs)
	}
}

// TestCheckUnusableRecords: every line that cannot be used is counted and
// named, and decides the verdict: an invalid state or action in a record that
// says which step it is is a finding (divergent); a line that is not a record
// or a record out of place leaves steps unchecked (incomplete); input with no
// record at all is an error.
func TestCheckUnusableRecords(t *testing.T) {
	const invalid, undecodable, outOfPlace = "invalid", "undecodable", "out of place"
	for _, tc := range []struct {
		file    string
		verdict Verdict
		what    string // which count holds it
		line    int
		seq     uint64 // the invalid step's seq
		want    string
	}{
		{"malformed_not_json.jsonl", Incomplete, undecodable, 3, 0, "not JSON"},
		{"malformed_garbage.jsonl", Incomplete, undecodable, 1, 0, "not JSON"},
		{"malformed_not_object.jsonl", Incomplete, undecodable, 3, 0, "not a JSON object"},
		{"malformed_unknown_kind.jsonl", Incomplete, undecodable, 3, 0, `unknown kind "stop"`},
		{"malformed_seq_zero.jsonl", Incomplete, undecodable, 2, 0, "seq 0"},
		{"malformed_invalid_utf8.jsonl", Incomplete, undecodable, 4, 0, "not valid UTF-8"},
		{"malformed_seq_decreasing.jsonl", Incomplete, outOfPlace, 6, 0, "seq 3 does not increase"},
		{"malformed_seq_duplicate.jsonl", Incomplete, outOfPlace, 6, 0, "seq 4 does not increase"},
		{"malformed_second_init.jsonl", Incomplete, outOfPlace, 5, 0, "second init record"},
		{"malformed_unknown_action.jsonl", Divergent, invalid, 5, 4, `unknown action type "like"`},
		{"malformed_negative.jsonl", Divergent, invalid, 6, 5, "state.data[1]: -1 is negative"},
		{"malformed_negative_shard.jsonl", Divergent, invalid, 4, 3, "state.shard_id: -3 is negative"},
		{"malformed_fraction.jsonl", Divergent, invalid, 6, 5, "action.items[2]: 1.5 is not a whole number"},
		{"malformed_exponent.jsonl", Divergent, invalid, 7, 6, "1e0 is not a whole number"},
		{"malformed_missing_state.jsonl", Divergent, invalid, 3, 2, `no "state"`},
		{"malformed_missing_field.jsonl", Divergent, invalid, 2, 1, `no "name"`},
		{"malformed_string_number.jsonl", Divergent, invalid, 2, 1, "want a natural number"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			res, err := checkFile(t, tc.file, Exact)
			if err != nil {
				t.Fatalf("got %v, want a result", err)
			}
			if v := res.Verdict(); v != tc.verdict {
				t.Fatalf("verdict %s, want %s", v, tc.verdict)
			}
			var n uint64
			var p *Problem
			switch tc.what {
			case invalid:
				n, p = res.Invalid, res.FirstInvalid
			case undecodable:
				n, p = res.Undecodable, res.FirstUndecodable
			default:
				n, p = res.OutOfPlace, res.FirstOutOfPlace
			}
			if n != 1 || p == nil || p.File != tc.file || p.Line != tc.line || p.Seq != tc.seq || !strings.Contains(p.Msg, tc.want) {
				t.Fatalf("%s: %d, first %+v; want one at %s:%d seq %d %q", tc.what, n, p, tc.file, tc.line, tc.seq, tc.want)
			}
			var out bytes.Buffer
			if err := res.WriteText(&out); err != nil {
				t.Fatal(err)
			}
			head := map[Verdict]string{Divergent: "DIVERGENT under --relation exact: ", Incomplete: "INCOMPLETE under --relation exact: "}[tc.verdict]
			if !strings.Contains(out.String(), head) || !strings.Contains(out.String(), tc.want) {
				t.Fatalf("report lacks %q or %q:\n%s", head, tc.want, out.String())
			}
		})
	}
	for _, tc := range []struct{ file, want string }{
		{"malformed_empty.jsonl", "empty trace"},
		{"malformed_blank.jsonl", "empty trace"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, err := checkFile(t, tc.file, Exact)
			var ie *InputError
			if !errors.As(err, &ie) || ie.File != tc.file || !strings.Contains(ie.Msg, tc.want) {
				t.Fatalf("got %v, want an InputError %q", err, tc.want)
			}
		})
	}
}

// TestCheckerFeedLive drives the checker record by record as a live session
// does, with records decoded one at a time by DecodeRecord.
func TestCheckerFeedLive(t *testing.T) {
	c := NewChecker(Exact)
	lines := strings.Split(strings.TrimSpace(string(genTrace(200, 7))), "\n")
	for i, l := range lines {
		r, err := DecodeRecord([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		r.File, r.Line = "live", i+1
		if i == 120 { // corrupt one state: a post that prepends a wrong length
			r.State.Data = append([]Nat{NatOf(424242)}, r.State.Data...)
		}
		if err := c.Feed(r); err != nil {
			t.Fatal(err)
		}
	}
	res := c.Result()
	if res.Steps != 200 || res.Checked != 200 {
		t.Fatalf("steps %d checked %d", res.Steps, res.Checked)
	}
	d := c.FirstDivergence()
	if d == nil || d.Seq != 120 || d.Line != 121 {
		t.Fatalf("divergence %+v", d)
	}
	if !strings.Contains(d.Report(&res), "DIVERGENCE at step 120 (comment), live:121, under --relation exact") {
		t.Fatalf("report: %s", d.Report(&res))
	}
	// Records decoded from captured batches carry no file or line.
	c2 := NewChecker(Bisim)
	for _, l := range lines[:5] {
		r, _ := DecodeRecord([]byte(l))
		r.State.ShardID = NatOf(r.Seq) // shard_id changes at every step
		if err := c2.Feed(r); err != nil {
			t.Fatal(err)
		}
	}
	res2 := c2.Result()
	var out bytes.Buffer
	if err := res2.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "DIVERGENCE at step 1 (distribute), under --relation bisim\n") ||
		!strings.Contains(out.String(), "trace: DIVERGENT under --relation bisim: 4 divergent steps") {
		t.Fatalf("live report:\n%s", out.String())
	}
	// The record right after is judged from the corrupted observed state,
	// stepwise, so one corruption diverges at most twice.
	if res.Divergences > 2 {
		t.Fatalf("%d divergences from one corrupted state", res.Divergences)
	}
}

func TestCheckerFeedOrder(t *testing.T) {
	init := Record{Kind: KindInit, State: st("a", 0), File: "f", Line: 1}
	step := func(seq uint64) Record {
		return Record{Kind: KindStep, Seq: seq, Action: Action{Type: Comment}, State: st("a", 0), File: "f", Line: int(seq) + 1}
	}
	c := NewChecker(Exact)
	if err := c.Feed(init); err != nil {
		t.Fatal(err)
	}
	if err := c.Feed(step(2)); err != nil {
		t.Fatal(err)
	}
	if err := c.Feed(init); err == nil || !strings.Contains(err.Error(), "second init") {
		t.Fatalf("second init: %v", err)
	}
	if err := c.Feed(step(2)); err == nil || !strings.Contains(err.Error(), "f:3: seq 2 does not increase") {
		t.Fatalf("repeated seq: %v", err)
	}
	if err := c.Feed(Record{Kind: KindStep, Seq: 9, State: st("a", 0)}); err == nil {
		t.Fatal("a step without an action type was accepted")
	}
	if r := c.Result(); r.NotObserved != 1 || r.Checked != 0 {
		t.Fatalf("not observed %d checked %d", r.NotObserved, r.Checked)
	}
}

func pairFiles(t *testing.T, a, b string, rel Relation) (Result, error) {
	t.Helper()
	fa, err := os.Open(filepath.Join("..", "testdata", "traces", a))
	if err != nil {
		t.Fatal(err)
	}
	defer fa.Close()
	fb, err := os.Open(filepath.Join("..", "testdata", "traces", b))
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	return CheckPair(NewDecoder(fa, a), NewDecoder(fb, b), rel)
}

func TestCheckPair(t *testing.T) {
	res, err := pairFiles(t, "pair_python.jsonl", "pair_node.jsonl", Exact)
	if err != nil || !res.Conforming() || res.Steps != 8 || !res.InitCompared {
		t.Fatalf("same traces: %+v %v", res, err)
	}
	res, err = pairFiles(t, "pair_python.jsonl", "pair_node_utf16.jsonl", Exact)
	if err != nil || res.Conforming() || res.First.Seq != 4 || !containsString(res.First.Differences, "data[0]: 1 ≠ 2") || !res.First.OtherHolds {
		t.Fatalf("utf16 under exact: %+v %v", res.First, err)
	}
	res, err = pairFiles(t, "pair_python.jsonl", "pair_node_utf16.jsonl", Bisim)
	if err != nil || !res.Conforming() || res.ExactFailed == 0 {
		t.Fatalf("utf16 under bisim: %+v %v", res, err)
	}
	res, err = pairFiles(t, "pair_python.jsonl", "pair_node_other_action.jsonl", Bisim)
	if err != nil || res.Conforming() || !res.First.ActionMismatch || res.First.Seq != 6 || res.First.OtherLine != 7 {
		t.Fatalf("action mismatch: %+v %v", res.First, err)
	}
	if !strings.HasPrefix(res.First.Differences[0], "content: ") {
		t.Fatalf("differences %q", res.First.Differences)
	}
	res, err = pairFiles(t, "pair_python.jsonl", "pair_node_partial.jsonl", Exact)
	if err != nil || !res.Conforming() || res.OnlyFirst != 3 || res.Steps != 5 || res.InitCompared {
		t.Fatalf("partial pair: %+v %v", res, err)
	}
	res, err = pairFiles(t, "pair_python.jsonl", "malformed_seq_duplicate.jsonl", Exact)
	if err != nil || res.OutOfPlace != 1 || res.FirstOutOfPlace.Line != 6 || res.FirstOutOfPlace.File != "malformed_seq_duplicate.jsonl" {
		t.Fatalf("malformed second trace: %+v %v", res, err)
	}
	_, err = pairFiles(t, "valid_partial.jsonl", "pair_node_partial.jsonl", Exact)
	if err == nil || !strings.Contains(err.Error(), "no seq in common") {
		t.Fatalf("disjoint pair: %v", err)
	}
	_, err = pairFiles(t, "malformed_empty.jsonl", "valid.jsonl", Exact)
	if err == nil || !strings.Contains(err.Error(), "empty trace") {
		t.Fatalf("empty first trace: %v", err)
	}
}

func TestResultJSON(t *testing.T) {
	res, err := checkFile(t, "bug_bignat_rounded.jsonl", Exact)
	if err != nil {
		t.Fatal(err)
	}
	out, err := res.JSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"verdict":"divergent"`, `"seq":1`, `"line":2`, `"other_relation":"bisim"`, `"other_relation_holds":true`,
		`340282366920938463463374607431768211457`, `"differences":["data[2]: `} {
		if !bytes.Contains(out, []byte(w)) {
			t.Fatalf("json lacks %s: %s", w, out)
		}
	}
}

// TestCheckMemoryBounded: checking allocates per record only the record's own
// strings, never in proportion to the trace length already read.
func TestCheckMemoryBounded(t *testing.T) {
	small, big := genTrace(2000, 3), genTrace(20000, 3)
	allocs := func(b []byte) float64 {
		return testing.AllocsPerRun(3, func() {
			if _, err := CheckTrace(NewDecoder(bytes.NewReader(b), "gen"), Exact); err != nil {
				t.Fatal(err)
			}
		})
	}
	perSmall, perBig := allocs(small)/2000, allocs(big)/20000
	if perBig > 2 || perBig > perSmall*1.5+0.1 {
		t.Fatalf("allocations per step: %.2f (2k steps), %.2f (20k steps)", perSmall, perBig)
	}
}
