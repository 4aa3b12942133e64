package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-dev/tracer/internal/testbin"
)

// tracerBin is the tracer binary built once by TestMain; every end-to-end test
// in this package runs it.
var tracerBin string

func TestMain(m *testing.M) { os.Exit(testbin.Main(m.Run, &tracerBin)) }

// runTracer runs the binary with args from testdata/traces and returns its
// exit code, stdout and stderr.
func runTracer(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(tracerBin, args...)
	cmd.Dir = filepath.Join("..", "..", "testdata", "traces")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run tracer: %v", err)
	}
	return code, stdout.String(), stderr.String()
}

func TestCheckCLI(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout []string // all must appear
		stderr []string
	}{
		{"valid", []string{"check", "valid.jsonl"}, 0,
			[]string{"valid.jsonl: conforming under --relation exact", "12 (seq 1–12), replayed from the init record",
				"register 2, post 5, comment 3, distribute 2", "exact:        held at every step", "bisim:        held at every step"}, nil},
		{"unicode", []string{"check", "valid_unicode.jsonl"}, 0, []string{"conforming"}, nil},
		{"unicode escaped", []string{"check", "valid_unicode_escaped.jsonl"}, 0, []string{"conforming"}, nil},
		{"big naturals", []string{"check", "valid_bignat.jsonl"}, 0, []string{"conforming"}, nil},
		{"partial", []string{"check", "valid_partial.jsonl"}, 0,
			[]string{"no init record: checked stepwise from the state observed at seq 40", "checked:      10 steps"}, nil},
		{"gap", []string{"check", "valid_gap.jsonl"}, 3, []string{"INCOMPLETE under --relation exact", "not observed: 3 steps (seq 5–7)", "resumed stepwise",
			"across gaps:  1 step (seq 8) checked for shard_id only", "run_shard_id"}, nil},
		{"capped exact", []string{"check", "valid_capped.jsonl"}, 0,
			[]string{"conforming", "not checked:  data contents at 4 steps (seq 1–4)"}, nil},
		{"capped bisim", []string{"check", "--relation", "bisim", "valid_capped.jsonl"}, 0,
			[]string{"conforming under --relation bisim", "fully checked"}, nil},

		{"register bug", []string{"check", "bug_register.jsonl"}, 1,
			[]string{"DIVERGENCE at step 8 (register), bug_register.jsonl:9", `agent_id: "CICADA-Harbot-1" ≠ "CICADA-Harbot-0"`, "under --relation bisim: also fails"}, nil},
		{"post bytes", []string{"check", "bug_post_bytes.jsonl"}, 1,
			[]string{"DIVERGENCE at step 3 (post), bug_post_bytes.jsonl:4", `"content":"héllo"`,
				`expected: {"agent_id":"CICADA-Harbot-0","shard_id":0,"data":[5,11]}`,
				`observed: {"agent_id":"CICADA-Harbot-0","shard_id":0,"data":[6,11]}`,
				"data[0]: 5 ≠ 6", "under --relation bisim: holds at this step"}, nil},
		{"post bytes bisim", []string{"check", "--relation", "bisim", "bug_post_bytes.jsonl"}, 0,
			[]string{"conforming under --relation bisim", "exact:        failed at 1 step, the first at seq 3"}, nil},
		{"post utf16 (astral)", []string{"check", "bug_post_utf16.jsonl"}, 1,
			[]string{"step 4 (post), bug_post_utf16.jsonl:5", `"content":"😀"`, "data[0]: 1 ≠ 2"}, nil},
		{"post dropped", []string{"check", "bug_post_dropped.jsonl"}, 1, []string{"step 6 (post)", "len(data) 6 ≠ 5"}, nil},
		{"post dropped bisim", []string{"check", "--relation=bisim", "bug_post_dropped.jsonl"}, 1,
			[]string{"DIVERGENCE at step 6 (post), bug_post_dropped.jsonl:7, under --relation bisim", "len(data) 6 ≠ 5", "under --relation exact: also fails"}, nil},
		{"comment", []string{"check", "bug_comment.jsonl"}, 1, []string{"step 4 (comment), bug_comment.jsonl:5", "len(data) 2 ≠ 3"}, nil},
		{"distribute", []string{"check", "bug_distribute_sorted.jsonl"}, 1, []string{"step 5 (distribute)", "data[0]: 3 ≠ 1"}, nil},
		{"shard", []string{"check", "bug_shard.jsonl"}, 1, []string{"step 9 (post), bug_shard.jsonl:10", "shard_id: 0 ≠ 1"}, nil},
		{"big natural off by one", []string{"check", "bug_bignat_rounded.jsonl"}, 1,
			[]string{"data[2]: 340282366920938463463374607431768211457 ≠ 340282366920938463463374607431768211456"}, nil},
		{"after gap", []string{"check", "bug_after_gap.jsonl"}, 1, []string{"step 11 (post), bug_after_gap.jsonl:9", "not observed: 3 steps"}, nil},
		{"capped length", []string{"check", "--relation", "bisim", "bug_capped_len.jsonl"}, 1, []string{"step 2 (post)", "len(data) 1201 ≠ 1200"}, nil},

		{"pair same", []string{"check", "pair_python.jsonl", "pair_node.jsonl"}, 0,
			[]string{"pair_python.jsonl ~ pair_node.jsonl: conforming under --relation exact", "the init records were compared"}, nil},
		{"pair utf16 exact", []string{"check", "pair_python.jsonl", "pair_node_utf16.jsonl"}, 1,
			[]string{"DIVERGENCE at step 4 (post) under --relation exact: the states are not related",
				"pair_python.jsonl:5", "pair_node_utf16.jsonl:5", "data[0]: 1 ≠ 2"}, nil},
		{"pair utf16 bisim", []string{"check", "--relation", "bisim", "pair_python.jsonl", "pair_node_utf16.jsonl"}, 0,
			[]string{"conforming under --relation bisim"}, nil},
		{"pair action mismatch", []string{"check", "pair_python.jsonl", "pair_node_other_action.jsonl"}, 1,
			[]string{"DIVERGENCE at step 6 (comment) under --relation exact: the actions differ", `content: "Zalgo`}, nil},
		{"pair init mismatch", []string{"check", "pair_python.jsonl", "pair_node_other_init.jsonl"}, 1,
			[]string{"DIVERGENCE at the init records under --relation exact", `agent_id: "" ≠ "zz"`, "the first at the init records"}, nil},
		{"pair partial (a trace from attach)", []string{"check", "pair_python.jsonl", "pair_node_partial.jsonl"}, 0,
			[]string{"3 steps only in pair_python.jsonl"}, nil},

		{"not json", []string{"check", "malformed_not_json.jsonl"}, 3, []string{"INCOMPLETE", "malformed_not_json.jsonl:3: not JSON"}, nil},
		{"garbage", []string{"check", "malformed_garbage.jsonl"}, 3, []string{"INCOMPLETE", "malformed_garbage.jsonl:1: not JSON"}, nil},
		{"unknown action", []string{"check", "malformed_unknown_action.jsonl"}, 1, []string{"DIVERGENT", `INVALID RECORD at step 4, malformed_unknown_action.jsonl:5: unknown action type "like"`}, nil},
		{"negative", []string{"check", "malformed_negative.jsonl"}, 1, []string{"INVALID RECORD at step 5, malformed_negative.jsonl:6: state.data[1]: -1 is negative"}, nil},
		{"fraction", []string{"check", "malformed_fraction.jsonl"}, 1, []string{"malformed_fraction.jsonl:6: action.items[2]: 1.5 is not a whole number"}, nil},
		{"seq decreasing", []string{"check", "malformed_seq_decreasing.jsonl"}, 3, []string{"malformed_seq_decreasing.jsonl:6: seq 3 does not increase"}, nil},
		{"seq duplicate", []string{"check", "malformed_seq_duplicate.jsonl"}, 3, []string{"malformed_seq_duplicate.jsonl:6: seq 4 does not increase"}, nil},
		{"empty", []string{"check", "malformed_empty.jsonl"}, 2, nil, []string{"malformed_empty.jsonl: empty trace"}},
		{"missing file", []string{"check", "no_such_trace.jsonl"}, 2, nil, []string{"no_such_trace.jsonl", "no such file"}},
		{"directory", []string{"check", "."}, 2, nil, []string{"check: . is a directory"}},
		{"invalid utf8", []string{"check", "malformed_invalid_utf8.jsonl"}, 3, []string{"malformed_invalid_utf8.jsonl:4:", "UTF-8"}, nil},
		{"second init", []string{"check", "malformed_second_init.jsonl"}, 3, []string{"malformed_second_init.jsonl:5: second init record"}, nil},
		{"invalid record in the second of a pair", []string{"check", "valid.jsonl", "malformed_negative.jsonl"}, 1, []string{"INVALID RECORD at step 5, malformed_negative.jsonl:6:"}, nil},
		{"not a trace", []string{"check", "README.md"}, 2, nil, []string{"README.md: not a trace: no line is a record of the trace format", "README.md:1: not JSON"}},

		{"flags after the path", []string{"check", "bug_post_bytes.jsonl", "--relation", "bisim"}, 0, []string{"conforming under --relation bisim"}, nil},
		{"flag= after the path", []string{"check", "bug_post_bytes.jsonl", "--relation=bisim", "--json"}, 0, []string{`"verdict":"conforming"`, `"relation":"bisim"`}, nil},
		{"unknown flag after the path", []string{"check", "valid.jsonl", "--fast"}, 2, nil, []string{"unknown flag --fast"}},
		{"no args", []string{"check"}, 2, nil, []string{"give one trace"}},
		{"three args", []string{"check", "a", "b", "c"}, 2, nil, []string{"give one trace"}},
		{"bad relation", []string{"check", "--relation", "close", "valid.jsonl"}, 2, nil, []string{`unknown relation "close"`}},
		{"bad flag", []string{"check", "--nope", "valid.jsonl"}, 2, nil, []string{"nope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runTracer(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if tc.code == 2 && tc.name != "bad flag" && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("an input error is one line on stderr, got:\n%s", stderr)
			}
		})
	}
}

func TestCheckCLIJSON(t *testing.T) {
	code, stdout, _ := runTracer(t, "check", "--json", "bug_post_utf16.jsonl")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var v struct {
		Verdict string `json:"verdict"`
		First   struct {
			Seq         uint64          `json:"seq"`
			File        string          `json:"file"`
			Line        int             `json:"line"`
			Expected    json.RawMessage `json:"expected"`
			Observed    json.RawMessage `json:"observed"`
			Differences []string        `json:"differences"`
			OtherHolds  *bool           `json:"other_relation_holds"`
		} `json:"first_divergence"`
	}
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	f := v.First
	if v.Verdict != "divergent" || f.Seq != 4 || f.File != "bug_post_utf16.jsonl" || f.Line != 5 ||
		len(f.Differences) != 1 || f.Differences[0] != "data[0]: 1 ≠ 2" || f.OtherHolds == nil || !*f.OtherHolds {
		t.Fatalf("%+v", v)
	}
	if !strings.Contains(string(f.Expected), `"data":[1,8,5]`) || !strings.Contains(string(f.Observed), `"data":[2,8,5]`) {
		t.Fatalf("states: %s / %s", f.Expected, f.Observed)
	}

	code, stdout, _ = runTracer(t, "check", "--json", "valid_bignat.jsonl")
	if code != 0 || !strings.Contains(stdout, `"verdict":"conforming"`) || !strings.Contains(stdout, `"first_divergence":null`) {
		t.Fatalf("exit %d: %s", code, stdout)
	}
	code, stdout, _ = runTracer(t, "check", "--json", "malformed_negative.jsonl")
	if code != 1 || !strings.Contains(stdout, `"verdict":"divergent"`) || !strings.Contains(stdout, `"first_invalid":{"seq":5,"kind":"step","file":"malformed_negative.jsonl","line":6`) {
		t.Fatalf("exit %d: %s", code, stdout)
	}
	code, stdout, _ = runTracer(t, "check", "--json", "valid_gap.jsonl")
	if code != 3 || !strings.Contains(stdout, `"verdict":"incomplete"`) || !strings.Contains(stdout, `"across_gaps_theorem":"run_shard_id"`) {
		t.Fatalf("exit %d: %s", code, stdout)
	}
	code, stdout, stderr := runTracer(t, "check", "--json", "README.md")
	if code != 2 || !strings.Contains(stdout, `"verdict":"error"`) || !strings.Contains(stderr, "not a trace") {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
}

// TestCheckCLILargeTrace writes a 20k-step trace with one planted bug deep in
// it and checks that the binary finds exactly that step.
func TestCheckCLILargeTrace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "large.jsonl")
	var b strings.Builder
	b.WriteString(`{"kind":"init","impl":"python","pid":1,"state":{"agent_id":"a","shard_id":0,"data":[]}}` + "\n")
	n := 0
	for seq := 1; seq <= 20000; seq++ {
		content, want := "x", n+1
		if seq%100 == 0 {
			fmt.Fprintf(&b, `{"kind":"step","seq":%d,"action":{"type":"distribute","items":[]},"state":{"agent_id":"a","shard_id":0,"data":[]}}`+"\n", seq)
			n = 0
			continue
		}
		data := strings.TrimSuffix(strings.Repeat("1,", want), ",")
		if seq == 15555 {
			data = "2" + data[1:]
		}
		fmt.Fprintf(&b, `{"kind":"step","seq":%d,"action":{"type":"post","author":"a","content":"%s"},"state":{"agent_id":"a","shard_id":0,"data":[%s]}}`+"\n", seq, content, data)
		n = want
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := runTracer(t, "check", path)
	if code != 1 || !strings.Contains(stdout, "DIVERGENCE at step 15555 (post), "+path+":15556") || !strings.Contains(stdout, "data[0]: 1 ≠ 2") {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
}

func TestCheckCLIStdin(t *testing.T) {
	trace, err := os.ReadFile(filepath.Join("..", "..", "testdata", "traces", "bug_shard.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tracerBin, "check", "-")
	cmd.Stdin = bytes.NewReader(trace)
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "DIVERGENCE at step 9 (post), stdin:10") {
		t.Fatalf("%v:\n%s", err, out)
	}
}
