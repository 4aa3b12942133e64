package cpython

import (
	"errors"

	"github.com/cilium/ebpf"
)

// The CPython walker's program is the one set on the sampler's perf events
// (an event carries one program); it hands the samples of the processes
// given to Dispatch to another interpreter's walker (interp_pids and
// interp_progs in bpf/pyperf.bpf.c).

var errNotLoaded = errors.New("the program that dispatches samples could not be loaded")

// SetWalker puts another interpreter's walker, a perf_event program, at
// index idx of the dispatch table.
func (p *Frames) SetWalker(idx uint32, prog *ebpf.Program) error {
	<-p.loaded
	if p.reader == nil {
		return errNotLoaded
	}
	return p.reader.SetWalker(idx, prog)
}

// Dispatch hands the samples of process pid to the walker at index idx.
func (p *Frames) Dispatch(pid int, idx uint32) error {
	<-p.loaded
	if p.reader == nil {
		return errNotLoaded
	}
	return p.reader.Dispatch(pid, idx)
}

// Undispatch takes a process's samples back.
func (p *Frames) Undispatch(pid int) {
	<-p.loaded
	if p.reader != nil {
		p.reader.Undispatch(pid)
	}
}
