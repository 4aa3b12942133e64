package session

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracer-dev/tracer/export"
	"github.com/tracer-dev/tracer/internal/testbin"
)

// intervals keeps what a continuous export was given.
type intervals struct{ profiles []*export.Profile }

func (iv *intervals) Export(p *export.Profile) { iv.profiles = append(iv.profiles, p) }

// TestStreamIntervals: with a Streamer the samples go out interval by
// interval while the command runs, every sample exactly once, and the
// local profile holds them all, merged by stack of functions.
func TestStreamIntervals(t *testing.T) {
	needPerf(t)
	burn := testbin.Burner(t, t.TempDir())
	out := filepath.Join(t.TempDir(), "s.pb.gz")
	var iv intervals
	var log bytes.Buffer
	res, err := Run(context.Background(), Config{
		Command: []string{burn, "2"}, Freq: 499, Output: out, Log: &log,
		Stream: &iv, StreamEvery: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	sent, nonEmpty := 0, 0
	for _, p := range iv.profiles {
		for i := range p.Samples {
			sent += p.Samples[i].Weight()
		}
		if len(p.Samples) > 0 {
			nonEmpty++
			if p.Processes[p.Samples[0].PID].Executable != "burn" {
				t.Errorf("interval's process %+v, want the executable burn", p.Processes[p.Samples[0].PID])
			}
		}
	}
	if nonEmpty < 3 || sent != res.Samples {
		t.Fatalf("%d intervals (%d with samples) sent %d samples; the session saw %d", len(iv.profiles), nonEmpty, sent, res.Samples)
	}
	p := testbin.ParseProfile(t, out)
	total := int64(0)
	for _, s := range p.Sample {
		total += s.Value[0]
		if s.Location[0].Address != 0 {
			t.Fatalf("merged sample keeps address %#x", s.Location[0].Address)
		}
	}
	if total != int64(res.Samples) || len(p.Sample) >= res.Samples {
		t.Errorf("local profile: %d samples in %d records; want all %d, merged", total, len(p.Sample), res.Samples)
	}
	self, _ := shares(p)
	if self["burn_three"] == 0 {
		t.Errorf("burn_three missing from the merged profile: %v", topN(self, 5))
	}
}
