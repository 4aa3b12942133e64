package symbolize

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// The perf map lies in /tmp, where any user may put anything under the
// name tracer will read as root: a link to a secret, a FIFO that never
// yields, a hard link. None of them is read.
func TestPerfMapHostileFiles(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("1000 10 root-only-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "perf-1.map")
	if err := os.WriteFile(plain, []byte("1000 10 JS:*ok /a.js:1:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "perf-2.map")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "perf-3.map")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "perf-4.map")
	if err := os.Link(secret, hard); err != nil {
		t.Fatal(err)
	}

	m := &perfMap{path: plain}
	if added, err := m.refresh(); err != nil || !added {
		t.Fatalf("plain perf map: added %v, %v", added, err)
	}
	if e, ok := m.lookup(0x1004); !ok || e.name != "JS:*ok /a.js:1:1" {
		t.Errorf("plain perf map: lookup gave %+v %v", e, ok)
	}
	for _, p := range []string{link, fifo, hard} {
		m := &perfMap{path: p}
		added, err := m.refresh() // must return at once, also for the FIFO
		if added || err == nil || len(m.entries) > 0 {
			t.Errorf("%s: added %v, err %v, %d entries; want it refused", filepath.Base(p), added, err, len(m.entries))
		}
	}
}

// TestMappedFileReplacedByFIFO: a mapped file that the traced program has
// since replaced by a FIFO must not make tracer wait for a writer.
func TestMappedFileReplacedByFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "libevil.so")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	s := New(WithPerfMapDir(dir))
	defer s.Close()
	s.AddMapping(noSuchPid, Mapping{Start: 0x10000, Limit: 0x20000, Path: fifo})
	done := make(chan []Frame, 1)
	go func() { done <- s.UserStack(noSuchPid, []uint64{0x10100}) }()
	select {
	case st := <-done:
		if len(st) != 1 || st[0].Function != "" || st[0].Module != fifo {
			t.Errorf("stack %+v, want one unnamed frame in %s", st, fifo)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("symbolizing an address in a FIFO mapping hangs")
	}
}

// TestPerfMapWithoutFinalNewline: a perf map whose last line never ends is
// read once, not again at every lookup; an overlong partial line is
// skipped once it ends, and the lines after it are read.
func TestPerfMapWithoutFinalNewline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "perf-5.map")
	tail := make([]byte, 8<<20)
	for i := range tail {
		tail[i] = 'x'
	}
	if err := os.WriteFile(path, append([]byte("1000 10 JS:*first /a.js:1:1\n"), tail...), 0o644); err != nil {
		t.Fatal(err)
	}
	m := &perfMap{path: path}
	for range 100 {
		if _, err := m.refresh(); err != nil {
			t.Fatal(err)
		}
	}
	if size := int64(len(tail)) + 28; m.read > size+4096 {
		t.Errorf("100 lookups read %d bytes of a %d-byte map: the partial line is read again", m.read, size)
	}
	if _, ok := m.lookup(0x1004); !ok {
		t.Error("the first line was not read")
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\n2000 10 JS:*after /a.js:2:1\n")
	f.Close()
	if added, err := m.refresh(); err != nil || !added {
		t.Fatalf("after the long line ended: added %v, %v", added, err)
	}
	if e, ok := m.lookup(0x2004); !ok || e.name != "JS:*after /a.js:2:1" {
		t.Errorf("the line after the long one: %+v %v", e, ok)
	}
	if m.read > 2*(int64(len(tail))+64) {
		t.Errorf("read %d bytes in all", m.read)
	}
}
