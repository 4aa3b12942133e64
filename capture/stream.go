package capture

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/tracer-dev/tracer/loader"
)

// Stream is the transition capture of one tracer session: the capture
// program loaded ahead (NewStream), the processes of the target it is
// attached to, and the batches it reads, handed one at a time to a handler
// through a bounded queue.
//
// For `tracer run` the command and its children are followed through their
// execs (Capture.Follow): the kernel stops each at exec until its uprobe is
// placed, so no batch is missed however short the program. Where that is
// not possible, the uprobe is placed before the exec when the command names
// the interpreter (ResolveCommand), and the process tree is polled. The
// samplers' mmap records are a last way (ObserveMapping).
type Stream struct {
	cfg  StreamConfig
	prep *preparation // the capture loaded ahead of Start

	capture *Capture
	cancel  context.CancelFunc
	rctx    context.Context // ended by Stop
	done    chan struct{}   // closed when every captured batch has been handled
	readErr error
	workErr error
	closed  chan error // the result of closing the capture, after Stop
	queue   *batchQueue

	running   bool       // tracer attach: the process was already running
	probeFile *probeFile // TRACER_PROBE_FILE as a sink (UseProbeFile)

	host     chan int      // host-wide mode: pids whose uprobes to release (host.go)
	hostDone chan struct{} // closed when the releasing goroutine has ended

	mu       sync.Mutex
	attached map[int]bool // pids with an interpreter attached
	warned   map[string]bool
}

// StreamConfig configures a Stream.
type StreamConfig struct {
	// Command is the command line of a run (argv[0] resolved through PATH),
	// used to place the uprobe before the exec; nil for attach.
	Command []string
	// RingBytes is the size of the capture ring; 0 means the default.
	RingBytes uint32
	// Note prints a one-line remark; it is called without the Stream's
	// lock held.
	Note func(format string, args ...any)
}

// NewStream starts loading the capture program (see preparation).
func NewStream(cfg StreamConfig) *Stream {
	if cfg.Note == nil {
		cfg.Note = func(string, ...any) {}
	}
	return &Stream{
		cfg: cfg, attached: map[int]bool{}, warned: map[string]bool{},
		prep: prepareCapture(cfg.Command, cfg.RingBytes),
	}
}

// Start places the uprobes it can place now on the target pid (running:
// tracer attach, the process was already running) and starts reading
// batches, each handed to handle on another goroutine, one at a time. When
// the kernel lacks what the capture needs it returns an error wrapping
// loader.ErrFeature before starting anything. After any other error, Stop
// still releases what was started.
func (s *Stream) Start(pid int, running bool, handle func(Batch) error) error {
	if err := s.begin(handle); err != nil {
		return err
	}
	c := s.capture
	if running {
		s.running = true
		ts, err := c.AttachProcess(pid)
		switch {
		case errors.Is(err, ErrNoInterpreter):
			s.cfg.Note("pid %d is neither CPython nor Node: sampling goes on, with transitions only from interpreters it starts", pid)
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH):
			// The process ended while tracer attached: the session
			// reports its exit like any other.
		case err != nil:
			return fmt.Errorf("transition capture: %w", err)
		default:
			s.markAttached(pid, ts)
		}
		s.followAttached(c, pid)
		return nil
	}
	s.addProbeFileSink(c)
	// Follow the command and its children through their execs: each is
	// stopped at exec until its uprobe is in place.
	ferr := c.Follow(pid, true, func(pid int, ts []Target) { s.markAttached(pid, ts) })
	if ferr == nil {
		return nil
	}
	s.cfg.Note("cannot follow execs (%v): transitions written in the first milliseconds of a process may be missed", ferr)
	if len(s.cfg.Command) > 0 {
		ts := ResolveCommand(s.cfg.Command[0], os.Getenv("PATH"))
		for _, x := range ts {
			if err := c.AttachTarget(pid, x); err != nil {
				return fmt.Errorf("transition capture: %w", err)
			}
		}
		s.markAttached(pid, ts)
	}
	go s.watchTree(s.rctx, pid)
	return nil
}

// begin takes the capture loaded ahead and starts reading its batches.
func (s *Stream) begin(handle func(Batch) error) error {
	<-s.prep.done
	if err := s.prep.featureErr; err != nil {
		return err
	}
	if s.prep.err != nil {
		return s.prep.err
	}
	c := s.prep.capture
	s.prep.capture = nil // the stream owns it now: Stop closes it
	if c == nil {
		return errors.New("transition capture: attached twice")
	}
	s.capture = c
	rctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.rctx = cancel, rctx
	s.done = make(chan struct{})
	q := newBatchQueue(QueueBytes)
	s.queue = q
	go func() {
		defer q.close()
		s.readErr = c.Read(rctx, q.push)
	}()
	go func() {
		defer close(s.done)
		s.workErr = q.drain(handle)
	}()
	return nil
}

// Started says whether Start started reading.
func (s *Stream) Started() bool { return s.capture != nil }

// ObserveMapping attaches to an interpreter file as the target (or a
// child) maps it.
func (s *Stream) ObserveMapping(m *loader.Mmap) {
	if s.capture == nil || !strings.HasPrefix(m.Path, "/") {
		return
	}
	_, ok, err := s.capture.AttachMapping(m.PID, m.Path)
	s.mu.Lock()
	switch {
	case err != nil:
		if !s.warned[m.Path] {
			s.warned[m.Path] = true
			s.mu.Unlock()
			s.cfg.Note("cannot capture transitions of pid %d from %s: %v", m.PID, m.Path, err)
			return
		}
	case ok:
		s.attached[m.PID] = true
	}
	s.mu.Unlock()
}

// Stop stops reading once the ring is drained and every batch handled,
// and starts closing the capture (removing a uprobe waits for an RCU grace
// period, about 100 ms here: it overlaps with what the session does next;
// Wait waits for it). It returns the capture's counters and the first
// error of reading, handling and counting.
func (s *Stream) Stop() (CaptureStats, error) {
	if s.capture == nil {
		return CaptureStats{}, nil
	}
	s.cancel()
	<-s.done
	if s.hostDone != nil {
		<-s.hostDone
	}
	st, serr := s.capture.Stats()
	c := s.capture
	s.closed = make(chan error, 1)
	go func() { s.closed <- c.Close() }()
	s.capture = nil
	for _, err := range []error{s.readErr, s.workErr, serr} {
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// Wait waits until the capture closed after Stop has finished closing (its
// uprobes removed), and returns the error of closing it.
func (s *Stream) Wait() error {
	if s.closed == nil {
		return nil
	}
	err := <-s.closed
	s.closed <- err
	return err
}

// Running says whether the target was already running (tracer attach).
func (s *Stream) Running() bool { return s.running }

// AnyAttached says whether an interpreter of the target was attached.
func (s *Stream) AnyAttached() bool { return s.anyAttached() }

// QueueWaits counts the batches the reader had to hold back because the
// handler was QueueBytes behind.
func (s *Stream) QueueWaits() uint64 {
	if s.queue == nil {
		return 0
	}
	return s.queue.waited()
}
