package capture

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/tracer-dev/tracer/bpf"
	"github.com/tracer-dev/tracer/loader"
)

// Capture owns the transition capture: the BPF objects of bpf/capture.bpf.c,
// the uprobes on the interpreters' write paths (one per interpreter file,
// the writes of the tracked processes taken in BPF), and the ring-buffer
// reader that turns what they copy into Batches.
//
// One Capture serves a whole session; attach each target pid with
// AttachProcess, AttachMapping or AttachTarget (Follow adds the processes
// it starts). All methods are safe for
// concurrent use; Read must be called from one goroutine.
type Capture struct {
	objs   bpf.CaptureObjects
	reader *ringbuf.Reader // nil until the first batch (lazyring.go); under mu

	mu      sync.Mutex
	links   map[uprobeKey]attached // one uprobe per interpreter file
	targets map[int][]Target       // the targets attached for each pid
	follow  *follower              // set by Follow
	last    map[stream]uint32      // last batch number seen, by stream

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

// uprobeKey names one place a uprobe goes: a function in a file, the file
// by its identity (not its path, which may have changed since).
type uprobeKey struct {
	dev, ino uint64
	offset   uint64
}

// stream is one sequence of batch numbers: the batches one Probe writes,
// each to the descriptor it opened on its sink. Two Probes in one process
// are two streams; a descriptor reused after a Probe's close starts a new
// stream at batch 1.
type stream struct {
	pid, fd int
}

// CaptureOptions tunes a Capture. The zero value is the default.
type CaptureOptions struct {
	// RingBytes is the size of the ring buffer: a power of two, a multiple of
	// the page size. 0 means 8 MiB: 128 full batches, about 0.4 s of the
	// fastest reporter measured (the Python container, 80 000 steps/s,
	// 19 MB/s), should the reader be held up that long on a busy machine;
	// the reader's queue (16 MiB) absorbs a slow live check before it. The
	// ring is mapped twice into tracer, so it counts twice in its RSS.
	RingBytes uint32
}

// Batch is one batch the binding wrote, as the uprobe captured it.
type Batch struct {
	PID, TID  int
	FD        int    // the descriptor written to: with PID, the stream (one Probe)
	Time      uint64 // CLOCK_MONOTONIC ns of the write
	Number    uint32 // batch number from the frame
	Gap       uint32 // batches of this stream not seen just before this one
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
		opts.RingBytes = 8 << 20
	}
	spec.Maps[bpf.CaptureMapBatches].MaxEntries = opts.RingBytes
	c := &Capture{links: map[uprobeKey]attached{}, targets: map[int][]Target{}, last: map[stream]uint32{}}
	if err := loader.LoadCollection(spec, &c.objs); err != nil {
		return nil, fmt.Errorf("load capture program: %w", verifierTail(err))
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

// AttachTarget captures the batches pid writes through t. The uprobe goes
// on t's file for every process that maps it, now and later, and the BPF
// program takes the writes of the processes it tracks: pid, and with Follow
// the processes it starts. So a child forked by pid is covered from its
// first write, and a process that execs an interpreter file already probed
// needs nothing more. Attaching the same file twice places one uprobe.
func (c *Capture) AttachTarget(pid int, t Target) error {
	if err := c.track(pid); err != nil {
		return err
	}
	if err := c.placeUprobe(t, nil); err != nil {
		return fmt.Errorf("attach uprobe %s for pid %d: %w", t, pid, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range c.targets[pid] {
		if x == t {
			return nil
		}
	}
	c.targets[pid] = append(c.targets[pid], t)
	return nil
}

// track adds pid to the processes whose writes are taken, keeping the
// flags Follow gave it.
func (c *Capture) track(pid int) error {
	err := c.objs.Tracked.Update(uint32(pid), uint8(0), ebpf.UpdateNoExist)
	if err != nil && !errors.Is(err, ebpf.ErrKeyExist) {
		return fmt.Errorf("track pid %d: %w", pid, err)
	}
	return nil
}

// placeUprobe puts the uprobe on t's file, once. The file is f when given
// (an executable opened through /proc/PID/exe), else t.Path opened without
// blocking; either way it must be the regular file t names (same device and
// inode), and the kernel is handed that open file, not a path that may have
// been swapped since.
func (c *Capture) placeUprobe(t Target, f *os.File) error {
	key := uprobeKey{t.Dev, t.Ino, t.Offset}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.links[key]; ok {
		return nil
	}
	if f == nil {
		var err error
		f, err = loader.OpenProgramFile(t.Path, false)
		if err != nil {
			return err
		}
		defer f.Close()
	}
	if dev, ino, err := loader.FileID(f); err != nil || (t.Ino != 0 && (dev != t.Dev || ino != t.Ino)) {
		return fmt.Errorf("%s is no longer the file that was read", t.Path)
	}
	prog := c.objs.PyWrite
	if t.Interp == Node {
		prog = c.objs.UvFsWrite
	}
	ex, err := link.OpenExecutable(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		return fmt.Errorf("open %s: %w", t.Path, err)
	}
	l, err := ex.Uprobe(t.Symbol, prog, &link.UprobeOptions{Address: t.Offset})
	if err != nil {
		return verifierTail(err)
	}
	c.links[key] = attached{t, l}
	return nil
}

// Attached returns the targets attached for pid.
func (c *Capture) Attached(pid int) []Target {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Target(nil), c.targets[pid]...)
}

// Detach stops taking pid's writes (when the process has exited). The
// uprobes stay on their files until Close: other tracked processes may use
// them.
func (c *Capture) Detach(pid int) error {
	c.mu.Lock()
	delete(c.targets, pid)
	c.mu.Unlock()
	err := c.objs.Tracked.Delete(uint32(pid))
	if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("untrack pid %d: %w", pid, err)
	}
	return nil
}

// Read delivers batches to fn as they arrive until ctx is done, then drains
// what is already in the ring and returns nil. An error from fn stops Read and
// is returned. Undecodable records are counted (Stats.BadFrames), not returned.
func (c *Capture) Read(ctx context.Context, fn func(Batch) error) error {
	if first, err := c.awaitFirstBatch(ctx); err != nil || !first {
		return err
	}
	reader, err := c.openReader()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { reader.Flush() })
	defer stop()
	var rec ringbuf.Record
	for {
		err := reader.ReadInto(&rec)
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
	b := Batch{PID: int(h.Pid), TID: int(h.Tid), FD: int(h.Fd), Time: h.Ktime}
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

	key := stream{b.PID, b.FD}
	c.mu.Lock()
	last, seen := c.last[key]
	c.last[key] = b.Number
	c.mu.Unlock()
	switch {
	case !seen:
		c.missedAtStart.Add(uint64(b.Number) - 1)
	case b.Number > last+1:
		b.Gap = b.Number - last - 1
		c.lostBatches.Add(uint64(b.Gap))
	}
	// b.Number <= last: a new Probe on a reused descriptor (or a new image
	// after exec) started over.
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
	NotSink       uint64 // framed writes to a file that is not the binding's sink: ignored
	ExecTimeouts  uint64 // execs whose uprobe was not placed in time: the process was let go

	Execs        uint64 // execs of followed processes handled
	AttachErrors uint64 // uprobes that could not be placed at an exec
}

// Lost reports whether any batch or part of one was lost or rejected
// (MissedAtStart excluded: an attach mid-run misses the start by design).
func (s CaptureStats) Lost() bool {
	return s.Truncated+s.Malformed+s.RingFull+s.ReadFail+s.BadFrames+s.LostBatches+s.ExecLost+s.AttachErrors+s.ExecTimeouts > 0
}

func (s CaptureStats) String() string {
	return fmt.Sprintf("%d batches captured (%d uprobe hits, %d execs followed); lost: %d ring full, %d gaps, %d missed at start, %d execs unseen, %d attach errors, %d execs let go unattached; rejected: %d truncated, %d malformed, %d unreadable, %d undecodable, %d not to the sink",
		s.Batches, s.Hits, s.Execs, s.RingFull, s.LostBatches, s.MissedAtStart, s.ExecLost, s.AttachErrors, s.ExecTimeouts, s.Truncated, s.Malformed, s.ReadFail, s.BadFrames, s.NotSink)
}

// Stats sums the kernel's per-CPU counters and the reader's own.
func (c *Capture) Stats() (CaptureStats, error) {
	var st CaptureStats
	c.mu.Lock()
	if f := c.follow; f != nil {
		st.Execs, st.AttachErrors, st.ExecTimeouts = f.execs.Load(), f.attachErrs.Load(), f.timeouts.Load()
	}
	c.mu.Unlock()
	var k [ctrMax]uint64
	for i := range k {
		var per []uint64
		if err := c.objs.Counters.Lookup(uint32(i), &per); err != nil {
			return st, fmt.Errorf("read capture counters: %w", err)
		}
		for _, v := range per {
			k[i] += v
		}
	}
	st.Hits, st.Batches, st.Truncated, st.Malformed = k[ctrHits], k[ctrBatches], k[ctrTruncated], k[ctrMalformed]
	st.RingFull, st.ReadFail, st.ExecLost, st.NotSink = k[ctrRingFull], k[ctrReadFail], k[ctrExecLost], k[ctrNotSink]
	st.BadFrames, st.LostBatches = c.badFrames.Load(), c.lostBatches.Load()
	st.MissedAtStart, st.DroppedBytes = c.missedAtStart.Load(), c.droppedBytes.Load()
	return st, nil
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
			if err := f.stop(c); err != nil && first == nil {
				first = fmt.Errorf("close exec ring: %w", err)
			}
		}
		// Every uprobe at once, the waiting left to a helper process
		// (release.go).
		c.mu.Lock()
		var links []link.Link
		for key, a := range c.links {
			links = append(links, a.link)
			delete(c.links, key)
		}
		c.mu.Unlock()
		if err := loader.CloseLinks(links); err != nil && first == nil {
			first = fmt.Errorf("detach uprobes: %w", err)
		}
		c.mu.Lock()
		reader := c.reader
		c.mu.Unlock()
		if reader != nil {
			if err := reader.Close(); err != nil && first == nil {
				first = fmt.Errorf("close capture ring: %w", err)
			}
		}
		if err := c.objs.Close(); err != nil && first == nil {
			first = fmt.Errorf("close capture objects: %w", err)
		}
	})
	return first
}

// AddSink makes the regular file at path one of the binding's sinks (the
// null device always is): TRACER_PROBE_FILE with TRACER_PROBE_FRAMED=1,
// where the binding writes framed batches to that file. The file is named
// by its device and inode, as the BPF program sees the file a descriptor
// refers to.
func (c *Capture) AddSink(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return fmt.Errorf("%s: %w", path, loader.ErrNotRegular)
	}
	key := struct {
		Dev, Pad uint32
		Ino      uint64
	}{Dev: unix.Major(st.Dev)<<20 | unix.Minor(st.Dev), Ino: st.Ino}
	return c.objs.Sinks.Update(&key, uint8(1), ebpf.UpdateAny)
}
