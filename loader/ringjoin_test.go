package loader

import (
	"bytes"
	"strings"
	"testing"
)

// A sample takes the record of its own thread nearest to it in time within
// the window; older records of the thread go with it; other threads keep
// theirs.
func TestByThreadTake(t *testing.T) {
	var b ByThread[string]
	if _, ok := b.Take(1, 100); ok {
		t.Fatal("an empty ByThread gave a record")
	}
	b.Add(1, 1_000_000, "late")
	b.Add(1, 100_000, "lost")
	b.Add(1, 500_000, "near")
	b.Add(2, 500_000, "other")
	b.Sort()
	for _, c := range []struct {
		tid  int
		time uint64
		want string
		ok   bool
	}{
		{1, 510_000, "near", true}, // "lost" is older than the window
		{1, 900_000, "", false},    // "late" is 100 µs away
		{2, 500_000 + JoinWindow, "other", true},
		{1, 1_000_000 + JoinWindow + 1, "", false}, // "late" is gone now
	} {
		got, ok := b.Take(c.tid, c.time)
		if got != c.want || ok != c.ok {
			t.Errorf("Take(%d, %d) = %q %v, want %q %v", c.tid, c.time, got, ok, c.want, c.ok)
		}
	}
	if b.Joined() != 2 {
		t.Errorf("joined %d, want 2", b.Joined())
	}
	if !b.Forget(1) || !b.Forget(2) {
		t.Error("threads with nothing left were not forgotten")
	}
}

// A note made once per key is printed once.
func TestNotesOnce(t *testing.T) {
	var log bytes.Buffer
	n := NewNotes(&log)
	n.Once("/usr/bin/node", "cannot read %s", "/usr/bin/node")
	n.Once("/usr/bin/node", "cannot read %s", "/usr/bin/node")
	n.Add("plain")
	n.Add("plain")
	if got := strings.Join(n.List(), "|"); got != "cannot read /usr/bin/node|plain|plain" {
		t.Errorf("notes %q", got)
	}
	if !strings.HasPrefix(log.String(), "tracer: cannot read") {
		t.Errorf("log %q", log.String())
	}
}
