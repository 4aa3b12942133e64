package probe

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// The per-step cost of Probe.step() at 300k steps, reported as ns/step from
// bench/probe_step.py and bench/probe_step.js (the loop with the call minus
// the loop without it). bench/probe_cost.sh also measures the containers.
//
//	go test -run '^$' -bench . ./probe/
func BenchmarkPythonStep(b *testing.B) { benchStep(b, "python3", "probe_step.py") }

func BenchmarkNodeStep(b *testing.B) { benchStep(b, "node", "probe_step.js") }

var perStep = regexp.MustCompile(`(\d+) ns/step`)

func benchStep(b *testing.B, interp, script string) {
	bin, err := exec.LookPath(interp)
	if err != nil {
		b.Fatalf("%s not found: install it to measure its binding", interp)
	}
	var total float64
	for i := 0; i < b.N; i++ {
		out, err := exec.Command(bin, filepath.Join(root, "bench", script), "300000").CombinedOutput()
		if err != nil {
			b.Fatalf("%s: %v\n%s", script, err, out)
		}
		m := perStep.FindSubmatch(out)
		if m == nil {
			b.Fatalf("%s printed no ns/step: %s", script, out)
		}
		ns, _ := strconv.ParseFloat(string(m[1]), 64)
		total += ns
	}
	b.ReportMetric(total/float64(b.N), "ns/step")
}
