package v8

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/cilium/ebpf"

	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/symbolize"
)

// maxInterned bounds jsProc.seen.
const maxInterned = 1 << 16

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}

// Dispatcher is the program set on the sampler's perf events, which hands
// the samples of the processes given to Dispatch to another walker.
type Dispatcher interface {
	Ready()
	SetWalker(idx uint32, prog *ebpf.Program) error
	Dispatch(pid int, idx uint32) error
	Undispatch(pid int)
}

// jsWalkerIndex is the V8 walker's place in the CPython walker's dispatch
// table (interp_progs in bpf/pyperf.bpf.c).
const jsWalkerIndex = 1

// Frames is the Plugin that puts JavaScript functions into the sampled
// stacks of node processes, read from V8's memory at each sample (package
// interp/v8): no flag is needed in the target. It finds node in every
// process of the traced tree as the binary is mapped (or in /proc/PID/maps
// on attach), hands those processes' samples to the V8 walker through the
// CPython walker's program (the one program a perf event carries), names
// frames while the process lives, and puts each JS frame in place of the
// native frame of the same instruction.
type Frames struct {
	log io.Writer
	py  Dispatcher // its program dispatches the samples

	loaded   chan struct{}
	walker   *Walker
	openErr  error
	consumed chan struct{}
	on       bool // the walker is wired to the dispatching program

	mu       sync.Mutex
	procs    map[int]*jsProc
	stacks   map[int][]jsResolved // tid → named stacks
	warned   map[string]bool
	said     map[string]bool // route lines already printed, by binary
	stats    Stats
	joined   int
	resolved int
	notes    []string
}

type jsProc struct {
	p     *Process
	namer *Namer
	since uint64
	seen  map[string][]jsAt // named stacks by their raw frames
	// keepExec is how many execs to come keep the description: the
	// command's own, for a node described before it started.
	keepExec int
}

// jsAt is the JS frames (leaf first, inlined functions first) that stand
// for the native frame at one instruction.
type jsAt struct {
	pc     uint64
	frames []symbolize.Frame
}

type jsResolved struct {
	time   uint64
	frames []jsAt
}

// NewFrames returns the JS frames plugin; py is the Python frames plugin
// of the same session, whose program hands node's samples to the V8
// walker. Notes go to log. It starts loading the walker now.
func NewFrames(log io.Writer, py Dispatcher) *Frames {
	j := &Frames{log: log, py: py, loaded: make(chan struct{}),
		procs: map[int]*jsProc{}, stacks: map[int][]jsResolved{}, warned: map[string]bool{}, said: map[string]bool{}}
	go func() {
		defer close(j.loaded)
		j.walker, j.openErr = Open()
	}()
	return j
}

// Ready waits until the walker is loaded (or failed to load).
func (j *Frames) Ready() { <-j.loaded }

// Close frees the walker of a plugin that was not attached.
func (j *Frames) Close() error {
	<-j.loaded
	if j.walker == nil || j.consumed != nil {
		return nil
	}
	err := j.walker.Close()
	j.walker = nil
	return err
}

// Notes returns the remarks printed so far.
func (j *Frames) Notes() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.notes...)
}

func (j *Frames) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	j.notes = append(j.notes, msg)
	if j.log != nil {
		fmt.Fprintln(j.log, "tracer:", msg)
	}
}

// ReadsJS says whether the JS frames of process pid are read from V8.
func (j *Frames) ReadsJS(pid int) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, ok := j.procs[pid]
	return ok
}

// Attach wires the walker to the dispatching program and starts reading.
func (j *Frames) Attach(pid int, running, all bool, path string) error {
	<-j.loaded
	if j.py != nil {
		j.py.Ready()
	}
	switch {
	case j.walker == nil:
		j.note("JS frames are not read from V8: %v", j.openErr)
		return nil
	case j.py == nil:
		j.note("JS frames are not read from V8: no program dispatches the samples")
		return nil
	}
	if err := j.py.SetWalker(jsWalkerIndex, j.walker.Program()); err != nil {
		j.note("JS frames are not read from V8: %v", err)
		return nil
	}
	j.on = true
	j.consumed = make(chan struct{})
	j.walker.Start()
	go j.consume()
	switch {
	case running && !all:
		p, err := Find(pid)
		j.mu.Lock()
		j.addLocked(p, err, 0)
		j.mu.Unlock()
	case IsNodePath(path):
		// The command is node: a binary linked at fixed addresses is
		// described now, so that its first samples have JS frames; the
		// command's own exec does not forget it.
		if f, err := Inspect(path); err == nil && f.Fixed() {
			j.mu.Lock()
			j.addLocked(f.ForProcess(pid, f.TextLo, f.TextOffset()), nil, 0)
			if pr := j.procs[pid]; pr != nil {
				pr.keepExec = 1
			}
			j.mu.Unlock()
		}
	}
	return nil
}

// addLocked starts reading a node process's JS frames, or says once why
// its node cannot be read.
func (j *Frames) addLocked(p *Process, err error, since uint64) {
	var ue *UnsupportedError
	switch {
	case errors.As(err, &ue):
		if !j.warned[ue.Path] {
			j.warned[ue.Path] = true
			j.note("%v", ue)
		}
		return
	case err != nil:
		return
	}
	if err := j.walker.AddProcess(p); err != nil {
		j.note("JS frames of pid %d: %v", p.PID, err)
		return
	}
	if err := j.py.Dispatch(p.PID, jsWalkerIndex); err != nil {
		j.walker.RemoveProcess(p.PID)
		j.note("JS frames of pid %d: %v", p.PID, err)
		return
	}
	if !j.said[p.Path] {
		j.said[p.Path] = true
		j.note("JS frames of %s (V8 %s) are read from V8's memory", p.Path, p.Layout.Version())
	}
	if old := j.procs[p.PID]; old != nil {
		old.namer.Close()
	}
	j.procs[p.PID] = &jsProc{p: p, namer: NewNamer(p), since: since}
}

func (j *Frames) removeLocked(pid int) {
	if pr, ok := j.procs[pid]; ok {
		j.py.Undispatch(pid)
		j.walker.RemoveProcess(pid)
		pr.namer.Close()
		delete(j.procs, pid)
	}
}

// Observe finds node as it is mapped in any process of the tree (whatever
// started it: a shell, npx, a #! script), notes the builtins node maps a
// second time, follows forks and forgets a process's node when it execs.
func (j *Frames) Observe(rec loader.Record) {
	if !j.on {
		return
	}
	switch r := rec.(type) {
	case *loader.Mmap:
		if !IsNodePath(r.Path) {
			return
		}
		j.mu.Lock()
		defer j.mu.Unlock()
		if pr, ok := j.procs[r.PID]; ok {
			if pr.p.Path == r.Path && pr.p.Mapped(r.Start, r.Len, r.Offset) {
				_ = j.walker.Update(pr.p)
			}
			return
		}
		f, err := Inspect(r.Path)
		if err != nil {
			j.addLocked(nil, err, r.Time)
			return
		}
		if !f.IsText(r.Offset) {
			return
		}
		j.addLocked(f.ForProcess(r.PID, r.Start, r.Offset), nil, r.Time)
	case *loader.Fork:
		if r.PID == r.PPID {
			return
		}
		j.mu.Lock()
		defer j.mu.Unlock()
		if parent, ok := j.procs[r.PPID]; ok {
			if _, ok := j.procs[r.PID]; !ok {
				j.addLocked(parent.p.ForFork(r.PID), nil, r.Time)
			}
		}
	case *loader.Comm:
		if !r.Exec {
			return
		}
		j.mu.Lock()
		defer j.mu.Unlock()
		if pr, ok := j.procs[r.PID]; ok && pr.since < r.Time {
			if pr.keepExec > 0 {
				pr.keepExec--
				return
			}
			j.removeLocked(r.PID)
		}
	}
}

// consume names each stack as it arrives, while its process lives.
func (j *Frames) consume() {
	defer close(j.consumed)
	for st := range j.walker.Stacks() {
		j.mu.Lock()
		pr := j.procs[st.PID]
		j.mu.Unlock()
		if pr == nil {
			continue
		}
		res := jsResolved{time: st.Time, frames: pr.resolve(st)}
		j.mu.Lock()
		j.resolved++
		j.stacks[st.TID] = append(j.stacks[st.TID], res)
		j.mu.Unlock()
	}
}

// resolve names a stack; stacks seen before are named from the cache.
func (pr *jsProc) resolve(st *Stack) []jsAt {
	key := make([]byte, 0, len(st.Frames)*41)
	for _, f := range st.Frames {
		key = binary.LittleEndian.AppendUint64(key, f.PC)
		key = binary.LittleEndian.AppendUint64(key, f.SFI)
		key = binary.LittleEndian.AppendUint64(key, f.SFIName)
		key = binary.LittleEndian.AppendUint64(key, f.Bytecode)
		key = binary.LittleEndian.AppendUint32(key, f.Offset)
		var flags byte
		if f.Interpreted {
			flags |= 1
		}
		if f.Leaf {
			flags |= 2
		}
		key = append(key, flags)
	}
	if out, ok := pr.seen[string(key)]; ok {
		return out
	}
	out := make([]jsAt, 0, len(st.Frames))
	complete := true
	for _, f := range st.Frames {
		frames, ok := pr.namer.NameAll(f)
		complete = complete && ok
		out = append(out, jsAt{pc: f.PC, frames: frames})
	}
	if !complete {
		return out // looked up again next time
	}
	if pr.seen == nil || len(pr.seen) >= maxInterned {
		pr.seen = map[string][]jsAt{}
	}
	pr.seen[string(key)] = out
	return out
}

// Detach drains the stacks and reports what could not be read.
func (j *Frames) Detach() error {
	<-j.loaded
	if j.walker == nil || j.consumed == nil {
		return nil
	}
	j.walker.Stop()
	<-j.consumed
	st := j.walker.Stats()
	err := j.walker.Close()
	j.mu.Lock()
	defer j.mu.Unlock()
	j.stats = st
	for _, list := range j.stacks {
		sort.Slice(list, func(a, b int) bool { return list[a].time < list[b].time })
	}
	var named, unnamed uint64
	for _, pr := range j.procs {
		named += pr.namer.Named
		unnamed += pr.namer.Unnamed
		pr.namer.Close()
	}
	if st.RingFull > 0 {
		j.note("%d JS stacks were lost (ring full); those samples show native frames only", st.RingFull)
	}
	if st.Samples > 0 && st.ReadErr*20 > st.Samples {
		j.note("%d of %d JS stacks were cut short: the stack could not be read in the sampling interrupt", st.ReadErr, st.Samples)
	}
	if unnamed > 0 {
		j.note("%d of %d JS frames could not be named (their function had been freed or moved); they show as [js function 0x…]",
			unnamed, named+unnamed)
	}
	return err
}

// Decorate puts the JS stack read with a sample (the same thread's, nearest
// in time within the join window) into its stack.
func (j *Frames) Merge(tid int, time uint64, stack []symbolize.Frame) []symbolize.Frame {
	j.mu.Lock()
	list := j.stacks[tid]
	i := 0
	for i < len(list) && list[i].time+jsJoinWindow < time {
		i++
	}
	best := -1
	for k := i; k < len(list) && list[k].time <= time+jsJoinWindow; k++ {
		if best < 0 || absDiff(list[k].time, time) < absDiff(list[best].time, time) {
			best = k
		}
	}
	if best < 0 {
		j.stacks[tid] = list[i:]
		j.mu.Unlock()
		return stack
	}
	res := list[best]
	j.stacks[tid] = list[best+1:]
	j.joined++
	j.mu.Unlock()
	return mergeJS(stack, res.frames)
}

// mergeJS replaces, in a stack (leaf first), the native frame of each JS
// frame's instruction by the JS frames; the walk and the kernel's user
// callchain follow the same frame-pointer chain, so the instructions are
// the callchain's addresses, in the same order. A JS frame whose
// instruction is not in the callchain goes before the next one placed.
func mergeJS(stack []symbolize.Frame, js []jsAt) []symbolize.Frame {
	out := make([]symbolize.Frame, 0, len(stack)+len(js))
	k := 0
	for k < len(stack) && stack[k].Kind == symbolize.Kernel {
		k++
	}
	out = append(out, stack[:k]...)
	var pending []symbolize.Frame
	for _, at := range js {
		m := -1
		for n := k; n < len(stack); n++ {
			if stack[n].Addr == at.pc && stack[n].Kind != symbolize.Kernel {
				m = n
				break
			}
		}
		if m < 0 {
			pending = append(pending, at.frames...)
			continue
		}
		out = append(out, stack[k:m]...)
		out = append(out, pending...)
		pending = nil
		out = append(out, at.frames...)
		k = m + 1
	}
	if len(pending) > 0 && k < len(stack) {
		out = append(out, pending...)
		pending = nil
	}
	out = append(out, stack[k:]...)
	return append(out, pending...)
}

// jsJoinWindow is how far from its sample's time a JS stack's time may be:
// the walk runs in the sample's overflow handler; samples of one thread are
// at least 100 µs apart (10 kHz at most).
const jsJoinWindow = 50_000 // ns

// AddRunning reads the JS frames of a node process that was already
// running (the host-wide mode).
func (j *Frames) AddRunning(pid int) {
	<-j.loaded
	if !j.on {
		return
	}
	j.mu.Lock()
	_, known := j.procs[pid]
	j.mu.Unlock()
	if known {
		return
	}
	p, err := Find(pid)
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, known := j.procs[pid]; !known {
		j.addLocked(p, err, 0)
	}
}
