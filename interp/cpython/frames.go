package cpython

import (
	"encoding/binary"
	"errors"
	"io"
	"sync"

	"github.com/elastic/go-perf"

	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/symbolize"
)

// Frames is the Plugin that puts Python functions into sampled
// stacks. On the sampler's perf events it attaches the pyperf BPF program,
// which reads the Python stack of each sampled thread of a CPython process;
// it finds the interpreters in the target (from the mappings the samplers
// report, or /proc/PID/maps on attach), names code objects while the
// process lives, and replaces the eval-loop frames of each sample with the
// Python frames that ran in them.
type Frames struct {
	notes *loader.Notes

	loaded   chan struct{} // closed once reader and openErr are set
	reader   *stackReader
	openErr  error // why the BPF program could not be loaded
	consumed chan struct{}

	mu       sync.Mutex
	procs    map[int]*pyProc             // pid → its interpreter
	stacks   loader.ByThread[pyResolved] // named stacks, per thread
	files    map[uint32]*File            // interpreter files by their number (Stack.File)
	fileIDs  map[fileKey]uint32
	inKernel map[uint32]bool // files the program recognises by itself (AddFile)
	nextFile uint32

	earlyMu    sync.Mutex
	early      map[earlyKey]*EarlyCode // names the kernel read when it first saw a code object
	earlyBytes int                     // their names' and line tables' sizes
	stats      Stats
	resolved   int     // Python stacks named
	unnamed    int     // of them, stacks with a code object that could not be read
	addErrs    int     // processes the BPF program could not be told about
	gone       []ended // processes and threads that exited, forgotten later (host.go)
}

// maxAddNotes bounds the notes about processes the BPF program could not be
// told about (its table full, say): one line each, then one line for the rest.
const maxAddNotes = 10

// pyProc is one process's interpreter and its code-object names.
type pyProc struct {
	proc  *Process
	codes *Codes
	since uint64 // time of the mapping (or first stack) that revealed it
	file  uint32 // number of its interpreter file
	// seen interns resolved stacks by their raw frames: a profile's
	// samples repeat a few stacks many times, and a long session would
	// otherwise keep a copy of the names for every sample.
	seen map[string][][]symbolize.Frame
}

// maxInterned bounds pyProc.seen.
const maxInterned = 1 << 16

// resolve names a stack and splits it into eval-loop activations; named
// says whether every code object could be read.
func (pr *pyProc) resolve(st *Stack) (segs [][]symbolize.Frame, named bool) {
	key := make([]byte, 0, 1+len(st.Frames)*17)
	if st.Truncated {
		key = append(key, 1)
	} else {
		key = append(key, 0)
	}
	for _, f := range st.Frames {
		key = binary.LittleEndian.AppendUint64(key, f.Code)
		key = binary.LittleEndian.AppendUint32(key, f.Offset)
		key = binary.LittleEndian.AppendUint32(key, uint32(f.FirstLine))
		if f.Entry {
			key = append(key, 1)
		} else {
			key = append(key, 0)
		}
	}
	if segs, ok := pr.seen[string(key)]; ok {
		return segs, true
	}
	var seg []symbolize.Frame
	named = true
	for _, f := range st.Frames {
		fr := pr.codes.Frame(f.Code, f.Offset, f.FirstLine)
		named = named && fr.File != ""
		seg = append(seg, fr)
		if f.Entry {
			segs = append(segs, seg)
			seg = nil
		}
	}
	if st.Truncated {
		seg = append(seg, Truncated)
	}
	if len(seg) > 0 {
		segs = append(segs, seg)
	}
	if !named {
		return segs, false // a code object could not be read: try again next time
	}
	if pr.seen == nil || len(pr.seen) >= maxInterned {
		pr.seen = map[string][][]symbolize.Frame{}
	}
	pr.seen[string(key)] = segs
	return segs, true
}

// pyResolved is one Python stack, named, split into eval-loop activations.
type pyResolved struct {
	segments  [][]symbolize.Frame
	truncated bool
}

// NewFrames returns the Python frames plugin; notes (an unsupported
// interpreter, unreadable stacks) are printed to log. It starts loading the
// BPF program now (about 22 ms, on another goroutine, beside the loading of
// the transition capture and the start of the command); the session waits
// for it (Ready) before the samplers open their events: loaded any later, a
// starting target creates threads meanwhile whose inherited events miss the
// program (see EventAttacher). If it cannot be loaded, the session runs
// with native frames and says why. Detach frees it; call Close when the
// plugin is not given to a session that runs.
func NewFrames(log io.Writer) *Frames {
	p := &Frames{
		notes:    loader.NewNotes(log),
		loaded:   make(chan struct{}),
		procs:    map[int]*pyProc{},
		files:    map[uint32]*File{},
		fileIDs:  map[fileKey]uint32{},
		inKernel: map[uint32]bool{},
	}
	go func() {
		defer close(p.loaded)
		p.reader, p.openErr = openStackReader()
	}()
	return p
}

// Close frees the BPF program of a plugin that was not attached.
func (p *Frames) Close() error {
	<-p.loaded
	if p.reader == nil || p.consumed != nil {
		return nil
	}
	err := p.reader.Close()
	p.reader = nil
	return err
}

// Notes returns the remarks printed so far.
func (p *Frames) Notes() []string { return p.notes.List() }

func (p *Frames) note(format string, args ...any) { p.notes.Add(format, args...) }

// Ready waits until the BPF program is loaded (or failed to load).
func (p *Frames) Ready() { <-p.loaded }

// AttachEvent sets the BPF program on a sampler event as it is opened. A
// program that could not be loaded leaves the session running with native
// frames only (Attach says why).
func (p *Frames) AttachEvent(ev *perf.Event) error {
	<-p.loaded
	if p.reader == nil {
		return nil
	}
	return p.reader.Attach([]*perf.Event{ev})
}

// Attach starts reading Python stacks. Events not yet given to AttachEvent
// get the program now. running is the pid of a process that was already
// running (tracer attach; 0 for tracer run): its interpreter is looked up
// at once.
func (p *Frames) Attach(events []*perf.Event, running int) error {
	<-p.loaded
	if p.reader != nil && !p.reader.Attached() {
		if err := p.reader.Attach(events); err != nil {
			return err
		}
	}
	if p.reader == nil {
		if p.openErr != nil {
			p.note("Python frames are off: %v", p.openErr)
		}
		return nil
	}
	if p.reader.execErr != nil {
		p.note("python processes are recognised from their mapping records only, after their first samples: %v", p.reader.execErr)
	}
	p.consumed = make(chan struct{})
	p.reader.Start()
	go p.consume()
	if running > 0 {
		pp, err := Find(running)
		p.mu.Lock()
		p.addLocked(pp, err, 0)
		p.mu.Unlock()
	}
	return nil
}

// addLocked installs an interpreter found in a process, or reports once
// why it cannot be read.
func (p *Frames) addLocked(pp *Process, err error, since uint64) {
	var ue *UnsupportedError
	switch {
	case errors.As(err, &ue):
		p.notes.Once(ue.Path, "%v", ue)
		return
	case err != nil:
		return // no interpreter in this process
	}
	file := p.learnLocked(pp.File)
	if err := p.reader.AddProcess(pp, file); err != nil {
		p.addErrs++
		switch {
		case p.addErrs <= maxAddNotes:
			p.note("python frames for pid %d: %v", pp.PID, err)
		case p.addErrs == maxAddNotes+1:
			p.note("python frames: more processes could not be described; not listed")
		}
		return
	}
	codes := p.newCodes(pp.PID, pp.Layout)
	if old := p.procs[pp.PID]; old != nil {
		old.codes.Close()
	}
	p.procs[pp.PID] = &pyProc{proc: pp, codes: codes, since: since, file: file}
}

// Observe finds interpreters as they are mapped, follows forks (a forked
// child runs the same interpreter at the same addresses) and forgets a
// process's interpreter when it execs.
func (p *Frames) Observe(rec loader.Record) {
	switch r := rec.(type) {
	case *loader.Mmap:
		if p.reader == nil || !IsInterpreterPath(r.Path) {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if _, ok := p.procs[r.PID]; ok {
			return
		}
		pf, err := Inspect(r.Path)
		if err != nil {
			p.addLocked(nil, err, r.Time)
			return
		}
		p.addLocked(pf.ForProcess(r.PID, r.Start, r.Offset), nil, r.Time)
	case *loader.Fork:
		if r.PID == r.PPID {
			return // a thread
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if parent, ok := p.procs[r.PPID]; ok && !p.inKernel[parent.file] {
			// A child of a process whose interpreter the program
			// recognises by itself is recognised at its first sample in
			// it. Described from here, a child that has exec'd another
			// python by the time its fork record is read would get its
			// parent's addresses, and no stack until its mapping records
			// are read.
			if _, ok := p.procs[r.PID]; !ok {
				child := *parent.proc
				child.PID = r.PID
				p.addLocked(&child, nil, r.Time)
			}
		}
	case *loader.Exit:
		if r.PID == r.TID && p.reader != nil {
			// The BPF program's entry for the process goes (its table is
			// bounded); the names of its code objects stay for the stacks
			// still in the ring, until exited forgets them.
			p.reader.RemoveProcess(r.PID)
		}
		p.exited(r)
	case *loader.Comm:
		if !r.Exec {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		// Records come in per-CPU order: a mapping of the new image may
		// have been seen before this exec. Keep an interpreter found after it.
		// The program forgets it at the exec itself when its exec
		// tracepoint is attached; then a description present now is of
		// the new image.
		if pr, ok := p.procs[r.PID]; ok && pr.since < r.Time {
			if p.reader.exec == nil {
				p.reader.RemoveProcess(r.PID)
			}
			pr.codes.Close()
			delete(p.procs, r.PID)
		}
	}
}

// consume names each Python stack as it arrives, while its process still
// lives to be read.
func (p *Frames) consume() {
	defer close(p.consumed)
	for st := range p.reader.Stacks() {
		if st.Code != nil {
			p.rememberEarly(st.Code)
			continue
		}
		pr := p.fromKernel(st)
		if pr == nil || len(st.Frames) == 0 {
			continue
		}
		segs, named := pr.resolve(st)
		p.mu.Lock()
		p.resolved++
		if !named {
			p.unnamed++
		}
		p.mu.Unlock()
		p.stacks.Add(st.TID, st.Time, pyResolved{truncated: st.Truncated, segments: segs})
	}
}

// Detach drains the Python stacks and reports what could not be read.
func (p *Frames) Detach() error {
	<-p.loaded
	if p.reader == nil || p.consumed == nil {
		return nil
	}
	p.reader.Stop()
	<-p.consumed
	st := p.reader.Stats()
	err := p.reader.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats = st
	p.stacks.Sort()
	for _, pr := range p.procs {
		pr.codes.Close()
	}
	if st.RingFull > 0 {
		p.note("%d Python stacks were lost (ring full); those samples show native frames only", st.RingFull)
	}
	if st.Samples > 0 && st.ReadErr*20 > st.Samples {
		p.note("%d of %d Python stacks were cut short: interpreter memory could not be read in the sampling interrupt (paged out)",
			st.ReadErr, st.Samples)
	}
	if p.resolved > 0 && p.unnamed*100 > p.resolved {
		p.note("%d of %d Python stacks hold code objects that could not be named (the process had ended or freed them)",
			p.unnamed, p.resolved)
	}
	return err
}

// Merge replaces the eval-loop frames of the stack of a sample of thread
// tid at time with the Python stack read with it (loader.ByThread.Take).
// Samples come in time order.
func (p *Frames) Merge(tid int, time uint64, stack []symbolize.Frame) []symbolize.Frame {
	res, ok := p.stacks.Take(tid, time)
	if !ok {
		return stack
	}
	return mergeUser(stack, res.segments)
}

// mergeUser merges Python frames into the user part of a stack whose
// kernel frames come first.
func mergeUser(stack []symbolize.Frame, segments [][]symbolize.Frame) []symbolize.Frame {
	k := 0
	for k < len(stack) && stack[k].Kind == symbolize.Kernel {
		k++
	}
	merged := MergeFrames(stack[k:], segments)
	return append(stack[:k:k], merged...)
}
