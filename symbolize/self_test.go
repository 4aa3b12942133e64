package symbolize

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/tracer-dev/tracer/internal/privtest"
)

//go:noinline
func selfTestTarget(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += i
	}
	return s
}

// TestSelf names a function of the running test binary from its own maps.
func TestSelf(t *testing.T) {
	s := New()
	defer s.Close()
	pid := os.Getpid()
	if err := s.LoadProcMaps(pid); err != nil {
		t.Fatal(err)
	}
	addr := uint64(reflect.ValueOf(selfTestTarget).Pointer())
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []uint64{0, 5} {
		f := s.User(pid, addr+d)
		if !strings.HasSuffix(f.Function, "symbolize.selfTestTarget") || f.Kind != Native {
			t.Errorf("+%d: got %+v", d, f)
		}
		if f.File != "" && (!strings.HasSuffix(f.File, "self_test.go") || f.Line == 0) {
			t.Errorf("+%d: file %s:%d, want self_test.go", d, f.File, f.Line)
		}
		if f.Module != exe {
			t.Errorf("module %q, want %q", f.Module, exe)
		}
	}
}

// TestVDSO names a vDSO function of this process.
func TestVDSO(t *testing.T) {
	var vdso Mapping
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	maps, err := parseProcMaps(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range maps {
		if m.Path == "[vdso]" {
			vdso = m
		}
	}
	if vdso.Start == 0 {
		privtest.Require(t, "a vDSO", errors.New("this kernel maps none"))
	}
	image, err := readSelfVDSO()
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.NewFile(bytes.NewReader(image))
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := ef.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	var want elf.Symbol
	for _, sym := range dyn {
		if sym.Name == "__vdso_clock_gettime" {
			want = sym
		}
	}
	if want.Value == 0 {
		t.Fatal("__vdso_clock_gettime is not in the vDSO")
	}
	s := New()
	s.AddMapping(os.Getpid(), vdso)
	got := s.User(os.Getpid(), vdso.Start+want.Value+2)
	if !strings.HasSuffix(got.Function, "clock_gettime") || got.Module != "[vdso]" || got.Kind != Native {
		t.Errorf("got %+v", got)
	}
}
