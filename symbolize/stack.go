package symbolize

// UserStack resolves a user callchain of process pid, leaf first, as perf
// delivers it: chain[0] is the sampled instruction, the rest are return
// addresses. Return addresses are looked up one byte earlier, inside the
// call instruction, so that a call at the very end of a function is named
// after that function and gets the line of the call; each Frame keeps the
// address as given.
func (s *Symbolizer) UserStack(pid int, chain []uint64) []Frame {
	out := make([]Frame, len(chain))
	for i, a := range chain {
		out[i] = s.User(pid, callSite(i, a))
		out[i].Addr = a
	}
	return out
}

// KernelStack resolves a kernel callchain the same way.
func (s *Symbolizer) KernelStack(chain []uint64) []Frame {
	out := make([]Frame, len(chain))
	for i, a := range chain {
		out[i] = s.Kernel(callSite(i, a))
		out[i].Addr = a
	}
	return out
}

// callSite is the address to look up for entry i of a callchain.
func callSite(i int, addr uint64) uint64 {
	if i == 0 || addr == 0 || addr >= perfContextMax {
		return addr
	}
	return addr - 1
}
