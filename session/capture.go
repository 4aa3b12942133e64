package session

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/tracer-dev/tracer/capture"
	"github.com/tracer-dev/tracer/capture/hooks"
	"github.com/tracer-dev/tracer/internal/usage"
	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/model"
)

// Transitions is the Plugin that captures every transition the traced
// program reports through its probe binding, in the kernel: uprobes on the
// interpreter's write path (capture.Stream) copy the binding's batches into
// a ring. As batches arrive it writes the records to the --trace file,
// feeds them to the model's checker (live: a divergence is known while the
// program still runs), and matches each step's [t0, t1] window on its thread
// with the samples as both arrive (correlate.go), so that Decorate can label
// every sample with the step it fell in. Report prints the per-action table
// and the verdict. Its memory is bounded however long the run: it keeps the
// steps that hold a sample and those of the last seconds, step durations in
// fixed histograms, and at most capture.QueueBytes of batches waiting for
// the check.
type Transitions struct {
	cfg    TransitionsConfig
	cred   *loader.Credential // owner of the trace files
	log    io.Writer
	stream *capture.Stream

	mu      sync.Mutex
	procs   map[streamID]*traceProc // by stream, in order of first batch
	order   []streamID
	notes   []string
	muted   map[string]int // notes of a kind printed so far (see noteCapped)
	corr    *correlator
	steps   []tidWindow // the windows of the batch being handled
	actions actionStats
	decoded bool // any record decoded

	stats capture.CaptureStats
	hooks *hooks.Install // the --transition hooks of a run, until Detach
}

// TransitionsConfig configures the Transitions plugin.
type TransitionsConfig struct {
	Relation model.Relation
	// Trace is the trace-format JSONL file to write (--trace); "" means none.
	// Records of a second process go to Trace with ".PID" before the
	// extension.
	Trace string
	// Command is the command line of a run (argv[0] resolved through PATH),
	// used to place the uprobe before the exec; nil for attach.
	Command []string
	// Log receives one-line notes and the report; nil means os.Stderr.
	Log io.Writer
	// CaptureRingBytes is the size of the capture's ring buffer, a power
	// of two of at least a page; 0 means the default (8 MiB, see
	// capture.CaptureOptions).
	CaptureRingBytes uint32
	// Hook, when set, injects the --transition hooks into the command
	// (capture/hooks): programs that do not use the binding are observed.
	Hook *hooks.Spec
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

// streamID names one stream of records: the batches one Probe of process
// pid wrote to its descriptor fd on the binding's sink.
type streamID struct{ pid, fd int }

// traceProc is what the plugin keeps for one stream of batches (one Probe
// of a process).
type traceProc struct {
	pid     int
	fd      int
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
	t := &Transitions{
		cfg: cfg, log: log,
		procs: map[streamID]*traceProc{},
		muted: map[string]int{}, corr: newCorrelator(), actions: actionStats{},
	}
	t.stream = capture.NewStream(capture.StreamConfig{Command: cfg.Command, RingBytes: cfg.CaptureRingBytes, Note: t.noteLocking})
	return t
}

// noteLocking prints a note from outside t.mu.
func (t *Transitions) noteLocking(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.note(format, args...)
}

// Close frees the capture program of a plugin that was never attached (a
// session that ended before it started tracing); after Attach it does
// nothing.
func (t *Transitions) Close() error {
	t.hooks.Close()
	return t.stream.Close()
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

// Attach places the uprobes it can place now and starts reading batches.
func (t *Transitions) Attach(ctx context.Context, tg Target) error {
	t.cred = tg.Cred
	if !tg.Attach {
		t.stream.UseProbeFile(os.Environ(), tg.Cred)
	}
	var err error
	if tg.All {
		err = t.stream.StartAll(t.batch)
	} else {
		err = t.stream.Start(tg.PID, tg.Attach, t.batch)
	}
	switch {
	case errors.Is(err, loader.ErrFeature):
		if t.cfg.Trace != "" {
			return usage.Errorf("cannot write --trace %s: %v", t.cfg.Trace, err)
		}
		t.noteLocking("no transition capture (%v); sampling goes on without transitions", err)
		return nil
	case err != nil && t.stream.Started():
		t.Detach()
		return err
	}
	return err
}

// Observe labels samples with the steps that hold them, and attaches to
// interpreter files as the target (or a child) maps them.
func (t *Transitions) Observe(rec loader.Record) {
	switch r := rec.(type) {
	case *loader.Sample:
		t.observeSample(r)
	case *loader.Mmap:
		t.stream.ObserveMapping(r)
	case *loader.Exit:
		if r.PID == r.TID {
			t.stream.Exited(r.PID)
		}
	}
}

// batch handles one captured batch: trace file, live check, step windows.
func (t *Transitions) batch(b capture.Batch) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	id := streamID{b.PID, b.FD}
	fresh := t.procs[id] == nil
	p, err := t.proc(id)
	if err != nil {
		return err
	}
	if fresh && !t.stream.Running() && b.Number > 1 {
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

// proc returns the state of a stream, creating it (and its trace file) at
// its first batch. The first stream's trace is the --trace file; another
// process's first stream is written beside it with ".PID" before the
// extension, and a process's further streams (several Probes) with
// ".PID-FD".
func (t *Transitions) proc(id streamID) (*traceProc, error) {
	if p := t.procs[id]; p != nil {
		return p, nil
	}
	pid := id.pid
	p := &traceProc{pid: pid, fd: id.fd, checker: model.NewChecker(t.cfg.Relation)}
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
			suffix := fmt.Sprint(pid)
			for _, o := range t.order {
				if o.pid == pid {
					suffix = fmt.Sprintf("%d-%d", pid, id.fd)
					break
				}
			}
			p.path = fmt.Sprintf("%s.%s%s", strings.TrimSuffix(p.path, ext), suffix, ext)
			t.note("pid %d also reports transitions: its trace is %s", pid, p.path)
		}
		f, err := createStream(p.path, t.cred)
		if err != nil {
			return nil, fmt.Errorf("create trace file: %w", err)
		}
		p.file, p.w = f, bufio.NewWriterSize(f, 256*1024)
	}
	t.procs[id] = p
	t.order = append(t.order, id)
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
	if !t.stream.Started() {
		t.corr.finish()
		t.hooks.Close()
		return nil
	}
	// Removing a uprobe waits for an RCU grace period, about 100 ms here:
	// it overlaps with symbolizing and writing the outputs.
	st, serr := t.stream.Stop()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stats = st
	var first error
	for _, id := range t.order {
		p := t.procs[id]
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
	for _, id := range t.order {
		p := t.procs[id]
		if p.bad > 0 {
			t.note("pid %d: %d records could not be decoded (first: %s)", id.pid, p.bad, p.firstEr)
		} else if p.inputs > 0 {
			t.note("pid %d: %d records were out of place (first: %s)", id.pid, p.inputs, p.firstEr)
		}
	}
	attachMode := t.stream.Running()
	// Transitions are spoken of only when they were asked for (--trace,
	// --transition) or the program reported some.
	asked := t.cfg.Trace != "" || t.cfg.Hook != nil
	whyNone := t.hookNotes()
	switch {
	case !asked || len(t.order) > 0:
	case !t.stream.AnyAttached() && !attachMode:
		t.note("the target ran neither CPython nor Node: no transitions were captured, only samples")
	case st.RingFull > 0:
		t.note("no transitions were captured: all %d batches the program wrote were lost because the capture ring was full", st.RingFull)
	case whyNone != "":
		t.note("no transitions were captured: %s", whyNone)
	case t.cfg.Hook == nil:
		t.note("no transitions were captured: the program wrote no probe batches (give --transition NAME to observe its transition function, or use probe/python/tracer_probe.py or probe/node/tracer_probe.js without TRACER_PROBE_FILE)")
	default:
		t.note("no transitions were captured: the hook recorded steps but no batch reached tracer")
	}
	if err := t.writeEmptyTrace(); err != nil && first == nil {
		first = fmt.Errorf("write trace %s: %w", t.cfg.Trace, err)
	}
	if st.Lost() || (st.MissedAtStart > 0 && !attachMode) {
		// (an attach misses the batches before it by design)
		t.note("transition capture: %s", st)
	}
	if w := t.stream.QueueWaits(); w > 0 && st.RingFull > 0 {
		t.note("the live check fell behind the program %d times, with %d MiB of batches waiting: the capture ring absorbed the rest until it was full", w, capture.QueueBytes>>20)
	}
	t.corr.finish()
	if first == nil {
		first = serr
	}
	return first
}

// Wait waits until the capture closed after Detach has finished closing
// (its uprobes removed), and returns the error of closing it.
func (t *Transitions) Wait() error { return t.stream.Wait() }

// CaptureStats returns the capture's counters (after Detach).
func (t *Transitions) CaptureStats() capture.CaptureStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}

// AddRunning attaches to a process already running (the host-wide mode).
func (t *Transitions) AddRunning(pid int) {
	if err := t.stream.AttachRunning(pid); err != nil {
		t.noteLocking("%v", err)
	}
}
