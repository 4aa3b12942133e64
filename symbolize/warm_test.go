package symbolize

import (
	"strings"
	"testing"
)

// TestWarm checks that Warm reads the tables of exactly the files its
// addresses fall in, and that lookups afterwards, under another pid that
// maps the same files, name every address as a symbolizer that was never
// warmed does.
func TestWarm(t *testing.T) {
	fx := fixtures(t)
	p := startFixture(t, fx.pie, fx.lib)
	maps := readProcMaps(t, p.pid)
	const warmPID = -1
	s, cold := New(), New()
	defer s.Close()
	defer cold.Close()
	for _, m := range maps {
		s.AddMapping(warmPID, m)
	}
	var chain []uint64
	for name, addr := range p.addrs {
		if strings.HasPrefix(name, "lib_") {
			chain = append(chain, addr+1) // return addresses: looked up one byte earlier
		}
	}
	if len(chain) == 0 {
		t.Fatal("the fixture printed no lib_ addresses")
	}
	s.Warm(warmPID, chain)
	s.Warm(warmPID, chain) // a second time costs a map lookup per address

	read := map[string]bool{}
	s.mu.Lock()
	for key, o := range s.files {
		if o != nil {
			read[key.path] = o.symsRead && o.lineRead
		}
	}
	s.mu.Unlock()
	if !read[fx.lib] {
		t.Errorf("Warm did not read the symbol and line tables of %s (%v)", fx.lib, read)
	}
	if read[fx.pie] {
		t.Errorf("Warm read the tables of %s, where no address fell", fx.pie)
	}

	for _, m := range maps {
		s.AddMapping(p.pid, m)
		cold.AddMapping(p.pid, m)
	}
	named := 0
	for name, addr := range p.addrs {
		for _, a := range []uint64{addr, addr + 1} {
			got, want := s.User(p.pid, a), cold.User(p.pid, a)
			if got != want {
				t.Errorf("%s: warmed %+v, cold %+v", name, got, want)
			}
			if got.Function == name {
				named++
			}
		}
	}
	if named == 0 {
		t.Fatalf("no address was named (%v)", p.addrs)
	}
}
