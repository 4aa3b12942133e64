package capture

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/tracer-dev/tracer/bpf"
	"github.com/tracer-dev/tracer/loader"
)

// trackStop: stop the process at exec (enum track_flag in
// bpf/headers/tracer.h).
const trackStop = uint32(bpf.CaptureTrackFlagTRACK_STOP)

// follower is the exec-following part of a Capture (tracer run): the three
// tracepoint programs, the reader of their exec events and what it did.
type follower struct {
	links   []link.Link
	reader  *ringbuf.Reader
	done    chan struct{}
	keeper  *loader.Keeper // set when processes are stopped at exec
	pending sync.WaitGroup // exec events being handled

	execs, attachErrs, timeouts atomic.Uint64
}

// followWait bounds how long a process stays stopped at its exec: past it,
// the process is let go without its uprobe (counted in ExecTimeouts). Reading
// an interpreter's ELF file takes milliseconds; only a file that blocks its
// reader (a FUSE or network file system that does not answer) takes longer.
var followWait = 3 * time.Second

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
		if err := c.startKeeper(); err != nil {
			return err
		}
		flags = uint8(trackStop)
	}
	if err := c.objs.Tracked.Update(uint32(root), flags, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("track pid %d: %w", root, err)
	}
	return nil
}

// startKeeper starts the keeper (keeper.go) once, and turns stopping at
// exec on while it lives. Called with c.mu held.
func (c *Capture) startKeeper() error {
	if c.follow.keeper != nil {
		return nil
	}
	k, err := loader.StartKeeper(c.objs.Held, func() {
		c.objs.Ctl.Update(uint32(0), uint32(0), ebpf.UpdateAny)
	})
	if err != nil {
		return err
	}
	c.follow.keeper = k
	if err := c.objs.Ctl.Update(uint32(0), uint32(1), ebpf.UpdateAny); err != nil {
		return fmt.Errorf("turn stopping at exec on: %w", err)
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

// readExecs handles exec events until the reader is closed or flushed. Each
// is handled on its own goroutine, so that one exec whose files are slow to
// read holds up no other.
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
		pid := int(ev.Pid)
		stopped := ev.Flags&uint32(trackStop) != 0
		f.execs.Add(1)
		f.pending.Add(1)
		go c.handleExec(f, pid, stopped, onAttach)
	}
}

// handleExec places the uprobe for pid's new image and, if the kernel
// stopped pid at the exec, continues it: when that is done, or after
// followWait, whichever comes first. Close waits for handleExec, never for
// a file that does not answer.
func (c *Capture) handleExec(f *follower, pid int, stopped bool, onAttach func(int, []Target)) {
	defer f.pending.Done()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.execed(f, pid, onAttach)
	}()
	t := time.NewTimer(followWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		f.timeouts.Add(1)
	}
	if stopped {
		c.continueProcess(pid)
	}
}

// continueProcess lets a process stopped at its exec go on.
func (c *Capture) continueProcess(pid int) {
	unix.Kill(pid, unix.SIGCONT)
	c.objs.Held.Delete(uint32(pid))
}

// execed places the uprobe for the image pid has just exec'd, if it is an
// interpreter. The executable is the file the kernel ran, opened through
// /proc/PID/exe without blocking; its name (which the program may have
// reused for anything, a FIFO say) only says whether it is an interpreter.
func (c *Capture) execed(f *follower, pid int, onAttach func(int, []Target)) {
	exe, err := loader.OpenProgramFile(fmt.Sprintf("/proc/%d/exe", pid), true)
	if err != nil {
		return // the process has gone, or its executable is not a file
	}
	defer exe.Close()
	name, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return
	}
	name = strings.TrimSuffix(name, " (deleted)")
	dev, ino, err := loader.FileID(exe)
	if err != nil {
		return
	}
	if err := c.track(pid); err != nil {
		f.attachErrs.Add(1)
		return
	}
	var attached []Target
	for _, t := range openELFTargets(exe, name) {
		var err error
		if t.Dev == dev && t.Ino == ino {
			err = c.placeUprobe(t, exe) // the executable itself, by its open file
		} else {
			err = c.placeUprobe(t, nil)
		}
		if err != nil {
			f.attachErrs.Add(1)
			continue
		}
		c.mu.Lock()
		c.targets[pid] = append(c.targets[pid], t)
		c.mu.Unlock()
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
// the exec events already in the ring (continuing their processes), closes
// the reader, continues any process still held and lets the keeper go.
func (f *follower) stop(c *Capture) error {
	f.closeLinks()
	f.reader.Flush()
	<-f.done
	f.pending.Wait()
	err := f.reader.Close()
	loader.ContinueHeld(c.objs.Held)
	if f.keeper != nil {
		f.keeper.Stop()
	}
	return err
}
