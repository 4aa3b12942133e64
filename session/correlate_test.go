package session

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/tracer-dev/tracer/capture"
	"github.com/tracer-dev/tracer/export"
	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/model"
)

// arrival is one thing the plugin is handed, at the time it is read.
type arrival struct {
	at     uint64
	sample *loader.Sample // or
	batch  []tidWindow
}

// synthRun builds a long busy run on one thread: steps of 10 µs every
// 12.5 µs (80 000 steps/s) in batches of 400 read 100 ms after their last
// step ends, and a sample every 1.001 ms read 30 ms after it (before its
// batch) or 300 ms after it (after its batch). A second thread that never
// steps is sampled too. It returns what arrives, in arrival order, and
// every step, and when the batch of each was read (by seq-1).
func synthRun(steps int) (arrivals []arrival, all []window, batchRead []uint64) {
	const base, tid, idle = 1_000_000_000, 7, 8
	rng := rand.New(rand.NewPCG(1, 2))
	var batch []tidWindow
	actions := []model.ActionType{model.Register, model.Post, model.Comment, model.Distribute}
	for k := range steps {
		t0 := uint64(base + k*12_500)
		w := window{t0: t0, t1: t0 + 10_000, seq: uint64(k + 1), action: actions[k%4]}
		all = append(all, w)
		batch = append(batch, tidWindow{tid, w})
		if len(batch) == 400 || k == steps-1 {
			arrivals = append(arrivals, arrival{at: w.t1 + 100_000_000, batch: batch})
			for range batch {
				batchRead = append(batchRead, w.t1+100_000_000)
			}
			batch = nil
		}
	}
	end := all[len(all)-1].t1
	for ts := uint64(base); ts < end; ts += 1_001_000 {
		lag := uint64(30_000_000)
		if rng.IntN(2) == 0 {
			lag = 300_000_000
		}
		arrivals = append(arrivals,
			arrival{at: ts + lag, sample: &loader.Sample{PID: tid, TID: tid, Time: ts}},
			arrival{at: ts + lag, sample: &loader.Sample{PID: tid, TID: idle, Time: ts + 1}})
	}
	sort.SliceStable(arrivals, func(i, j int) bool { return arrivals[i].at < arrivals[j].at })
	return arrivals, all, batchRead
}

// TestCorrelatorBounded: 2 million steps (25 s at 80 000 steps/s) and
// 50 000 samples: the steps and samples held stay bounded by the horizons
// while the run goes on, and every sample gets the label the whole list of
// steps gives it, whether it was read before or after its batch.
func TestCorrelatorBounded(t *testing.T) {
	const steps = 2_000_000
	arrivals, all, batchRead := synthRun(steps)
	readAt := map[*loader.Sample]uint64{}
	c := newCorrelator()
	var samples []*loader.Sample
	maxRecent, maxPending := 0, 0
	for _, a := range arrivals {
		if a.sample != nil {
			c.sample(a.sample.TID, a.sample.Time)
			samples = append(samples, a.sample)
			readAt[a.sample] = a.at
		} else {
			c.steps(a.batch)
		}
		recent, pending, kept := c.retained()
		maxRecent, maxPending = max(maxRecent, recent), max(maxPending, pending)
		if kept > len(samples) {
			t.Fatalf("%d steps kept for %d samples", kept, len(samples))
		}
	}
	t.Logf("held at most %d recent steps, %d waiting samples; %d samples", maxRecent, maxPending, len(samples))
	if maxRecent > recentMax {
		t.Errorf("up to %d recent steps held, want at most %d", maxRecent, recentMax)
	}
	// Two threads sampled at 1 kHz, each sample waiting at most
	// pendingHorizon (10 s) plus one prune period.
	if maxPending > 2*10_000+pruneEvery {
		t.Errorf("up to %d samples waiting, want at most %d", maxPending, 2*10_000+pruneEvery)
	}
	if cap(c.threads[7].recent) > 4*recentMax {
		t.Errorf("recent steps' capacity %d, want at most %d", cap(c.threads[7].recent), 4*recentMax)
	}
	c.finish()
	if _, _, kept := c.retained(); kept == 0 || kept > len(samples)/2 {
		t.Errorf("%d steps kept after finish for %d samples of the stepping thread", kept, len(samples)/2)
	}
	labelled, before, after := 0, 0, 0
	for _, s := range samples {
		got, gok := c.label(s.TID, s.Time)
		want, wok := window{}, false
		if s.TID == 7 {
			want, wok = find(all, s.Time)
		}
		if gok != wok || got != want {
			t.Fatalf("sample of tid %d at %d: label %+v %v, want %+v %v", s.TID, s.Time, got, gok, want, wok)
		}
		if wok {
			labelled++
			if readAt[s] < batchRead[want.seq-1] {
				before++
			} else {
				after++
			}
		}
	}
	// 10 µs of every 12.5 µs are inside a step.
	if labelled < len(samples)/2*7/10 || before == 0 || after == 0 {
		t.Fatalf("%d of %d samples labelled (%d read before their batch, %d after)", labelled, len(samples), before, after)
	}
}

// TestCorrelatorLateSample: a sample read more than recentHorizon of
// step time after its step's batch finds no step (the documented limit),
// and one read within it finds its step.
func TestCorrelatorLateSample(t *testing.T) {
	c := newCorrelator()
	c.steps([]tidWindow{{1, window{t0: 100, t1: 200, seq: 1, action: model.Post}}})
	c.steps([]tidWindow{{1, window{t0: 1_000_000_000, t1: 1_000_000_100, seq: 2, action: model.Post}}})
	c.sample(1, 150) // 1 s of step time later: still recent
	c.steps([]tidWindow{{1, window{t0: 3_000_000_000, t1: 3_000_000_100, seq: 3, action: model.Comment}}})
	c.sample(1, 1_000_000_050) // 2 s later: still recent
	c.steps([]tidWindow{{1, window{t0: 3_100_000_000, t1: 3_100_000_100, seq: 4, action: model.Comment}}})
	c.sample(1, 160) // 3.1 s later: dropped
	c.finish()
	for _, tc := range []struct {
		ts   uint64
		want uint64
	}{{150, 1}, {1_000_000_050, 2}, {160, 1}, {250, 0}} {
		w, ok := c.label(1, tc.ts)
		if tc.want == 0 && ok {
			t.Errorf("sample at %d labelled %d, want none", tc.ts, w.seq)
		}
		if tc.want != 0 && (!ok || w.seq != tc.want) {
			t.Errorf("sample at %d labelled %d %v, want %d", tc.ts, w.seq, ok, tc.want)
		}
	}
}

// stepLine is one step record of the JSONL trace (docs/trace-format.md).
func stepLine(seq int, tid int, t0, t1 uint64, action string) string {
	return fmt.Sprintf(`{"kind":"step","seq":%d,"t0":%d,"t1":%d,"tid":%d,"action":{"type":"%s","author":"a","content":"c"},"state":{"agent_id":"a","shard_id":0,"data":[1]}}`+"\n", seq, t0, t1, tid, action)
}

// TestTransitionsLabelsAndTable drives the plugin with batches and samples
// as the readers hand them over (no kernel): labels, the table's counts and
// percentiles, and one note for a run of lost batches.
func TestTransitionsLabelsAndTable(t *testing.T) {
	var log bytes.Buffer
	tr := NewTransitions(TransitionsConfig{Relation: model.Bisim, Log: &log})
	const tid = 42
	seq := 0
	var samples []*loader.Sample
	for b := range 300 {
		var payload strings.Builder
		if b == 0 {
			payload.WriteString(`{"kind":"init","impl":"python","pid":42,"state":{"agent_id":"a","shard_id":0,"data":[1]}}` + "\n")
		}
		for range 100 {
			seq++
			t0 := uint64(seq) * 100_000
			// posts take 20 µs, comments 50 µs
			action, d := "post", uint64(20_000)
			if seq%2 == 0 {
				action, d = "comment", 50_000
			}
			payload.WriteString(stepLine(seq, tid, t0, t0+d, action))
			if seq%10 == 0 {
				// a sample inside this step, read before its batch
				s := &loader.Sample{PID: tid, TID: tid, Time: t0 + d/2}
				tr.Observe(s)
				samples = append(samples, s)
			}
		}
		gap := uint32(0)
		if b >= 100 && b < 130 {
			gap = 1 // batches lost: noted ten times, then counted
		}
		if err := tr.batch(capture.Batch{PID: tid, TID: tid, Number: uint32(b + 1), Gap: gap, Payload: []byte(payload.String())}); err != nil {
			t.Fatal(err)
		}
		// a sample inside a step of the batch just read, read after it
		s := &loader.Sample{PID: tid, TID: tid, Time: uint64(seq-1)*100_000 + 10_000}
		tr.Observe(s)
		samples = append(samples, s)
		// and one between steps
		tr.Observe(&loader.Sample{PID: tid, TID: tid, Time: uint64(seq)*100_000 + 80_000})
	}
	if err := tr.Detach(); err != nil {
		t.Fatal(err)
	}
	prof := &export.Profile{}
	for _, s := range samples {
		var out export.Sample
		tr.Decorate(s, &out)
		wantSeq := s.Time / 100_000
		want := "post"
		if wantSeq%2 == 0 {
			want = "comment"
		}
		if out.Step != wantSeq || out.Action != want {
			t.Fatalf("sample at %d: step %d %q, want %d %q", s.Time, out.Step, out.Action, wantSeq, want)
		}
		prof.Samples = append(prof.Samples, out)
	}
	var between export.Sample
	tr.Decorate(&loader.Sample{TID: tid, Time: 5*100_000 + 80_000}, &between)
	if between.Step != 0 || between.Action != "" {
		t.Fatalf("a sample between steps was labelled %d %q", between.Step, between.Action)
	}
	gaps := 0
	for _, n := range tr.Notes() {
		if strings.Contains(n, "were not captured before batch") {
			gaps++
		}
	}
	if gaps != maxNotesOfKind || !strings.Contains(strings.Join(tr.Notes(), "\n"), "more batches not captured: not listed") {
		t.Fatalf("%d notes of lost batches, want %d and a closing one:\n%s", gaps, maxNotesOfKind, strings.Join(tr.Notes(), "\n"))
	}
	var out bytes.Buffer
	tr.Report(&out, prof)
	rows := actionRows(tr.actions, prof, 3)
	if len(rows) != 2 || rows[0].action != "post" || rows[1].action != "comment" {
		t.Fatalf("rows %+v", rows)
	}
	// every sample read after its batch is in a post (seq-1 is odd)
	for _, r := range rows {
		wantD := 20_000
		if r.action == "comment" {
			wantD = 50_000
		}
		if r.count != 15_000 || int(r.p50) != wantD || int(r.p99) != wantD || int(r.mean) != wantD || r.samples == 0 {
			t.Errorf("row %+v, want 15000 steps of %d ns", r, wantD)
		}
	}
	found := false
	for _, line := range strings.Split(out.String(), "\n") {
		found = found || strings.Join(strings.Fields(line), " ") == "post 15000 20.0µs 20.0µs 20.0µs 300"
	}
	if !found {
		t.Errorf("no row for posts with 300 samples in the report:\n%s", out.String())
	}
}
