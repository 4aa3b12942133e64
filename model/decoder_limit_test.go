package model

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// endless yields n bytes of c, without holding them.
type endless struct {
	c byte
	n int64
}

func (e *endless) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.n {
		p = p[:e.n]
	}
	for i := range p {
		p[i] = e.c
	}
	e.n -= int64(len(p))
	return len(p), nil
}

// hugeTrace is a valid first line, then a second line of 1 GiB that never
// ends: the decoder must refuse it after MaxLineBytes, not read it whole.
func hugeTrace() io.Reader {
	return io.MultiReader(strings.NewReader(stepLine+"\n"+`{"kind":"step","seq":2,"state":{"agent_id":"`), &endless{'a', 1 << 30})
}

func TestDecoderRefusesOverlongLine(t *testing.T) {
	d := NewDecoder(hugeTrace(), "huge.jsonl")
	if _, err := d.Next(); err != nil {
		t.Fatalf("first line: %v", err)
	}
	_, err := d.Next()
	var ie *InputError
	if !errors.As(err, &ie) || ie.Line != 2 || !strings.Contains(ie.Msg, "line longer than 16 MiB") {
		t.Fatalf("second line: %v, want an input error at line 2 saying the line is too long", err)
	}
	if cap(d.long) > 2*MaxLineBytes {
		t.Errorf("decoder grew its line buffer to %d bytes", cap(d.long))
	}
}

func TestCheckTraceRefusesOverlongLine(t *testing.T) {
	_, err := CheckTrace(NewDecoder(hugeTrace(), "huge.jsonl"), Exact)
	var ie *InputError
	if !errors.As(err, &ie) || ie.Line != 2 || ie.File != "huge.jsonl" {
		t.Fatalf("CheckTrace: %v, want an input error at huge.jsonl:2", err)
	}
	// A long line below the bound is still read.
	long := bytes.Repeat([]byte(" "), 1<<20)
	line := append([]byte(stepLine[:len(stepLine)-1]), long...)
	line = append(line, '}')
	if _, err := DecodeRecord(line); err != nil {
		t.Errorf("a 1 MiB record with spaces: %v", err)
	}
	d := NewDecoder(bytes.NewReader(append(line, '\n')), "long.jsonl")
	if _, err := d.Next(); err != nil {
		t.Errorf("a 1 MiB line through the decoder: %v", err)
	}
}
