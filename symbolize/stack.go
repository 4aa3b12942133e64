package symbolize

// UserStack resolves a user callchain of process pid, leaf first, as perf
// delivers it: chain[0] is the sampled instruction, the rest are return
// addresses. Return addresses are looked up one byte earlier, inside the
// call instruction, so that a call at the very end of a function is named
// after that function and gets the line of the call; each Frame keeps the
// address as given.
func (s *Symbolizer) UserStack(pid int, chain []uint64) []Frame {
	out := make([]Frame, len(chain))
	s.userFrames(out, pid, chain)
	return out
}

// UserStackAt is UserStack for a sample taken at time t (CLOCK_MONOTONIC
// ns): JIT code is named by the perf map line that described it then, not
// by a line written after the sample for code reusing the address.
func (s *Symbolizer) UserStackAt(pid int, chain []uint64, t uint64) []Frame {
	out := s.UserStack(pid, chain)
	s.jitFramesAt(out, pid, t)
	return out
}

// KernelStack resolves a kernel callchain the same way.
func (s *Symbolizer) KernelStack(chain []uint64) []Frame {
	out := make([]Frame, len(chain))
	s.kernelFrames(out, chain)
	return out
}

// StackAt is a sample's whole stack, leaf first, in one slice: its kernel
// callchain as KernelStack resolves it, then its user callchain as
// UserStackAt does.
func (s *Symbolizer) StackAt(pid int, kernel, user []uint64, t uint64) []Frame {
	out := make([]Frame, len(kernel)+len(user))
	s.kernelFrames(out[:len(kernel)], kernel)
	u := out[len(kernel):]
	s.userFrames(u, pid, user)
	s.jitFramesAt(u, pid, t)
	return out
}

// userFrames resolves user callchain chain of pid into out.
func (s *Symbolizer) userFrames(out []Frame, pid int, chain []uint64) {
	for i, a := range chain {
		out[i] = s.User(pid, callSite(i, a))
		out[i].Addr = a
	}
}

// jitFramesAt renames the JIT frames of user stack out by the perf map
// lines that held at time t.
func (s *Symbolizer) jitFramesAt(out []Frame, pid int, t uint64) {
	for i := range out {
		if out[i].Kind != JIT {
			continue
		}
		if f, ok := s.jitAt(pid, callSite(i, out[i].Addr), t); ok {
			f.Addr = out[i].Addr
			out[i] = f
		} else {
			out[i] = Frame{Addr: out[i].Addr, Module: out[i].Module}
		}
	}
}

// kernelFrames resolves kernel callchain chain into out.
func (s *Symbolizer) kernelFrames(out []Frame, chain []uint64) {
	for i, a := range chain {
		out[i] = s.Kernel(callSite(i, a))
		out[i].Addr = a
	}
}

// callSite is the address to look up for entry i of a callchain.
func callSite(i int, addr uint64) uint64 {
	if i == 0 || addr == 0 || addr >= perfContextMax {
		return addr
	}
	return addr - 1
}
