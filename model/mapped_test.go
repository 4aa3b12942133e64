package model

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkMappedFile writes trace to a file named name and checks it as
// `tracer check` does, through a mapping of the file; stop (when not nil)
// is called with the file every mapChunk bytes.
func checkMappedFile(t *testing.T, trace []byte, name string, rel Relation, stop func(*os.File) error) (Result, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "trace.jsonl")
	if err := os.WriteFile(path, trace, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := NewDecoder(f, name)
	var stopf func() error
	if stop != nil {
		stopf = func() error { return stop(f) }
	}
	if mapped := d.MapFile(f, stopf); mapped != (mappable && len(trace) > 0) {
		t.Fatalf("MapFile = %v for %d bytes", mapped, len(trace))
	}
	res, _, err := checkLines(d, rel)
	if d.m != nil {
		t.Error("the mapping is kept after the check")
	}
	return res, err
}

// TestCheckMappedFile: a trace read through a mapping gives the reader's
// result when the file grows as it is read (the lines written after the
// mapping was made are read too), when its last line has no newline, and
// when it is cut short (a read error, not a crash); an error from stop ends
// the check as a read error.
func TestCheckMappedFile(t *testing.T) {
	if !mappable {
		t.Skip("files are not mapped on this system")
	}
	defer func(n int) { mapChunk = n }(mapChunk)
	mapChunk = 64 << 10
	trace := genTrace(4000, 3)
	if len(trace) < 4*mapChunk {
		t.Fatalf("trace of %d bytes: too short for the test", len(trace))
	}
	lines := bytes.SplitAfter(trace, []byte("\n"))
	half := bytes.Join(lines[:len(lines)/2], nil)
	rest := bytes.Join(lines[len(lines)/2:], nil)
	for _, rel := range []Relation{Exact, Bisim} {
		want, _, werr := checkLines(NewDecoder(bytes.NewReader(trace), "t"), rel)
		wj, _ := want.JSON()
		same := func(t *testing.T, got Result, err error) {
			t.Helper()
			if gj, _ := got.JSON(); !bytes.Equal(gj, wj) || err != werr {
				t.Errorf("got\n%s %v\nwant\n%s %v", gj, err, wj, werr)
			}
		}
		t.Run("grows/"+rel.String(), func(t *testing.T) {
			grown := false
			got, err := checkMappedFile(t, half, "t", rel, func(f *os.File) error {
				if !grown {
					grown = true
					_, err := f.WriteAt(rest, int64(len(half)))
					return err
				}
				return nil
			})
			same(t, got, err)
		})
		t.Run("no last newline/"+rel.String(), func(t *testing.T) {
			got, err := checkMappedFile(t, bytes.TrimSuffix(trace, []byte("\n")), "t", rel, nil)
			same(t, got, err)
		})
		t.Run("shrinks/"+rel.String(), func(t *testing.T) {
			_, err := checkMappedFile(t, trace, "t", rel, func(f *os.File) error { return f.Truncate(0) })
			if err == nil || !strings.Contains(err.Error(), "t: the file shrank while it was read") {
				t.Errorf("error %v, want the file shrank", err)
			}
		})
		t.Run("stopped/"+rel.String(), func(t *testing.T) {
			stop := errors.New("stop")
			_, err := checkMappedFile(t, trace, "t", rel, func(*os.File) error { return stop })
			if !errors.Is(err, stop) {
				t.Errorf("error %v, want %v", err, stop)
			}
		})
	}
}
