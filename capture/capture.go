package capture

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"

	"github.com/tracer-dev/tracer/bpf"
	"github.com/tracer-dev/tracer/loader"
)

// Capture owns the transition capture: the BPF objects of bpf/capture.bpf.c,
// the per-pid uprobes on the interpreters' write paths, and the ring-buffer
// reader that turns what they copy into Batches.
//
// One Capture serves a whole session; attach each target pid (and children)
// with AttachProcess, AttachMapping or AttachTarget. All methods are safe for
// concurrent use; Read must be called from one goroutine.
type Capture struct {
	objs   bpf.CaptureObjects
	reader *ringbuf.Reader

	mu     sync.Mutex
	links  map[int][]attached // by pid
	follow *follower          // set by Follow
	last   map[int]uint32     // last batch number seen, by pid

	lostBatches   atomic.Uint64
	missedAtStart atomic.Uint64
	badFrames     atomic.Uint64
	droppedBytes  atomic.Uint64
	closeOnce     sync.Once
}

type attached struct {
	target Target
	link   link.Link
}

// CaptureOptions tunes a Capture. The zero value is the default.
type CaptureOptions struct {
	// RingBytes is the size of the ring buffer: a power of two, a multiple of
	// the page size. 0 means 64 MiB: 1024 full batches, about a second of a
	// program that does nothing but report steps, should the reader be
	// held up that long on a busy machine.
	RingBytes uint32
}

// Batch is one batch the binding wrote, as the uprobe captured it.
type Batch struct {
	PID, TID  int
	Time      uint64 // CLOCK_MONOTONIC ns of the write
	Number    uint32 // batch number from the frame
	Gap       uint32 // batches of this pid not seen just before this one
	Payload   []byte // whole JSONL records; valid only during the callback
	Truncated bool   // the write was longer than 64 KiB: only its first records are here
}

// NewCapture loads the capture program. It needs CAP_BPF and CAP_PERFMON.
func NewCapture(opts CaptureOptions) (*Capture, error) {
	spec, err := bpf.LoadCapture()
	if err != nil {
		return nil, fmt.Errorf("load capture spec: %w", err)
	}
	if opts.RingBytes == 0 {
		opts.RingBytes = 64 << 20
	}
	spec.Maps[bpf.CaptureMapBatches].MaxEntries = opts.RingBytes
	c := &Capture{links: map[int][]attached{}, last: map[int]uint32{}}
	if err := loader.LoadCollection(spec, &c.objs); err != nil {
		return nil, fmt.Errorf("load capture program: %w", verifierTail(err))
	}
	c.reader, err = ringbuf.NewReader(c.objs.Batches)
	if err != nil {
		c.objs.Close()
		return nil, fmt.Errorf("open capture ring: %w", err)
	}
	return c, nil
}

// verifierTail shortens a verifier error to the end of its log.
func verifierTail(err error) error {
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) && len(ve.Log) > 0 {
		n := min(len(ve.Log), 8)
		return fmt.Errorf("%w (verifier: %v)", err, ve.Log[len(ve.Log)-n:])
	}
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w: run as root or grant CAP_BPF and CAP_PERFMON", err)
	}
	return err
}

// AttachProcess finds the interpreter in /proc/PID/maps and attaches to it. It
// returns ErrNoInterpreter when the process is neither CPython nor Node.
func (c *Capture) AttachProcess(pid int) ([]Target, error) {
	ts, err := FindTargets(pid)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if err := c.AttachTarget(pid, t); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

// AttachMapping attaches to path when it is an interpreter file newly mapped
// into pid (a PERF_RECORD_MMAP2 of an executable mapping). ok is false when
// path is not an interpreter.
func (c *Capture) AttachMapping(pid int, path string) (t Target, ok bool, err error) {
	t, ok = TargetForFile(path)
	if !ok {
		if _, err := os.Stat(path); err != nil {
			t, ok = TargetForFile(fmt.Sprintf("/proc/%d/root%s", pid, path))
		}
	}
	if !ok {
		return Target{}, false, nil
	}
	return t, true, c.AttachTarget(pid, t)
}

// AttachTarget puts the uprobe for t on pid. The uprobe is bound to the pid's
// address space, now and after an exec, so it may be placed before the process
// maps the file. Attaching the same target twice is a no-op.
func (c *Capture) AttachTarget(pid int, t Target) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.links[pid] {
		if a.target == t {
			return nil
		}
	}
	prog := c.objs.PyWrite
	if t.Interp == Node {
		prog = c.objs.UvFsWrite
	}
	ex, err := link.OpenExecutable(t.Path)
	if err != nil {
		return fmt.Errorf("open %s: %w", t.Path, err)
	}
	l, err := ex.Uprobe(t.Symbol, prog, &link.UprobeOptions{PID: pid, Address: t.Offset})
	if err != nil {
		return fmt.Errorf("attach uprobe %s to pid %d: %w", t, pid, verifierTail(err))
	}
	c.links[pid] = append(c.links[pid], attached{t, l})
	return nil
}

// Attached returns the targets attached for pid.
func (c *Capture) Attached(pid int) []Target {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Target
	for _, a := range c.links[pid] {
		out = append(out, a.target)
	}
	return out
}

// Detach removes pid's uprobes (when the process has exited).
func (c *Capture) Detach(pid int) error {
	c.mu.Lock()
	ls := c.links[pid]
	delete(c.links, pid)
	c.mu.Unlock()
	var first error
	for _, a := range ls {
		if err := a.link.Close(); err != nil && first == nil {
			first = fmt.Errorf("detach %s from pid %d: %w", a.target, pid, err)
		}
	}
	return first
}

// Read delivers batches to fn as they arrive until ctx is done, then drains
// what is already in the ring and returns nil. An error from fn stops Read and
// is returned. Undecodable records are counted (Stats.BadFrames), not returned.
func (c *Capture) Read(ctx context.Context, fn func(Batch) error) error {
	stop := context.AfterFunc(ctx, func() { c.reader.Flush() })
	defer stop()
	var rec ringbuf.Record
	for {
		err := c.reader.ReadInto(&rec)
		switch {
		case errors.Is(err, ringbuf.ErrFlushed):
			// Everything in the ring when ctx ended has been read.
			return nil
		case errors.Is(err, ringbuf.ErrClosed):
			return nil
		case err != nil:
			return fmt.Errorf("read capture ring: %w", err)
		}
		b, ok := c.decode(rec.RawSample)
		if !ok {
			continue
		}
		if err := fn(b); err != nil {
			return err
		}
	}
}

// decode turns one ring record into a Batch, counting what is wrong with it.
func (c *Capture) decode(raw []byte) (Batch, bool) {
	h, data, err := parseCaptureRecord(raw)
	if err != nil {
		c.badFrames.Add(1)
		return Batch{}, false
	}
	b := Batch{PID: int(h.Pid), TID: int(h.Tid), Time: h.Ktime}
	var f Frame
	if h.Flags&batchTruncated != 0 {
		var dropped uint64
		f, dropped, err = ParseTruncatedFrame(data, uint64(h.Count))
		b.Truncated = true
		c.droppedBytes.Add(dropped)
	} else {
		f, err = ParseFrame(data)
	}
	if err != nil {
		c.badFrames.Add(1)
		return Batch{}, false
	}
	b.Number, b.Payload = f.Number, f.Payload

	c.mu.Lock()
	last, seen := c.last[b.PID]
	c.last[b.PID] = b.Number
	c.mu.Unlock()
	switch {
	case !seen:
		c.missedAtStart.Add(uint64(b.Number) - 1)
	case b.Number > last+1:
		b.Gap = b.Number - last - 1
		c.lostBatches.Add(uint64(b.Gap))
	}
	// b.Number <= last: a new Probe (or a new image after exec) started over.
	return b, true
}

// CaptureStats counts what the capture saw and everything it failed to see.
type CaptureStats struct {
	Hits          uint64 // uprobe hits: batches and ordinary writes
	Batches       uint64 // batches copied into the ring
	Truncated     uint64 // batches longer than 64 KiB, cut to their first records
	Malformed     uint64 // writes with the magic but the wrong length
	RingFull      uint64 // batches lost because the ring was full
	ReadFail      uint64 // writes whose memory could not be read
	BadFrames     uint64 // records the reader could not decode
	LostBatches   uint64 // batch numbers skipped between two seen batches
	MissedAtStart uint64 // batch numbers before the first seen one, summed over pids
	DroppedBytes  uint64 // payload bytes lost from truncated batches
	ExecLost      uint64 // execs of followed processes not seen (exec ring full)
	Execs         uint64 // execs of followed processes handled
	AttachErrors  uint64 // uprobes that could not be placed at an exec
}

// Lost reports whether any batch or part of one was lost or rejected
// (MissedAtStart excluded: an attach mid-run misses the start by design).
func (s CaptureStats) Lost() bool {
	return s.Truncated+s.Malformed+s.RingFull+s.ReadFail+s.BadFrames+s.LostBatches+s.ExecLost+s.AttachErrors > 0
}

func (s CaptureStats) String() string {
	return fmt.Sprintf("%d batches captured (%d uprobe hits, %d execs followed); lost: %d ring full, %d gaps, %d missed at start, %d execs unseen, %d attach errors; rejected: %d truncated, %d malformed, %d unreadable, %d undecodable",
		s.Batches, s.Hits, s.Execs, s.RingFull, s.LostBatches, s.MissedAtStart, s.ExecLost, s.AttachErrors, s.Truncated, s.Malformed, s.ReadFail, s.BadFrames)
}

// Stats sums the kernel's per-CPU counters and the reader's own.
func (c *Capture) Stats() (CaptureStats, error) {
	var k [ctrMax]uint64
	for i := range k {
		var per []uint64
		if err := c.objs.Counters.Lookup(uint32(i), &per); err != nil {
			var execs, attachErrs uint64
			c.mu.Lock()
			if f := c.follow; f != nil {
				execs, attachErrs = f.execs.Load(), f.attachErrs.Load()
			}
			c.mu.Unlock()
			return CaptureStats{
				Execs:        execs,
				AttachErrors: attachErrs}, fmt.Errorf("read capture counters: %w", err)
		}
		for _, v := range per {
			k[i] += v
		}
	}
	var execs, attachErrs uint64
	c.mu.Lock()
	if f := c.follow; f != nil {
		execs, attachErrs = f.execs.Load(), f.attachErrs.Load()
	}
	c.mu.Unlock()
	return CaptureStats{
		Execs:         execs,
		AttachErrors:  attachErrs,
		Hits:          k[ctrHits],
		Batches:       k[ctrBatches],
		Truncated:     k[ctrTruncated],
		Malformed:     k[ctrMalformed],
		RingFull:      k[ctrRingFull],
		ReadFail:      k[ctrReadFail],
		ExecLost:      k[ctrExecLost],
		BadFrames:     c.badFrames.Load(),
		LostBatches:   c.lostBatches.Load(),
		MissedAtStart: c.missedAtStart.Load(),
		DroppedBytes:  c.droppedBytes.Load(),
	}, nil
}

// Close detaches every uprobe, then closes the reader and the objects, and
// returns the first error.
func (c *Capture) Close() error {
	var first error
	c.closeOnce.Do(func() {
		c.mu.Lock()
		f := c.follow
		c.mu.Unlock()
		if f != nil {
			if err := f.stop(); err != nil && first == nil {
				first = fmt.Errorf("close exec ring: %w", err)
			}
		}
		// Every uprobe at once, the waiting left to a helper process
		// (release.go).
		c.mu.Lock()
		var links []link.Link
		for pid, ls := range c.links {
			for _, a := range ls {
				links = append(links, a.link)
			}
			delete(c.links, pid)
		}
		c.mu.Unlock()
		if err := loader.CloseLinks(links); err != nil && first == nil {
			first = fmt.Errorf("detach uprobes: %w", err)
		}
		if err := c.reader.Close(); err != nil && first == nil {
			first = fmt.Errorf("close capture ring: %w", err)
		}
		if err := c.objs.Close(); err != nil && first == nil {
			first = fmt.Errorf("close capture objects: %w", err)
		}
	})
	return first
}
