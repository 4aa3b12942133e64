package capture

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
)

// StartAll starts reading batches for the host-wide mode: no process is
// attached yet; the session attaches those already running (AttachRunning)
// and those that map an interpreter later (ObserveMapping), and stops
// tracking each at its exit (Exited). No process is ever stopped at exec:
// tracking follows a new process's mapping of its interpreter, within the samplers'
// polling delay (50 ms), so the batches it writes before then are not
// captured, and its steps are checked from the first batch seen.
func (s *Stream) StartAll(handle func(Batch) error) error {
	if err := s.begin(handle); err != nil {
		return err
	}
	s.running = true
	s.host = make(chan int, 4096)
	s.hostDone = make(chan struct{})
	go s.detachExited()
	return nil
}

// AttachRunning attaches to the interpreter of a process that was already
// running. A process that is neither CPython nor Node, or has ended, is
// left alone.
func (s *Stream) AttachRunning(pid int) error {
	if s.capture == nil {
		return nil
	}
	ts, err := s.capture.AttachProcess(pid)
	switch {
	case errors.Is(err, ErrNoInterpreter), errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ESRCH):
		return nil
	case err != nil:
		return fmt.Errorf("transition capture of pid %d: %w", pid, err)
	}
	s.markAttached(pid, ts)
	return nil
}

// Exited stops tracking a process that has exited (host-wide mode), on
// another goroutine, off the samplers' reading path: the uprobes stay on
// their files for the other processes, the process's entry in the BPF
// table of tracked processes goes. When that goroutine is 4096 exits
// behind, the entry stays until Stop.
func (s *Stream) Exited(pid int) {
	if s.host == nil {
		return
	}
	s.mu.Lock()
	attached := s.attached[pid]
	delete(s.attached, pid)
	s.mu.Unlock()
	if !attached {
		return
	}
	select {
	case s.host <- pid:
	default:
	}
}

// detachExited untracks the processes that exited until Stop.
func (s *Stream) detachExited() {
	defer close(s.hostDone)
	for {
		select {
		case <-s.rctx.Done():
			return
		case pid := <-s.host:
			_ = s.capture.Detach(pid) // Stop waits for this goroutine before it closes the capture
		}
	}
}
