package session

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The walker is loaded ahead for a command line that runs node, and only
// then.
func TestRunsNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node on PATH")
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 on PATH")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "tool")
	if err := os.WriteFile(script, []byte("#!/usr/bin/env node\nconsole.log(1)\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	pyScript := filepath.Join(dir, "tool.py")
	if err := os.WriteFile(pyScript, []byte("#!/usr/bin/env python3\nprint(1)\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := os.Environ()
	for _, c := range []struct {
		name string
		argv []string
		want bool
	}{
		{"node", []string{node, "app.js"}, true},
		{"#! env node", []string{script}, true},
		{"npx", []string{"/usr/bin/npx", "eslint"}, true},
		{"sh -c pipeline", []string{"/bin/sh", "-c", "node a.js | node b.js"}, true},
		{"sh -c npm", []string{"/bin/sh", "-c", "cd web && npm test"}, true},
		{"python", []string{py, "-c", "print(1)"}, false},
		{"#! python", []string{pyScript}, false},
		{"sh -c other", []string{"/bin/sh", "-c", "echo nodes; true"}, false},
	} {
		if got := runsNode(c.argv, env, dir); got != c.want {
			t.Errorf("%s: runsNode(%q) = %v, want %v", c.name, c.argv, got, c.want)
		}
	}
}
