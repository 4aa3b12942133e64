package v8

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/tracer-dev/tracer/bpf"
	"github.com/tracer-dev/tracer/loader"
)

// Stack is the JS stack of one sampled thread, leaf first. Time is
// CLOCK_MONOTONIC ns taken in the perf overflow handler just after the
// kernel stamped the matching perf sample of the same thread.
type Stack struct {
	PID, TID, CPU int
	Time          uint64
	Truncated     bool // more JS frames than the walk records
	ReadErr       bool // the walk was cut short by a failed read
	Frames        []Frame
}

// Stats are the walker's counters, summed over CPUs.
type Stats struct {
	Samples   uint64 // samples of described processes
	Emitted   uint64 // stacks written to the ring
	ReadErr   uint64 // walks cut short by a failed read
	Truncated uint64 // stacks deeper than the bound
	RingFull  uint64 // stacks lost because the ring was full
	NoJS      uint64 // samples with no JS frame
	Malformed uint64 // ring records that could not be decoded
}

// Walker is the loaded V8 frame walker (bpf/v8.bpf.c). It is not set on
// perf events itself: the CPython walker's program, which is, hands it the
// samples of the processes described here (see Program).
type Walker struct {
	objs bpf.V8Objects
	ring *loader.RingReader[*Stack]
}

// Open loads the walker.
func Open() (*Walker, error) {
	w := &Walker{}
	spec, err := bpf.LoadV8()
	if err != nil {
		return nil, fmt.Errorf("load V8 frame walker spec: %w", err)
	}
	if err := loader.LoadCollection(spec, &w.objs); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			n := len(ve.Log)
			return nil, fmt.Errorf("load V8 frame walker: %w (verifier log tail: %v)", err, ve.Log[max(0, n-8):])
		}
		return nil, fmt.Errorf("load V8 frame walker (run as root or grant CAP_BPF and CAP_PERFMON): %w", err)
	}
	r, err := loader.NewRingReader(w.objs.V8Events, "V8 stack", decodeStack)
	if err != nil {
		w.objs.Close()
		return nil, err
	}
	w.ring = r
	return w, nil
}

// Program is the walker's program, for the dispatching program's table.
func (w *Walker) Program() *ebpf.Program { return w.objs.OnV8Sample }

// AddProcess makes the walker read the JS stacks of p's process.
func (w *Walker) AddProcess(p *Process) error {
	cfg := p.config()
	if err := w.objs.V8Procs.Put(uint32(p.PID), &cfg); err != nil {
		return fmt.Errorf("describe node process %d: %w", p.PID, err)
	}
	return nil
}

// Update tells the walker what changed about p (a copy of the builtins).
func (w *Walker) Update(p *Process) error { return w.AddProcess(p) }

// RemoveProcess stops reading a process's JS stacks.
func (w *Walker) RemoveProcess(pid int) { _ = w.objs.V8Procs.Delete(uint32(pid)) }

// Stacks returns the stacks read, in ring order. The channel is closed
// after Stop once the ring is drained.
func (w *Walker) Stacks() <-chan *Stack { return w.ring.Records() }

// Start begins reading the ring.
func (w *Walker) Start() { w.ring.Start() }

// Stop drains what the ring holds, then ends the reading.
func (w *Walker) Stop() { w.ring.Stop() }

const (
	eventHeader = int(unsafe.Offsetof(bpf.V8V8Event{}.Frames))
	frameSize   = int(unsafe.Sizeof(bpf.V8V8Frame{}))
	maxFrames   = len(bpf.V8V8Event{}.Frames)

	flagInterpreted = 1 // V8_FRAME_INTERPRETED
	flagLeaf        = 2 // V8_FRAME_LEAF
	errRead         = 1 // V8_ERR_READ
)

var le = binary.LittleEndian

func decodeStack(b []byte) (*Stack, error) {
	if len(b) < eventHeader {
		return nil, errors.New("short V8 stack record")
	}
	n := int(le.Uint16(b[20:]))
	if n > maxFrames || len(b) < eventHeader+n*frameSize {
		return nil, fmt.Errorf("V8 stack record claims %d frames in %d bytes", n, len(b))
	}
	st := &Stack{
		PID:       int(le.Uint32(b[0:])),
		TID:       int(le.Uint32(b[4:])),
		Time:      le.Uint64(b[8:]),
		CPU:       int(le.Uint32(b[16:])),
		Truncated: b[22] != 0,
		ReadErr:   b[23] == errRead,
		Frames:    make([]Frame, n),
	}
	for i := range st.Frames {
		f := b[eventHeader+i*frameSize:]
		flags := le.Uint32(f[36:])
		st.Frames[i] = Frame{
			PC:          le.Uint64(f),
			SFI:         le.Uint64(f[8:]),
			SFIName:     le.Uint64(f[16:]),
			Bytecode:    le.Uint64(f[24:]),
			Offset:      le.Uint32(f[32:]),
			Interpreted: flags&flagInterpreted != 0,
			Leaf:        flags&flagLeaf != 0,
		}
	}
	return st, nil
}

// Stats sums the walker's per-CPU counters.
func (w *Walker) Stats() Stats {
	get := func(key uint32) uint64 {
		var per []uint64
		if err := w.objs.V8Stats.Lookup(key, &per); err != nil {
			return 0
		}
		t := uint64(0)
		for _, v := range per {
			t += v
		}
		return t
	}
	return Stats{Samples: get(0), Emitted: get(1), ReadErr: get(2), Truncated: get(3),
		RingFull: get(4), NoJS: get(5), Malformed: w.ring.Malformed()}
}

// Close stops reading and frees the program and maps.
func (w *Walker) Close() error {
	err := w.ring.Close()
	if cerr := w.objs.Close(); err == nil {
		err = cerr
	}
	return err
}
