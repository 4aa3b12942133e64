package verify

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/tracer-dev/tracer/internal/privtest"
	"github.com/tracer-dev/tracer/internal/usage"
	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/model"
)

// needTracing skips when the kernel cannot do what a session needs.
func needTracing(t *testing.T) {
	t.Helper()
	privtest.Require(t, "tracing", loader.CheckPrivilege())
	for _, bin := range []string{"python3", "node"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not installed: install it (the example containers need it)", bin)
		}
	}
}

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

func TestVerifyConforming(t *testing.T) {
	needTracing(t)
	out := filepath.Join(t.TempDir(), "out")
	var log bytes.Buffer
	res, err := Run(context.Background(), Config{Steps: 30000, Seed: 11, Out: out, Freq: 999, Log: &log})
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, log.String())
	}
	if v := res.Verdict(); v != "CONFORMING" {
		t.Fatalf("verdict %s, problems %v\n%s", v, res.Problems(), log.String())
	}
	for _, im := range res.Impls {
		if im.Steps != 30000 {
			t.Errorf("%s: %d steps captured, want 30000", im.Name, im.Steps)
		}
	}
	if res.Pair == nil || res.Pair.Checked != 30000 {
		t.Fatalf("pair = %+v, want 30000 steps compared", res.Pair)
	}
	if res.HTML != filepath.Join(out, "report.html") {
		t.Errorf("report.html: %q (%s)", res.HTML, res.HTMLErr)
	}
	for _, name := range []string{"python.pb.gz", "node.pb.gz", "python.jsonl", "node.jsonl", "summary.txt", "report.html"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("missing output: %v", err)
		}
	}
	sum, _ := os.ReadFile(filepath.Join(out, "summary.txt"))
	for _, want := range []string{"== python:", "== node:", "== pair:", "per action", "verdict: CONFORMING", "bisim:", "== report: " + res.HTML} {
		if !bytes.Contains(sum, []byte(want)) {
			t.Errorf("summary.txt lacks %q", want)
		}
	}
	// The traces are exactly what `tracer check` accepts.
	f, err := os.Open(filepath.Join(out, "node.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := model.CheckTrace(model.NewDecoder(f, "node.jsonl"), model.Exact)
	if err != nil || !r.Conforming() || r.Steps != 30000 {
		t.Fatalf("node.jsonl: steps %d conforming %v err %v", r.Steps, r.Conforming(), err)
	}
	// The profile exists and parses; labels appear when a sample fell inside a step.
	pf, err := os.Open(filepath.Join(out, "python.pb.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	p, err := profile.Parse(pf)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Sample) == 0 {
		t.Fatalf("python profile has no samples")
	}
	// Python frames are on, as in `tracer run`: the container's own
	// functions appear with their file.
	var pyFuncs []string
	for _, f := range p.Function {
		if strings.HasSuffix(f.Filename, "python_container.py") || strings.HasSuffix(f.Filename, "tracer_probe.py") {
			pyFuncs = append(pyFuncs, f.Name)
		}
	}
	if len(pyFuncs) == 0 {
		t.Errorf("no Python frame of the container or the probe in the profile")
	}
}

// A container whose transition is wrong is caught, with the step named, and
// the pairwise check fails too.
func TestVerifyCatchesPlantedBug(t *testing.T) {
	needTracing(t)
	dir := t.TempDir()
	buggy := filepath.Join(repoRoot(t), "examples", "buggy", "python_comment_counts.py")
	var log bytes.Buffer
	res, err := Run(context.Background(), Config{Steps: 500, Seed: 5, Out: filepath.Join(dir, "out"), PythonContainer: buggy, Log: &log})
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, log.String())
	}
	if res.Verdict() != "DIVERGENT" {
		t.Fatalf("verdict %s, want DIVERGENT\n%s", res.Verdict(), log.String())
	}
	py := res.Impls[0]
	if !py.Verdict.Divergent || py.Verdict.Result.First == nil || py.Verdict.Result.First.Action.Type != model.Comment {
		t.Fatalf("python verdict %+v, want a divergence at a comment", py.Verdict)
	}
	if res.Impls[1].Verdict.Divergent {
		t.Errorf("node diverged too; only the python container is buggy")
	}
	if res.Pair == nil || res.Pair.Conforming() {
		t.Errorf("the pair check passed; the traces differ at the first comment")
	}
	if !strings.Contains(log.String(), "DIVERGENT at step") {
		t.Errorf("progress lines do not name the divergent step:\n%s", log.String())
	}
}

func TestVerifyUsageErrors(t *testing.T) {
	cases := map[string]struct {
		cfg  Config
		want string
	}{
		"no steps":          {Config{Steps: -1}, "invalid --steps -1"},
		"seed too large":    {Config{Steps: 1, Seed: 1 << 33}, "invalid --seed"},
		"missing workload":  {Config{Actions: "/nonexistent/w.jsonl"}, "cannot read workload /nonexistent/w.jsonl"},
		"workload is dir":   {Config{Actions: os.TempDir()}, "cannot read workload"},
		"missing container": {Config{Steps: 1, NodeContainer: "/nonexistent/c.js"}, "cannot read container /nonexistent/c.js"},
	}
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{\"type\":\"post\",\"author\":\"a\",\"content\":\"x\"}\n{\"type\":\"bogus\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases["bad workload line"] = struct {
		cfg  Config
		want string
	}{Config{Actions: bad}, "bad.jsonl:2: unknown action type"}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			c.cfg.Out = filepath.Join(t.TempDir(), "out")
			_, err := Run(context.Background(), c.cfg)
			if !usage.Is(err) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want a usage error containing %q", err, c.want)
			}
		})
	}
}
