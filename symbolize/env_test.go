package symbolize

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestWithNodeJIT(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		want []string
	}{
		{"none", []string{"A=1"}, []string{"A=1", "NODE_OPTIONS=" + NodeJITOptions}},
		{"user options kept", []string{"NODE_OPTIONS=--max-old-space-size=64", "B=2"},
			[]string{"B=2", "NODE_OPTIONS=--max-old-space-size=64 " + NodeJITOptions}},
		{"empty user options", []string{"NODE_OPTIONS="}, []string{"NODE_OPTIONS=" + NodeJITOptions}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := WithNodeJIT(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	for argv0, want := range map[string]bool{"node": true, "/usr/bin/node": true, "nodejs": true, "python3": false, "/bin/nodes": false} {
		if IsNode(argv0) != want {
			t.Errorf("IsNode(%q) = %v", argv0, !want)
		}
	}
}

// TestJITHint: a node started without --perf-basic-prof gets a one-line hint.
func TestJITHint(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "idle.js")
	writeFile(t, script, "console.log('ready'); process.stdin.resume();\n")
	pid := startInterpreter(t, dir, []string{"NODE_OPTIONS="}, "node", script)
	s := New(WithPerfMapDir(dir))
	hint := s.JITHint(pid)
	if !strings.Contains(hint, "--perf-basic-prof") || strings.Contains(hint, "\n") {
		t.Errorf("hint %q", hint)
	}
	writeFile(t, s.PerfMapPath(pid), "")
	if hint := s.JITHint(pid); hint != "" {
		t.Errorf("hint with a perf map present: %q", hint)
	}
}
