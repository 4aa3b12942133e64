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
