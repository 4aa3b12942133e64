package model

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// checkBoth checks trace with the plain source, with the pipeline and with
// the fast path (checkLines) and fails unless all give the same result and
// the same error.
func checkBoth(t *testing.T, trace []byte) (Result, error) {
	t.Helper()
	return checkBothRel(t, trace, Exact)
}

// checkBothRel is checkBoth under rel.
func checkBothRel(t *testing.T, trace []byte, rel Relation) (Result, error) {
	t.Helper()
	d1 := NewDecoder(bytes.NewReader(trace), "t")
	r1, e1 := checkSource(d1, &plainSource{d: d1}, rel)
	d2 := NewDecoder(bytes.NewReader(trace), "t")
	p := newPipeline(d2, 3)
	r2, e2 := checkSource(d2, p, rel)
	p.close()
	j1, _ := r1.JSON()
	j2, _ := r2.JSON()
	if !bytes.Equal(j1, j2) {
		t.Fatalf("plain and pipelined results differ:\n%s\n%s", j1, j2)
	}
	if (e1 == nil) != (e2 == nil) || (e1 != nil && e1.Error() != e2.Error()) {
		t.Fatalf("plain and pipelined errors differ: %v / %v", e1, e2)
	}
	r3, _, e3 := checkLines(NewDecoder(bytes.NewReader(trace), "t"), rel)
	if j3, _ := r3.JSON(); !bytes.Equal(j1, j3) {
		t.Fatalf("the decoder alone and the fast path differ:\n%s\n%s", j1, j3)
	}
	if (e1 == nil) != (e3 == nil) || (e1 != nil && e1.Error() != e3.Error()) {
		t.Fatalf("the decoder alone and the fast path give different errors: %v / %v", e1, e3)
	}
	return r1, e1
}

func TestPipelineSameAsPlain(t *testing.T) {
	trace := genTrace(5000, 11)
	lines := bytes.Split(bytes.TrimSpace(trace), []byte("\n"))

	res, err := checkBoth(t, trace)
	if err != nil || res.Checked != 5000 || !res.Conforming() {
		t.Fatalf("%v %+v", err, res)
	}

	// A divergence deep in the trace (in a later batch) and a malformed line
	// after it: both are reported, the malformed line at its own number, and
	// the checking goes on after it.
	bad := append([][]byte{}, lines...)
	bad[3001] = bytes.Replace(bad[3001], []byte(`"shard_id":0`), []byte(`"shard_id":5`), 1)
	bad[4200] = []byte(`{"kind":"step",`)
	res, err = checkBoth(t, append(bytes.Join(bad, []byte("\n")), '\n'))
	if err != nil || res.Undecodable != 1 || res.FirstUndecodable.Line != 4201 || res.First == nil || res.First.Seq != 3001 || res.Steps != 4999 {
		t.Fatalf("want a divergence at 3001 and line 4201 undecodable, got %v %+v", err, res)
	}

	// The divergence alone is reported at its step and line.
	bad[4200] = lines[4200]
	res, err = checkBoth(t, append(bytes.Join(bad, []byte("\n")), '\n'))
	if err != nil || res.First == nil || res.First.Seq != 3001 || res.First.Line != 3002 {
		t.Fatalf("%v %+v", err, res.First)
	}
	if !strings.Contains(strings.Join(res.First.Differences, "|"), "shard_id: 0 ≠ 5") {
		t.Fatalf("differences %q", res.First.Differences)
	}
}

type failingReader struct{ data []byte }

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, errors.New("disk on fire")
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestPipelineReadError(t *testing.T) {
	trace := genTrace(3000, 5)
	for _, src := range []string{"plain", "pipeline"} {
		d := NewDecoder(&failingReader{data: trace[:len(trace)/2]}, "t")
		var s recordSource = &plainSource{d: d}
		if src == "pipeline" {
			s = newPipeline(d, 2)
		}
		_, err := checkSource(d, s, Exact)
		s.close()
		if err == nil || !strings.Contains(err.Error(), "disk on fire") {
			t.Fatalf("%s: %v", src, err)
		}
	}
}
