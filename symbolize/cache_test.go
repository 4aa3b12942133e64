package symbolize

import (
	"sync"
	"testing"
)

// TestObjectsShared: the same library mapped by two processes, and a copy
// of it under another path (same build ID), is parsed once.
func TestObjectsShared(t *testing.T) {
	fx := fixtures(t)
	copied := copyFile(t, fx.lib, t.TempDir()+"/libcopy.so")
	a := startFixture(t, fx.pie, fx.lib)
	b := startFixture(t, fx.nopie, copied)
	s := New()
	defer s.Close()
	for _, pid := range []int{a.pid, b.pid} {
		if err := s.LoadProcMaps(pid); err != nil {
			t.Fatal(err)
		}
	}
	objs := map[*object]bool{}
	for key, o := range s.files {
		if key.path == fx.lib || key.path == copied {
			objs[o] = true
		}
	}
	if len(objs) != 1 {
		t.Errorf("library parsed %d times, want once", len(objs))
	}
	if f := s.User(b.pid, b.addrs["lib_fixture_exported"]); f.Function != "lib_fixture_exported" || f.Module != copied {
		t.Errorf("copy: got %+v", f)
	}
}

// TestConcurrentUse symbolizes from several goroutines at once (run with
// -race to check the locking).
func TestConcurrentUse(t *testing.T) {
	fx := fixtures(t)
	p := startFixture(t, fx.pie, fx.lib)
	s := New()
	defer s.Close()
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				for name, addr := range p.addrs {
					if f := s.User(p.pid, addr+uint64(i%8)); f.Function != name {
						errs <- name + " resolved to " + f.Function
						return
					}
				}
				s.Kernel(uint64(i))
				s.Mappings(p.pid)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
