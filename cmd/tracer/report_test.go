package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-dev/tracer/loader"
)

// tracer report from saved traces: the exit code follows the page's
// verdict, the page shows the first divergence.
func TestReportFromSavedTraces(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		page   []string
	}{
		{"divergent", []string{"--trace", "bug_post_append.jsonl"}, 1, "(verdict: DIVERGENT)",
			[]string{`data-step="3"`, `data-field="data[0]"`, "bug_post_append.jsonl line 4"}},
		{"pair", []string{"--trace", "pair_python.jsonl", "--trace", "pair_node.jsonl"}, 0, "(verdict: CONFORMING)",
			[]string{"pair_python ~ pair_node (the pair)", `data-verdict="CONFORMING"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".html")
			code, stdout, stderr := runTracer(t, append([]string{"report", "-o", out}, tc.args...)...)
			if code != tc.code || !strings.Contains(stdout, "report: "+out+" "+tc.stdout) {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.page {
				if !strings.Contains(string(b), want) {
					t.Errorf("page lacks %s", want)
				}
			}
		})
	}
}

// tracer run --html without --trace and with -o -: the page is built from
// files kept only for it, and shows the live check's verdict.
func TestRunWritesHTML(t *testing.T) {
	if err := loader.CheckPrivilege(); err != nil {
		t.Skipf("tracing needs privilege: %v", err)
	}
	buggy, err := filepath.Abs(filepath.Join("..", "..", "examples", "buggy", "python_comment_counts.py"))
	if err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "run.html")
	code, _, stderr := runTracer(t, "run", "-o", "-", "--html", page, "--", "python3", buggy, "--steps", "300", "--seed", "2")
	if code != 1 || !strings.Contains(stderr, "report: "+page) {
		t.Fatalf("exit %d, want 1 (divergence)\n%s", code, stderr)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`data-verdict="DIVERGENT"`, `class="field differs" data-field="len(data)"`,
		"the captured trace (not kept", "Python 3.", "python_comment_counts.py --steps 300"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("page lacks %s", want)
		}
	}
}
