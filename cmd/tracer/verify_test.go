package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-dev/tracer/internal/privtest"
	"github.com/tracer-dev/tracer/loader"
)

func TestVerifyUsage(t *testing.T) {
	cases := map[string]struct {
		args []string
		want string
	}{
		"argument":     {[]string{"verify", "extra"}, "verify takes no arguments"},
		"zero steps":   {[]string{"verify", "--steps", "0"}, "invalid --steps 0"},
		"bad relation": {[]string{"verify", "--relation", "close"}, "close"},
		"bad freq":     {[]string{"verify", "-F", "0"}, "invalid frequency 0 Hz"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runTracer(t, c.args...)
			if code != 2 || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 mentioning %q", code, stderr, c.want)
			}
		})
	}
}

// The whole pipeline from the command line: both containers, the pair, the
// outputs and the flame-graph hint.
func TestVerifyEndToEnd(t *testing.T) {
	privtest.Require(t, "tracing", loader.CheckPrivilege())
	out := filepath.Join(t.TempDir(), "v")
	code, stdout, stderr := runTracer(t, "verify", "--steps", "2000", "--seed", "3", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"verdict: CONFORMING", "go tool pprof -http=:8080 " + filepath.Join(out, "python.pb.gz"), "tracer diff"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "2000 steps of 2000, conforming") {
		t.Errorf("progress lacks the per-container verdict:\n%s", stderr)
	}
	// tracer diff reads the two profiles verify wrote.
	code, stdout, stderr = runTracer(t, "diff", filepath.Join(out, "python.pb.gz"), filepath.Join(out, "node.pb.gz"))
	if code != 0 || !strings.Contains(stdout, "self A") {
		t.Fatalf("diff: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "summary.txt")); err != nil {
		t.Fatal(err)
	}
}
