package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestLiveCheckAgreesWithCheck: for each way a program can report, tracer
// run (the live check, with the real python3 and the probe binding) and
// tracer check on the trace file that same run wrote give the same exit
// code and verdict.
func TestLiveCheckAgreesWithCheck(t *testing.T) {
	needCapture(t)
	for _, tc := range []struct {
		name, verdict string
		code          int
	}{
		{"ok", "conforming", 0},
		{"minus50", "DIVERGENT", 1}, // was: run exit 0 ("1 undecodable record", conforming), check exit 2
		{"forged", "INCOMPLETE", 3}, // was: exit 0 from run
		{"cut", "INCOMPLETE", 3},    // was: exit 0 from run
		{"pre", "conforming", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trace := filepath.Join(t.TempDir(), "t.jsonl")
			code, stderr := tracerIn(t, ".", "run", "-o", "-", "--trace", trace, "--", "python3", "testdata/verdict_cases.py", tc.name)
			if code != tc.code || !strings.Contains(stderr, tc.verdict) {
				t.Fatalf("tracer run: exit %d, want %d and %s\n%s", code, tc.code, tc.verdict, stderr)
			}
			ccode, stdout, cerr := runTracer(t, "check", trace)
			if ccode != code || !strings.Contains(stdout, tc.verdict) {
				t.Fatalf("tracer check on the trace run wrote: exit %d, run said %d\n%s\n%s", ccode, code, stdout, cerr)
			}
			switch tc.name {
			case "minus50":
				if !strings.Contains(stderr, "INVALID RECORD at step 50") || !strings.Contains(stdout, "INVALID RECORD at step 50") {
					t.Fatalf("the invalid step is not named:\n%s\n%s", stderr, stdout)
				}
			case "cut": // the framing refuses a batch cut inside a record: a lost batch
				if !strings.Contains(stderr, "1 batch lost in capture") || !strings.Contains(stdout, "1 batch lost in capture") {
					t.Fatalf("the lost batch is not counted:\n%s\n%s", stderr, stdout)
				}
			case "forged":
				if !strings.Contains(stderr, "1 undecodable line") || !strings.Contains(stdout, "1 undecodable line") {
					t.Fatalf("the undecodable line is not counted:\n%s\n%s", stderr, stdout)
				}
			case "pre":
				if !strings.Contains(stderr, "from pre:     1 step checked from their own pre state\n") {
					t.Fatalf("the step with pre:\n%s", stderr)
				}
			}
		})
	}
}
