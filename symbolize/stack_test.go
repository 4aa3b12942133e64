package symbolize

import (
	"testing"
)

// TestUserStack: a return address just past the end of a function (a call
// as its last instruction) is named after the caller, and frames keep the
// addresses they were given.
func TestUserStack(t *testing.T) {
	dir := t.TempDir()
	s := New(WithPerfMapDir(dir))
	writeFile(t, s.PerfMapPath(noSuchPid), "1000 100 JS:*caller /a.js:1:1\n1100 100 JS:*next /a.js:9:1\n")
	chain := []uint64{0x1100, 0x1100, 0x1050}
	got := s.UserStack(noSuchPid, chain)
	want := []string{"next", "caller", "caller"}
	for i, f := range got {
		if f.Function != want[i] || f.Addr != chain[i] {
			t.Errorf("frame %d: got %+v, want %s at 0x%x", i, f, want[i], chain[i])
		}
	}
	if got := s.KernelStack(nil); len(got) != 0 {
		t.Errorf("empty chain gave %v", got)
	}
}

// TestStackAt: a sample's whole stack in one slice is its kernel stack then
// its user stack, each resolved as on its own (return addresses looked up
// inside the call, JIT frames named by the perf map).
func TestStackAt(t *testing.T) {
	dir := t.TempDir()
	s := New(WithPerfMapDir(dir))
	writeFile(t, s.PerfMapPath(noSuchPid), "1000 100 JS:*caller /a.js:1:1\n1100 100 JS:*next /a.js:9:1\n")
	kernel := []uint64{0xffffffff81000010, 0xffffffff81000020}
	user := []uint64{0x1100, 0x1100, 0x1050}
	got := s.StackAt(noSuchPid, kernel, user, 0)
	want := append(s.KernelStack(kernel), s.UserStackAt(noSuchPid, user, 0)...)
	if len(got) != len(want) {
		t.Fatalf("%d frames, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("frame %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if got[3].Function != "caller" || got[2].Function != "next" {
		t.Errorf("user frames %+v", got[2:])
	}
	if got := s.StackAt(noSuchPid, nil, nil, 0); len(got) != 0 {
		t.Errorf("empty chains gave %v", got)
	}
}
