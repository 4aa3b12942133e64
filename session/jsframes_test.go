package session

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/tracer-dev/tracer/internal/testbin"
)

const jsSplit = "../interp/v8/testdata/split.js"

// jsShares returns, per JS function of split.js, the samples holding it,
// and checks that each has a line.
func jsShares(t *testing.T, p *profile.Profile) map[string]int {
	t.Helper()
	count := map[string]int{}
	for _, s := range p.Sample {
		seen := map[string]bool{}
		for _, l := range s.Location {
			for _, ln := range l.Line {
				if filepath.Base(ln.Function.Filename) != "split.js" {
					continue
				}
				if ln.Line <= 0 {
					t.Errorf("%s of %s has no line", ln.Function.Name, ln.Function.Filename)
				}
				if !seen[ln.Function.Name] {
					seen[ln.Function.Name] = true
					count[ln.Function.Name] += int(weight(s))
				}
			}
		}
	}
	return count
}

func checkSplit(t *testing.T, count map[string]int, log string) {
	t.Helper()
	h, l := count["heavy"], count["light"]
	if h+l < 100 || count["main"] < h+l {
		t.Fatalf("split.js functions in samples: %v; log:\n%s", count, log)
	}
	share := float64(h) / float64(h+l)
	t.Logf("heavy %d light %d: share %.3f", h, l, share)
	if share < 0.67 || share > 0.83 {
		t.Errorf("heavy share %.3f, want 0.75 ± 0.08 (%v)", share, count)
	}
}

func jsPlugins(log *bytes.Buffer) []Plugin {
	py := NewPythonFrames(log)
	return []Plugin{py, NewJSFrames(log, py)}
}

// A node started without any flag, attached to: its JS functions are named
// with file and line, and a true 3:1 split comes out 0.75 ± 0.08.
func TestJSFramesAttach(t *testing.T) {
	needPerf(t)
	for name, node := range testbin.Nodes(t) {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(node, jsSplit)
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			if line, _ := bufio.NewReader(stdout).ReadString('\n'); strings.TrimSpace(line) != "ready" {
				t.Fatalf("split.js said %q", line)
			}
			// Attach again until enough samples are in: on a busy
			// machine the target gets little CPU.
			total := map[string]int{}
			var log bytes.Buffer
			for round := 0; round < 10 && total["heavy"]+total["light"] < 200; round++ {
				out := filepath.Join(t.TempDir(), "attach.pb.gz")
				log.Reset()
				_, err := Run(context.Background(), Config{
					PID: cmd.Process.Pid, Duration: 3 * time.Second, Freq: 499, Output: out, Log: &log,
					Plugins: jsPlugins(&log),
				})
				if err != nil {
					t.Fatalf("attach: %v\n%s", err, log.String())
				}
				if !strings.Contains(log.String(), "are read from V8's memory") {
					t.Fatalf("no line says JS frames are read from V8:\n%s", log.String())
				}
				for f, n := range jsShares(t, testbin.ReadProfile(t, out)) {
					total[f] += n
				}
			}
			checkSplit(t, total, log.String())
		})
	}
}
