package symbolize

import (
	"testing"
)

func TestDemangleName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"_ZN2v88internal4Heap14CollectGarbageENS0_15AllocationSpaceENS0_22GarbageCollectionReasonENS_15GCCallbackFlagsE", "v8::internal::Heap::CollectGarbage"},
		{"_ZN7fixture4spinEi", "fixture::spin"},
		{"_ZN4node13SpinEventLoopEPNS_11EnvironmentE.cold", "node::SpinEventLoop"},
		{"memcpy@@GLIBC_2.14", "memcpy"},
		{"dlopen@plt", "dlopen@plt"},
		{"_ZN7fixture4spinEi@plt", "fixture::spin@plt"},
		{"_PyEval_EvalFrameDefault", "_PyEval_EvalFrameDefault"},
		{"_Znotreallymangled", "_Znotreallymangled"},
		{"main.main", "main.main"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := Demangle(tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestCxxFixture names a C++ function of a live process in its demangled
// form.
func TestCxxFixture(t *testing.T) {
	fx := fixtures(t)
	p := startFixture(t, fx.cxx)
	s := New()
	defer s.Close()
	if err := s.LoadProcMaps(p.pid); err != nil {
		t.Fatal(err)
	}
	f := s.User(p.pid, p.addrs["fixture::spin"]+1)
	if f.Function != "fixture::spin" {
		t.Errorf("got %+v, want fixture::spin", f)
	}
}
