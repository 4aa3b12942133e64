package model

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// traceOf writes records as trace lines; a string is written as the line
// itself (to plant a line that is not a record).
func traceOf(items ...any) []byte {
	var b []byte
	for _, it := range items {
		switch v := it.(type) {
		case Record:
			b = AppendRecord(b, v)
		case string:
			b = append(b, v...)
		}
		b = append(b, '\n')
	}
	return b
}

func stateOf(agent string, shard uint64, data ...uint64) State {
	s := State{AgentID: agent, ShardID: NatOf(shard), Data: []Nat{}}
	for _, d := range data {
		s.Data = append(s.Data, NatOf(d))
	}
	return s
}

func postStep(seq uint64, tid int, content string, s State) Record {
	return Record{Kind: KindStep, Seq: seq, TID: tid, Action: Action{Type: Post, Author: s.AgentID, Content: content}, State: s}
}

// evenSeqs is an init and then only the even seqs 2, 4, …, 2*n, every state
// wrong; with shardChanges each state also has a new shard_id.
func evenSeqs(n int, shardChanges bool) []byte {
	items := []any{Record{Kind: KindInit, State: stateOf("a", 0)}}
	for i := 1; i <= n; i++ {
		shard := uint64(0)
		if shardChanges {
			shard = uint64(i)
		}
		items = append(items, postStep(uint64(2*i), 1, "x", stateOf("a", shard, 99, 99, 99)))
	}
	return traceOf(items...)
}

// withPre returns a post step carrying pre.
func withPre(seq uint64, tid int, pre State, content string, post State) Record {
	r := postStep(seq, tid, content, post)
	r.Pre, r.HasPre = pre, true
	return r
}

// TestVerdicts: each named case is a trace and the verdict it must get, with
// what the report must say. Before verdicts said what was checked, the cases
// marked "was" got the verdict in their comment.
func TestVerdicts(t *testing.T) {
	s0 := stateOf("a", 0)
	for _, tc := range []struct {
		name    string
		trace   []byte
		rel     Relation
		verdict Verdict
		check   func(t *testing.T, r *Result)
		report  []string
	}{
		{
			// was: "checked: 0 steps … conforming", exit 0
			name: "even seqs only, shard_id changing", trace: evenSeqs(1000, true), verdict: Divergent,
			check: func(t *testing.T, r *Result) {
				d := r.First
				if d == nil || d.Seq != 2 || d.Theorem != "run_shard_id" || d.Across != 1 || d.PrevSeq != 0 {
					t.Fatalf("first divergence %+v", d)
				}
				if r.Checked != 0 || r.SpanChecked != 1000 || r.NotObserved != 1000 || r.Divergences != 1000 {
					t.Fatalf("checked %d across %d not observed %d divergences %d", r.Checked, r.SpanChecked, r.NotObserved, r.Divergences)
				}
			},
			report: []string{"DIVERGENCE at step 2 (post), t:2, after 1 step not observed", "shard_id: 0 ≠ 1",
				"Lean theorem run_shard_id", "across gaps:  1000 steps", "not observed: 1000 steps"},
		},
		{
			// was: conforming, exit 0 (nothing checked)
			name: "even seqs only, shard_id kept", trace: evenSeqs(1000, false), verdict: Incomplete,
			check: func(t *testing.T, r *Result) {
				if r.Checked != 0 || r.SpanChecked != 1000 || r.First != nil {
					t.Fatalf("checked %d across %d", r.Checked, r.SpanChecked)
				}
			},
			report: []string{"INCOMPLETE under --relation exact: no divergence in what was checked, but 1000 steps not observed, no step could be checked"},
		},
		{
			name: "even seqs only, shard_id changing, bisim", trace: evenSeqs(3, true), rel: Bisim, verdict: Divergent,
			check: func(t *testing.T, r *Result) {
				if r.First == nil || r.First.Seq != 2 || r.BisimFailed != 3 {
					t.Fatalf("%+v", r.First)
				}
			},
		},
		{
			// was: an InputError (exit 2) from tracer check, one undecodable record and exit 0 from tracer run
			name: "data -50 at step 50",
			trace: func() []byte {
				lines := bytes.SplitAfter(genTrace(100, 3), []byte("\n"))
				lines[50] = []byte(`{"kind":"step","seq":50,"action":{"type":"distribute","items":[-50]},"state":{"agent_id":"a","shard_id":0,"data":[-50]}}` + "\n")
				return bytes.Join(lines, nil)
			}(),
			verdict: Divergent,
			check: func(t *testing.T, r *Result) {
				p := r.FirstInvalid
				if r.Invalid != 1 || p == nil || p.Seq != 50 || p.Line != 51 || !strings.Contains(p.Msg, "-50 is negative") {
					t.Fatalf("invalid %d %+v", r.Invalid, p)
				}
				if r.Steps != 100 || r.Checked != 98 || r.SpanChecked != 1 || r.NotObserved != 0 {
					t.Fatalf("steps %d checked %d across %d", r.Steps, r.Checked, r.SpanChecked)
				}
			},
			report: []string{"INVALID RECORD at step 50, t:51: action.items[0]: -50 is negative", "1 invalid record, the first at seq 50"},
		},
		{
			name: "fractional shard_id", verdict: Divergent,
			trace: traceOf(Record{Kind: KindInit, State: s0},
				`{"kind":"step","seq":1,"action":{"type":"comment","author":"a","content":""},"state":{"agent_id":"a","shard_id":0.5,"data":[]}}`),
			check: func(t *testing.T, r *Result) {
				if r.FirstInvalid == nil || r.FirstInvalid.Seq != 1 || !strings.Contains(r.FirstInvalid.Msg, "0.5 is not a whole number") {
					t.Fatalf("%+v", r.FirstInvalid)
				}
			},
		},
		{
			name: "missing data", verdict: Divergent,
			trace: traceOf(Record{Kind: KindInit, State: s0},
				`{"kind":"step","seq":1,"action":{"type":"comment","author":"a","content":""},"state":{"agent_id":"a","shard_id":0}}`),
			report: []string{`INVALID RECORD at step 1, t:2: state has no "data"`},
		},
		{
			name: "a line cut short", verdict: Incomplete,
			trace: traceOf(Record{Kind: KindInit, State: s0}, postStep(1, 1, "ab", stateOf("a", 0, 2)),
				`{"kind":"step","seq":2,"action":{"ty`, postStep(3, 1, "abc", stateOf("a", 0, 3, 2))),
			check: func(t *testing.T, r *Result) {
				if r.Undecodable != 1 || r.NotObserved != 1 || r.Checked != 1 || r.SpanChecked != 1 {
					t.Fatalf("undecodable %d not observed %d checked %d", r.Undecodable, r.NotObserved, r.Checked)
				}
			},
			report: []string{"undecodable:  1 line (not checked); the first: t:3: not JSON"},
		},
		{
			name: "a lost record", verdict: Incomplete,
			trace: traceOf(Record{Kind: KindInit, State: s0}, postStep(1, 1, "ab", stateOf("a", 0, 2)),
				Record{Kind: KindLost, Lost: 2}),
			check: func(t *testing.T, r *Result) {
				if r.Lost != 1 || r.LostBatches != 2 || r.Checked != 1 {
					t.Fatalf("lost %d batches %d", r.Lost, r.LostBatches)
				}
			},
			report: []string{"INCOMPLETE", "2 batches lost in capture"},
		},
		{
			name: "one step and no init", verdict: Incomplete,
			trace:  traceOf(postStep(7, 1, "ab", stateOf("a", 0, 2))),
			report: []string{"no step could be checked"},
		},
		{
			name: "steps from pre on unrelated states and threads", verdict: Conforming,
			trace: traceOf(
				withPre(1, 10, stateOf("a", 0), "ab", stateOf("a", 0, 2)),
				withPre(2, 11, stateOf("b", 7, 5), "x", stateOf("b", 7, 1, 5)),
				withPre(3, 10, stateOf("a", 0, 2), "abc", stateOf("a", 0, 3, 2)),
				withPre(4, 11, stateOf("z", 3), "", stateOf("z", 3, 0))),
			check: func(t *testing.T, r *Result) {
				if r.Checked != 4 || r.FromPre != 4 || r.NewChains != 1 || r.NewChainSeqs[0].From != 4 {
					t.Fatalf("checked %d from pre %d new chains %d %v", r.Checked, r.FromPre, r.NewChains, r.NewChainSeqs)
				}
			},
			report: []string{"from pre:     4 steps checked from their own pre state; 1 new chain (seq 4)"},
		},
		{
			name: "pre against the init state", verdict: Conforming,
			trace: traceOf(Record{Kind: KindInit, State: s0}, withPre(1, 1, stateOf("q", 0), "ab", stateOf("q", 0, 2))),
			check: func(t *testing.T, r *Result) {
				if r.NewChains != 1 || r.Checked != 1 {
					t.Fatalf("new chains %d", r.NewChains)
				}
			},
		},
		{
			name: "a step wrong from its pre", verdict: Divergent,
			trace: traceOf(
				withPre(1, 10, stateOf("a", 0), "ab", stateOf("a", 0, 2)),
				withPre(2, 11, stateOf("b", 0, 5), "héllo", stateOf("b", 0, 6, 5))),
			check: func(t *testing.T, r *Result) {
				if d := r.First; d == nil || d.Seq != 2 || !d.FromPre || !containsString(d.Differences, "data[0]: 5 ≠ 6") {
					t.Fatalf("%+v", d)
				}
			},
			report: []string{"(the model: transition of the step's own pre state by this action)"},
		},
		{
			name: "pre on a step after a gap is checked whole", verdict: Incomplete,
			trace: traceOf(Record{Kind: KindInit, State: s0},
				withPre(5, 1, stateOf("a", 0, 1), "ab", stateOf("a", 0, 2, 1))),
			check: func(t *testing.T, r *Result) {
				if r.Checked != 1 || r.SpanChecked != 0 || r.NotObserved != 4 {
					t.Fatalf("checked %d across %d", r.Checked, r.SpanChecked)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rel := tc.rel
			if rel == 0 {
				rel = Exact
			}
			res, err := checkBothRel(t, tc.trace, rel)
			if err != nil {
				t.Fatal(err)
			}
			if v := res.Verdict(); v != tc.verdict {
				t.Fatalf("verdict %s, want %s\n%s", v, tc.verdict, reportOf(&res))
			}
			if tc.check != nil {
				tc.check(t, &res)
			}
			out := reportOf(&res)
			for _, w := range tc.report {
				if !strings.Contains(out, w) {
					t.Fatalf("report lacks %q:\n%s", w, out)
				}
			}
			if j, err := res.JSON(); err != nil || !bytes.Contains(j, []byte(fmt.Sprintf(`"verdict":%q`, tc.verdict))) {
				t.Fatalf("json: %s %v", j, err)
			}
		})
	}
}

func reportOf(r *Result) string {
	var b bytes.Buffer
	_ = r.WriteText(&b)
	return b.String()
}

// TestNotATrace: input with no record at all is an error, not a verdict.
func TestNotATrace(t *testing.T) {
	_, err := checkBothRel(t, []byte("name,age\nbob,3\n"), Exact)
	if err == nil || !strings.Contains(err.Error(), "not a trace: no line is a record of the trace format") || !strings.Contains(err.Error(), "t:1: not JSON") {
		t.Fatalf("got %v", err)
	}
	_, err = CheckPair(NewDecoder(bytes.NewReader(genTrace(3, 1)), "a"), NewDecoder(strings.NewReader("{}\n"), "b"), Exact)
	if err == nil || !strings.Contains(err.Error(), "b: not a trace") {
		t.Fatalf("pair: %v", err)
	}
}

// TestPairVerdicts: a pair is incomplete when a side lost steps in between,
// and the pre states are compared when both steps carry one.
func TestPairVerdicts(t *testing.T) {
	a := traceOf(withPre(1, 1, stateOf("a", 0), "ab", stateOf("a", 0, 2)), withPre(2, 1, stateOf("a", 0, 2), "x", stateOf("a", 0, 1, 2)))
	b := traceOf(withPre(1, 1, stateOf("a", 0), "ab", stateOf("a", 0, 2)), withPre(2, 1, stateOf("a", 0, 9), "x", stateOf("a", 0, 1, 2)))
	pair := func(x, y []byte, rel Relation) Result {
		t.Helper()
		r, err := CheckPair(NewDecoder(bytes.NewReader(x), "x"), NewDecoder(bytes.NewReader(y), "y"), rel)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := pair(a, a, Exact); r.Verdict() != Conforming {
		t.Fatalf("same: %s", reportOf(&r))
	}
	r := pair(a, b, Exact)
	if r.Verdict() != Divergent || r.First.Seq != 2 || !r.First.FromPre || !containsString(r.First.Differences, "pre data[0]: 2 ≠ 9") {
		t.Fatalf("pre differs: %s", reportOf(&r))
	}
	if !strings.Contains(reportOf(&r), "the pre states are not related") {
		t.Fatal(reportOf(&r))
	}
	if r := pair(a, b, Bisim); r.Verdict() != Conforming {
		t.Fatalf("pre bisimilar: %s", reportOf(&r))
	}
	g := genTrace(10, 1)
	lines := bytes.SplitAfter(g, []byte("\n"))
	holed := bytes.Join(append(append([][]byte{}, lines[:5]...), lines[6:]...), nil)
	if r := pair(g, holed, Exact); r.Verdict() != Incomplete || r.NotObserved != 1 || r.OnlyFirst != 1 {
		t.Fatalf("gap: %s", reportOf(&r))
	}
	lines[4] = []byte(`{"kind":"step","seq":4,"action":{"type":"comment","author":"a","content":""},"state":{"agent_id":"a","shard_id":-1,"data":[]}}` + "\n")
	if r := pair(g, bytes.Join(lines, nil), Exact); r.Verdict() != Divergent || r.Invalid != 1 {
		t.Fatalf("invalid: %s", reportOf(&r))
	}
}

// TestGapTheoremIsProved: the check across gaps cites run_shard_id; the
// theorem must be in lean/ (lake build checks its proof).
func TestGapTheoremIsProved(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "lean", "MoltbookBisim", "Theorems.lean"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("theorem run_shard_id (as : List Action) :\n    ∀ (s : State), (run s as).shard_id = s.shard_id")) {
		t.Fatal("lean/MoltbookBisim/Theorems.lean lacks run_shard_id as the gap check cites it")
	}
}
