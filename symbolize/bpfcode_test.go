package symbolize

import (
	"path/filepath"
	"testing"
)

// Addresses in code AddBPFCode gave are named from it, the latest range
// first, without reading kallsyms (here a file that does not exist, which
// would warn); other addresses still go to kallsyms.
func TestAddBPFCode(t *testing.T) {
	s := New(WithKallsyms(filepath.Join(t.TempDir(), "missing")))
	defer s.Close()
	s.AddBPFCode(0xffffffffc0001000, 0x100, "bpf_prog_0123456789abcdef_old")
	s.AddBPFCode(0xffffffffc0001080, 0x40, "bpf_prog_fedcba9876543210_on_exec")
	s.PrepareKernel([][]uint64{{0xffffffffc0001000, 0xffffffffc00010a0 + 1}})
	if err := s.KernelErr(); err != nil {
		t.Fatalf("kallsyms read for own code: %v", err)
	}
	for addr, want := range map[uint64]string{
		0xffffffffc0001000: "bpf_prog_0123456789abcdef_old",
		0xffffffffc00010a0: "bpf_prog_fedcba9876543210_on_exec", // both cover it: the later
		0xffffffffc00010c0: "bpf_prog_0123456789abcdef_old",
		0xffffffffc00010ff: "bpf_prog_0123456789abcdef_old",
	} {
		if f := s.Kernel(addr); f.Function != want || f.Module != "[bpf]" || f.Kind != Kernel {
			t.Errorf("%#x: %+v, want %s in [bpf]", addr, f, want)
		}
	}
	if err := s.KernelErr(); err != nil {
		t.Fatalf("kallsyms read for own code: %v", err)
	}
	if f := s.Kernel(0xffffffffc0001100); f.Function != "" || s.KernelErr() == nil {
		t.Fatalf("an address past the code was named %+v without kallsyms", f)
	}
}
