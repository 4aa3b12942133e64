package examples

import (
	"bytes"
	"encoding/json"
	"errors"
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

// container is one way to run an example: an interpreter and a script.
type container struct {
	name   string
	interp string
	script string
}

func pythonContainer(t *testing.T, interp string) container {
	t.Helper()
	return mustFind(t, container{"python", interp, filepath.Join(root, "examples", "python_container.py")})
}

func nodeContainer(t *testing.T) container {
	t.Helper()
	return mustFind(t, container{"node", "node", filepath.Join(root, "examples", "nodejs_container.js")})
}

func mustFind(t *testing.T, c container) container {
	t.Helper()
	path, err := exec.LookPath(c.interp)
	if err != nil {
		t.Fatalf("%s not found: install Python 3.8+ and Node.js 18+ (the tests run the real interpreters)", c.interp)
	}
	c.interp = path
	return c
}

// result is what a run left behind.
type result struct {
	stdout, stderr string
	code           int
}

// run runs the container with args; with trace set, its probe writes there.
func (c container) run(t *testing.T, trace string, args ...string) result {
	t.Helper()
	cmd := exec.Command(c.interp, append([]string{c.script}, args...)...)
	cmd.Env = os.Environ()
	if trace != "" {
		cmd.Env = append(cmd.Env, "TRACER_PROBE_FILE="+trace)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s: %v", c.interp, err)
	}
	return result{out.String(), errb.String(), code}
}

// trace runs the container and returns the path of the trace it wrote.
func (c container) trace(t *testing.T, args ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), c.name+".jsonl")
	if res := c.run(t, path, args...); res.code != 0 {
		t.Fatalf("%s %s: exit %d: %s", c.name, strings.Join(args, " "), res.code, res.stderr)
	}
	return path
}

// verdict is the part of `tracer check --json` the tests look at.
type verdict struct {
	Verdict         string `json:"verdict"`
	Steps           int    `json:"steps"`
	FirstDivergence *struct {
		Seq uint64 `json:"seq"`
	} `json:"first_divergence"`
	raw  string
	code int
}

// check runs `tracer check --json args...`.
func check(t *testing.T, args ...string) verdict {
	t.Helper()
	cmd := exec.Command(tracerBin, append([]string{"check", "--json"}, args...)...)
	out, err := cmd.Output()
	var v verdict
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		v.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("tracer check: %v", err)
	}
	v.raw = string(out)
	if v.code != 2 {
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("tracer check --json: %v: %s", err, out)
		}
	}
	return v
}

// mustConform fails unless `tracer check` accepts the traces with steps steps.
func mustConform(t *testing.T, steps int, args ...string) {
	t.Helper()
	v := check(t, args...)
	if v.code != 0 || v.Verdict != "conforming" || v.Steps != steps {
		t.Fatalf("tracer check %s: exit %d, verdict %q, %d steps; want 0, conforming, %d steps\n%s",
			strings.Join(args, " "), v.code, v.Verdict, v.Steps, steps, v.raw)
	}
}

// record is one decoded trace line; numbers stay json.Number for exactness.
type record struct {
	Kind   string          `json:"kind"`
	Seq    uint64          `json:"seq"`
	Action json.RawMessage `json:"action"`
	State  struct {
		AgentID    string        `json:"agent_id"`
		Data       []json.Number `json:"data"`
		DataLen    uint64        `json:"data_len"`
		DataCapped bool          `json:"data_capped"`
	} `json:"state"`
}

func readTrace(t *testing.T, path string) []record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []record
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	for d.More() {
		var r record
		if err := d.Decode(&r); err != nil {
			t.Fatalf("%s: record %d: %v", path, len(recs)+1, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// action is a decoded trace-format action.
type action struct {
	Type          string        `json:"type"`
	Name          string        `json:"name"`
	Author        string        `json:"author"`
	Content       string        `json:"content"`
	ContentLen    uint64        `json:"content_len"`
	ContentCapped bool          `json:"content_capped"`
	Items         []json.Number `json:"items"`
}

func (r record) action(t *testing.T) action {
	t.Helper()
	var a action
	d := json.NewDecoder(bytes.NewReader(r.Action))
	d.UseNumber()
	if err := d.Decode(&a); err != nil {
		t.Fatalf("seq %d: action: %v", r.Seq, err)
	}
	return a
}
