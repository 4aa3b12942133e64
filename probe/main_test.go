package probe

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

// tracerBin is the tracer binary built once for the tests; root is the repository.
var tracerBin, root string

func TestMain(m *testing.M) {
	root = testbin.Root()
	os.Exit(testbin.Main(m.Run, &tracerBin))
}

// interp is one language binding under test.
type interp struct {
	name string // "python" or "node"
	bin  string
	ext  string
	// prelude imports the binding as tracer_probe (Python) or Probe (Node).
	prelude string
}

func interps(t *testing.T) []interp {
	t.Helper()
	return []interp{python(t, "python3"), node(t)}
}

func python(t *testing.T, bin string) interp {
	t.Helper()
	path, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("%s not found: install Python 3.8 or newer (the probe tests run the real interpreter)", bin)
	}
	dir := filepath.Join(root, "probe", "python")
	return interp{name: "python", bin: path, ext: ".py", prelude: fmt.Sprintf(
		"import os, sys, time, threading\nsys.path.insert(0, %q)\nimport tracer_probe\n", dir)}
}

func node(t *testing.T) interp {
	t.Helper()
	path, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found: install Node.js 18 or newer (the probe tests run the real interpreter)")
	}
	file := filepath.Join(root, "probe", "node", "tracer_probe.js")
	return interp{name: "node", bin: path, ext: ".js", prelude: fmt.Sprintf(
		"'use strict';\nconst fs = require('fs');\nconst { Probe } = require(%q);\n", file)}
}

// result is what a script run left behind.
type result struct {
	stdout, stderr string
	code           int
}

// run writes code (after the prelude) to a file and runs it with env added.
func (in interp) run(t *testing.T, code string, env ...string) result {
	t.Helper()
	script := filepath.Join(t.TempDir(), "script"+in.ext)
	if err := os.WriteFile(script, []byte(in.prelude+code), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(in.bin, script)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code2 := 0
	if errors.As(err, &ee) {
		code2 = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s: %v", in.bin, err)
	}
	return result{out.String(), errb.String(), code2}
}

// record is one decoded trace line; numbers stay json.Number for exactness.
type record map[string]any

func readTrace(t *testing.T, path string) []record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return decodeLines(t, b)
}

func decodeLines(t *testing.T, b []byte) []record {
	t.Helper()
	var recs []record
	for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		d := json.NewDecoder(bytes.NewReader(line))
		d.UseNumber()
		var r record
		if err := d.Decode(&r); err != nil {
			t.Fatalf("line %d is not JSON: %v: %.200s", i+1, err, line)
		}
		recs = append(recs, r)
	}
	return recs
}

// num returns the integer at path (keys separated by dots) as a string.
func (r record) num(t *testing.T, path string) string {
	t.Helper()
	v := r.get(t, path)
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%s is %T (%v), not a number", path, v, v)
	}
	return n.String()
}

func (r record) get(t *testing.T, path string) any {
	t.Helper()
	var v any = map[string]any(r)
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: %v is not an object", path, v)
		}
		v = m[k]
	}
	return v
}

func (r record) has(path string) bool {
	var v any = map[string]any(r)
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = m[k]; !ok {
			return false
		}
	}
	return true
}

// check runs `tracer check args...` and returns its output and exit code.
func check(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(tracerBin, append([]string{"check"}, args...)...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("tracer check: %v", err)
	}
	return string(out), 0
}

// mustConform fails the test unless `tracer check` accepts the traces.
func mustConform(t *testing.T, traces ...string) string {
	t.Helper()
	out, code := check(t, traces...)
	if code != 0 {
		t.Fatalf("tracer check %s: exit %d, want 0:\n%s", strings.Join(traces, " "), code, out)
	}
	if !strings.Contains(out, "conforming") {
		t.Fatalf("tracer check: no verdict in:\n%s", out)
	}
	return out
}
