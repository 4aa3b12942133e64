package symbolize

// Kernel code the caller knows better than /proc/kallsyms does: the BPF
// programs of the tracing process itself. The kernel lists a program in
// kallsyms only while it is loaded, and a session names its samples after
// its programs are gone, when the nearest symbol below such an address is
// some other program's; reading the file for it also costs the 45 ms that
// the kernel symbol cache saves. AddBPFCode names these addresses exactly,
// as kallsyms did while they were loaded.

// bpfCode is a function of a BPF program, [addr, addr+size).
type bpfCode struct {
	addr uint64
	size uint32
	name string
}

// AddBPFCode names the kernel addresses [addr, addr+size) name, in module
// [bpf], ahead of kallsyms. Where ranges added overlap (code reused by a
// program loaded later), the later one names the address.
func (s *Symbolizer) AddBPFCode(addr uint64, size uint32, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bpfCode = append(s.bpfCode, bpfCode{addr: addr, size: size, name: name})
}

// ownKernelFrame names addr from the code AddBPFCode gave, if any covers it.
func (s *Symbolizer) ownKernelFrame(addr uint64) (Frame, bool) {
	for i := len(s.bpfCode) - 1; i >= 0; i-- { // a few programs; latest first
		if c := s.bpfCode[i]; addr >= c.addr && addr-c.addr < uint64(c.size) {
			return Frame{Addr: addr, Kind: Kernel, Module: "[bpf]", Function: c.name}, true
		}
	}
	return Frame{}, false
}
