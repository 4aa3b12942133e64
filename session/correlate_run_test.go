package session

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tracer-dev/tracer/internal/testbin"
	"github.com/tracer-dev/tracer/model"
)

// TestCaptureBusyContainerLabels: the Python container taking about 80 000
// steps a second, sampled at 999 Hz. The plugin ends up holding only the
// steps that hold a sample, every labelled sample's action is the action of
// its step in the trace, and about as many samples are labelled as the
// time inside steps predicts.
func TestCaptureBusyContainerLabels(t *testing.T) {
	needCapture(t)
	const steps = 150_000
	dir := t.TempDir()
	trace, prof := filepath.Join(dir, "t.jsonl"), filepath.Join(dir, "p.pb.gz")
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is not on PATH: install it")
	}
	argv := []string{py, "../examples/python_container.py", "--steps", "150000", "--seed", "5"}
	var log bytes.Buffer
	tr := NewTransitions(TransitionsConfig{Relation: model.Exact, Trace: trace, Command: argv, Log: &log})
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	res, err := Run(context.Background(), Config{
		Command: argv, Freq: 999, Output: prof, Log: &log,
		Stdout: devnull, Stderr: devnull, Plugins: []Plugin{tr},
	})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	if v := tr.Verdict(); v.Steps != steps || v.Divergent {
		t.Fatalf("verdict %+v\n%s", v, log.String())
	}
	actions := map[uint64]string{}
	var inSteps, first, last uint64 // ns inside steps, and the span of the run's steps
	f, err := os.Open(trace)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r struct {
			Kind   string
			Seq    uint64
			T0, T1 uint64
			Action struct{ Type string }
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Kind != "step" {
			continue
		}
		actions[r.Seq] = r.Action.Type
		inSteps += r.T1 - r.T0
		if first == 0 {
			first = r.T0
		}
		last = r.T1
	}
	recent, pending, kept := tr.corr.retained()
	if recent != 0 || pending != 0 || kept == 0 || kept > res.Samples {
		t.Fatalf("after the run the plugin holds %d recent steps, %d waiting samples, %d steps for %d samples", recent, pending, kept, res.Samples)
	}
	labelled, total := 0, 0
	for _, s := range testbin.ReadProfile(t, prof).Sample {
		total += int(s.Value[0])
		st := s.NumLabel["step"]
		if len(st) == 0 {
			continue
		}
		labelled += int(s.Value[0])
		if act := s.Label["action"]; len(act) != 1 || act[0] != actions[uint64(st[0])] {
			t.Fatalf("a sample labelled step %d action %v; the trace says %q", st[0], act, actions[uint64(st[0])])
		}
	}
	// The steps are short (under a microsecond: the transition alone), so
	// the share of samples labelled is about the share of the time in steps.
	want := float64(total) * float64(inSteps) / float64(last-first)
	t.Logf("%d of %d samples labelled (%.0f expected from the time in steps); %d steps kept of %d", labelled, total, want, kept, steps)
	if float64(labelled) < want/2 || labelled > total {
		t.Fatalf("%d of %d samples labelled with a step, want about %.0f", labelled, total, want)
	}
}
