package session

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/model"
)

// Transitions is the Plugin that captures every transition the traced
// program reports through its probe binding, in the kernel: uprobes on the
// interpreter's write path (loader.Capture) copy the binding's batches into
// a ring. As batches arrive it writes the records to the --trace file,
// feeds them to the model's checker (live: a divergence is known while the
// program still runs), and matches each step's [t0, t1] window on its thread
// with the samples as both arrive (correlate.go), so that Decorate can label
// every sample with the step it fell in. Report prints the per-action table
// and the verdict. Its memory is bounded however long the run: it keeps the
// steps that hold a sample and those of the last seconds, step durations in
// fixed histograms, and at most queueBytes of batches waiting for the check.
//
// For `tracer run` the command and its children are followed through their
// execs (loader.Capture.Follow): the kernel stops each at exec until its
// uprobe is placed, so no batch is missed however short the program. Where
// that is not possible, the uprobe is placed before the exec when the
// command names the interpreter (loader.ResolveCommand), and the process
// tree is polled. The samplers' mmap records are a last way (Observe).
type Transitions struct {
	cfg  TransitionsConfig
	cred *loader.Credential // owner of the trace files
	log  io.Writer

	prep    *preparation // the capture loaded ahead of Attach
	capture *loader.Capture
	cancel  context.CancelFunc
	done    chan struct{} // closed when every captured batch has been handled
	readErr error
	workErr error
	closed  chan error // the result of closing the capture, after Detach

	attachMode bool // tracer attach: the process was already running

	mu       sync.Mutex
	procs    map[int]*traceProc // by pid, in order of first batch
	order    []int
	attached map[int]bool // pids with an interpreter attached
	warned   map[string]bool
	notes    []string
	muted    map[string]int // notes of a kind printed so far (see noteCapped)
	corr     *correlator
	steps    []tidWindow // the windows of the batch being handled
	actions  actionStats
	decoded  bool // any record decoded
	queue    *batchQueue

	stats loader.CaptureStats
}

// TransitionsConfig configures the Transitions plugin.
type TransitionsConfig struct {
	Relation model.Relation
	// Trace is the contract-1 JSONL file to write (--trace); "" means none.
	// Records of a second process go to Trace with ".PID" before the
	// extension.
	Trace string
	// Command is the command line of a run (argv[0] resolved through PATH),
	// used to place the uprobe before the exec; nil for attach.
	Command []string
	// Log receives one-line notes and the report; nil means os.Stderr.
	Log io.Writer
	// Sink, when set, sees every checked step and every divergence as the
	// live check finds them (a continuous export).
	Sink StepSink
}

// StepSink receives the live check's steps and divergences. Its methods run
// on the checking path and must be quick.
type StepSink interface {
	Step(pid int, action model.ActionType, nanos uint64)
	Divergence(pid int, d *model.Divergence)
}

// traceProc is what the plugin keeps for one process that wrote batches.
type traceProc struct {
	pid     int
	checker *model.Checker
	file    *streamFile
	w       *bufio.Writer
	path    string
	in      batchReader    // the payload being decoded
	dec     *model.Decoder // reads in; counts lines across batches
	rec     model.Record   // reused for every record
	inputs  uint64
	bad     uint64 // records that did not decode
	firstEr string
	live    bool // the first divergence was announced
}

// batchReader hands one payload at a time to a Decoder: io.EOF at the end
// of each, which always falls at the end of a record.
type batchReader struct{ b []byte }

func (r *batchReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// NewTransitions returns the transitions plugin.
func NewTransitions(cfg TransitionsConfig) *Transitions {
	log := cfg.Log
	if log == nil {
		log = os.Stderr
	}
	return &Transitions{
		cfg: cfg, log: log,
		procs: map[int]*traceProc{}, attached: map[int]bool{}, warned: map[string]bool{},
		muted: map[string]int{}, corr: newCorrelator(), actions: actionStats{},
		prep: prepareCapture(cfg.Command),
	}
}

func (t *Transitions) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	t.notes = append(t.notes, msg)
	fmt.Fprintln(t.log, "tracer:", msg)
}

// maxNotesOfKind bounds the notes of one kind (a lost batch, a truncated
// one), which a long run may otherwise print thousands of: the capture line
// of the report counts them all.
const maxNotesOfKind = 10

// noteCapped prints a note of a kind at most maxNotesOfKind times, then
// once a line saying that the rest are only counted.
func (t *Transitions) noteCapped(kind, format string, args ...any) {
	n := t.muted[kind]
	t.muted[kind] = n + 1
	switch {
	case n < maxNotesOfKind:
		t.note(format, args...)
	case n == maxNotesOfKind:
		t.note("more %s: not listed, counted in the capture line of the report", kind)
	}
}

// Notes returns the remarks printed so far.
func (t *Transitions) Notes() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.notes...)
}

// Outputs names the --trace file, so that the session checks it can be
// written before tracing starts.
func (t *Transitions) Outputs() []OutputFile {
	if t.cfg.Trace == "" {
		return nil
	}
	return []OutputFile{{Flag: "--trace", Path: t.cfg.Trace}}
}

// Attach loads the capture program, places the uprobes it can place now and
// starts reading batches.
func (t *Transitions) Attach(ctx context.Context, tg Target) error {
	<-t.prep.done
	if err := t.prep.featureErr; err != nil {
		if !errors.Is(err, loader.ErrFeature) {
			return err
		}
		if t.cfg.Trace != "" {
			return usageErr{fmt.Sprintf("cannot write --trace %s: %v", t.cfg.Trace, err)}
		}
		t.mu.Lock()
		t.note("no transition capture (%v); sampling goes on without transitions", err)
		t.mu.Unlock()
		return nil
	}
	if t.prep.err != nil {
		return t.prep.err
	}
	c := t.prep.capture
	t.prep.capture = nil // the session owns it now: Detach closes it
	if c == nil {
		return errors.New("transition capture: attached twice")
	}
	t.capture = c
	t.cred = tg.Cred
	rctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	t.done = make(chan struct{})
	q := newBatchQueue(queueBytes)
	t.queue = q
	go func() {
		defer q.close()
		t.readErr = c.Read(rctx, q.push)
	}()
	go func() {
		defer close(t.done)
		t.workErr = q.drain(t.batch)
	}()

	if tg.Attach {
		t.attachMode = true
		ts, err := c.AttachProcess(tg.PID)
		switch {
		case errors.Is(err, loader.ErrNoInterpreter):
			t.mu.Lock()
			t.note("pid %d is neither CPython nor Node: sampling goes on, with transitions only from interpreters it starts", tg.PID)
			t.mu.Unlock()
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH):
			// The process ended while tracer attached: the session
			// reports its exit like any other.
		case err != nil:
			t.Detach()
			return fmt.Errorf("transition capture: %w", err)
		default:
			t.markAttached(tg.PID, ts)
		}
		t.followAttached(c, tg.PID)
		return nil
	}
	// Follow the command and its children through their execs: each is
	// stopped at exec until its uprobe is in place.
	ferr := c.Follow(tg.PID, true, func(pid int, ts []loader.Target) { t.markAttached(pid, ts) })
	if ferr == nil {
		return nil
	}
	t.mu.Lock()
	t.note("cannot follow execs (%v): transitions written in the first milliseconds of a process may be missed", ferr)
	t.mu.Unlock()
	if len(t.cfg.Command) > 0 {
		ts := loader.ResolveCommand(t.cfg.Command[0], os.Getenv("PATH"))
		for _, x := range ts {
			if err := c.AttachTarget(tg.PID, x); err != nil {
				t.Detach()
				return fmt.Errorf("transition capture: %w", err)
			}
		}
		t.markAttached(tg.PID, ts)
	}
	go t.watchTree(rctx, tg.PID)
	return nil
}

// Observe labels samples with the steps that hold them, and attaches to
// interpreter files as the target (or a child) maps them.
func (t *Transitions) Observe(rec loader.Record) {
	if s, ok := rec.(*loader.Sample); ok {
		t.observeSample(s)
		return
	}
	m, ok := rec.(*loader.Mmap)
	if !ok || t.capture == nil || !strings.HasPrefix(m.Path, "/") {
		return
	}
	tg, ok, err := t.capture.AttachMapping(m.PID, m.Path)
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case err != nil:
		if !t.warned[m.Path] {
			t.warned[m.Path] = true
			t.note("cannot capture transitions of pid %d from %s: %v", m.PID, m.Path, err)
		}
	case ok:
		t.attached[m.PID] = true
		_ = tg
	}
}

// batch handles one captured batch: trace file, live check, step windows.
func (t *Transitions) batch(b loader.Batch) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	fresh := t.procs[b.PID] == nil
	p, err := t.proc(b.PID)
	if err != nil {
		return err
	}
	if fresh && !t.attachMode && b.Number > 1 {
		// tracer run sees a program from its start: batches before the
		// first one captured were lost (an attach misses them by design).
		if err := p.lost(uint64(b.Number)-1, "batches before the first one captured"); err != nil {
			return err
		}
	}
	if b.Gap > 0 {
		t.noteCapped("batches not captured", "pid %d: %d batches were not captured before batch %d (their steps are reported as not observed)", b.PID, b.Gap, b.Number)
	}
	if b.Truncated {
		t.noteCapped("truncated batches", "pid %d: batch %d was longer than 64 KiB; only its first records were captured", b.PID, b.Number)
	}
	if b.Gap > 0 {
		if err := p.lost(uint64(b.Gap), "batches not captured"); err != nil {
			return err
		}
	}
	if err := p.writePayload(b.Payload); err != nil {
		return err
	}
	p.in.b = b.Payload
	for {
		err := p.dec.ReadInto(&p.rec)
		if errors.Is(err, io.EOF) {
			break
		}
		t.record(p, err)
	}
	if b.Truncated {
		if err := p.lost(1, "batch truncated"); err != nil {
			return err
		}
	}
	if len(t.steps) > 0 {
		t.corr.steps(t.steps)
		t.steps = t.steps[:0]
	}
	return nil
}

// proc returns the state of pid, creating it (and its trace file) at its
// first batch.
func (t *Transitions) proc(pid int) (*traceProc, error) {
	if p := t.procs[pid]; p != nil {
		return p, nil
	}
	p := &traceProc{pid: pid, checker: model.NewChecker(t.cfg.Relation)}
	if sink := t.cfg.Sink; sink != nil {
		p.checker.SetOnDivergence(func(d *model.Divergence) { sink.Divergence(pid, d) })
	}
	defer func() {
		name := p.path
		if name == "" {
			name = fmt.Sprintf("pid %d", pid)
		}
		p.dec = model.NewDecoder(&p.in, name)
	}()
	if t.cfg.Trace != "" {
		p.path = t.cfg.Trace
		if len(t.order) > 0 {
			ext := filepath.Ext(p.path)
			p.path = fmt.Sprintf("%s.%d%s", strings.TrimSuffix(p.path, ext), pid, ext)
			t.note("pid %d also reports transitions: its trace is %s", pid, p.path)
		}
		f, err := createStream(p.path, t.cred)
		if err != nil {
			return nil, fmt.Errorf("create trace file: %w", err)
		}
		p.file, p.w = f, bufio.NewWriterSize(f, 256*1024)
	}
	t.procs[pid] = p
	t.order = append(t.order, pid)
	return p, nil
}

// record checks and indexes the record just decoded into p.rec (err is the
// decoding error).
func (t *Transitions) record(p *traceProc, err error) {
	if err != nil {
		p.bad++
		if p.firstEr == "" {
			p.firstEr = err.Error()
		}
		p.checker.Reject(err) // counted in the verdict, as tracer check counts it
		return
	}
	rec := &p.rec
	if p.path == "" {
		rec.File = "" // the decoder's name for a pid without a trace file
	}
	t.decoded = true
	if err := p.checker.Feed(*rec); err != nil {
		p.inputs++
		if p.firstEr == "" {
			p.firstEr = err.Error()
		}
		return
	}
	if rec.Kind == model.KindStep {
		t.steps = append(t.steps, tidWindow{rec.TID, window{t0: rec.T0, t1: rec.T1, seq: rec.Seq, action: rec.Action.Type}})
		t.actions.add(rec.Action.Type, rec.T1-rec.T0)
		if t.cfg.Sink != nil {
			t.cfg.Sink.Step(p.pid, rec.Action.Type, rec.T1-rec.T0)
		}
	}
	if d := p.checker.FirstDivergence(); d != nil && !p.live {
		p.live = true
		t.note("divergence at step %d (%s) of pid %d, seen live; the report follows at the end", d.Seq, d.Action.Type, p.pid)
	}
}

// Detach stops reading once the ring is drained, detaches the uprobes,
// closes the trace files and reports what was lost.
func (t *Transitions) Detach() error {
	if t.capture == nil {
		t.corr.finish()
		return nil
	}
	t.cancel()
	<-t.done
	st, serr := t.capture.Stats()
	// Removing a uprobe waits for an RCU grace period, about 100 ms here:
	// let it overlap with symbolizing and writing the outputs. Nothing
	// reads the capture any more.
	c := t.capture
	t.closed = make(chan error, 1)
	go func() { t.closed <- c.Close() }()
	t.capture = nil
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stats = st
	var first error
	for _, pid := range t.order {
		p := t.procs[pid]
		if n, any := unattributedLoss(st); any {
			if err := p.lost(n, "capture lost batches of unknown processes"); err != nil && first == nil {
				first = err
			}
		}
		if p.w == nil {
			continue
		}
		if err := p.w.Flush(); err != nil && first == nil {
			first = fmt.Errorf("write trace %s: %w", p.path, err)
		}
		if err := p.file.Commit(); err != nil && first == nil {
			first = fmt.Errorf("close trace %s: %w", p.path, err)
		}
	}
	for _, pid := range t.order {
		p := t.procs[pid]
		if p.bad > 0 {
			t.note("pid %d: %d records could not be decoded (first: %s)", pid, p.bad, p.firstEr)
		} else if p.inputs > 0 {
			t.note("pid %d: %d records were out of place (first: %s)", pid, p.inputs, p.firstEr)
		}
	}
	if len(t.attached) == 0 && !t.attachMode {
		t.note("the target ran neither CPython nor Node: no transitions were captured, only samples")
	} else if len(t.order) == 0 && st.RingFull > 0 {
		t.note("no transitions were captured: all %d batches the program wrote were lost because the capture ring was full", st.RingFull)
	} else if len(t.order) == 0 {
		t.note("no transitions were captured: the program wrote no probe batches (is it using probe/python/tracer_probe.py or probe/node/tracer_probe.js, without TRACER_PROBE_FILE?)")
	}
	if st.Lost() || (st.MissedAtStart > 0 && !t.attachMode) {
		// (an attach misses the batches before it by design)
		t.note("transition capture: %s", st)
	}
	if w := t.queue.waited(); w > 0 && st.RingFull > 0 {
		t.note("the live check fell behind the program %d times, with %d MiB of batches waiting: the capture ring absorbed the rest until it was full", w, queueBytes>>20)
	}
	t.corr.finish()
	for _, err := range []error{t.readErr, t.workErr, serr} {
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Wait waits until the capture closed after Detach has finished closing
// (its uprobes removed), and returns the error of closing it.
func (t *Transitions) Wait() error {
	if t.closed == nil {
		return nil
	}
	err := <-t.closed
	t.closed <- err
	return err
}

// CaptureStats returns the capture's counters (after Detach).
func (t *Transitions) CaptureStats() loader.CaptureStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}
