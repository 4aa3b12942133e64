package v8

import (
	"encoding/binary"
	"errors"
	"io"
	"sync"

	"github.com/cilium/ebpf"

	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/symbolize"
)

// maxInterned bounds jsProc.seen.
const maxInterned = 1 << 16

// walkerIndex is the V8 walker's place in the dispatching program's table
// (interp_progs in bpf/pyperf.bpf.c).
const walkerIndex = 1

// Dispatcher is the program set on the sampler's perf events (an event
// carries one program: the CPython walker's, interp/cpython), which hands
// the samples of the processes given to Dispatch to the walker put at an
// index of its table with SetWalker.
type Dispatcher interface {
	Ready()
	SetWalker(idx uint32, prog *ebpf.Program) error
	Dispatch(pid int, idx uint32) error
	Undispatch(pid int)
}

// Frames puts JavaScript functions into the sampled stacks of node
// processes, read from V8's memory at each sample: no flag is needed in
// the target. It finds node in every process of the traced tree as the
// binary is mapped (whatever started it: a shell, npx, a #! script), or in
// /proc/PID/maps on attach; hands those processes' samples to the V8
// walker through the dispatching program; names frames while the process
// lives; and puts each JS frame in place of the native frame of the same
// instruction (Merge).
//
// The walker (about 8 MiB and 0.1 s of CPU to load) is loaded only once a
// node is found, or ahead of time with Preload when the command is known
// to run node; it goes into the dispatching program's table whenever it is
// ready. Until then the processes found wait, described, and their samples
// have native frames only.
type Frames struct {
	notes *loader.Notes
	d     Dispatcher

	loaded  chan struct{} // closed once walker and openErr are set
	active  chan struct{} // closed once the walker is wired (or could not be)
	walker  *Walker
	openErr error

	mu        sync.Mutex
	attached  bool // Attach was called: a walker loaded later wires itself
	started   bool // the walker is loading or loaded
	activated bool // activate ran
	on        bool // the walker is wired to the dispatching program
	off       bool // no JS frames from V8 in this session (said why)
	consumed  chan struct{}
	procs     map[int]*jsProc
	stats     Stats
	resolved  int

	stacks loader.ByThread[[]jsAt] // named stacks, per thread
}

type jsProc struct {
	p         *Process
	namer     *Namer
	since     uint64
	installed bool              // described to the walker and dispatched
	seen      map[string][]jsAt // named stacks by their raw frames
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

// NewFrames returns the JS frames reader; d is the program that hands
// node's samples to the walker (nil: none, JS frames are not read). Notes
// go to log. Nothing is loaded yet.
func NewFrames(log io.Writer, d Dispatcher) *Frames {
	return &Frames{notes: loader.NewNotes(log), d: d, loaded: make(chan struct{}), active: make(chan struct{}),
		procs: map[int]*jsProc{}}
}

// Preload starts loading the walker now, for a command known to run node:
// Attach then waits for it, so that node's first samples have JS frames.
func (j *Frames) Preload() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.startLocked()
}

// startLocked starts loading the walker, once. Loaded after Attach, it
// wires itself.
func (j *Frames) startLocked() {
	if j.started || j.off {
		return
	}
	j.started = true
	wire := j.attached
	go func() {
		w, err := Open()
		j.mu.Lock()
		j.walker, j.openErr = w, err
		j.mu.Unlock()
		close(j.loaded)
		if wire {
			j.activate()
		}
	}()
}

// activate wires the loaded walker to the dispatching program, starts
// reading its stacks and describes the processes found meanwhile.
func (j *Frames) activate() {
	defer close(j.active)
	if j.d != nil {
		j.d.Ready()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.activated = true
	fail := func(format string, args ...any) {
		j.off = true
		j.notes.Add("JS frames are not read from V8: "+format, args...)
		for pid, pr := range j.procs {
			pr.namer.Close()
			delete(j.procs, pid)
		}
		if j.walker != nil {
			_ = j.walker.Close()
			j.walker = nil
		}
	}
	switch {
	case j.walker == nil:
		fail("%v", j.openErr)
		return
	case j.d == nil:
		fail("no program dispatches the samples")
		return
	}
	if err := j.d.SetWalker(walkerIndex, j.walker.Program()); err != nil {
		fail("%v", err)
		return
	}
	j.on = true
	j.consumed = make(chan struct{})
	j.walker.Start()
	go j.consume(j.consumed)
	for pid, pr := range j.procs {
		if !j.installLocked(pr) {
			pr.namer.Close()
			delete(j.procs, pid)
		}
	}
}

// waitActive waits until a walker that is loading is wired.
func (j *Frames) waitActive() {
	j.mu.Lock()
	started := j.started
	j.mu.Unlock()
	if started {
		<-j.active
	}
}

// Close frees the walker of a reader that was not attached.
func (j *Frames) Close() error {
	j.mu.Lock()
	started := j.started
	j.mu.Unlock()
	if !started {
		return nil
	}
	<-j.loaded
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.walker == nil || j.activated {
		return nil
	}
	err := j.walker.Close()
	j.walker = nil
	return err
}

// Notes returns the remarks printed so far.
func (j *Frames) Notes() []string { return j.notes.List() }

// ReadsJS says whether the JS frames of process pid are read from V8 (or
// will be, once the walker is ready).
func (j *Frames) ReadsJS(pid int) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, ok := j.procs[pid]
	return ok
}

// Attach starts reading. pid is the traced process: one that was already
// running (running true: tracer attach), or the one that will exec
// command (tracer run); 0 in the host-wide mode. When that process runs
// node, Attach returns once the walker is wired.
func (j *Frames) Attach(pid int, running bool, command string) error {
	j.mu.Lock()
	j.attached = true
	pre := j.started
	j.mu.Unlock()
	if pre {
		<-j.loaded
		j.activate()
	}
	switch {
	case pid > 0 && running:
		p, err := Find(pid)
		j.mu.Lock()
		j.addLocked(p, err, 0)
		j.mu.Unlock()
	case pid > 0 && IsNodePath(command):
		// The command is node: a binary linked at fixed addresses is
		// described now, so that its first samples have JS frames; the
		// command's own exec does not forget it.
		if f, err := Inspect(command); err == nil && f.Fixed() {
			j.mu.Lock()
			j.addLocked(f.ForProcess(pid, f.TextLo, f.TextOffset()), nil, 0)
			if pr := j.procs[pid]; pr != nil {
				pr.keepExec = 1
			}
			j.mu.Unlock()
		}
	}
	j.waitActive()
	return nil
}

// addLocked starts reading a node process's JS frames (or keeps it until
// the walker is ready, and starts loading it), or says once why its node
// cannot be read.
func (j *Frames) addLocked(p *Process, err error, since uint64) {
	var ue *UnsupportedError
	switch {
	case errors.As(err, &ue):
		j.notes.Once(ue.Path, "%v", ue)
		return
	case err != nil, j.off:
		return
	}
	if old := j.procs[p.PID]; old != nil {
		j.uninstallLocked(old)
		old.namer.Close()
		delete(j.procs, p.PID)
	}
	pr := &jsProc{p: p, namer: NewNamer(p), since: since}
	if j.on && !j.installLocked(pr) {
		pr.namer.Close()
		return
	}
	j.procs[p.PID] = pr
	j.startLocked()
}

// installLocked describes a process to the walker and hands its samples
// to it.
func (j *Frames) installLocked(pr *jsProc) bool {
	p := pr.p
	if err := j.walker.AddProcess(p); err != nil {
		j.notes.Add("JS frames of pid %d: %v", p.PID, err)
		return false
	}
	if err := j.d.Dispatch(p.PID, walkerIndex); err != nil {
		j.walker.RemoveProcess(p.PID)
		j.notes.Add("JS frames of pid %d: %v", p.PID, err)
		return false
	}
	pr.installed = true
	j.notes.Once("route "+p.Path, "JS frames of %s (V8 %s) are read from V8's memory", p.Path, p.Layout.Version())
	return true
}

func (j *Frames) uninstallLocked(pr *jsProc) {
	if pr.installed {
		j.d.Undispatch(pr.p.PID)
		j.walker.RemoveProcess(pr.p.PID)
		pr.installed = false
	}
}

func (j *Frames) removeLocked(pid int) {
	if pr, ok := j.procs[pid]; ok {
		j.uninstallLocked(pr)
		pr.namer.Close()
		delete(j.procs, pid)
	}
}

// Observe finds node as it is mapped in any process of the tree (whatever
// started it: a shell, npx, a #! script), notes the builtins node maps a
// second time, follows forks and forgets a process's node when it execs.
func (j *Frames) Observe(rec loader.Record) {
	switch r := rec.(type) {
	case *loader.Mmap:
		if !IsNodePath(r.Path) {
			return
		}
		j.mu.Lock()
		defer j.mu.Unlock()
		if !j.attached || j.off {
			return
		}
		if pr, ok := j.procs[r.PID]; ok {
			if pr.p.Path == r.Path && pr.p.Mapped(r.Start, r.Len, r.Offset) && pr.installed {
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
func (j *Frames) consume(done chan struct{}) {
	defer close(done)
	for st := range j.walker.Stacks() {
		j.mu.Lock()
		pr := j.procs[st.PID]
		j.mu.Unlock()
		if pr == nil {
			continue
		}
		frames := pr.resolve(st)
		j.mu.Lock()
		j.resolved++
		j.mu.Unlock()
		j.stacks.Add(st.TID, st.Time, frames)
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
	j.waitActive()
	j.mu.Lock()
	w, consumed := j.walker, j.consumed
	j.mu.Unlock()
	if w == nil || consumed == nil {
		return nil
	}
	w.Stop()
	<-consumed
	st := w.Stats()
	err := w.Close()
	j.stacks.Sort()
	j.mu.Lock()
	defer j.mu.Unlock()
	j.stats = st
	var named, unnamed uint64
	for _, pr := range j.procs {
		named += pr.namer.Named
		unnamed += pr.namer.Unnamed
		pr.namer.Close()
	}
	if st.RingFull > 0 {
		j.notes.Add("%d JS stacks were lost (ring full); those samples show native frames only", st.RingFull)
	}
	if st.Samples > 0 && st.ReadErr*20 > st.Samples {
		j.notes.Add("%d of %d JS stacks were cut short: the stack could not be read in the sampling interrupt", st.ReadErr, st.Samples)
	}
	if unnamed > 0 {
		j.notes.Add("%d of %d JS frames could not be named (their function had been freed or moved); they show as [js function 0x…]",
			unnamed, named+unnamed)
	}
	return err
}

// Merge puts the JS stack read with a sample of thread tid at time (the
// same thread's, nearest in time: loader.ByThread) into its stack (leaf
// first).
func (j *Frames) Merge(tid int, time uint64, stack []symbolize.Frame) []symbolize.Frame {
	js, ok := j.stacks.Take(tid, time)
	if !ok {
		return stack
	}
	return mergeJS(stack, js)
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

// AddRunning reads the JS frames of a node process that was already
// running (the host-wide mode).
func (j *Frames) AddRunning(pid int) {
	j.mu.Lock()
	_, known := j.procs[pid]
	off := j.off
	j.mu.Unlock()
	if known || off {
		return
	}
	p, err := Find(pid)
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, known := j.procs[pid]; !known {
		j.addLocked(p, err, 0)
	}
}
