package cpython

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/elastic/go-perf"

	"github.com/tracer-dev/tracer/bpf"
	"github.com/tracer-dev/tracer/loader"
)

// PyNoOffset is StackFrame.Offset when the instruction is not known.
const PyNoOffset = uint32(bpf.PyperfPyFrameBitsPY_OFFSET_NONE)

const (
	pyFrameEntry = uint32(bpf.PyperfPyFrameBitsPY_FRAME_ENTRY)
	pyOffsetMask = uint32(bpf.PyperfPyFrameBitsPY_OFFSET_NONE)
)

// Errors of one Python stack read (Stack.Err).
const (
	PyErrNone     = int(bpf.PyperfPyErrPY_ERR_NONE)
	PyErrNoTstate = int(bpf.PyperfPyErrPY_ERR_NO_TSTATE) // no PyThreadState belongs to the sampled thread
	PyErrRead     = int(bpf.PyperfPyErrPY_ERR_READ)      // a read of interpreter memory failed (paged out, or freed meanwhile)
)

// StackFrame is one Python frame as the BPF walk saw it.
type StackFrame struct {
	Code      uint64 // address of the code object
	Offset    uint32 // byte offset of the instruction in the code, PyNoOffset if unknown
	FirstLine int32  // co_firstlineno read with the frame: guards against a reused address
	// Entry marks the outermost Python frame of one activation of the
	// interpreter's eval loop (_PyEval_EvalFrameDefault): the frames from the
	// previous Entry (exclusive) to this one ran in that native frame.
	Entry bool
}

// Stack is the Python stack of one sampled thread, leaf first. Time is
// CLOCK_MONOTONIC ns taken in the perf overflow handler just before the
// kernel wrote the matching perf sample of the same thread.
type Stack struct {
	PID, TID, CPU int
	Time          uint64
	Tstate        uint64
	File          uint32 // the number AddProcess or AddFile gave the process's interpreter file
	Truncated     bool   // the stack was deeper than the walk's bound
	Err           int    // PyErr*
	Frames        []StackFrame
	// Code, when not nil, makes this record not a stack but the names of
	// a code object the kernel saw for the first time (the stack holding
	// it follows).
	Code *EarlyCode
}

// EarlyCode is a code object's name and file name as the kernel read them
// when it first saw the object in a stack of process PID.
type EarlyCode struct {
	PID       int
	Code      uint64
	FirstLine int32
	Name      string // "" when not read (not an ASCII string)
	File      string
	Linetable []byte // the start of co_linetable (all of it when short)

	copy *earlyCopy // for Codes, made once (Frames.earlyNames)
}

// Stats are the frame reader's counters, summed over CPUs.
type Stats struct {
	Samples   uint64 // samples of described processes
	Emitted   uint64 // stacks written to the ring
	NoTstate  uint64 // samples of threads without a thread state
	ReadErr   uint64 // stacks cut short by a failed read
	Truncated uint64 // stacks deeper than the bound
	RingFull  uint64 // stacks lost because the ring was full
	CacheHit  uint64 // thread states found through the per-thread cache
	NewCode   uint64 // code objects seen for the first time: the reader was woken to name them
	ByExe     uint64 // processes recognised in the kernel by their executable (AddFile)
	Malformed uint64 // ring records that could not be decoded
}

// stackReader is the loaded pyperf program: it reads the Python stack of
// every sampled thread of the processes added with AddProcess, on the perf
// events it is attached to.
type stackReader struct {
	objs    bpf.PyperfObjects
	ring    *loader.RingReader[*Stack]
	exec    link.Link // on_exec: forgets a process's interpreter at exec; nil if it could not be attached
	execErr error     // why exec is nil

	mu       sync.Mutex
	attached []*perf.Event
}

// openStackReader loads the pyperf program and its maps.
func openStackReader() (*stackReader, error) {
	p := &stackReader{}
	spec, err := bpf.LoadPyperf()
	if err != nil {
		return nil, fmt.Errorf("load python frame reader spec: %w", err)
	}
	if err := loader.LoadCollection(spec, &p.objs); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("load python frame reader: %w (verifier log tail: %s)", err, pyVerifierTail(ve))
		}
		return nil, fmt.Errorf("load python frame reader (run as root or grant CAP_BPF and CAP_PERFMON): %w", err)
	}
	r, err := loader.NewRingReader(p.objs.PyEvents, "python stack", decodePyRecord)
	if err != nil {
		p.objs.Close()
		return nil, err
	}
	p.ring = r
	// Without it a process that execs keeps its old description until
	// userspace sees the exec; AddFile is then not used (see AddFile).
	// A raw tracepoint needs no tracefs (link.Tracepoint does, and it is
	// often not mounted in a container: every process was then found from
	// its mapping records only, tens of milliseconds after its start).
	p.exec, p.execErr = link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sched_process_exec", Program: p.objs.OnExec})
	return p, nil
}

// AddFile makes the program recognise a process by its first sample in
// the code of interpreter file pf (a libpython, or a python executable that
// holds the interpreter), numbered file. It returns false when the program
// cannot do so: the exec tracepoint is missing (a description would outlive
// an exec), or pf has no executable segment.
func (p *stackReader) AddFile(pf *File, file uint32, dev, ino uint64) (bool, error) {
	if p.exec == nil || !pf.hasText {
		return false, nil
	}
	cfg := pf.Layout.bpfConfig(pf.runtimeSym-pf.textDelta, file)
	key := bpf.PyperfPyFileKey{Ino: ino, Dev: uint32(dev)}
	if err := p.objs.PyFiles.Put(&key, &cfg); err != nil {
		return false, fmt.Errorf("describe python file %s: %w", pf.Path, err)
	}
	return true, nil
}

func pyVerifierTail(ve *ebpf.VerifierError) string {
	n := len(ve.Log)
	if n > 8 {
		return fmt.Sprint(ve.Log[n-8:])
	}
	return fmt.Sprint(ve.Log)
}

// Attach sets the program as the overflow handler of perf events (the
// sampler's cpu-clock events). An event may carry one program only.
func (p *stackReader) Attach(events []*perf.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	fd := uint32(p.objs.OnSample.FD())
	for _, ev := range events {
		if err := ev.SetBPF(fd); err != nil {
			return fmt.Errorf("attach python frame reader to perf event: %w", err)
		}
		p.attached = append(p.attached, ev)
	}
	return nil
}

// Attached says whether the program is set on any event.
func (p *stackReader) Attached() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.attached) > 0
}

// AddProcess makes the program read the Python stacks of pp's process;
// file is the number of its interpreter file (Stack.File).
func (p *stackReader) AddProcess(pp *Process, file uint32) error {
	cfg := pp.Layout.bpfConfig(pp.Runtime, file)
	if err := p.objs.PyProcs.Put(uint32(pp.PID), &cfg); err != nil {
		return fmt.Errorf("describe python process %d: %w", pp.PID, err)
	}
	return nil
}

// SetWalker puts another interpreter's walker (a perf_event program) at
// index idx of the program's dispatch table: the samples of a process
// given to Dispatch with that index go to it instead.
func (p *stackReader) SetWalker(idx uint32, prog *ebpf.Program) error {
	return p.objs.InterpProgs.Put(idx, prog)
}

// Dispatch hands the samples of process pid to the walker at index idx;
// Undispatch takes them back.
func (p *stackReader) Dispatch(pid int, idx uint32) error {
	return p.objs.InterpPids.Put(uint32(pid), idx)
}

// Undispatch stops handing a process's samples to another walker.
func (p *stackReader) Undispatch(pid int) { _ = p.objs.InterpPids.Delete(uint32(pid)) }

// RemoveProcess stops reading a process's Python stacks (it exec'd or exited).
func (p *stackReader) RemoveProcess(pid int) {
	_ = p.objs.PyProcs.Delete(uint32(pid))
}

// Stacks returns the stacks read, in ring order (per CPU in time order).
// The channel is closed after Stop once the ring is drained.
func (p *stackReader) Stacks() <-chan *Stack { return p.ring.Records() }

// Start begins reading the ring.
func (p *stackReader) Start() { p.ring.Start() }

// Stop drains what the ring holds, then ends the reading; Stacks is closed.
func (p *stackReader) Stop() { p.ring.Stop() }

// decodePyRecord decodes one ring record: a stack, or the names of a code
// object the program saw for the first time.
func decodePyRecord(b []byte) (*Stack, error) {
	if len(b) >= 4 && binary.LittleEndian.Uint32(b) == pyCodeRecord {
		ec, err := decodePyCode(b)
		if err != nil {
			return nil, err
		}
		return &Stack{PID: ec.PID, Code: ec}, nil
	}
	return decodePyStack(b)
}

// pyEventHeader is the size of py_event before its frames.
const pyEventHeader = int(unsafe.Offsetof(bpf.PyperfPyEvent{}.Frames))

// pyFrameSize is the size of one py_frame.
const pyFrameSize = int(unsafe.Sizeof(bpf.PyperfPyFrame{}))

const pyCodeRecord = uint32(bpf.PyperfPyCodeLimitsPY_CODE_RECORD)

func decodePyCode(b []byte) (*EarlyCode, error) {
	var ev bpf.PyperfPyCodeEvent
	head := int(unsafe.Offsetof(ev.Lines))
	if len(b) < head || len(b) > int(unsafe.Sizeof(ev)) {
		return nil, errors.New("malformed python code record")
	}
	// The record ends after the part of the line table that was copied.
	full := make([]byte, unsafe.Sizeof(ev))
	copy(full, b)
	bpf.Read(full, &ev)
	str := func(c []int8, n uint16) string {
		if int(n) > len(c) {
			n = 0
		}
		out := make([]byte, n)
		for i := range out {
			out[i] = byte(c[i])
		}
		return string(out)
	}
	return &EarlyCode{PID: int(ev.Pid), Code: ev.Code, FirstLine: ev.Firstlineno,
		Name: str(ev.Name[:], ev.NameLen), File: str(ev.File[:], ev.FileLen),
		Linetable: append([]byte(nil), ev.Lines[:min(int(ev.LinesLen), len(b)-head)]...)}, nil
}

func decodePyStack(b []byte) (*Stack, error) {
	if len(b) < pyEventHeader {
		return nil, errors.New("short python stack record")
	}
	var ev bpf.PyperfPyEvent
	bpf.Read(b, &ev)
	n := int(ev.N)
	if n > len(ev.Frames) || len(b) < pyEventHeader+n*pyFrameSize {
		return nil, fmt.Errorf("python stack record claims %d frames in %d bytes", n, len(b))
	}
	st := &Stack{
		PID:       int(ev.Pid),
		TID:       int(ev.Tid),
		Time:      ev.Ktime,
		CPU:       int(ev.Cpu),
		Truncated: ev.Truncated != 0,
		Err:       int(ev.Err),
		Tstate:    ev.Tstate,
		File:      ev.File,
		Frames:    make([]StackFrame, n),
	}
	for i, f := range ev.Frames[:n] {
		st.Frames[i] = StackFrame{
			Code:      f.Code,
			Offset:    f.Offset & pyOffsetMask,
			FirstLine: f.Firstlineno,
			Entry:     f.Offset&pyFrameEntry != 0,
		}
	}
	return st, nil
}

// Stats sums the program's per-CPU counters.
func (p *stackReader) Stats() Stats {
	var s Stats
	get := func(key uint32) uint64 {
		var per []uint64
		if err := p.objs.PyStats.Lookup(key, &per); err != nil {
			return 0
		}
		t := uint64(0)
		for _, v := range per {
			t += v
		}
		return t
	}
	s.Samples = get(uint32(bpf.PyperfPyStatPY_STAT_SAMPLES))
	s.Emitted = get(uint32(bpf.PyperfPyStatPY_STAT_EMITTED))
	s.NoTstate = get(uint32(bpf.PyperfPyStatPY_STAT_NO_TSTATE))
	s.ReadErr = get(uint32(bpf.PyperfPyStatPY_STAT_READ_ERR))
	s.Truncated = get(uint32(bpf.PyperfPyStatPY_STAT_TRUNCATED))
	s.RingFull = get(uint32(bpf.PyperfPyStatPY_STAT_RING_FULL))
	s.CacheHit = get(uint32(bpf.PyperfPyStatPY_STAT_CACHE_HIT))
	s.NewCode = get(uint32(bpf.PyperfPyStatPY_STAT_NEW_CODE))
	s.ByExe = get(uint32(bpf.PyperfPyStatPY_STAT_BY_EXE))
	s.Malformed = p.ring.Malformed()
	return s
}

// Close stops reading, detaches nothing (closing the perf events detaches
// the program; the sampler owns them) and frees the program and maps.
func (p *stackReader) Close() error {
	if p.exec != nil {
		p.exec.Close()
	}
	err := p.ring.Close()
	if cerr := p.objs.Close(); err == nil {
		err = cerr
	}
	return err
}
