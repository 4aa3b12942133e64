package capture

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/tracer-dev/tracer/bpf"
)

// trackStop: stop the process at exec (enum track_flag in
// bpf/headers/tracer.h).
const trackStop = uint32(bpf.CaptureTrackFlagTRACK_STOP)

// follower is the exec-following part of a Capture (tracer run): the three
// tracepoint programs, the reader of their exec events and what it did.
type follower struct {
	links  []link.Link
	reader *ringbuf.Reader
	done   chan struct{}

	execs, attachErrs atomic.Uint64
}

// Follow tracks root and every process it starts from now on. At each exec
// of one of them, Follow's reader places the uprobe on the new executable
// (or the libpython or libnode it needs) and calls onAttach when it found an
// interpreter. With stop, the kernel stops the process at the exec and the
// reader lets it go on (SIGCONT) once the uprobe is in place, so the uprobe
// is there before the new image runs, for `tracer run -- python3 …` behind
// pyenv's shims as for a shell's children. Without stop (a process tracer
// did not start) the uprobe follows the exec within a millisecond or so.
// onAttach is called from the reader goroutine.
func (c *Capture) Follow(root int, stop bool, onAttach func(pid int, ts []Target)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.follow == nil {
		f, err := c.startFollower(onAttach)
		if err != nil {
			return err
		}
		c.follow = f
	}
	flags := uint8(0)
	if stop {
		flags = uint8(trackStop)
	}
	if err := c.objs.Tracked.Update(uint32(root), flags, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("track pid %d: %w", root, err)
	}
	return nil
}

func (c *Capture) startFollower(onAttach func(int, []Target)) (*follower, error) {
	f := &follower{done: make(chan struct{})}
	for _, p := range []*ebpf.Program{c.objs.TrackFork, c.objs.TrackExec, c.objs.TrackExit} {
		l, err := link.AttachTracing(link.TracingOptions{Program: p})
		if err != nil {
			f.closeLinks()
			return nil, fmt.Errorf("attach %s: %w", p, err)
		}
		f.links = append(f.links, l)
	}
	r, err := ringbuf.NewReader(c.objs.Execs)
	if err != nil {
		f.closeLinks()
		return nil, fmt.Errorf("open exec ring: %w", err)
	}
	f.reader = r
	go c.readExecs(f, onAttach)
	return f, nil
}

// readExecs handles exec events until the reader is closed or flushed.
func (c *Capture) readExecs(f *follower, onAttach func(int, []Target)) {
	defer close(f.done)
	var rec ringbuf.Record
	for {
		err := f.reader.ReadInto(&rec)
		if err != nil {
			if !errors.Is(err, ringbuf.ErrFlushed) && !errors.Is(err, ringbuf.ErrClosed) && !errors.Is(err, os.ErrClosed) {
				f.attachErrs.Add(1)
			}
			return
		}
		var ev bpf.CaptureExecEvent
		if bpf.Read(rec.RawSample, &ev) < int(unsafe.Sizeof(ev)) {
			continue
		}
		pid, flags := int(ev.Pid), ev.Flags
		f.execs.Add(1)
		c.execed(f, pid, onAttach)
		if flags&trackStop != 0 {
			unix.Kill(pid, unix.SIGCONT)
		}
	}
}

// execed places the uprobe for the image pid has just exec'd, if it is an
// interpreter.
func (c *Capture) execed(f *follower, pid int, onAttach func(int, []Target)) {
	exe := fmt.Sprintf("/proc/%d/exe", pid)
	if real, err := os.Readlink(exe); err == nil {
		if _, err := os.Stat(real); err == nil {
			exe = real
		}
	}
	ts := elfTargets(exe)
	var attached []Target
	for _, t := range ts {
		if err := c.AttachTarget(pid, t); err != nil {
			f.attachErrs.Add(1)
			continue
		}
		attached = append(attached, t)
	}
	if len(attached) > 0 && onAttach != nil {
		onAttach(pid, attached)
	}
}

func (f *follower) closeLinks() {
	for _, l := range f.links {
		l.Close()
	}
	f.links = nil
}

// stop detaches the tracepoints (no process is stopped any more), handles
// the exec events already in the ring (continuing their processes) and
// closes the reader.
func (f *follower) stop() error {
	f.closeLinks()
	f.reader.Flush()
	<-f.done
	return f.reader.Close()
}
