package session

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracer-dev/tracer/capture"
	"github.com/tracer-dev/tracer/model"
)

// BenchmarkTransitionsBatches measures the reader's work per captured batch:
// trace file, live check, step windows. A container writes about 300 k
// steps/s under tracing; the reader must keep up with that on one core.
func BenchmarkTransitionsBatches(b *testing.B) {
	var batches [][]byte
	var cur []byte
	seq := 0
	state := []byte(`"state":{"agent_id":"CICADA-Harbot-0","shard_id":0,"data":[3,1,4]}}` + "\n")
	cur = append(cur, `{"kind":"init","impl":"python","pid":1,"state":{"agent_id":"CICADA-Harbot-0","shard_id":0,"data":[3,1,4]}}`+"\n"...)
	for range 300_000 {
		seq++
		line := append([]byte(nil), `{"kind":"step","seq":`...)
		line = append(line, []byte(itoa(seq))...)
		line = append(line, `,"t0":1000,"t1":2000,"tid":1,"action":{"type":"comment","author":"Zoë-46","content":"日本語 日本語"},`...)
		line = append(line, state...)
		if len(cur)+len(line) > capture.FrameMaxLen-capture.FrameHeaderLen {
			batches = append(batches, cur)
			cur = nil
		}
		cur = append(cur, line...)
	}
	batches = append(batches, cur)
	dir := b.TempDir()
	b.ResetTimer()
	for range b.N {
		tr := NewTransitions(TransitionsConfig{Relation: model.Exact, Trace: filepath.Join(dir, "t.jsonl"), Log: &bytes.Buffer{}})
		for i, p := range batches {
			if err := tr.batch(capture.Batch{PID: 1, TID: 1, Number: uint32(i + 1), Payload: p}); err != nil {
				b.Fatal(err)
			}
		}
		p := tr.procs[streamID{1, 0}]
		p.w.Flush()
		p.file.Close()
		if r := p.checker.Result(); r.Steps != 300_000 || !r.Conforming() {
			b.Fatalf("%d steps, conforming %v", r.Steps, r.Conforming())
		}
	}
	b.ReportMetric(float64(b.N)*300_000/b.Elapsed().Seconds(), "steps/s")
	os.Remove(filepath.Join(dir, "t.jsonl"))
}

func itoa(n int) string {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(buf[i:])
		}
	}
}
