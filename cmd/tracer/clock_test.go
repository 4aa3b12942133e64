package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/tracer-dev/tracer/internal/testbin"
)

// rateLine reads the summary line: samples, seconds, frequency.
var rateLine = regexp.MustCompile(`(?m)^(\d+) samples in ([0-9.]+) s \(\d+/s at (\d+) Hz\)`)

// TestAttachRateWithinFrequency attaches to one busy thread: the samples
// cannot outnumber frequency × duration, nor the CPU time in the profile
// exceed its wall time. (The duration is measured in the samples' clock,
// from the moment the samplers open; before, the attach's start-up was
// left out and one busy thread showed 613 samples a second at 499 Hz.)
// With the transition capture and the Python frames loading during the
// attach, start-up is at its longest.
func TestAttachRateWithinFrequency(t *testing.T) {
	requireTracing(t)
	dir := t.TempDir()
	burn := testbin.Burner(t, dir)
	for try := range 3 {
		target := exec.Command(burn, "30", "0", "1")
		if err := target.Start(); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, fmt.Sprintf("a%d.pb.gz", try))
		r := invoke(t, invocation{dir: dir, args: []string{"attach", "--pid", strconv.Itoa(target.Process.Pid),
			"--duration", "1s", "-F", "499", "--trace", fmt.Sprintf("t%d.jsonl", try), "-o", out}})
		target.Process.Kill()
		target.Wait()
		m := rateLine.FindStringSubmatch(r.stderr)
		if r.code != 0 || m == nil {
			t.Fatalf("exit %d, no summary line:\n%s", r.code, r.stderr)
		}
		n, _ := strconv.Atoi(m[1])
		secs, _ := strconv.ParseFloat(m[2], 64)
		freq, _ := strconv.Atoi(m[3])
		// One thread: at most one sample per period, and one at the edge.
		if limit := float64(freq)*secs*1.02 + 2; float64(n) > limit {
			t.Errorf("try %d: %d samples in %.2f s at %d Hz on one thread: more than the frequency allows (%.0f)", try, n, secs, freq, limit)
		}
		p := testbin.ReadProfile(t, out)
		var cpu int64
		for _, s := range p.Sample {
			cpu += s.Value[len(s.Value)-1]
		}
		if p.DurationNanos <= 0 || float64(cpu) > float64(p.DurationNanos)*1.02+2e7 {
			t.Errorf("try %d: %d ns of CPU in a profile of %d ns on one thread", try, cpu, p.DurationNanos)
		}
	}
}
